//! Launcher for shaders/matmul.wgsl: `y[t, :] = W · x[t, :]` for a quantised `W`.

use bytemuck::{Pod, Zeroable};
use wgpu::util::DeviceExt;

use super::split_groups;
use crate::error::{Error, Result};
use crate::gpu::{GpuContext, GpuMatrix, Kernel, PipelineCache};

/// Mirrors `struct Params` in shaders/matmul.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
struct Params {
    rows: u32,
    cols: u32,
    n_tokens: u32,
    x_stride: u32,
    y_stride: u32,
    y_row_offset: u32,
    _pad: [u32; 2],
}
const _: () = assert!(std::mem::size_of::<Params>() == 32);

/// Tokens handled by one workgroup (TOKENS_PER_GROUP in the shader).
const TOKENS_PER_GROUP: u32 = 8;

/// A matmul bound to its buffers once (at load), dispatched as often as needed.
pub struct BoundMatmul {
    pipeline: wgpu::ComputePipeline,
    parts: Vec<(wgpu::BindGroup, u32)>, // (bind group, rows in that part)
    n_tokens: u32,
}

impl BoundMatmul {
    /// Binds `w` to input `x` (`n_tokens` rows of `w.cols`) and output `y` (`n_tokens` rows
    /// of `w.rows`).
    pub async fn new(
        ctx: &GpuContext,
        cache: &PipelineCache,
        w: &GpuMatrix,
        x: &wgpu::Buffer,
        y: &wgpu::Buffer,
        n_tokens: u32,
    ) -> Result<BoundMatmul> {
        if w.cols % 32 != 0 {
            return Err(Error::InvalidArgument(format!("{}: {} columns is not a multiple of 32", w.name, w.cols)));
        }
        let need_x = u64::from(n_tokens) * u64::from(w.cols) * 4;
        let need_y = u64::from(n_tokens) * u64::from(w.rows) * 4;
        if x.size() < need_x || y.size() < need_y {
            return Err(Error::InvalidArgument(format!("{}: activation buffers too small", w.name)));
        }
        let pipeline = cache.get(ctx, Kernel::Matmul(w.dtype)).await?;
        let layout = pipeline.get_bind_group_layout(0);
        let parts = w
            .parts
            .iter()
            .map(|part| {
                let params = Params {
                    rows: part.rows,
                    cols: w.cols,
                    n_tokens,
                    x_stride: w.cols,
                    y_stride: w.rows,
                    y_row_offset: part.first_row,
                    _pad: [0; 2],
                };
                let uniform = ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some("matmul params"),
                    contents: bytemuck::bytes_of(&params),
                    usage: wgpu::BufferUsages::UNIFORM,
                });
                let group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some(&w.name),
                    layout: &layout,
                    entries: &[
                        wgpu::BindGroupEntry { binding: 0, resource: part.buffer.as_entire_binding() },
                        wgpu::BindGroupEntry { binding: 1, resource: x.as_entire_binding() },
                        wgpu::BindGroupEntry { binding: 2, resource: y.as_entire_binding() },
                        wgpu::BindGroupEntry { binding: 3, resource: uniform.as_entire_binding() },
                    ],
                });
                (group, part.rows)
            })
            .collect();
        Ok(BoundMatmul { pipeline, parts, n_tokens })
    }

    pub fn dispatch(&self, pass: &mut wgpu::ComputePass<'_>) {
        pass.set_pipeline(&self.pipeline);
        for (group, rows) in &self.parts {
            let (gx, gy) = split_groups(*rows);
            pass.set_bind_group(0, group, &[]);
            pass.dispatch_workgroups(gx, gy, self.n_tokens.div_ceil(TOKENS_PER_GROUP));
        }
    }
}
