//! Launcher for shaders/embed.wgsl: gathers embedding rows for token ids.

use super::tensor::Tensor;
use super::{Dispatch, uniform};
use crate::error::{Error, Result};
use crate::gpu::{GpuContext, GpuMatrix, Kernel, PipelineCache};

wgsl_struct! {
    /// Mirrors `struct Params` in shaders/embed.wgsl.
    pub(crate) struct Params {
        cols: u32,
        first_row: u32,
        rows: u32,
        scale: f32,
    }
}

/// `out[t, :] = scale * table[ids[t], :]` for the batch's ids (at most `max_tokens`); one
/// dispatch per part of the table (each part fills the tokens whose id falls in its rows).
pub async fn embed(
    ctx: &GpuContext,
    cache: &PipelineCache,
    table: &GpuMatrix,
    ids: &wgpu::Buffer,
    out: &Tensor,
    max_tokens: u32,
    scale: f32,
) -> Result<Vec<Dispatch>> {
    let n_tokens = max_tokens;
    // The kernel gathers whole chunks of 32 columns.
    if table.cols % 32 != 0 {
        return Err(Error::InvalidArgument(format!("{}: {} columns is not a multiple of 32", table.name, table.cols)));
    }
    if ids.size() < u64::from(n_tokens) * 4 {
        return Err(Error::InvalidArgument(format!("{}: the id buffer is too small for {n_tokens} tokens", table.name)));
    }
    out.expect("embed", "output", n_tokens, table.cols)?;
    let mut dispatches = Vec::new();
    for part in &table.parts {
        let u = uniform(ctx, &Params { cols: table.cols, first_row: part.first_row, rows: part.rows, scale });
        let resources = [part.buffer.as_entire_binding(), ids.as_entire_binding(), out.binding(), u.as_entire_binding()];
        let chunks = (table.cols / 32).div_ceil(64);
        dispatches.push(Dispatch::per_batch(ctx, cache, Kernel::Embed(table.dtype), &resources, move |n| [chunks, n, 1]).await?);
    }
    Ok(dispatches)
}
