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
    _pad: [u32; 2],
}
const _: () = assert!(std::mem::size_of::<Params>() == 16);

/// `out[r, :] = rmsnorm(x[r, :]) * weight` for `n_rows` rows of `n`.
pub async fn rmsnorm(
    ctx: &GpuContext,
    cache: &PipelineCache,
    x: &wgpu::Buffer,
    weight: &wgpu::Buffer,
    out: &wgpu::Buffer,
    n: u32,
    n_rows: u32,
    eps: f32,
) -> Result<Dispatch> {
    let u = uniform(ctx, &Params { n, eps, _pad: [0; 2] });
    let resources = [x.as_entire_binding(), weight.as_entire_binding(), out.as_entire_binding(), u.as_entire_binding()];
    Dispatch::new(ctx, cache, Kernel::RmsNorm, &resources, [n_rows, 1, 1]).await
}
