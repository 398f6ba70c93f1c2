//! Launchers for shaders/elementwise.wgsl (residual add, gated activations) and
//! shaders/argmax.wgsl.

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
    let u = uniform(
        ctx,
        &Params {
            n,
            groups_x: gx,
            _pad: [0; 2],
        },
    );
    let resources = [
        a.as_entire_binding(),
        b.as_entire_binding(),
        u.as_entire_binding(),
    ];
    Dispatch::new(ctx, cache, Kernel::Elementwise(op), &resources, [gx, gy, 1]).await
}

/// Mirrors `struct Params` in shaders/argmax.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
struct ArgmaxParams {
    n: u32,
    offset: u32,
    _pad: [u32; 2],
}
const _: () = assert!(std::mem::size_of::<ArgmaxParams>() == 16);

/// `out[0] = argmax(x[offset .. offset + n])` (index relative to `offset`), ties to the
/// lowest index.
pub async fn argmax(
    ctx: &GpuContext,
    cache: &PipelineCache,
    x: &wgpu::Buffer,
    offset: u32,
    out: &wgpu::Buffer,
    n: u32,
) -> Result<Dispatch> {
    let u = uniform(
        ctx,
        &ArgmaxParams {
            n,
            offset,
            _pad: [0; 2],
        },
    );
    let resources = [
        x.as_entire_binding(),
        out.as_entire_binding(),
        u.as_entire_binding(),
    ];
    Dispatch::new(ctx, cache, Kernel::Argmax, &resources, [1, 1, 1]).await
}
