//! shaders/argmax.wgsl: the index of the largest value, with the same rule as the CPU
//! sampler's greedy pick (hearth::sample::argmax): ties go to the lowest index. Integer
//! results, so they must match exactly.

use crate::common;

use common::kernels::{read_u32, step_buffer, submit, tensor, u32_buffer};
use hearth::gpu::{GpuContext, GpuOptions, PipelineCache, Tuning};
use hearth::kernels::argmax::{ArgmaxRow, argmax, mask_words};

/// The first index of the maximum, written out plainly.
fn reference(x: &[f32]) -> u32 {
    let mut best = 0;
    for i in 1..x.len() {
        if x[i] > x[best] {
            best = i;
        }
    }
    best as u32
}

/// The argmax of row `row` of `data` seen as rows of `n`.
fn gpu_argmax(ctx: &hearth::gpu::GpuContext, data: &[f32], row: usize, n: usize) -> u32 {
    gpu_masked_argmax(ctx, data, row, n, None)
}

/// The same, among the indices `allowed` lets in (bit i % 32 of word i / 32), if given.
fn gpu_masked_argmax(ctx: &hearth::gpu::GpuContext, data: &[f32], row: usize, n: usize, allowed: Option<&[u32]>) -> u32 {
    let x = tensor(ctx, "x", data.len() / n, n, data);
    let out = u32_buffer(ctx, &[u32::MAX]);
    let step = step_buffer(ctx, 0, 1);
    let mut words = vec![0u32; mask_words(n as u32) as usize];
    if let Some(bits) = allowed {
        words[0] = 1;
        words[1..].copy_from_slice(bits);
    }
    let mask = u32_buffer(ctx, &words);
    let d = pollster::block_on(argmax(ctx, &PipelineCache::default(), &x, ArgmaxRow::At(row as u32), &out, &step, &mask)).unwrap();
    submit(ctx, 1, &d);
    read_u32(ctx, &out, 1)[0]
}

/// Devices with each argmax shape Hearth picks: the GPU tuning's (many workgroups of 256
/// threads, 8 values each), the CPU-like devices' (workgroups of 16 threads, 256 values
/// each) and an odd one (3 values a thread: spans that are no power of two).
fn shapes() -> Vec<(String, GpuContext)> {
    let odd = Tuning { argmax_workgroup_size: 32, argmax_per_thread: 3, ..Tuning::CPU };
    [Tuning::GPU, Tuning::CPU, odd]
        .into_iter()
        .map(|t| {
            let name = format!("{} threads x {}", t.argmax_workgroup_size, t.argmax_per_thread);
            (name, common::gpu_with(GpuOptions { tuning: Some(t), ..Default::default() }))
        })
        .collect()
}

#[test]
fn argmax_matches_reference() {
    for (shape, ctx) in shapes() {
        argmax_matches_reference_with(&shape, &ctx);
    }
}

fn argmax_matches_reference_with(shape: &str, ctx: &GpuContext) {
    let mut rng = common::Rng(0xa59);
    // Vocabulary sizes: 1, around the 256-thread workgroup, SmolLM2's 49152, Qwen2.5's 151936
    // and Gemma 3's 262144 (plus one that is none of these multiples).
    // 2,047 / 2,048 / 2,049 and 4,095 / 4,096 / 4,097: around one first-pass workgroup's span
    // with the GPU's shape (256 threads × 8 values) and the CPU's (16 × 256).
    for n in [1usize, 2, 255, 256, 257, 1000, 2047, 2048, 2049, 4095, 4096, 4097, 49_152, 151_936, 262_144, 262_147] {
        // Random logits, all negative for half the cases (a start value of 0 would win).
        let shift = if n % 2 == 0 { -100.0 } else { 0.0 };
        let mut x: Vec<f32> = (0..n).map(|_| 10.0 * rng.signed_unit() + shift).collect();
        assert_eq!(gpu_argmax(ctx, &x, 0, n), reference(&x), "{shape}: n={n} random");
        // Ties: the same maximum at several indices, handled by different threads.
        let top = x.iter().cloned().fold(f32::MIN, f32::max) + 1.0;
        for &i in [n - 1, n / 2, n / 3 + 1].iter().filter(|&&i| i < n) {
            x[i] = top;
        }
        let want = reference(&x);
        assert_eq!(gpu_argmax(ctx, &x, 0, n), want, "{shape}: n={n} ties");
        assert_eq!(hearth::sample::argmax(&x), want, "the CPU sampler uses the same rule");
        // All equal: index 0.
        assert_eq!(gpu_argmax(ctx, &vec![-3.5; n], 0, n), 0, "{shape}: n={n} all equal");
    }
}

#[test]
fn argmax_over_a_row_of_a_larger_buffer() {
    // Row 2 of [4 × vocab] logits: the index is relative to the row, and larger values
    // outside the row (before and after it) are ignored.
    let ctx = common::gpu();
    let mut rng = common::Rng(0x10c);
    let (vocab, rows) = (1003, 4);
    let mut x: Vec<f32> = (0..vocab * rows).map(|_| rng.signed_unit()).collect();
    x[vocab + 5] = 50.0; // row 1
    x[vocab * 3 + 3] = 60.0; // row 3
    let row = &x[2 * vocab..3 * vocab];
    assert_eq!(gpu_argmax(&ctx, &x, 2, vocab), reference(row));
}

#[test]
fn argmax_of_the_batch_s_last_row() {
    // Logits of every token of a batch: the row scanned is the last token's, whichever
    // batch size the step uniform holds (the graph is built once for the largest).
    let ctx = common::gpu();
    let mut rng = common::Rng(0x1a57);
    let (vocab, capacity) = (1003usize, 5usize);
    let x: Vec<f32> = (0..vocab * capacity).map(|_| rng.signed_unit()).collect();
    let xb = tensor(&ctx, "x", capacity, vocab, &x);
    let out = u32_buffer(&ctx, &[u32::MAX]);
    for n_tokens in 1..=capacity {
        let step = step_buffer(&ctx, 40, n_tokens as u32);
        let mask = u32_buffer(&ctx, &vec![0; mask_words(vocab as u32) as usize]);
        let d = pollster::block_on(argmax(&ctx, &PipelineCache::default(), &xb, ArgmaxRow::LastOfBatch, &out, &step, &mask)).unwrap();
        submit(&ctx, n_tokens as u32, &d);
        let want = reference(&x[(n_tokens - 1) * vocab..n_tokens * vocab]);
        assert_eq!(read_u32(&ctx, &out, 1)[0], want, "batch of {n_tokens}");
    }
}

#[test]
fn infinite_values() {
    // -inf logits (masked tokens) are valid inputs; the largest finite value still wins, and
    // a row that is -inf everywhere gives index 0 like the CPU sampler.
    let ctx = common::gpu();
    let n = 700;
    let mut x = vec![f32::NEG_INFINITY; n];
    assert_eq!(gpu_argmax(&ctx, &x, 0, n), 0, "all -inf");
    x[650] = -1e30;
    assert_eq!(gpu_argmax(&ctx, &x, 0, n), 650, "one finite value");
    x[3] = f32::INFINITY;
    assert_eq!(gpu_argmax(&ctx, &x, 0, n), 3, "+inf");
}

/// With a mask (a grammar's allowed tokens), the best allowed index wins: the CPU sampler's
/// `sample_masked` at temperature 0 picks the same; nothing allowed gives u32::MAX.
#[test]
fn masked_argmax_picks_the_best_allowed_index() {
    for (shape, ctx) in shapes() {
        masked_argmax_with(&shape, &ctx);
    }
}

fn masked_argmax_with(shape: &str, ctx: &GpuContext) {
    let mut rng = common::Rng(0x3a5c);
    for n in [37usize, 2049, 4097, 151_936, 262_144] {
        let x: Vec<f32> = (0..n).map(|_| 10.0 * rng.signed_unit()).collect();
        let words = n.div_ceil(32);
        // Every third index allowed, the overall maximum not among them, and one allowed tie.
        let mut bits = vec![0u32; words];
        let mut allow = |i: usize| bits[i / 32] |= 1 << (i % 32);
        (0..n).step_by(3).for_each(&mut allow);
        let mut x = x;
        x[1] = 100.0; // the overall maximum, at an index the mask leaves out
        let best_allowed = (0..n).step_by(3).max_by(|&a, &b| x[a].total_cmp(&x[b]).then(b.cmp(&a))).unwrap();
        let tie = (best_allowed + 3..n).step_by(3).next();
        if let Some(t) = tie {
            x[t] = x[best_allowed]; // same value, higher index: the lower one wins
        }
        let want =
            hearth::sample::argmax(&x.iter().enumerate().map(|(i, &v)| if i % 3 == 0 { v } else { f32::NEG_INFINITY }).collect::<Vec<_>>());
        assert_eq!(want as usize, best_allowed, "{shape}: n={n}: the reference");
        assert_eq!(gpu_masked_argmax(ctx, &x, 0, n, Some(&bits)), want, "{shape}: n={n} masked");
        assert_ne!(gpu_argmax(ctx, &x, 0, n), want, "{shape}: n={n}: unmasked, the maximum is elsewhere");
        assert_eq!(gpu_masked_argmax(ctx, &x, 0, n, Some(&vec![0; words])), u32::MAX, "{shape}: n={n}: nothing allowed");
    }
}

/// A shape the kernel cannot run (a workgroup that is no power of two, more values per thread
/// than the loop limit allows) is an error naming it, not a shader that fails to build or
/// reads past its span.
#[test]
fn a_bad_argmax_shape_is_an_error_naming_it() {
    for (tuning, named) in [
        (Tuning { argmax_workgroup_size: 24, ..Tuning::CPU }, "workgroup size 24"),
        (Tuning { argmax_per_thread: 5000, ..Tuning::CPU }, "values per thread 5000"),
    ] {
        let ctx = common::gpu_with(GpuOptions { tuning: Some(tuning), ..Default::default() });
        let x = tensor(&ctx, "x", 1, 8, &[0.0; 8]);
        let (out, step, mask) = (u32_buffer(&ctx, &[0]), step_buffer(&ctx, 0, 1), u32_buffer(&ctx, &[0; 2]));
        let Err(err) = pollster::block_on(argmax(&ctx, &PipelineCache::default(), &x, ArgmaxRow::At(0), &out, &step, &mask)) else {
            panic!("{tuning:?} was accepted");
        };
        assert!(err.to_string().contains(named), "{err}");
    }
}
