//! shaders/matmul.wgsl and the register-tiled shaders/gemm.wgsl (batches, where the tuning
//! asks for it: the GPU tuning does) for every weight format against the CPU reference
//! dequantiser (itself checked against the `gguf` Python package in tests/core/quant_dequantize.rs).
//! Weights are real blocks from the quant fixtures, tiled into matrices whose row and
//! column counts are not multiples of the workgroup size.

use crate::common;

use hearth::gpu::{GpuContext, GpuMatrix, GpuOptions, PipelineCache, Tuning, WEIGHT_TEXTURE_WIDTH};
use hearth::kernels::BatchRows;
use hearth::kernels::matmul::matmul;
use hearth::quant::{self, DType};

use common::kernels::{read_tensor, tensor, zeros};
use common::quant_blocks::{row_unit, tiled_matrix};

fn run_matmul(ctx: &GpuContext, dtype: DType, rows: usize, cols: usize, n_tokens: usize) -> (Vec<f32>, Vec<f64>, Vec<f64>) {
    let r = run_matmul_full(ctx, dtype, rows, cols, n_tokens);
    (r.got, r.want, r.scale)
}

/// One matmul's output, its f64 reference, and per output the sum of |w·x| (the scale of
/// f32 rounding) and the most that rounding the activations to q8 per 32 columns can move it
/// (sum over columns of |w| × dx / 2, dx = the 32 columns' max |x| / 127: what the 8-bit
/// GEMM may add), and the labels of the kernels that ran.
struct MatmulRun {
    got: Vec<f32>,
    want: Vec<f64>,
    scale: Vec<f64>,
    q8_bound: Vec<f64>,
    kernels: Vec<String>,
}

fn run_matmul_full(ctx: &GpuContext, dtype: DType, rows: usize, cols: usize, n_tokens: usize) -> MatmulRun {
    let bytes = tiled_matrix(dtype, rows, cols);
    let mut rng = common::Rng(0x1234 + rows as u64 * 31 + cols as u64);
    let x: Vec<f32> = (0..n_tokens * cols).map(|_| rng.signed_unit()).collect();

    let cache = PipelineCache::default();
    let w = GpuMatrix::upload(ctx, "w", dtype, rows as u32, cols as u32, &bytes).unwrap();
    let xb = tensor(ctx, "x", n_tokens, cols, &x);
    let yb = zeros(ctx, "y", n_tokens, rows);
    let step = common::kernels::step_buffer(ctx, 0, n_tokens as u32);
    let mm = pollster::block_on(matmul(ctx, &cache, &w, &xb, &yb, &step, BatchRows::PerToken(n_tokens as u32))).unwrap();
    common::kernels::submit(ctx, n_tokens as u32, &mm);
    let got = read_tensor(ctx, &yb);

    // Reference: CPU dequantisation, f64 dot products; and the scale of each sum.
    let wf = quant::dequantize_to_vec(dtype, &bytes).unwrap();
    let (mut want, mut scale, mut q8_bound) = (Vec::new(), Vec::new(), Vec::new());
    for t in 0..n_tokens {
        let xt = &x[t * cols..][..cols];
        let dx: Vec<f64> = xt.chunks(32).map(|b| b.iter().fold(0f64, |m, &v| m.max(f64::from(v).abs())) / 127.0).collect();
        for r in 0..rows {
            let (mut s, mut a, mut q) = (0f64, 0f64, 0f64);
            for c in 0..cols {
                let p = f64::from(wf[r * cols + c]) * f64::from(xt[c]);
                s += p;
                a += p.abs();
                q += f64::from(wf[r * cols + c]).abs() * dx[c / 32] / 2.0;
            }
            want.push(s);
            scale.push(a);
            q8_bound.push(q);
        }
    }
    MatmulRun { got, want, scale, q8_bound, kernels: cache.labels() }
}

/// f32 sums of up to a few thousand products, accumulated in a different order than the
/// f64 reference: the error is bounded by n·ε·Σ|w·x| (≈ 1.4e-4 relative for n = 2304) and
/// in practice near √n·ε. 2e-5 of Σ|w·x| sits between the two; a wrong nibble, scale or
/// offset changes a sum by far more.
fn assert_close(label: &str, got: &[f32], want: &[f64], scale: &[f64]) {
    assert_eq!(got.len(), want.len());
    for (i, ((&g, &w), &s)) in got.iter().zip(want).zip(scale).enumerate() {
        let tol = 2e-5 * s + 1e-6;
        assert!((f64::from(g) - w).abs() <= tol, "{label}: y[{i}] = {g}, want {w} (tolerance {tol})");
    }
}

/// (rows, blocks per row, tokens): odd row counts, chunk counts around and above the
/// 64-thread workgroup, single-token decode and batches that are not a multiple of the
/// tokens per workgroup.
fn shapes(dtype: DType) -> [(usize, usize, usize); 3] {
    [(67, 9, 1), (5, 3, 11), (130, 70 * 32 / row_unit(dtype) + 1, 3)]
}

fn check(ctx: &GpuContext, dtype: DType, label: &str) {
    for (rows, blocks, tokens) in shapes(dtype) {
        let cols = blocks * row_unit(dtype);
        let (got, want, scale) = run_matmul(ctx, dtype, rows, cols, tokens);
        assert_close(&format!("{dtype} {rows}x{cols}x{tokens} {label}"), &got, &want, &scale);
    }
}

fn gpu_with_tuning(tuning: Tuning) -> GpuContext {
    common::gpu_with(GpuOptions { tuning: Some(tuning), ..Default::default() })
}

#[test]
fn matmul_matches_cpu_reference_for_every_format() {
    // Every tuning Hearth picks (lavapipe, SwiftShader, GPUs), whatever device runs the test.
    for (name, tuning) in [("cpu tuning", Tuning::CPU), ("swiftshader tuning", Tuning::SWIFTSHADER), ("gpu tuning", Tuning::GPU)] {
        let ctx = gpu_with_tuning(tuning);
        for dtype in DType::ALL {
            check(&ctx, dtype, name);
        }
    }
}

#[test]
fn every_tile_shape_gives_the_same_result() {
    // Workgroup size, threads per row, rows per thread (consecutive or interleaved with the
    // other threads' in decode) and tokens per workgroup change how the work is split, never
    // the result: the extremes and mixes of each, on a format with one chunk per block (Q4_1),
    // one with eight (Q6_K) and a float format (F16).
    let tiles = [
        (64, 1, 1, 1, false),
        (16, 1, 2, 4, false),
        (16, 1, 8, 2, false),
        (16, 1, 8, 4, false), // Tuning::SWIFTSHADER's prefill
        (16, 1, 16, 4, true), // Tuning::CPU's prefill; Tuning::lavapipe(2)'s decode
        (64, 1, 16, 32, false),
        (16, 2, 4, 8, true),
        (64, 16, 1, 8, false),
        (16, 16, 4, 2, true), // one row at a time a workgroup: interleaved is consecutive
        (64, 64, 2, 8, false),
        (256, 64, 1, 8, false),
    ];
    for (workgroup_size, threads_per_row, rows_per_thread, tokens, interleaved) in tiles {
        let tuning = Tuning {
            matmul_decode_workgroup_size: workgroup_size,
            matmul_prefill_workgroup_size: workgroup_size,
            matmul_decode_threads_per_row: threads_per_row,
            matmul_prefill_threads_per_row: threads_per_row,
            matmul_decode_rows_per_thread: rows_per_thread,
            matmul_decode_rows_interleaved: interleaved,
            matmul_prefill_rows_per_thread: rows_per_thread,
            matmul_prefill_tokens: tokens,
            ..Tuning::CPU
        };
        let ctx = gpu_with_tuning(tuning);
        for dtype in [DType::Q4_1, DType::Q6_K, DType::F16] {
            check(
                &ctx,
                dtype,
                &format!(
                    "wg {workgroup_size}, {threads_per_row} threads/row, {rows_per_thread} rows/thread (interleaved: {interleaved}), {tokens} tokens"
                ),
            );
        }
    }
}

/// Decode GEMVs whose rows per thread are chosen to spread their workgroups over the CPU's
/// threads (`Tuning::matmul_decode_balance_threads`, lavapipe's): the rows the choice lands
/// on for two threads, sizes no tuning names (18 and 15 rows a thread, 18 with a GLU
/// epilogue, where each thread takes 9 outputs' gate and up rows), give the f64 reference's
/// result, and the choice is the one that ran (its label in the pipeline cache).
#[test]
fn decode_rows_balanced_over_threads_give_the_same_result() {
    use hearth::gpu::ElementwiseOp;
    use hearth::kernels::matmul::{Fusion, matmul_with};
    let ctx = gpu_with_tuning(Tuning {
        matmul_decode_rows_per_thread: 16,
        matmul_decode_rows_interleaved: true,
        matmul_decode_balance_threads: 2,
        ..Tuning::CPU
    });
    let dtype = DType::Q4_1;
    let cols = 2 * row_unit(dtype);
    // 576 rows: two 288-row workgroups (three of 256 would leave a thread idle half the time);
    // 960: four of 240.
    for (rows, label) in [(576, "_r18i_"), (960, "_r15i_")] {
        let r = run_matmul_full(&ctx, dtype, rows, cols, 1);
        assert!(r.kernels.iter().any(|k| k.contains(label)), "{rows} rows: kernels {:?}, want {label}", r.kernels);
        assert_close(&format!("{dtype} {rows}x{cols} balanced"), &r.got, &r.want, &r.scale);
    }
    // [gate; up] of 576 outputs: four workgroups of 144 outputs.
    let outputs = 576;
    let bytes = tiled_matrix(dtype, 2 * outputs, cols);
    let w = GpuMatrix::upload(&ctx, "gate_up", dtype, 2 * outputs as u32, cols as u32, &bytes).unwrap();
    let mut rng = common::Rng(0xba1);
    let x: Vec<f32> = (0..cols).map(|_| rng.signed_unit()).collect();
    let (xb, yb) = (tensor(&ctx, "x", 1, cols, &x), zeros(&ctx, "y", 1, outputs));
    let step = common::kernels::step_buffer(&ctx, 0, 1);
    let cache = PipelineCache::default();
    let glu = Fusion { glu: Some(ElementwiseOp::SwiGlu), ..Default::default() };
    let ds = pollster::block_on(matmul_with(&ctx, &cache, &w, &xb, &yb, &step, BatchRows::PerToken(1), glu)).unwrap();
    common::kernels::submit(&ctx, 1, &ds);
    assert!(cache.labels().iter().any(|k| k.contains("_r18i_")), "GLU: kernels {:?}", cache.labels());
    let wf = quant::dequantize_to_vec(dtype, &bytes).unwrap();
    let xn: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    check_row("Q4_1 GLU balanced", &read_tensor(&ctx, &yb), &wf, cols, &xn, true, None);
}

/// Decode GEMVs with many rows take more rows per thread where the GPU tuning caps their
/// workgroups (`Tuning::matmul_decode_max_workgroups`, for large vocabularies' output heads),
/// which it does only where subgroups sum a row's lanes: 8 lanes a row (lavapipe's subgroups
/// hold 8 or more), 1,000 rows of 8 a workgroup would be 125 workgroups; a cap of 40 doubles
/// the rows per thread twice (4 rows: 32 a workgroup, 32 workgroups), and a cap of 1 stops at
/// 16 rows. With 32 lanes a row (wider than lavapipe's subgroups: a workgroup-memory tree sums
/// them) the cap leaves 1 row. The f64 reference's result each time, and the rows chosen are
/// the kernel that ran (its label).
#[test]
fn decode_rows_capped_by_workgroups_give_the_same_result() {
    let dtype = DType::Q8_0;
    let cols = 2 * row_unit(dtype);
    for (lanes, max_groups, label) in [(8, 40, "_r4_"), (8, 1, "_r16_"), (32, 1, "_r1_")] {
        let ctx = gpu_with_tuning(Tuning {
            matmul_decode_workgroup_size: 8 * lanes,
            matmul_decode_threads_per_row: lanes,
            matmul_decode_rows_per_thread: 1,
            matmul_decode_max_workgroups: max_groups,
            ..Tuning::GPU
        });
        if ctx.info.name.contains("llvmpipe") {
            let shuffles = ctx.features.subgroups && lanes <= ctx.info.subgroup_min_size;
            assert_eq!(shuffles, lanes == 8, "lavapipe's subgroups hold 8 lanes or more, not 32");
        }
        let r = run_matmul_full(&ctx, dtype, 1000, cols, 1);
        assert!(r.kernels.iter().any(|k| k.contains(label)), "{lanes} lanes, cap {max_groups}: kernels {:?}, want {label}", r.kernels);
        assert_close(&format!("{dtype} 1000x{cols}, {lanes} lanes, capped at {max_groups}"), &r.got, &r.want, &r.scale);
    }
}

/// The register-tiled GEMM (shaders/gemm.wgsl, batches only) with tiles of other kinds: the
/// GPU tuning's is in `matmul_matches_cpu_reference_for_every_format` (every format) and
/// `epilogues_match_f64_reference`; here one thread per output (256 threads), the largest
/// staged tiles WebGPU allows (16 KiB) with tall thin threads, and the columns split between
/// 3 and 2 thread groups (the shapes' 3, 9 and 71 column steps: uneven shares, and groups
/// idle in a last round, as the third at 71 steps; the GPU tuning's 2 groups run in
/// `matmul_matches_cpu_reference_for_every_format`; every shape here fits WebGPU's minimum
/// limits, so none is reduced), on a format with one chunk per block (Q4_1) and one with
/// eight (Q6_K).
#[test]
fn every_gemm_tile_gives_the_same_result() {
    for (tile_rows, tile_tokens, thread_rows, thread_tokens, k_split) in
        [(16, 16, 1, 1, 1), (64, 64, 16, 2, 1), (16, 16, 2, 2, 3), (32, 8, 2, 1, 2)]
    {
        let tuning = Tuning {
            matmul_gemm: true,
            matmul_gemm_tile_rows: tile_rows,
            matmul_gemm_tile_tokens: tile_tokens,
            matmul_gemm_thread_rows: thread_rows,
            matmul_gemm_thread_tokens: thread_tokens,
            matmul_gemm_k_split: k_split,
            ..Tuning::CPU
        };
        let ctx = gpu_with_tuning(tuning);
        for dtype in [DType::Q4_1, DType::Q6_K] {
            check(
                &ctx,
                dtype,
                &format!("gemm {tile_rows}x{tile_tokens} tiles, {thread_rows}x{thread_tokens} per thread, columns in {k_split} groups"),
            );
        }
    }
}

/// The GEMM with its loops left as loops (`Tuning::unroll_gemm_max_bytes` 0; the GPU tuning
/// unrolls them, and the other GEMM tests run that): the GPU tuning's tile and column split
/// on formats with one chunk a block (Q4_0, Q5_0, Q8_0), eight (Q4_K, Q6_K) and none (F32),
/// against the f64 reference.
#[test]
fn rolled_gemm_gives_the_same_result() {
    let ctx = gpu_with_tuning(Tuning { unroll_gemm_max_bytes: 0, ..Tuning::GPU });
    for dtype in [DType::Q4_0, DType::Q5_0, DType::Q8_0, DType::Q4_K, DType::Q6_K, DType::F32] {
        check(&ctx, dtype, "gemm rolled");
    }
}

/// The GEMM on 8-bit integers (shaders/gemm_dp4a.wgsl), forced on the GPU tuning, for every
/// format with an integer reader, on the batch shapes (odd rows, 3 and 11 tokens, 3 and 71
/// column steps): each output within the activations' q8 rounding (a bound computed from the
/// weights and activations) plus f32 rounding of the f64 reference, and the integer kernel
/// is the one that ran (Q2_K, Q3_K and Q6_K: a scale per 16 values, each half of a step
/// scaled on its own). Formats without a reader (F16 here) keep the f32 GEMM.
#[test]
fn dp4a_gemm_is_within_the_activations_q8_rounding() {
    let ctx = gpu_with_tuning(Tuning { matmul_gemm_dp4a: true, ..Tuning::GPU });
    assert!(ctx.features.packed_dot, "native wgpu (naga) always has packed_4x8_integer_dot_product");
    for dtype in DType::ALL.into_iter().filter(|d| *d != DType::F32 && *d != DType::BF16) {
        for (rows, blocks, tokens) in shapes(dtype).into_iter().filter(|s| s.2 > 1) {
            let cols = blocks * row_unit(dtype);
            let r = run_matmul_full(&ctx, dtype, rows, cols, tokens);
            let integer = r.kernels.iter().any(|k| k.starts_with("gemm_dp4a_"));
            assert_eq!(integer, dtype != DType::F16, "{dtype}: kernels {:?}", r.kernels);
            for (i, (((&g, &w), &s), &q)) in r.got.iter().zip(&r.want).zip(&r.scale).zip(&r.q8_bound).enumerate() {
                let tol = q * 1.01 + 2e-5 * s + 1e-6;
                assert!((f64::from(g) - w).abs() <= tol, "{dtype} {rows}x{cols}x{tokens}: y[{i}] = {g}, want {w} (tolerance {tol})");
            }
        }
    }
}

/// A row's lanes summed by subgroup shuffles (shaders/matmul_subgroup.wgsl), where the device
/// has subgroups of at least that many lanes (lavapipe's hold 8 or more): 4 and 8 lanes per
/// row, decode and batches, on Q6_K (its 8 chunks per block spread over the lanes). (The workgroup-memory tree is every
/// other test's with 16 or 64 lanes per row, and the GPU tuning's where there are no subgroups.)
#[test]
fn subgroup_row_sums_give_the_same_result() {
    for threads_per_row in [4, 8] {
        let tuning = Tuning {
            matmul_decode_workgroup_size: 32,
            matmul_prefill_workgroup_size: 32,
            matmul_decode_threads_per_row: threads_per_row,
            matmul_prefill_threads_per_row: threads_per_row,
            matmul_decode_rows_per_thread: 2,
            matmul_subgroup_reduce: true,
            ..Tuning::CPU
        };
        let ctx = gpu_with_tuning(tuning);
        let uses_subgroups = ctx.features.subgroups && threads_per_row <= ctx.info.subgroup_min_size;
        if ctx.info.name.contains("llvmpipe") {
            assert!(uses_subgroups, "lavapipe has subgroups of 8 or more: the shuffles must be tested");
        }
        check(&ctx, DType::Q6_K, &format!("{threads_per_row} lanes per row, subgroup sums {uses_subgroups}"));
    }
}

#[test]
fn tunings_outside_the_kernel_shapes_are_errors() {
    for bad in [
        Tuning { matmul_prefill_rows_per_thread: 3, ..Tuning::CPU },
        Tuning { matmul_decode_workgroup_size: 48, ..Tuning::CPU },
        Tuning { matmul_prefill_workgroup_size: 512, ..Tuning::CPU }, // past WebGPU's 256 per workgroup
        Tuning { matmul_prefill_threads_per_row: 64, ..Tuning::CPU }, // more than the workgroup of 16
        Tuning { matmul_decode_threads_per_row: 32, ..Tuning::CPU },
        Tuning { matmul_gemm_tile_rows: 96, ..Tuning::GPU },
        Tuning { matmul_gemm_thread_tokens: 64, ..Tuning::GPU }, // more than the tile's 32
        Tuning { matmul_gemm_tile_rows: 128, matmul_gemm_tile_tokens: 64, ..Tuning::GPU }, // 24 KiB staged
        Tuning {
            matmul_gemm_tile_rows: 64,
            matmul_gemm_tile_tokens: 32,
            matmul_gemm_thread_rows: 1,
            matmul_gemm_thread_tokens: 1,
            ..Tuning::GPU
        }, // 2,048 threads
        Tuning { matmul_gemm_k_split: 0, ..Tuning::GPU },
        Tuning { matmul_gemm_k_split: 17, ..Tuning::GPU },
    ] {
        let ctx = gpu_with_tuning(bad);
        let w = GpuMatrix::upload(&ctx, "w", DType::Q8_0, 4, 32, &tiled_matrix(DType::Q8_0, 4, 32)).unwrap();
        let (x, y) = (zeros(&ctx, "x", 2, 32), zeros(&ctx, "y", 2, 4));
        let step = common::kernels::step_buffer(&ctx, 0, 2);
        let r = pollster::block_on(matmul(&ctx, &PipelineCache::default(), &w, &x, &y, &step, BatchRows::PerToken(2)));
        assert!(matches!(r, Err(hearth::Error::InvalidArgument(_))), "{bad:?} was accepted");
    }
}

#[test]
fn dispatches_built_for_a_capacity_run_smaller_batches_and_single_rows() {
    // A graph builds its matmuls once for its largest batch (here 8 tokens) and runs any
    // batch up to it: rows of tokens past the batch stay untouched. `One` computes a single
    // row whatever the batch, from the batch's last row of x (the last token's logits).
    let ctx = gpu_with_tuning(Tuning::GPU);
    let (rows, cols) = (70, 64);
    let (_, want_all, scale) = run_matmul(&ctx, DType::Q4_0, rows, cols, 8);
    let bytes = tiled_matrix(DType::Q4_0, rows, cols);
    let w = GpuMatrix::upload(&ctx, "w", DType::Q4_0, rows as u32, cols as u32, &bytes).unwrap();
    // The same x as run_matmul's (same seed), so the same reference rows.
    let mut rng = common::Rng(0x1234 + rows as u64 * 31 + cols as u64);
    let x: Vec<f32> = (0..8 * cols).map(|_| rng.signed_unit()).collect();
    let xb = tensor(&ctx, "x", 8, cols, &x);
    // (rows, tokens in the batch, rows computed, the first row of x read)
    for (batch_rows, n_tokens, computed, first) in
        [(BatchRows::PerToken(8), 3, 3, 0), (BatchRows::PerToken(8), 1, 1, 0), (BatchRows::One, 5, 1, 4)]
    {
        let yb = tensor(&ctx, "y", 8, rows, &vec![-9.0f32; 8 * rows]);
        let step = common::kernels::step_buffer(&ctx, 0, n_tokens);
        let mm = pollster::block_on(matmul(&ctx, &PipelineCache::default(), &w, &xb, &yb, &step, batch_rows)).unwrap();
        common::kernels::submit(&ctx, n_tokens, &mm);
        let got = read_tensor(&ctx, &yb);
        let n = computed * rows;
        let want = first * rows..first * rows + n;
        assert_close(&format!("{batch_rows:?} on {n_tokens} tokens"), &got[..n], &want_all[want.clone()], &scale[want]);
        assert!(got[n..].iter().all(|&v| v == -9.0), "{batch_rows:?} on {n_tokens} tokens wrote past {computed} rows");
    }
}

/// (rows, cols) of a variant's checks in `dtype`: 67 rows of 9 blocks (an odd count, and a
/// buffer that is not a whole number of 16-byte texels), and 130 rows of over 2,240 columns.
fn short_and_long_rows(dtype: DType) -> [(usize, usize); 2] {
    [(67, 9 * row_unit(dtype)), (130, (70 * 32 / row_unit(dtype) + 1) * row_unit(dtype))]
}

/// The matmuls' input from a uniform binding (`Tuning::matmul_x_uniform`, on by
/// default only on lavapipe hosts without AVX-512), forced whatever the host: every format on
/// one token against the f64 reference, short and long rows, with the uniform kernel checked
/// to be the one that ran; batches in windows of x's rows. Where the row read is only known
/// with the batch (the batch's last row of an x holding several) or rows are not aligned for
/// a binding, the storage kernel must run, and be right.
#[test]
fn input_from_a_uniform_matches_reference() {
    let ctx = gpu_with_tuning(Tuning { matmul_x_uniform: true, ..Tuning::CPU });
    for dtype in DType::ALL {
        for (rows, cols) in short_and_long_rows(dtype) {
            let r = run_matmul_full(&ctx, dtype, rows, cols, 1);
            assert_close(&format!("{dtype} {rows}x{cols}, input as a uniform"), &r.got, &r.want, &r.scale);
            let uniform = format!("_xu{}", cols / 4);
            assert!(r.kernels.iter().any(|k| k.contains(&uniform)), "{dtype} {rows}x{cols}: no uniform-input kernel ran: {:?}", r.kernels);
        }
    }
    // Batches read x in uniform windows of its rows, a dispatch each, where rows start on the
    // 256-byte binding alignment (lavapipe's 64 KiB bindings: 4,096 columns make windows of 4
    // rows, so a 9-token batch takes 3, the last bound from row 5; 2,048 columns 2 windows of
    // 8; 256 columns one window of the batch's 3 rows).
    for (cols, tokens) in [(4096, 9), (2048, 9), (256, 3)] {
        let r = run_matmul_full(&ctx, DType::Q4_1, 40, cols, tokens);
        assert_close(&format!("a {tokens}-token batch of {cols} columns"), &r.got, &r.want, &r.scale);
        assert!(r.kernels.iter().any(|k| k.contains("_xu")), "a batch of {cols} columns read x from storage: {:?}", r.kernels);
    }
    // Rows too wide for a window of the tile's 4 tokens (4,864 columns, Qwen2.5's ffn_down:
    // 3 rows a window) take 2 tokens per workgroup in windows of 2 rows rather than storage.
    let r = run_matmul_full(&ctx, DType::Q4_K, 40, 4864, 9);
    assert_close("a 9-token batch of 4,864 columns", &r.got, &r.want, &r.scale);
    assert!(r.kernels.iter().any(|k| k.contains("_n2_") && k.contains("_xu2432")), "4,864 columns: {:?}", r.kernels);
    // Or, where the tuning asks (`matmul_x_windows_shrink_tokens` false: hosts with AVX-512),
    // the tile's 4 tokens with x from storage.
    let wide = gpu_with_tuning(Tuning { matmul_x_uniform: true, matmul_x_windows_shrink_tokens: false, ..Tuning::CPU });
    let r = run_matmul_full(&wide, DType::Q4_K, 40, 4864, 9);
    assert_close("a 9-token batch of 4,864 columns, x from storage", &r.got, &r.want, &r.scale);
    assert!(r.kernels.iter().all(|k| k.contains("_n4") && !k.contains("_xu")), "4,864 columns: {:?}", r.kernels);
    // 288 columns: rows of 1,152 bytes do not all start on the alignment, so storage.
    let r = run_matmul_full(&ctx, DType::Q4_1, 67, 9 * 32, 3);
    assert_close("a 3-token batch of 288 columns", &r.got, &r.want, &r.scale);
    assert!(!r.kernels.iter().any(|k| k.contains("_xu")), "a batch of unaligned rows read x as a uniform: {:?}", r.kernels);
    // The last row of a 5-token batch in an x of 8 rows: row 4, not row 0.
    let (rows, cols) = (70, 64);
    let (_, want_all, scale) = run_matmul(&ctx, DType::Q4_0, rows, cols, 8);
    let w = GpuMatrix::upload(&ctx, "w", DType::Q4_0, rows as u32, cols as u32, &tiled_matrix(DType::Q4_0, rows, cols)).unwrap();
    let mut rng = common::Rng(0x1234 + rows as u64 * 31 + cols as u64);
    let x: Vec<f32> = (0..8 * cols).map(|_| rng.signed_unit()).collect();
    let (xb, yb) = (tensor(&ctx, "x", 8, cols, &x), zeros(&ctx, "y", 1, rows));
    let step = common::kernels::step_buffer(&ctx, 0, 5);
    let cache = PipelineCache::default();
    let mm = pollster::block_on(matmul(&ctx, &cache, &w, &xb, &yb, &step, BatchRows::One)).unwrap();
    common::kernels::submit(&ctx, 5, &mm);
    assert_close("the last row of a 5-token batch", &read_tensor(&ctx, &yb), &want_all[4 * rows..5 * rows], &scale[4 * rows..5 * rows]);
    assert!(!cache.labels().iter().any(|k| k.contains("_xu")), "the batch's last row read x as a uniform: {:?}", cache.labels());
}

/// The weights read from their texture mirror (`Tuning::matmul_w_texture`, on by default only
/// on lavapipe hosts without AVX-512), forced whatever the host: every format, one token and a
/// batch, against the f64 reference, with the texture kernel checked to be the one that ran.
/// The shapes make the mirror's edge cases: a buffer ending in a part texel (67 rows of 9
/// blocks), one spanning several 64 KiB texture rows, and a matrix split across bindings.
#[test]
fn weights_from_a_texture_match_reference() {
    let ctx = gpu_with_tuning(Tuning { matmul_w_texture: true, ..Tuning::CPU });
    for dtype in DType::ALL {
        for (rows, cols) in short_and_long_rows(dtype) {
            for tokens in [1, 3] {
                let r = run_matmul_full(&ctx, dtype, rows, cols, tokens);
                assert_close(&format!("{dtype} {rows}x{cols}x{tokens}, weights from a texture"), &r.got, &r.want, &r.scale);
                let texture = format!("_wt{WEIGHT_TEXTURE_WIDTH}");
                assert!(r.kernels.iter().any(|k| k.contains(&texture)), "{dtype} {rows}x{cols}: no texture kernel ran: {:?}", r.kernels);
            }
        }
    }
    // Decode reads the small formats' blocks a group at a time (src/quant/chunk_group.rs): 2
    // blocks where rows of 18 start on a texel or 2 words into one (576 columns of Q4_1 and
    // Q8_0), 4 where rows start on texels (640 and 1,536 columns); Q5_0 and Q5_1 rows of 6-word
    // blocks in groups of 4 (640 columns: 20 blocks). 67 rows: rows at both phases.
    for dtype in [DType::Q4_0, DType::Q4_1, DType::Q8_0, DType::Q5_0, DType::Q5_1] {
        for cols in [576, 640, 1536] {
            let r = run_matmul_full(&ctx, dtype, 67, cols, 1);
            assert_close(&format!("{dtype} 67x{cols}, blocks in groups"), &r.got, &r.want, &r.scale);
            let group = hearth::quant::chunk_group::ChunkGroup::for_rows(dtype, cols as u32).expect("a group").label();
            assert!(r.kernels.iter().any(|k| k.contains(&group)), "{dtype} {cols}: no {group} kernel ran: {:?}", r.kernels);
        }
    }
    let split =
        common::gpu_with(GpuOptions { max_storage_binding: Some(4096), tuning: Some(Tuning { matmul_w_texture: true, ..Tuning::CPU }) });
    for dtype in [DType::Q4_1, DType::Q8_0, DType::Q6_K] {
        let (rows, cols) = (300, 2 * row_unit(dtype).max(128));
        let (got, want, scale) = run_matmul(&split, dtype, rows, cols, 1);
        assert_close(&format!("split {dtype}, weights from textures"), &got, &want, &scale);
    }
}

/// Raw chunks (src/quant/raw_chunks.rs, `Tuning::matmul_raw_chunks`: lavapipe's tuning) for
/// every format with raw readers, from storage (a block at a time) and with the lavapipe
/// tuning (from the texture, decode reading blocks in groups), decode and a batch, against the
/// f64 reference; the raw kernels are the ones that ran; and the batch's first token equals a
/// decode of the same activations bit for bit (the engine computes a prompt's last logits row
/// either way, and tests/core/engine_logprobs.rs compares them). Q6_K (a scale per 16 values)
/// has no raw reader and keeps its own.
#[test]
fn raw_chunks_match_reference_and_decode_equals_batch() {
    for (name, tuning) in [("storage", Tuning { matmul_raw_chunks: true, ..Tuning::CPU }), ("lavapipe", Tuning::lavapipe(2))] {
        let ctx = gpu_with_tuning(tuning);
        for dtype in [DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q8_0, DType::Q4_K, DType::Q5_K, DType::Q6_K] {
            let raw = dtype != DType::Q6_K;
            // 576 and 640 columns: decode's groups of 2 and of 4 blocks (the K-quants: rows of
            // whole 256-value blocks, no groups).
            let grouped = if row_unit(dtype) == 32 { [(67, 576), (67, 640)] } else { [(67, 512), (67, 768)] };
            for (rows, cols) in short_and_long_rows(dtype).into_iter().chain(grouped) {
                let decode = run_matmul_full(&ctx, dtype, rows, cols, 1);
                let batch = run_matmul_full(&ctx, dtype, rows, cols, 3);
                for (r, tokens) in [(&decode, 1), (&batch, 3)] {
                    let label = format!("{name}: {dtype} {rows}x{cols}x{tokens}");
                    assert_close(&label, &r.got, &r.want, &r.scale);
                    assert_eq!(r.kernels.iter().any(|k| k.contains("_raw")), raw, "{label}: kernels {:?}", r.kernels);
                }
                assert_eq!(decode.got, batch.got[..rows], "{name}: {dtype} {rows}x{cols}: decode against the batch's first token");
            }
        }
    }
}

#[test]
fn matrices_split_across_bindings_give_the_same_result() {
    // A 4 KiB binding limit splits every matrix below into several parts (a 256-column
    // Q8_0 row takes 8 × 36 bytes in the GPU layout: 14 rows per part, 22 parts for 300
    // rows); every format goes through the same part loop.
    let ctx = common::gpu_with(GpuOptions { max_storage_binding: Some(4096), ..Default::default() });
    for dtype in DType::ALL {
        let (rows, cols) = (300, 2 * row_unit(dtype).max(128));
        let w = GpuMatrix::upload(&ctx, "w", dtype, rows as u32, cols as u32, &tiled_matrix(dtype, rows, cols)).unwrap();
        assert!(w.parts.len() > 1, "{dtype}: {} part(s)", w.parts.len());
        assert!(w.parts.iter().all(|p| p.buffer.size() <= 4096), "{dtype}: a part is over the limit");
        for tokens in [1, 9] {
            let (got, want, scale) = run_matmul(&ctx, dtype, rows, cols, tokens);
            assert_close(&format!("split {dtype} ({} parts) x{tokens}", w.parts.len()), &got, &want, &scale);
        }
    }
}

/// Rows as long as the largest models Hearth targets have (Llama 3 8B's ffn_down: 14,336
/// columns, 448 chunks of 32). llvmpipe silently stops every loop of an invocation once all
/// of them together have run 65,535 iterations (see kernels::attention::PER_QUERY_ROLLED_MAX_HEAD_DIM);
/// a thread walking a long row with the CPU tuning's 16-row × 2-token tile must stay below it.
/// (Q2_K and Q3_K failed here on prefill until their load_chunk loops got constant bounds.)
/// The GEMM (the GPU tuning's tile, batches only) walks the row's 448 chunks with constant
/// inner loops, likewise: checked on the simplest format and the k-quants whose loaders have
/// the most loops (the GEMM's own loops are the same for every format).
#[test]
fn long_rows_are_not_cut_short() {
    let cols = 14_336;
    let gemm_formats = [DType::Q4_1, DType::Q2_K, DType::Q3_K, DType::Q5_K];
    for (name, tuning, formats, batches) in
        [("cpu tuning", Tuning::CPU, &DType::ALL[..], &[1, 3][..]), ("gemm", Tuning::GPU, &gemm_formats[..], &[3][..])]
    {
        let ctx = gpu_with_tuning(tuning);
        for &dtype in formats {
            for &tokens in batches {
                let (got, want, scale) = run_matmul(&ctx, dtype, 20, cols, tokens);
                assert_close(&format!("{dtype} 20x{cols}x{tokens} {name}"), &got, &want, &scale);
            }
        }
    }
}

#[test]
fn activations_of_the_wrong_shape_are_errors_naming_both_shapes() {
    let ctx = common::gpu();
    let w = GpuMatrix::upload(&ctx, "blk.0.ffn_up.weight", DType::Q8_0, 4, 64, &tiled_matrix(DType::Q8_0, 4, 64)).unwrap();
    let step = common::kernels::step_buffer(&ctx, 0, 2);
    let cases = [
        (zeros(&ctx, "h", 2, 32), zeros(&ctx, "up", 2, 4), "`h` is [2 × 32], needs [2 × 64]"),
        (zeros(&ctx, "h", 2, 64), zeros(&ctx, "up", 2, 5), "`up` is [2 × 5], needs [2 × 4]"),
        (zeros(&ctx, "h", 1, 64), zeros(&ctx, "up", 2, 4), "`h` is [1 × 64], needs [2 × 64]"),
    ];
    for (x, y, want) in cases {
        let err = pollster::block_on(matmul(&ctx, &PipelineCache::default(), &w, &x, &y, &step, BatchRows::PerToken(2))).err().unwrap();
        assert!(err.to_string().contains("matmul blk.0.ffn_up.weight") && err.to_string().contains(want), "{err}");
    }
}

/// The epilogues against the same f64 reference: a bias added per output column, the result
/// added to what the output held (the residual stream), the gated activation of a [gate; up]
/// matrix (silu and gelu_tanh written from their definitions in f64), and outputs written
/// from a column offset into a wider tensor, leaving its other columns alone. Both tunings,
/// decode and a 3-token batch, 67 outputs (not a multiple of any workgroup's rows), and
/// SmolLM2's FFN shape (1,536 outputs of 576 columns; its gate/up is [3,072 × 576]).
#[test]
fn epilogues_match_f64_reference() {
    use hearth::gpu::ElementwiseOp;
    use hearth::kernels::matmul::{Fusion, matmul_with};
    let silu = |g: f64| g / (1.0 + (-g).exp());
    let gelu_tanh = |g: f64| 0.5 * g * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (g + 0.044715 * g * g * g)).tanh());
    for tuning in [Tuning::CPU, Tuning::GPU] {
        let ctx = gpu_with_tuning(tuning);
        let shapes = [(DType::Q4_1, 67, 3 * row_unit(DType::Q4_1)), (DType::Q6_K, 67, 3 * row_unit(DType::Q6_K)), (DType::Q4_1, 1536, 576)];
        for (dtype, outputs, cols) in shapes {
            for tokens in [1usize, 3] {
                let mut rng = common::Rng(0xe91 + tokens as u64);
                let x: Vec<f32> = (0..tokens * cols).map(|_| rng.signed_unit()).collect();
                let xb = tensor(&ctx, "x", tokens, cols, &x);
                let step = common::kernels::step_buffer(&ctx, 0, tokens as u32);
                let run = |w: &GpuMatrix, y: &hearth::kernels::tensor::Tensor, e: Fusion| {
                    let ds = pollster::block_on(matmul_with(
                        &ctx,
                        &PipelineCache::default(),
                        w,
                        &xb,
                        y,
                        &step,
                        BatchRows::PerToken(tokens as u32),
                        e,
                    ))
                    .unwrap();
                    common::kernels::submit(&ctx, tokens as u32, &ds);
                    read_tensor(&ctx, y)
                };
                // f64 products of `rows` rows of a tiled matrix with x: (sum, sum of |terms|).
                let reference = |bytes: &[u8], rows: usize| {
                    let wf = quant::dequantize_to_vec(dtype, bytes).unwrap();
                    let mut out = vec![(0f64, 0f64); tokens * rows];
                    for t in 0..tokens {
                        for r in 0..rows {
                            for c in 0..cols {
                                let p = f64::from(wf[r * cols + c]) * f64::from(x[t * cols + c]);
                                out[t * rows + r].0 += p;
                                out[t * rows + r].1 += p.abs();
                            }
                        }
                    }
                    out
                };
                let tol = |scale: f64| 2e-5 * scale + 1e-6;
                let label = format!("{dtype} {tuning:?} x{tokens}");

                // Bias + accumulate, into columns 3 .. 70 of a 75-wide output.
                let (width, col0) = (outputs + 8, 3usize);
                let bytes = tiled_matrix(dtype, outputs, cols);
                let w = GpuMatrix::upload(&ctx, "w", dtype, outputs as u32, cols as u32, &bytes).unwrap();
                let bias: Vec<f32> = (0..width).map(|_| rng.signed_unit()).collect();
                let y0: Vec<f32> = (0..tokens * width).map(|_| rng.signed_unit()).collect();
                let yb = tensor(&ctx, "y", tokens, width, &y0);
                let bb = ctx.f32_buffer_from("bias", &bias);
                let got = run(&w, &yb, Fusion { bias: Some(&bb), accumulate: true, out_col: col0 as u32, ..Default::default() });
                let want = reference(&bytes, outputs);
                for t in 0..tokens {
                    for c in 0..width {
                        let (g, old) = (got[t * width + c], y0[t * width + c]);
                        if c < col0 || c >= col0 + outputs {
                            assert_eq!(g, old, "{label}: column {c} outside the outputs changed");
                            continue;
                        }
                        let (s, a) = want[t * outputs + c - col0];
                        let w = s + f64::from(bias[c]) + f64::from(old);
                        assert!((f64::from(g) - w).abs() <= tol(a) + 1e-6 * w.abs(), "{label} bias+acc: y[{t}, {c}] = {g}, want {w}");
                    }
                }

                // GLU over [gate; up] (2 × 67 rows in one matrix).
                let bytes = tiled_matrix(dtype, 2 * outputs, cols);
                let w = GpuMatrix::upload(&ctx, "gate_up", dtype, 2 * outputs as u32, cols as u32, &bytes).unwrap();
                let want = reference(&bytes, 2 * outputs);
                for (op, act) in [(ElementwiseOp::SwiGlu, &silu as &dyn Fn(f64) -> f64), (ElementwiseOp::GeGluTanh, &gelu_tanh)] {
                    let yb = zeros(&ctx, "y", tokens, outputs);
                    let got = run(&w, &yb, Fusion { glu: Some(op), ..Default::default() });
                    for t in 0..tokens {
                        for o in 0..outputs {
                            let ((g, ga), (u, ua)) = (want[t * 2 * outputs + o], want[t * 2 * outputs + outputs + o]);
                            let w = act(g) * u;
                            // Both activations have slopes below 1.2: an error e in the gate
                            // moves the output by at most 1.2·e·|u|.
                            let bound = 1.2 * tol(ga) * u.abs() + act(g).abs() * tol(ua) + 1e-6 * w.abs() + 1e-6;
                            let v = f64::from(got[t * outputs + o]);
                            assert!((v - w).abs() <= bound, "{label} {op:?}: y[{t}, {o}] = {v}, want {w}");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn a_glu_epilogue_needs_one_part_of_even_rows() {
    use hearth::gpu::ElementwiseOp;
    use hearth::kernels::matmul::{Fusion, matmul_with};
    let ctx = common::gpu();
    let odd = GpuMatrix::upload(&ctx, "odd", DType::Q8_0, 5, 32, &tiled_matrix(DType::Q8_0, 5, 32)).unwrap();
    // 5 rows in one part, and 6 rows split in 3 parts (a 96-byte binding limit: 2 Q8_0 rows).
    let split_ctx = common::gpu_with(GpuOptions { max_storage_binding: Some(96), ..Default::default() });
    let split = GpuMatrix::upload(&split_ctx, "split", DType::Q8_0, 6, 32, &tiled_matrix(DType::Q8_0, 6, 32)).unwrap();
    assert_eq!(split.parts.len(), 3);
    for (ctx, w) in [(&ctx, &odd), (&split_ctx, &split)] {
        let (x, y) = (zeros(ctx, "x", 1, 32), zeros(ctx, "y", 1, 5));
        let step = common::kernels::step_buffer(ctx, 0, 1);
        let e = Fusion { glu: Some(ElementwiseOp::SwiGlu), ..Default::default() };
        let r = pollster::block_on(matmul_with(ctx, &PipelineCache::default(), w, &x, &y, &step, BatchRows::One, e));
        assert!(matches!(r, Err(hearth::Error::InvalidArgument(_))), "GLU on {} rows in {} parts was accepted", w.rows, w.parts.len());
    }
}

/// One token's outputs `got` against f64 products of the dequantised rows `wf` (`cols`
/// wide) with its input `xn`: `W·xn (+ bias)`, or with `glu` `silu(gate·xn) * (up·xn)`, the
/// up rows after the gate rows. Tolerances as in `assert_close`; silu's slope is below 1.2,
/// so an error e in the gate moves the output by at most 1.2·e·|up|.
fn check_row(label: &str, got: &[f32], wf: &[f32], cols: usize, xn: &[f64], glu: bool, bias: Option<&[f32]>) {
    let dot = |r: usize| {
        let terms = wf[r * cols..][..cols].iter().zip(xn).map(|(&a, b)| f64::from(a) * b);
        terms.fold((0.0, 0.0), |(s, m), p: f64| (s + p, m + p.abs()))
    };
    let tol = |a: f64| 2e-5 * a + 1e-6;
    for (o, &g) in got.iter().enumerate() {
        let (want, bound) = if glu {
            let ((gs, ga), (us, ua)) = (dot(o), dot(got.len() + o));
            let silu = gs / (1.0 + (-gs).exp());
            (silu * us, 1.2 * tol(ga) * us.abs() + silu.abs() * tol(ua) + 1e-6 * (silu * us).abs() + 1e-6)
        } else {
            let (s, a) = dot(o);
            (s + bias.map_or(0.0, |b| f64::from(b[o])), tol(a))
        };
        let g = f64::from(g);
        assert!((g - want).abs() <= bound, "{label}: y[{o}] = {g}, want {want} (tolerance {bound})");
    }
}

/// f64 `rmsnorm(v) * w` of one row.
fn rmsnorm64(v: &[f64], w: &[f32], eps: f64) -> Vec<f64> {
    let inv = 1.0 / (v.iter().map(|a| a * a).sum::<f64>() / v.len() as f64 + eps).sqrt();
    v.iter().zip(w).map(|(a, &w)| a * inv * f64::from(w)).collect()
}

/// The norm prologue (shaders/matmul_norm.wgsl) against an f64 reference that normalises in
/// f64 too: `y = W · (rmsnorm(x) * norm_w)`, and with a post-normed block output
/// `x_new = x + rmsnorm(o) * post_w` first, stored for the batch's rows into `x_out`. Every
/// tuning's kernel: the CPU one (a thread per row, 16-thread workgroups), the GPU one (decode
/// GEMV with subgroup sums where the device has them, the tiled GEMM for batches) and the GPU
/// shapes through shaders/matmul.wgsl's batch path without subgroups. Rows of SmolLM2's width
/// (576) and of 96 (fewer vec4s than a GPU workgroup's threads); 1, 3 and 33 tokens (two GEMM
/// tiles of tokens: only the first row group stores x_new, for each); a GLU epilogue; and the
/// last token's row only (the output head). Norm weights are signed and far from 1, so a
/// prologue that skipped them (or the post-norm, or the scale) fails.
#[test]
fn norm_prologue_matches_f64_reference() {
    use hearth::kernels::matmul::{Fusion, matmul_with};
    use hearth::kernels::matmul_norm::{Norm, PostNorm};
    let eps = 1e-5f32;
    let gpu_plain = Tuning { matmul_gemm: false, matmul_subgroup_reduce: false, ..Tuning::GPU };
    for (tname, tuning) in [("cpu", Tuning::CPU), ("gpu", Tuning::GPU), ("gpu, no gemm or subgroups", gpu_plain)] {
        let ctx = gpu_with_tuning(tuning);
        let cache = PipelineCache::default();
        for (dtype, outputs, cols) in [(DType::Q4_1, 67, 576), (DType::Q6_K, 9, 256), (DType::Q8_0, 5, 96)] {
            let bytes = tiled_matrix(dtype, 2 * outputs, cols);
            let w = GpuMatrix::upload(&ctx, "w", dtype, 2 * outputs as u32, cols as u32, &bytes).unwrap();
            let wf = quant::dequantize_to_vec(dtype, &bytes).unwrap();
            for tokens in [1usize, 3, 33] {
                let mut rng = common::Rng(0x90f + tokens as u64 + cols as u64);
                let mut vals = |n: usize, scale: f32| (0..n).map(|_| scale * rng.signed_unit()).collect::<Vec<f32>>();
                let (x, o) = (vals(tokens * cols, 2.0), vals(tokens * cols, 5.0));
                let (nw, pw) = (vals(cols, 3.0), vals(cols, 3.0));
                let (xb, ob) = (tensor(&ctx, "x", tokens, cols, &x), tensor(&ctx, "o", tokens, cols, &o));
                let (nwb, pwb) = (ctx.f32_buffer_from("norm", &nw), ctx.f32_buffer_from("post", &pw));
                let step = common::kernels::step_buffer(&ctx, 0, tokens as u32);
                for post in [false, true] {
                    // The f64 input rows: x, or x + rmsnorm(o) * post_w.
                    let x_new: Vec<Vec<f64>> = (0..tokens)
                        .map(|t| {
                            let row = |v: &[f32]| v[t * cols..][..cols].iter().map(|&a| f64::from(a)).collect::<Vec<f64>>();
                            let mut r = row(&x);
                            if post {
                                r.iter_mut().zip(rmsnorm64(&row(&o), &pw, f64::from(eps))).for_each(|(a, b)| *a += b);
                            }
                            r
                        })
                        .collect();
                    let x_out = zeros(&ctx, "x_out", tokens, cols);
                    let post_norm = post.then_some(PostNorm { o: &ob, weight: &pwb, x_out: &x_out });
                    let norm = Norm { weight: &nwb, eps, post: post_norm };
                    // (label, rows, GLU, outputs, the x rows read)
                    let runs = [
                        ("plain", BatchRows::PerToken(tokens as u32), false),
                        ("glu", BatchRows::PerToken(tokens as u32), true),
                        ("last row", BatchRows::One, false),
                    ];
                    for (run, rows, glu) in runs {
                        let n_out = if glu { outputs } else { 2 * outputs };
                        let y = zeros(&ctx, "y", tokens, n_out);
                        let f = Fusion { norm: Some(norm), glu: glu.then_some(hearth::gpu::ElementwiseOp::SwiGlu), ..Default::default() };
                        let ds = pollster::block_on(matmul_with(&ctx, &cache, &w, &xb, &y, &step, rows, f)).unwrap();
                        common::kernels::submit(&ctx, tokens as u32, &ds);
                        let got = read_tensor(&ctx, &y);
                        let label = format!("{tname} {dtype} {n_out}x{cols} x{tokens} post {post} {run}");
                        let picked: Vec<usize> = if rows == BatchRows::One { vec![tokens - 1] } else { (0..tokens).collect() };
                        for (i, &t) in picked.iter().enumerate() {
                            let xn = rmsnorm64(&x_new[t], &nw, f64::from(eps));
                            let label = format!("{label}: token {t} (output row {i})");
                            check_row(&label, &got[i * n_out..][..n_out], &wf, cols, &xn, glu, None);
                        }
                        if post && rows != BatchRows::One {
                            let stored = read_tensor(&ctx, &x_out);
                            for t in 0..tokens {
                                for c in 0..cols {
                                    let (g, want) = (f64::from(stored[t * cols + c]), x_new[t][c]);
                                    assert!((g - want).abs() <= 1e-5 * (1.0 + want.abs()), "{label}: x_out[{t}, {c}] = {g}, want {want}");
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A stack of matrices in different formats (src/gpu/stack.rs; a Q4_K_M file's Q/K/V with a
/// Q8_0 V) read in one dispatch by a pipeline specialised for the formats, each row's
/// segment chosen by its row: Q/K/V-like (three formats, segment boundaries inside
/// workgroups' rows, a bias and the norm prologue) and gate/up-like (two formats, the GLU
/// epilogue reading both), for every tuning's kernel, decode and a batch; and over a small
/// binding limit the same stack as a dispatch per matrix, same result. The runs' sizes are
/// not all multiples of 16 bytes (11 Q6_K rows of 512 columns take 4,664), so the runs after
/// them start past padding: the weights' texture mirror is read a texel at a time from each
/// run's start (lavapipe's tuning without AVX-512, checked to have read the texture).
#[test]
fn a_stack_of_formats_is_one_dispatch() {
    use hearth::gpu::{ElementwiseOp, RowStack};
    use hearth::kernels::matmul::{Fusion, matmul_with};
    use hearth::kernels::matmul_norm::Norm;
    let cols = 512;
    let qkv = [(DType::Q5_0, 37), (DType::Q6_K, 11), (DType::Q8_0, 11)];
    let gate_up = [(DType::Q6_K, 67), (DType::Q4_K, 67)];
    let gpu_plain = Tuning { matmul_gemm: false, matmul_subgroup_reduce: false, ..Tuning::GPU };
    let cases = [
        ("cpu", common::gpu_with(GpuOptions { tuning: Some(Tuning::CPU), ..Default::default() }), true),
        ("weights from textures", gpu_with_tuning(Tuning::lavapipe(2)), true),
        ("gpu", gpu_with_tuning(Tuning::GPU), true),
        ("gpu, no gemm or subgroups", gpu_with_tuning(gpu_plain), true),
        ("12 KiB bindings", common::gpu_with(GpuOptions { max_storage_binding: Some(12 * 1024), ..Default::default() }), false),
    ];
    for (tname, ctx, shared) in cases {
        let cache = PipelineCache::default();
        for (sname, runs, glu) in [("qkv", &qkv[..], false), ("gate_up", &gate_up[..], true)] {
            let named: Vec<(String, DType, u32)> = runs.iter().map(|&(d, r)| (format!("{sname} {d}"), d, r)).collect();
            let stack = RowStack::allocate(&ctx, &named, cols as u32).unwrap();
            assert_eq!(stack.shared, shared, "{tname} {sname}");
            // The stack's rows, dequantised, in order.
            let mut wf = Vec::new();
            for ((_, m), &(d, r)) in stack.runs.iter().zip(runs) {
                let bytes = tiled_matrix(d, r as usize, cols);
                m.write_rows(&ctx, 0, &bytes, &mut Vec::new()).unwrap();
                wf.extend(quant::dequantize_to_vec(d, &bytes).unwrap());
            }
            let n_rows = stack.rows() as usize;
            let n_out = if glu { n_rows / 2 } else { n_rows };
            for tokens in [1usize, 3] {
                let mut rng = common::Rng(0x57ac + tokens as u64);
                let x: Vec<f32> = (0..tokens * cols).map(|_| 2.0 * rng.signed_unit()).collect();
                let nw: Vec<f32> = (0..cols).map(|_| 3.0 * rng.signed_unit()).collect();
                let bias: Vec<f32> = (0..n_out).map(|_| rng.signed_unit()).collect();
                let (xb, nwb, bb) =
                    (tensor(&ctx, "x", tokens, cols, &x), ctx.f32_buffer_from("norm", &nw), ctx.f32_buffer_from("bias", &bias));
                let step = common::kernels::step_buffer(&ctx, 0, tokens as u32);
                let y = zeros(&ctx, "y", tokens, n_out);
                let f = Fusion {
                    norm: Some(Norm { weight: &nwb, eps: 1e-5, post: None }),
                    bias: (!glu).then_some(&bb),
                    glu: glu.then_some(ElementwiseOp::SwiGlu),
                    ..Default::default()
                };
                let ds = pollster::block_on(matmul_with(&ctx, &cache, &stack, &xb, &y, &step, BatchRows::PerToken(tokens as u32), f));
                if glu && !shared {
                    // Its halves in separate buffers: the model loads such a gate and up apart.
                    assert!(matches!(ds, Err(hearth::Error::InvalidArgument(_))), "{tname} {sname}: GLU over separate buffers");
                    continue;
                }
                let ds = ds.unwrap();
                if shared {
                    assert_eq!(ds.len(), 1, "{tname} {sname}: {} dispatches", ds.len());
                }
                common::kernels::submit(&ctx, tokens as u32, &ds);
                let got = read_tensor(&ctx, &y);
                for t in 0..tokens {
                    let row: Vec<f64> = x[t * cols..][..cols].iter().map(|&v| f64::from(v)).collect();
                    let xn = rmsnorm64(&row, &nw, 1e-5);
                    let label = format!("{tname} {sname} x{tokens}: token {t}");
                    check_row(&label, &got[t * n_out..][..n_out], &wf, cols, &xn, glu, (!glu).then_some(&bias[..]));
                }
            }
        }
        let texture = format!("_wt{WEIGHT_TEXTURE_WIDTH}");
        if tname == "weights from textures" {
            assert!(cache.labels().iter().all(|k| k.contains(&texture)), "{tname}: {:?}", cache.labels());
        }
    }
}

/// The norm prologue over rows as long as long_rows_are_not_cut_short's (14,336 columns):
/// where a thread sums its tokens' rows alone (the CPU tuning: two passes per token, with
/// the post-norm) its loops stay below llvmpipe's iteration limit, and the GEMM's shared
/// sums too.
#[test]
fn norm_prologue_over_long_rows() {
    use hearth::kernels::matmul::{Fusion, matmul_with};
    use hearth::kernels::matmul_norm::{Norm, PostNorm};
    let (rows, cols, dtype) = (20, 14_336, DType::Q4_1);
    for (name, tuning, tokens) in [("cpu tuning", Tuning::CPU, 1), ("cpu tuning", Tuning::CPU, 3), ("gemm", Tuning::GPU, 3)] {
        let ctx = gpu_with_tuning(tuning);
        let bytes = tiled_matrix(dtype, rows, cols);
        let w = GpuMatrix::upload(&ctx, "w", dtype, rows as u32, cols as u32, &bytes).unwrap();
        let wf = quant::dequantize_to_vec(dtype, &bytes).unwrap();
        let mut rng = common::Rng(0x10e9);
        let mut vals = |n: usize| (0..n).map(|_| 2.0 * rng.signed_unit()).collect::<Vec<f32>>();
        let (x, o, nw, pw) = (vals(tokens * cols), vals(tokens * cols), vals(cols), vals(cols));
        let (xb, ob, x_out) =
            (tensor(&ctx, "x", tokens, cols, &x), tensor(&ctx, "o", tokens, cols, &o), zeros(&ctx, "x_out", tokens, cols));
        let (nwb, pwb) = (ctx.f32_buffer_from("norm", &nw), ctx.f32_buffer_from("post", &pw));
        let step = common::kernels::step_buffer(&ctx, 0, tokens as u32);
        let y = zeros(&ctx, "y", tokens, rows);
        let norm = Norm { weight: &nwb, eps: 1e-6, post: Some(PostNorm { o: &ob, weight: &pwb, x_out: &x_out }) };
        let f = Fusion { norm: Some(norm), ..Default::default() };
        let ds =
            pollster::block_on(matmul_with(&ctx, &PipelineCache::default(), &w, &xb, &y, &step, BatchRows::PerToken(tokens as u32), f));
        common::kernels::submit(&ctx, tokens as u32, &ds.unwrap());
        let got = read_tensor(&ctx, &y);
        for t in 0..tokens {
            let row = |v: &[f32]| v[t * cols..][..cols].iter().map(|&a| f64::from(a)).collect::<Vec<f64>>();
            let x_new: Vec<f64> = row(&x).iter().zip(rmsnorm64(&row(&o), &pw, 1e-6)).map(|(a, b)| a + b).collect();
            let xn = rmsnorm64(&x_new, &nw, 1e-6);
            check_row(&format!("{name} {dtype} {rows}x{cols}x{tokens}: token {t}"), &got[t * rows..][..rows], &wf, cols, &xn, false, None);
        }
    }
}
