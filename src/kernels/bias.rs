//! Launcher for shaders/bias.wgsl: adds a bias vector to every row of a matrix.

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

/// `y[r, :] += bias` for the batch's rows (`rows`), each of `bias`'s length (`width` f32s).
pub async fn add_bias(
    ctx: &GpuContext,
    cache: &PipelineCache,
    y: &wgpu::Buffer,
    bias: &wgpu::Buffer,
    step: &wgpu::Buffer,
    width: u32,
    rows: BatchRows,
) -> Result<Dispatch> {
    let max_rows = rows.max_rows();
    let fits = width > 0 && u64::from(width) * u64::from(max_rows) * 4 <= y.size() && u64::from(width) * 4 <= bias.size();
    if !fits {
        return Err(Error::InvalidArgument(format!(
            "bias add: {max_rows} rows of {width} do not fit a {}-byte output and a {}-byte bias",
            y.size(),
            bias.size()
        )));
    }
    let rows_per_token = u32::from(rows != BatchRows::One);
    let u = uniform(ctx, &Params { width, rows_per_token, ..Default::default() });
    let resources = [y.as_entire_binding(), bias.as_entire_binding(), u.as_entire_binding(), step.as_entire_binding()];
    let grid = move |n_tokens: u32| {
        let (x, y) = split_groups((width * rows.rows(n_tokens)).div_ceil(64));
        [x, y, 1]
    };
    Dispatch::per_batch(ctx, cache, Kernel::Bias, &resources, grid).await
}
