//! Launcher for shaders/elementwise.wgsl (residual add, gated activations).

use super::{Dispatch, split_groups, uniform};
use crate::error::Result;
use crate::gpu::{ElementwiseOp, GpuContext, Kernel, PipelineCache};

wgsl_struct! {
    /// Mirrors `struct Params` in shaders/elementwise.wgsl.
    pub(crate) struct Params {
        per_token: u32,
        _pad0: u32,
        _pad1: u32,
        _pad2: u32,
    }
}

/// `a = op(a, b)` over the batch's `per_token` values per token (the count from `step`).
pub async fn elementwise(
    ctx: &GpuContext,
    cache: &PipelineCache,
    op: ElementwiseOp,
    a: &wgpu::Buffer,
    b: &wgpu::Buffer,
    step: &wgpu::Buffer,
    per_token: u32,
) -> Result<Dispatch> {
    let u = uniform(ctx, &Params { per_token, ..Default::default() });
    let resources = [a.as_entire_binding(), b.as_entire_binding(), u.as_entire_binding(), step.as_entire_binding()];
    let grid = move |n_tokens: u32| {
        let (x, y) = split_groups((per_token * n_tokens).div_ceil(64));
        [x, y, 1]
    };
    Dispatch::per_batch(ctx, cache, Kernel::Elementwise(op), &resources, grid).await
}
