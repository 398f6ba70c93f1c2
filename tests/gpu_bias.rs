//! shaders/bias.wgsl (bias vector added to every row) against a CPU reference in f64.

mod common;

use common::kernels::{read_tensor, step_buffer, tensor, zeros};
use hearth::gpu::PipelineCache;
use hearth::kernels::BatchRows;
use hearth::kernels::bias::add_bias;

fn run_bias(ctx: &hearth::gpu::GpuContext, width: usize, rows: usize) {
    let mut rng = common::Rng(0xb1a5 + width as u64 * 7 + rows as u64);
    let y: Vec<f32> = (0..width * rows).map(|_| rng.signed_unit() * 8.0).collect();
    let bias: Vec<f32> = (0..width).map(|_| rng.signed_unit()).collect();
    let cache = PipelineCache::default();
    let yb = tensor(ctx, "y", rows, width, &y);
    let bb = ctx.f32_buffer_from("bias", &bias);
    let step = step_buffer(ctx, 0, rows as u32);
    let d = pollster::block_on(add_bias(ctx, &cache, &yb, &bb, &step, BatchRows::PerToken(rows as u32))).unwrap();
    common::kernels::submit(ctx, rows as u32, &[d]);
    let got = read_tensor(ctx, &yb);
    for (i, &g) in got.iter().enumerate() {
        let want = f64::from(y[i]) + f64::from(bias[i % width]);
        // One f32 addition: the result is the exactly rounded sum, within half an ulp.
        let tol = want.abs() * f64::from(f32::EPSILON) / 2.0;
        assert!((f64::from(g) - want).abs() <= tol, "{width}x{rows}: y[{i}] = {g}, want {want}");
    }
}

#[test]
fn bias_is_added_to_every_row() {
    let ctx = common::gpu();
    // Widths of Qwen2's q (896) and k/v (128) biases, an odd width, one row (decode) and
    // row counts whose total is not a multiple of the 64-thread workgroup.
    for (width, rows) in [(896, 1), (128, 7), (37, 3), (896, 33)] {
        run_bias(&ctx, width, rows);
    }
}

#[test]
fn one_row_whatever_the_batch_and_batches_below_capacity() {
    // `One`: only row 0 (the last token's logits) whatever the batch; `PerToken(8)` run on a
    // batch of 3: rows 0..3, the rest of the buffer untouched.
    let ctx = common::gpu();
    let cache = PipelineCache::default();
    let width = 70;
    let bias: Vec<f32> = (0..width).map(|i| i as f32).collect();
    let bb = ctx.f32_buffer_from("bias", &bias);
    for (rows, want_rows) in [(BatchRows::One, 1), (BatchRows::PerToken(8), 3)] {
        let yb = tensor(&ctx, "y", 8, width, &vec![0.5f32; width * 8]);
        let step = step_buffer(&ctx, 0, 3);
        let d = pollster::block_on(add_bias(&ctx, &cache, &yb, &bb, &step, rows)).unwrap();
        common::kernels::submit(&ctx, 3, &[d]);
        let got = read_tensor(&ctx, &yb);
        for (i, &g) in got.iter().enumerate() {
            let want = if i < want_rows * width { 0.5 + (i % width) as f32 } else { 0.5 };
            assert_eq!(g, want, "{rows:?}: y[{i}]");
        }
    }
}

#[test]
fn bias_covers_more_than_65535_workgroups() {
    // 4.6M values need 71,750 workgroups of 64: the dispatch is split over x and y.
    run_bias(&common::gpu(), 896, 5125);
}

#[test]
fn bias_refuses_shapes_that_do_not_fit_its_buffers() {
    let ctx = common::gpu();
    let cache = PipelineCache::default();
    let y = zeros(&ctx, "y", 10, 10);
    let b = ctx.f32_buffer("bias", 10);
    let step = step_buffer(&ctx, 0, 1);
    // More rows than the output holds; a bias shorter than a row.
    let err = pollster::block_on(add_bias(&ctx, &cache, &y, &b, &step, BatchRows::PerToken(11))).err().unwrap();
    assert!(err.to_string().contains("`y` is [10 × 10], needs [11 × 10]"), "{err}");
    let wide = zeros(&ctx, "wide", 1, 20);
    let err = pollster::block_on(add_bias(&ctx, &cache, &wide, &b, &step, BatchRows::One)).err().unwrap();
    assert!(err.to_string().contains("40-byte bias for rows of 20"), "{err}");
}
