//! shaders/rmsnorm.wgsl against an f64 reference written from the definition:
//! out[r, i] = x[r0 + r, i] / sqrt(mean_j x[r0 + r, j]² + eps) · weight[i], over every row of
//! the batch (r0 = 0) or the last token's rows only.

use crate::common;

use common::kernels::{read_tensor, step_buffer, submit, tensor};
use hearth::gpu::PipelineCache;
use hearth::kernels::BatchRows;
use hearth::kernels::rmsnorm::{Rows, rmsnorm};

/// The rows normalised for a batch of `n_tokens`: (first row, number of rows).
fn picked(rows: Rows, n_tokens: u32) -> (u32, u32) {
    if rows.tokens == BatchRows::One { ((n_tokens - 1) * rows.per_token, rows.per_token) } else { (0, n_tokens * rows.per_token) }
}

fn reference(x: &[f32], weight: &[f32], rows: Rows, n_tokens: u32, eps: f32) -> Vec<f64> {
    let n = rows.n as usize;
    let (first_row, n_rows) = picked(rows, n_tokens);
    let mut out = Vec::new();
    for r in 0..n_rows as usize {
        let row = &x[(first_row as usize + r) * n..][..n];
        let mean_square = row.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / n as f64;
        let inv = 1.0 / (mean_square + f64::from(eps)).sqrt();
        out.extend(row.iter().zip(weight).map(|(&v, &w)| f64::from(v) * inv * f64::from(w)));
    }
    out
}

#[test]
fn rmsnorm_matches_f64_reference() {
    let ctx = common::gpu();
    let cache = PipelineCache::default();
    let mut rng = common::Rng(0x5eed);
    // Row sizes below, at and around the 64-thread workgroup, and the real models' widths
    // (576 SmolLM2, 640 Gemma 3, 896 Qwen2.5) and an odd large one; every token's rows, the
    // last token's only (the final norm), and several rows per token (per-head q/k norms);
    // batches below the buffers' capacity of x_rows rows.
    let cases: [(u32, u32, u32, u32, bool); 9] = [
        // (n, rows in x, tokens in the batch, rows per token, last token only)
        (1, 3, 3, 1, false),
        (7, 2, 2, 1, true),
        (63, 4, 4, 1, false),
        (64, 6, 2, 3, false),
        (65, 3, 1, 1, false),
        (576, 9, 9, 1, true),
        (640, 6, 6, 1, false),
        (896, 4, 2, 1, true),
        (256, 8, 2, 4, true),
    ];
    for (n, x_rows, n_tokens, per_token, last_token_only) in cases {
        // Rows of different magnitudes: the norm must not depend on the scale.
        let x: Vec<f32> = (0..x_rows * n).map(|i| rng.signed_unit() * [1.0, 30.0, 0.01][(i / n) as usize % 3]).collect();
        let weight: Vec<f32> = (0..n).map(|_| 1.0 + rng.signed_unit()).collect();
        let eps = 1e-6;
        let x_tokens = x_rows / per_token;
        let tokens = if last_token_only { BatchRows::One } else { BatchRows::PerToken(x_tokens) };
        let rows = Rows { n, per_token, tokens };
        let (first_row, n_rows) = picked(rows, n_tokens);
        let xb = tensor(&ctx, "x", x_tokens as usize, (n * per_token) as usize, &x);
        let wb = ctx.f32_buffer_from("weight", &weight);
        // One token's rows more than the kernel may write: they must stay untouched.
        let out_tokens = tokens.max_rows() as usize + 1;
        let width = (n * per_token) as usize;
        let out = tensor(&ctx, "out", out_tokens, width, &vec![7.0f32; out_tokens * width]);
        let step = step_buffer(&ctx, 0, n_tokens);
        let d = pollster::block_on(rmsnorm(&ctx, &cache, &xb, &wb, &out, &step, rows, eps)).unwrap();
        submit(&ctx, n_tokens, &[d]);
        let got = read_tensor(&ctx, &out);
        let want = reference(&x, &weight, rows, n_tokens, eps);

        // The f32 sum of n squares is within n·ε of the exact one (relative, all terms are
        // positive), which moves 1/sqrt by half that; inverseSqrt itself is within 2 ulp
        // (Vulkan), and the two products add one rounding each. So
        // |got - want| <= (n/2 + 4)·ε·|x · inv · w|. A wrong row, offset or eps is far off.
        let eps32 = f64::from(f32::EPSILON);
        for (i, (&g, &w)) in got.iter().zip(&want).enumerate() {
            let tol = (f64::from(n) / 2.0 + 4.0) * eps32 * w.abs() + 1e-30;
            assert!((f64::from(g) - w).abs() <= tol, "n={n} rows {first_row}+{n_rows}: out[{i}] = {g}, want {w} (tolerance {tol:.2e})");
        }
        assert!(got[want.len()..].iter().all(|&v| v == 7.0), "n={n}: wrote past its {n_rows} rows");
    }
}
