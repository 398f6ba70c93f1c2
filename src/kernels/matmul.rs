//! Launcher for shaders/matmul.wgsl: `y[t, :] = W · x[t, :]` for a quantised `W`.

use super::tensor::Tensor;
use super::{BatchRows, Dispatch, split_groups, uniform};
use crate::error::{Error, Result};
use crate::gpu::{GpuContext, GpuMatrix, Kernel, PipelineCache, Tuning};

wgsl_struct! {
    /// Mirrors `struct Params` in shaders/matmul.wgsl.
    pub(crate) struct Params {
        rows: u32,
        cols: u32,
        one_row: u32,
        x_stride: u32,
        y_stride: u32,
        y_row_offset: u32,
        _pad1: u32,
        _pad2: u32,
    }
}

/// Dispatches computing `y = x · Wᵀ` for the batch's rows of `x` (`w.cols` wide) into `y`
/// (`w.rows` wide): one per part of a split matrix. `rows` says how many rows a batch has
/// (the token count comes from `step`) and picks the tile: at most one row is the decode
/// kernel, more the prefill one.
pub async fn matmul(
    ctx: &GpuContext,
    cache: &PipelineCache,
    w: &GpuMatrix,
    x: &Tensor,
    y: &Tensor,
    step: &wgpu::Buffer,
    rows: BatchRows,
) -> Result<Vec<Dispatch>> {
    let n_tokens = rows.max_rows();
    if w.cols % 32 != 0 {
        return Err(Error::InvalidArgument(format!("{}: {} columns is not a multiple of 32", w.name, w.cols)));
    }
    let kernel_name = format!("matmul {}", w.name);
    x.expect(&kernel_name, "input", n_tokens, w.cols)?;
    y.expect(&kernel_name, "output", n_tokens, w.rows)?;
    let tile = Tile::for_batch(&ctx.tuning, n_tokens)?;
    let kernel = Kernel::Matmul {
        dtype: w.dtype,
        workgroup_size: tile.workgroup_size,
        threads_per_row: tile.threads_per_row,
        rows_per_thread: tile.rows_per_thread,
        tokens_per_group: tile.tokens_per_group,
    };
    let mut out = Vec::new();
    for part in &w.parts {
        let params = Params {
            rows: part.rows,
            cols: w.cols,
            one_row: u32::from(rows == BatchRows::One),
            x_stride: w.cols,
            y_stride: w.rows,
            y_row_offset: part.first_row,
            ..Default::default()
        };
        let u = uniform(ctx, &params);
        let (gx, gy) = split_groups(part.rows.div_ceil(tile.workgroup_size / tile.threads_per_row * tile.rows_per_thread));
        let resources = [part.buffer.as_entire_binding(), x.binding(), y.binding(), u.as_entire_binding(), step.as_entire_binding()];
        let tokens_per_group = tile.tokens_per_group;
        let grid = move |n: u32| [gx, gy, rows.rows(n).div_ceil(tokens_per_group)];
        out.push(Dispatch::per_batch(ctx, cache, kernel, &resources, grid).await?);
    }
    Ok(out)
}

/// The work of one thread and one workgroup (the shader's generated constants).
struct Tile {
    workgroup_size: u32,
    threads_per_row: u32,
    rows_per_thread: u32,
    tokens_per_group: u32,
}

impl Tile {
    /// The device's tile for decode (1 token) or prefill, with tokens per workgroup a power
    /// of two no larger than the batch needs (few shader variants; a batch of 3 uses 4).
    fn for_batch(t: &Tuning, n_tokens: u32) -> Result<Tile> {
        let pow2 = |v: u32, max: u32| v.is_power_of_two() && v <= max;
        if ![16, 64].contains(&t.matmul_workgroup_size)
            || !pow2(t.matmul_threads_per_row, t.matmul_workgroup_size)
            || !pow2(t.matmul_decode_rows_per_thread, 16)
            || !pow2(t.matmul_prefill_rows_per_thread, 16)
            || !pow2(t.matmul_prefill_tokens, 32)
        {
            return Err(Error::InvalidArgument(format!(
                "matmul tuning {t:?}: workgroups of 16 or 64, and powers of two for the rest (at most a workgroup of threads per row, 16 rows, 32 tokens)"
            )));
        }
        let (rows_per_thread, tokens_per_group) = if n_tokens <= 1 {
            (t.matmul_decode_rows_per_thread, 1)
        } else {
            (t.matmul_prefill_rows_per_thread, n_tokens.next_power_of_two().min(t.matmul_prefill_tokens))
        };
        Ok(Tile { workgroup_size: t.matmul_workgroup_size, threads_per_row: t.matmul_threads_per_row, rows_per_thread, tokens_per_group })
    }
}
