//! Launcher for shaders/bias.wgsl: adds a bias vector to every row of a matrix.

use super::tensor::Tensor;
use super::{BatchRows, Dispatch, split_groups, uniform};
use crate::error::{Error, Result};
use crate::gpu::{GpuContext, Kernel, PipelineCache};

wgsl_struct! {
    /// Mirrors `struct Params` in shaders/bias.wgsl.
    pub(crate) struct Params {
        width: u32,
        rows_per_token: u32,
        _pad0: u32,
        _pad1: u32,
    }
}

/// `y[r, :] += bias` for the batch's rows (`rows`) of `y`.
pub async fn add_bias(
    ctx: &GpuContext,
    cache: &PipelineCache,
    y: &Tensor,
    bias: &wgpu::Buffer,
    step: &wgpu::Buffer,
    rows: BatchRows,
) -> Result<Dispatch> {
    let width = y.width;
    y.expect("bias add", "output", rows.max_rows(), width)?;
    if u64::from(width) * 4 > bias.size() {
        return Err(Error::InvalidArgument(format!("bias add: a {}-byte bias for rows of {width}", bias.size())));
    }
    let rows_per_token = u32::from(rows != BatchRows::One);
    let u = uniform(ctx, &Params { width, rows_per_token, ..Default::default() });
    let resources = [y.binding(), bias.as_entire_binding(), u.as_entire_binding(), step.as_entire_binding()];
    let grid = move |n_tokens: u32| {
        let (x, y) = split_groups((width * rows.rows(n_tokens)).div_ceil(64));
        [x, y, 1]
    };
    Dispatch::per_batch(ctx, cache, Kernel::Bias, &resources, grid).await
}
