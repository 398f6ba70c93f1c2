//! Launcher for shaders/matmul.wgsl: `y[t, :] = W · x[t, :]` for a quantised `W`.

use bytemuck::{Pod, Zeroable};

use super::{Dispatch, split_groups, uniform};
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

/// Dispatches computing `y = x · Wᵀ` for `n_tokens` rows of `x` (`w.cols` wide) into
/// `y` (`w.rows` wide): one per part of a split matrix.
pub async fn matmul(
    ctx: &GpuContext,
    cache: &PipelineCache,
    w: &GpuMatrix,
    x: &wgpu::Buffer,
    y: &wgpu::Buffer,
    n_tokens: u32,
) -> Result<Vec<Dispatch>> {
    if w.cols % 32 != 0 {
        return Err(Error::InvalidArgument(format!(
            "{}: {} columns is not a multiple of 32",
            w.name, w.cols
        )));
    }
    let need_x = u64::from(n_tokens) * u64::from(w.cols) * 4;
    let need_y = u64::from(n_tokens) * u64::from(w.rows) * 4;
    if x.size() < need_x || y.size() < need_y {
        return Err(Error::InvalidArgument(format!(
            "{}: activation buffers too small",
            w.name
        )));
    }
    let mut out = Vec::new();
    for part in &w.parts {
        let params = Params {
            rows: part.rows,
            cols: w.cols,
            n_tokens,
            x_stride: w.cols,
            y_stride: w.rows,
            y_row_offset: part.first_row,
            _pad: [0; 2],
        };
        let u = uniform(ctx, &params);
        let tpr = ctx.tuning.matmul_threads_per_row;
        let (gx, gy) = split_groups(part.rows.div_ceil(64 / tpr));
        let resources = [
            part.buffer.as_entire_binding(),
            x.as_entire_binding(),
            y.as_entire_binding(),
            u.as_entire_binding(),
        ];
        let groups = [gx, gy, n_tokens.div_ceil(TOKENS_PER_GROUP)];
        out.push(
            Dispatch::new(
                ctx,
                cache,
                Kernel::Matmul {
                    dtype: w.dtype,
                    threads_per_row: tpr,
                },
                &resources,
                groups,
            )
            .await?,
        );
    }
    Ok(out)
}
