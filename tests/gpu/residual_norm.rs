//! shaders/residual_norm.wgsl against an f64 reference written from the definition:
//! x += o / sqrt(mean(o²) + eps) · post_weight, then out = x / sqrt(mean(x²) + eps) · weight,
//! per row: every token's row, or only the last token's (`BatchRows::One`, the other rows of
//! x then untouched).

use crate::common;

use common::kernels::{read_tensor, step_buffer, submit, tensor, zeros};
use hearth::gpu::PipelineCache;
use hearth::kernels::BatchRows;
use hearth::kernels::residual_norm::residual_norm;

fn rmsnorm(v: &[f64], w: &[f32], eps: f64) -> Vec<f64> {
    let inv = 1.0 / (v.iter().map(|a| a * a).sum::<f64>() / v.len() as f64 + eps).sqrt();
    v.iter().zip(w).map(|(a, &wi)| a * inv * f64::from(wi)).collect()
}

#[test]
fn residual_norm_matches_f64_reference() {
    let ctx = common::gpu();
    let cache = PipelineCache::default();
    let mut rng = common::Rng(0x4e5);
    let eps = 1e-6f32;
    // Gemma 3 270M's 640, SmolLM2's 576, an odd width under the 64-thread workgroup and one
    // just over it; decode, a batch, and the last row of a batch.
    for (n, tokens, rows) in
        [(640, 1, BatchRows::PerToken(1)), (576, 5, BatchRows::PerToken(8)), (37, 3, BatchRows::One), (65, 4, BatchRows::One)]
    {
        let cap = rows.max_rows().max(tokens) as usize;
        let t = tokens as usize;
        // A residual stream of large values (Gemma's reach hundreds) and block outputs of
        // another scale, so neither norm is near 1.
        let x: Vec<f32> = (0..cap * n).map(|_| 50.0 * rng.signed_unit()).collect();
        let o: Vec<f32> = (0..cap * n).map(|_| 0.1 * rng.signed_unit()).collect();
        let pw: Vec<f32> = (0..n).map(|_| 1.0 + rng.signed_unit()).collect();
        let w: Vec<f32> = (0..n).map(|_| 1.0 + rng.signed_unit()).collect();
        let (xb, ob) = (tensor(&ctx, "x", cap, n, &x), tensor(&ctx, "o", cap, n, &o));
        let (pwb, wb) = (ctx.f32_buffer_from("post", &pw), ctx.f32_buffer_from("w", &w));
        let out = zeros(&ctx, "out", rows.max_rows() as usize, n);
        let step = step_buffer(&ctx, 0, tokens);
        let d = pollster::block_on(residual_norm(&ctx, &cache, &xb, &ob, &pwb, &wb, &out, &step, rows, eps)).unwrap();
        submit(&ctx, tokens, &[d]);
        let (got_x, got_out) = (read_tensor(&ctx, &xb), read_tensor(&ctx, &out));
        let computed: Vec<usize> = if rows == BatchRows::One { vec![t - 1] } else { (0..t).collect() };
        let f32_eps = f64::from(f32::EPSILON);
        for r in 0..cap {
            let (xr, or) = (&x[r * n..][..n], &o[r * n..][..n]);
            let Some(out_row) = computed.iter().position(|&c| c == r) else {
                assert_eq!(&got_x[r * n..][..n], xr, "n {n} {rows:?}: row {r} of x changed");
                continue;
            };
            let o64: Vec<f64> = or.iter().map(|&v| f64::from(v)).collect();
            let normed_o = rmsnorm(&o64, &pw, f64::from(eps));
            let new_x: Vec<f64> = xr.iter().zip(&normed_o).map(|(&a, b)| f64::from(a) + b).collect();
            let want_out = rmsnorm(&new_x, &w, f64::from(eps));
            for i in 0..n {
                // Each value passes a sum of n squares (n·ε relative, for the scale), a few
                // products and one add: (n + 8)·ε of the magnitudes involved.
                let tol_x = (n as f64 + 8.0) * f32_eps * (f64::from(xr[i]).abs() + normed_o[i].abs());
                let g = f64::from(got_x[r * n + i]);
                assert!((g - new_x[i]).abs() <= tol_x, "n {n} {rows:?}: x[{r}, {i}] = {g}, want {}", new_x[i]);
                let tol_out = 2.0 * (n as f64 + 8.0) * f32_eps * want_out[i].abs() + 1e-7;
                let g = f64::from(got_out[out_row * n + i]);
                assert!((g - want_out[i]).abs() <= tol_out, "n {n} {rows:?}: out[{out_row}, {i}] = {g}, want {}", want_out[i]);
            }
        }
    }
}

#[test]
fn mismatched_shapes_are_errors() {
    let ctx = common::gpu();
    let step = step_buffer(&ctx, 0, 1);
    let w = ctx.f32_buffer_from("w", &[1.0; 8]);
    let short = ctx.f32_buffer_from("short", &[1.0; 4]);
    let (x, o_wrong, out) = (zeros(&ctx, "x", 2, 8), zeros(&ctx, "o", 2, 6), zeros(&ctx, "out", 2, 8));
    let cache = PipelineCache::default();
    let r = pollster::block_on(residual_norm(&ctx, &cache, &x, &o_wrong, &w, &w, &out, &step, BatchRows::PerToken(2), 1e-6));
    assert!(matches!(r, Err(hearth::Error::InvalidArgument(_))), "a block output of another width was accepted");
    let r = pollster::block_on(residual_norm(&ctx, &cache, &x, &x, &short, &w, &out, &step, BatchRows::PerToken(2), 1e-6));
    assert!(matches!(r, Err(hearth::Error::InvalidArgument(_))), "a short post-norm weight was accepted");
}
