//! Launcher for shaders/rmsnorm.wgsl.

use super::tensor::Tensor;
use super::{BatchRows, Dispatch, uniform};
use crate::error::{Error, Result};
use crate::gpu::{GpuContext, Kernel, PipelineCache};

wgsl_struct! {
    /// Mirrors `struct Params` in shaders/rmsnorm.wgsl.
    pub(crate) struct Params {
        n: u32,
        eps: f32,
        rows_per_token: u32,
        last_only: u32,
    }
}

/// Which rows of `x` to normalise: rows of `n` values, `per_token` of them per token (1, or
/// the heads of per-head norms), of every token of the batch (`BatchRows::PerToken`, at
/// most that many tokens) or of its last token only (`BatchRows::One`).
#[derive(Clone, Copy, Debug)]
pub struct Rows {
    pub n: u32,
    pub per_token: u32,
    pub tokens: BatchRows,
}

/// `out[r, :] = rmsnorm(x[r0 + r, :]) * weight` for the rows `rows` picks (`r0` is the last
/// token's first row for `BatchRows::One`, else 0); the token count comes from `step`.
#[allow(clippy::too_many_arguments)]
pub async fn rmsnorm(
    ctx: &GpuContext,
    cache: &PipelineCache,
    x: &Tensor,
    weight: &wgpu::Buffer,
    out: &Tensor,
    step: &wgpu::Buffer,
    rows: Rows,
    eps: f32,
) -> Result<Dispatch> {
    let Rows { n, per_token, tokens } = rows;
    let last_token_only = tokens == BatchRows::One;
    x.expect("rmsnorm", "input", if last_token_only { 1 } else { tokens.max_rows() }, n * per_token)?;
    out.expect("rmsnorm", "output", tokens.max_rows(), n * per_token)?;
    if weight.size() < u64::from(n) * 4 {
        return Err(Error::InvalidArgument(format!("rmsnorm: a {}-byte weight for rows of {n}", weight.size())));
    }
    let u = uniform(ctx, &Params { n, eps, rows_per_token: per_token, last_only: u32::from(last_token_only) });
    let resources = [x.binding(), weight.as_entire_binding(), out.binding(), u.as_entire_binding(), step.as_entire_binding()];
    let grid = move |n_tokens: u32| [if last_token_only { per_token } else { per_token * n_tokens }, 1, 1];
    Dispatch::per_batch(ctx, cache, Kernel::RmsNorm, &resources, grid).await
}
