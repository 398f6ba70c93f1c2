//! Launcher for shaders/elementwise.wgsl (residual add, gated activations).

use bytemuck::{Pod, Zeroable};

use super::{Dispatch, split_groups, uniform};
use crate::error::Result;
use crate::gpu::{ElementwiseOp, GpuContext, Kernel, PipelineCache};

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
struct Params {
    n: u32,
    groups_x: u32,
    _pad: [u32; 2],
}
const _: () = assert!(std::mem::size_of::<Params>() == 16);

/// `a = op(a, b)` over `n` elements.
pub async fn elementwise(
    ctx: &GpuContext,
    cache: &PipelineCache,
    op: ElementwiseOp,
    a: &wgpu::Buffer,
    b: &wgpu::Buffer,
    n: u32,
) -> Result<Dispatch> {
    let (gx, gy) = split_groups(n.div_ceil(64));
    let u = uniform(ctx, &Params { n, groups_x: gx, _pad: [0; 2] });
    let resources = [a.as_entire_binding(), b.as_entire_binding(), u.as_entire_binding()];
    Dispatch::new(ctx, cache, Kernel::Elementwise(op), &resources, [gx, gy, 1]).await
}
