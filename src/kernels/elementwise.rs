//! Launcher for shaders/elementwise.wgsl (the gated activations of separate gate and up).

use super::tensor::Tensor;
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

/// `a = op(a, b)` over the batch's rows of `a` and `b` (the token count from `step`).
pub async fn elementwise(
    ctx: &GpuContext,
    cache: &PipelineCache,
    op: ElementwiseOp,
    a: &Tensor,
    b: &Tensor,
    step: &wgpu::Buffer,
) -> Result<Dispatch> {
    b.expect(&format!("{op:?}"), "second operand", a.rows, a.width)?;
    let per_token = a.width;
    let u = uniform(ctx, &Params { per_token, ..Default::default() });
    let resources = [a.binding(), b.binding(), u.as_entire_binding(), step.as_entire_binding()];
    let grid = move |n_tokens: u32| {
        let (x, y) = split_groups((per_token * n_tokens).div_ceil(64));
        [x, y, 1]
    };
    Dispatch::per_batch(ctx, cache, Kernel::Elementwise(op), &resources, grid).await
}
