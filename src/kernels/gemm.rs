//! The tile of the register-tiled GEMM (shaders/gemm.wgsl), which `kernels::matmul` uses for
//! batches of more than one token where the tuning asks for it (`Tuning::matmul_gemm`); the
//! launching (parts, epilogues, grid) is the matmul's.

use crate::error::{Error, Result};
use crate::gpu::{Kernel, MatmulEpilogue, MatmulNorm, Tuning};
use crate::quant::shader::MatrixFormats;

/// Weight rows and tokens per workgroup, and per thread.
pub(super) struct GemmTile {
    pub tile_rows: u32,
    pub tile_tokens: u32,
    pub thread_rows: u32,
    pub thread_tokens: u32,
    pub k_split: u32,
    /// On 8-bit integers (shaders/gemm_dp4a.wgsl).
    pub dp4a: bool,
}

impl GemmTile {
    /// The tuning's tile, checked against the kernel's shape rules and the device's limits.
    /// With a GLU epilogue each thread holds the gate and up rows of its outputs, so at least
    /// two weight rows; a norm prologue takes workgroup memory of its own. The column split is
    /// an upper bound: the largest split up to it whose threads and staged tiles fit the
    /// device (WebGPU guarantees only 256 threads and 16 KiB) is taken, 1 at the least.
    /// `dp4a`: the integer kernel (its tiles take 48 bytes per row or token and 32-column
    /// step: 32 bytes and two halves' scales; against 128, plus the split's sums).
    pub(super) fn from_tuning(t: &Tuning, glu: bool, norm: MatmulNorm, dp4a: bool, limits: &wgpu::Limits) -> Result<GemmTile> {
        let mut tile = GemmTile {
            tile_rows: t.matmul_gemm_tile_rows,
            tile_tokens: t.matmul_gemm_tile_tokens,
            thread_rows: if glu { t.matmul_gemm_thread_rows.max(2) } else { t.matmul_gemm_thread_rows },
            thread_tokens: t.matmul_gemm_thread_tokens,
            k_split: 1,
            dp4a,
        };
        let pow2 = |v: u32, max: u32| v.is_power_of_two() && v <= max;
        let max_threads = limits.max_compute_invocations_per_workgroup.min(256);
        let group = (tile.tile_rows / tile.thread_rows.max(1)) * (tile.tile_tokens / tile.thread_tokens.max(1));
        // Both staged tiles, per column group (32 columns per weight row and per token: f32s,
        // or the integer kernel's bytes with their scales), and groups 1..'s sums.
        let shared_bytes = |k: u32| {
            let per_row = if dp4a { 48 } else { 128 };
            let sums = ((k - 1) * tile.tile_rows * tile.tile_tokens).max(1) * 4;
            k * (tile.tile_rows + tile.tile_tokens) * per_row + sums + norm.workgroup_bytes(group * k, tile.tile_tokens)
        };
        let fits = |k: u32| group * k <= max_threads && shared_bytes(k) <= limits.max_compute_workgroup_storage_size;
        let shape_ok = pow2(tile.tile_rows, 256)
            && pow2(tile.tile_tokens, 256)
            && pow2(tile.thread_rows, tile.tile_rows)
            && pow2(tile.thread_tokens, tile.tile_tokens)
            && (1..=16).contains(&t.matmul_gemm_k_split);
        if !shape_ok || !fits(1) {
            return Err(Error::InvalidArgument(format!(
                "GEMM tuning {t:?}: tiles and per-thread tiles are powers of two (the thread's within the workgroup's), \
                 a column split of 1 to 16 groups, at most {max_threads} threads ({group} here) and {} bytes of staged \
                 tiles ({} here)",
                limits.max_compute_workgroup_storage_size,
                shared_bytes(1)
            )));
        }
        tile.k_split = (1..=t.matmul_gemm_k_split).rev().find(|&k| fits(k)).unwrap_or(1);
        Ok(tile)
    }

    pub(super) fn kernel(&self, formats: MatrixFormats, norm: MatmulNorm, epilogue: MatmulEpilogue) -> Kernel {
        Kernel::Gemm {
            norm,
            formats,
            tile_rows: self.tile_rows,
            tile_tokens: self.tile_tokens,
            thread_rows: self.thread_rows,
            thread_tokens: self.thread_tokens,
            k_split: self.k_split,
            dp4a: self.dp4a,
            epilogue,
        }
    }
}
