//! Launcher for shaders/residual_norm.wgsl: `x += rmsnorm(o) * post_weight`, then
//! `out = rmsnorm(x) * weight`, in one dispatch (the post-norm families' residual add and the
//! next block's input norm).

use super::tensor::Tensor;
use super::{BatchRows, Dispatch, uniform};
use crate::error::{Error, Result};
use crate::gpu::{GpuContext, Kernel, PipelineCache};

wgsl_struct! {
    /// Mirrors `struct Params` in shaders/residual_norm.wgsl.
    pub(crate) struct Params {
        n: u32,
        eps: f32,
        last_only: u32,
        _pad0: u32,
    }
}

/// For the batch's rows of `x` and `o` (every token's for `BatchRows::PerToken`, the last
/// token's for `BatchRows::One`, `out` then holding one row): `x += rmsnorm(o) * post_weight`
/// and `out = rmsnorm(x) * weight`.
#[allow(clippy::too_many_arguments)]
pub async fn residual_norm(
    ctx: &GpuContext,
    cache: &PipelineCache,
    x: &Tensor,
    o: &Tensor,
    post_weight: &wgpu::Buffer,
    weight: &wgpu::Buffer,
    out: &Tensor,
    step: &wgpu::Buffer,
    tokens: BatchRows,
    eps: f32,
) -> Result<Dispatch> {
    let n = x.width;
    let max_rows = match tokens {
        BatchRows::PerToken(n) => n,
        BatchRows::One => x.rows,
    };
    x.expect("residual_norm", "residual", max_rows, n)?;
    o.expect("residual_norm", "block output", max_rows, n)?;
    out.expect("residual_norm", "output", tokens.max_rows(), n)?;
    if post_weight.size() < u64::from(n) * 4 || weight.size() < u64::from(n) * 4 {
        return Err(Error::InvalidArgument(format!("residual_norm: weights shorter than rows of {n}")));
    }
    let last_only = tokens == BatchRows::One;
    let u = uniform(ctx, &Params { n, eps, last_only: u32::from(last_only), ..Default::default() });
    let resources = [
        x.binding(),
        o.binding(),
        post_weight.as_entire_binding(),
        weight.as_entire_binding(),
        out.binding(),
        u.as_entire_binding(),
        step.as_entire_binding(),
    ];
    Dispatch::per_batch(ctx, cache, Kernel::ResidualNorm, &resources, move |n_tokens| [tokens.rows(n_tokens), 1, 1]).await
}
