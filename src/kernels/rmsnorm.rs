//! Launcher for shaders/rmsnorm.wgsl.

use bytemuck::{Pod, Zeroable};

use super::{Dispatch, uniform};
use crate::error::Result;
use crate::gpu::{GpuContext, Kernel, PipelineCache};

/// Mirrors `struct Params` in shaders/rmsnorm.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
struct Params {
    n: u32,
    eps: f32,
    first_row: u32,
    _pad: u32,
}
const _: () = assert!(std::mem::size_of::<Params>() == 16);

/// Which rows of `x` to normalise: `n_rows` rows of `n` starting at `first_row`.
#[derive(Clone, Copy, Debug)]
pub struct Rows {
    pub n: u32,
    pub first_row: u32,
    pub n_rows: u32,
}

/// `out[r, :] = rmsnorm(x[first_row + r, :]) * weight`.
pub async fn rmsnorm(
    ctx: &GpuContext,
    cache: &PipelineCache,
    x: &wgpu::Buffer,
    weight: &wgpu::Buffer,
    out: &wgpu::Buffer,
    rows: Rows,
    eps: f32,
) -> Result<Dispatch> {
    let Rows { n, first_row, n_rows } = rows;
    let u = uniform(ctx, &Params { n, eps, first_row, _pad: 0 });
    let resources = [x.as_entire_binding(), weight.as_entire_binding(), out.as_entire_binding(), u.as_entire_binding()];
    Dispatch::new(ctx, cache, Kernel::RmsNorm, &resources, [n_rows, 1, 1]).await
}
