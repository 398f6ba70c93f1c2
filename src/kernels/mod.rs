//! One launcher per shader family, 1:1 with `shaders/`: each owns its params struct
//! (mirroring the WGSL `struct Params`, with a size assert), and builds `Dispatch`es —
//! a pipeline, a bind group and a workgroup count — once, at load time. Per token the
//! model only records the prepared dispatches into one compute pass.

pub mod argmax;
pub mod attention;
pub mod bias;
pub mod elementwise;
pub mod embed;
pub mod kv_store;
pub mod matmul;
pub mod rmsnorm;
pub mod rope;

use bytemuck::Pod;
use wgpu::util::DeviceExt;

use crate::error::Result;
use crate::gpu::{GpuContext, Kernel, PipelineCache};

/// A kernel launch with everything bound.
pub struct Dispatch {
    pipeline: wgpu::ComputePipeline,
    bind_group: wgpu::BindGroup,
    workgroups: [u32; 3],
}

impl Dispatch {
    /// Builds a dispatch of `kernel` whose bindings 0, 1, ... are `resources`, in order.
    pub async fn new(
        ctx: &GpuContext,
        cache: &PipelineCache,
        kernel: Kernel,
        resources: &[wgpu::BindingResource<'_>],
        workgroups: [u32; 3],
    ) -> Result<Dispatch> {
        let pipeline = cache.get(ctx, kernel).await?;
        let entries: Vec<wgpu::BindGroupEntry> =
            resources.iter().enumerate().map(|(i, r)| wgpu::BindGroupEntry { binding: i as u32, resource: r.clone() }).collect();
        let bind_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        Ok(Dispatch { pipeline, bind_group, workgroups })
    }

    pub fn record(&self, pass: &mut wgpu::ComputePass<'_>) {
        let [x, y, z] = self.workgroups;
        if x * y * z == 0 {
            return;
        }
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        pass.dispatch_workgroups(x, y, z);
    }
}

/// A uniform buffer holding one params struct (created at load, never per token).
pub(crate) fn uniform<T: Pod>(ctx: &GpuContext, params: &T) -> wgpu::Buffer {
    ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("params"),
        contents: bytemuck::bytes_of(params),
        usage: wgpu::BufferUsages::UNIFORM,
    })
}

/// Splits a workgroup count over x and y so neither exceeds WebGPU's 65,535 per dimension
/// (the kernels rebuild the index as `x + y * num_workgroups.x`).
pub(crate) fn split_groups(n: u32) -> (u32, u32) {
    const MAX: u32 = 65_535;
    if n <= MAX { (n.max(1), 1) } else { (MAX, n.div_ceil(MAX)) }
}
