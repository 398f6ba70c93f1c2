//! shaders/attention.wgsl against an f64 reference written from the definition: query t
//! (position pos = pos0 + t) of head h attends, with softmax(scale · q·k), to the cached
//! positions max(0, pos + 1 - window) ..= pos of kv head h / (n_heads / n_kv_heads).
//! Cache rows the query must not see hold large "poison" values, so any leak is obvious.
//! Every kernel variant: a workgroup per query, a thread per query, several threads per
//! query (a key range each, merged in the workgroup), tiled (blocks of keys staged once for
//! a run of queries), and split-K attention (partial softmaxes of key ranges,
//! then a merge) cut into ranges of every kind.
//! Both cache precisions: for the f16 cache, keys and values are rounded to f16 before upload
//! and the reference uses those rounded values (what the cache holds; the kernel widens them
//! exactly). Both stores: storage buffers, and f16 textures (`KvStore::Texels`,
//! `Tuning::kv_texels`), read a texel (two quads) at a time.

use crate::common;

use common::kernels::{f16_pairs, kv_store, read_tensor, round_f16, step_buffer, submit, tensor, zeros};
use hearth::gpu::{GpuOptions, PipelineCache, Tuning};
use hearth::kernels::attention::{AttentionShape, SPLIT_MAX_TOKENS, attention};
use hearth::kernels::kv::{KvPrecision, KvStore};

#[derive(Clone, Copy, Debug)]
struct Case {
    n_heads: u32,
    n_kv_heads: u32,
    head_dim: u32,
    window: u32,
    pos0: u32,
    n_tokens: u32,
}

impl Case {
    fn first_visible(&self, pos: usize) -> usize {
        let w = self.window as usize;
        if w > 0 && pos + 1 > w { pos + 1 - w } else { 0 }
    }
}

/// Output [n_tokens × n_heads × head_dim] and, per output row, the error bound explained
/// in `attention_matches_f64_reference`.
fn reference(q: &[f32], k: &[f32], v: &[f32], c: Case, scale: f32) -> (Vec<f64>, Vec<f64>) {
    let (nh, hd) = (c.n_heads as usize, c.head_dim as usize);
    let kv_stride = c.n_kv_heads as usize * hd;
    let group = nh / c.n_kv_heads as usize;
    let eps = f64::from(f32::EPSILON);
    let (mut out, mut tol) = (Vec::new(), Vec::new());
    for t in 0..c.n_tokens as usize {
        let pos = c.pos0 as usize + t;
        let visible = c.first_visible(pos)..=pos;
        for h in 0..nh {
            let qh = &q[(t * nh + h) * hd..][..hd];
            let kv_off = (h / group) * hd;
            let (mut scores, mut abs_dots) = (Vec::new(), Vec::new());
            for j in visible.clone() {
                let kj = &k[j * kv_stride + kv_off..][..hd];
                let dot: f64 = qh.iter().zip(kj).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum();
                scores.push(dot * f64::from(scale));
                abs_dots.push(qh.iter().zip(kj).map(|(&a, &b)| (f64::from(a) * f64::from(b)).abs()).sum::<f64>() * f64::from(scale));
            }
            let max = scores.iter().cloned().fold(f64::MIN, f64::max);
            let min = scores.iter().cloned().fold(f64::MAX, f64::min);
            let weights: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
            let total: f64 = weights.iter().sum();
            let mut v_max = 0f64;
            for d in 0..hd {
                let mut acc = 0.0;
                for (w, j) in weights.iter().zip(visible.clone()) {
                    let vj = f64::from(v[j * kv_stride + kv_off + d]);
                    acc += w * vj;
                    v_max = v_max.max(vj.abs());
                }
                out.push(acc / total);
            }
            let score_err = hd as f64 * eps * abs_dots.iter().cloned().fold(0.0, f64::max) + (3.0 + 2.0 * (max - min)) * eps;
            let n_visible = scores.len() as f64;
            tol.extend(std::iter::repeat_n(v_max * (2.0 * score_err + (n_visible + 8.0) * eps), hd));
        }
    }
    (out, tol)
}

#[test]
fn attention_matches_f64_reference() {
    // Both entry points, whatever device runs the test: a workgroup per query (GPUs) and
    // a thread per query (CPU-like devices), the latter for every batch (no key ranges).
    for thread_per_query in [false, true] {
        let tuning = Tuning { attention_thread_per_query: thread_per_query, attention_query_ranges: 0, ..Tuning::CPU };
        let ctx = common::gpu_with(GpuOptions { tuning: Some(tuning), ..Default::default() });
        for kv in [KvPrecision::F16, KvPrecision::F32] {
            check_cases(&ctx, kv, false, |_| true);
        }
        check_cases(&ctx, KvPrecision::F16, true, |_| true);
    }
    // SwiftShader's tuning: heads past 64 dims keep the workgroup kernel (check_cases checks
    // which kernel ran).
    let tuning = Tuning { attention_per_query_max_head_dim: 64, ..Tuning::SWIFTSHADER };
    let ctx = common::gpu_with(GpuOptions { tuning: Some(tuning), ..Default::default() });
    check_cases(&ctx, KvPrecision::F16, false, |c| c.head_dim == 256 && c.pos0 < 1000);
}

/// Several threads per query, a key range each, merged in the workgroup
/// (shaders/attention_per_range.wgsl; CPU-like devices' decode): on the batches it serves (up
/// to SPLIT_MAX_TOKENS queries), with the CPU tuning's ranges and with 2 and 64 lanes per
/// query (heads of 256 dims take fewer: their ranges' rows fill the workgroup memory at 4):
/// one range at the shortest contexts, several ranges with queries
/// packed into a workgroup, more lanes than a short context's ranges, ranges of 16 keys up to
/// 4,000 keys in 64 ranges, a window of one key, and 8 tokens whose ranges all follow the first
/// token's count. The f16 cache only (the loads are per_query's, which checks both), from
/// buffers and, with the ranges lavapipe takes with it (`Tuning::lavapipe`), from textures.
#[test]
fn attention_per_range_matches_f64_reference() {
    let served = |c: &Case| c.n_tokens <= SPLIT_MAX_TOKENS && c.head_dim <= Tuning::CPU.attention_per_query_max_head_dim;
    for ranges in [Tuning::CPU.attention_query_ranges, 2, 64] {
        let tuning = Tuning { attention_query_ranges: ranges, ..Tuning::CPU };
        let ctx = common::gpu_with(GpuOptions { tuning: Some(tuning), ..Default::default() });
        check_cases(&ctx, KvPrecision::F16, false, served);
    }
    let tuning = Tuning { attention_query_ranges: Tuning::lavapipe(2).attention_query_ranges, ..Tuning::CPU };
    let ctx = common::gpu_with(GpuOptions { tuning: Some(tuning), ..Default::default() });
    check_cases(&ctx, KvPrecision::F16, true, served);
}

/// A thread's keys, or a lane's key range, for all the query heads of a kv head
/// (shaders/attention_kv_group.wgsl, `Tuning::attention_group_queries`) on every case of heads
/// up to 64 dims: decode's ranges (`per_range_group`) and batches past SPLIT_MAX_TOKENS
/// (`per_query_group`), with lavapipe's 8 ranges from textures and with 2 from buffers (the
/// two orders a score is summed in); check_cases checks which kernel ran.
#[test]
fn attention_kv_group_matches_f64_reference() {
    let served = |c: &Case| c.head_dim <= 64;
    for (ranges, texels) in [(Tuning::lavapipe(2).attention_query_ranges, true), (2, false)] {
        let tuning = Tuning { attention_query_ranges: ranges, attention_group_queries: true, ..Tuning::CPU };
        let ctx = common::gpu_with(GpuOptions { tuning: Some(tuning), ..Default::default() });
        check_cases(&ctx, KvPrecision::F16, texels, served);
    }
}

/// Tiled attention (shaders/attention_tiled.wgsl; GPUs take it for prefill) on every case,
/// decode included (with split-K attention off, it takes every batch): one lane per query at
/// head_dim 64, two at 96 and 128, four at 256; key blocks of 32 down to 4 (the f32 cache's
/// at 256); a run of queries that ends inside the batch, windows that start mid-block.
#[test]
fn tiled_attention_matches_f64_reference() {
    let tuning = Tuning { attention_tiled: true, attention_thread_per_query: false, ..Tuning::CPU };
    let ctx = common::gpu_with(GpuOptions { tuning: Some(tuning), ..Default::default() });
    check_cases(&ctx, KvPrecision::F16, false, |_| true);
    // The f32 cache's smaller key blocks (16 at head_dim 64, 4 at 256) on the shorter cases:
    // its long ones cost lavapipe ~6 s and test nothing the f16 ones do not. Likewise the
    // f16 texture cache's loads.
    check_cases(&ctx, KvPrecision::F32, false, |c| c.pos0 < 1000);
    check_cases(&ctx, KvPrecision::F16, true, |c| c.pos0 < 1000);
}

/// Split-K attention, for the batches it serves (up to SPLIT_MAX_TOKENS queries): the GPU
/// tuning's ranges; three ranges per query (up to 1,334 keys each, so a range spans many
/// 64-key tiles and its running max moves between them); and up to 256 ranges of at least
/// one key (single-key ranges at short contexts, and more ranges than keys). One cache
/// precision and store each, to keep CI short: they differ only in the loads, which the
/// other kernels' cases cover for each.
#[test]
fn split_attention_matches_f64_reference() {
    let gpu = (Tuning::GPU.attention_split_max, Tuning::GPU.attention_split_min_keys, KvPrecision::F16, false);
    for (max, min_keys, kv, texels) in [gpu, (3, 1, KvPrecision::F32, false), (256, 1, KvPrecision::F16, true)] {
        let tuning = Tuning { attention_split_max: max, attention_split_min_keys: min_keys, ..Tuning::CPU };
        let ctx = common::gpu_with(GpuOptions { tuning: Some(tuning), ..Default::default() });
        check_cases(&ctx, kv, texels, |_| true);
    }
}

/// Every case that `keep` keeps (and split attention serves), on this context's tuning, the
/// cache in `kv`'s precision in buffers or (`texels`, f16 only) textures.
fn check_cases(ctx: &hearth::gpu::GpuContext, kv: KvPrecision, texels: bool, keep: impl Fn(&Case) -> bool) {
    let split = ctx.tuning.attention_split_max > 0;
    let cache = PipelineCache::default();
    let mut rng = common::Rng(0xa77e);
    let case = |n_heads, n_kv_heads, head_dim, window, pos0, n_tokens| Case { n_heads, n_kv_heads, head_dim, window, pos0, n_tokens };
    let cases = [
        // SmolLM2 (9 query heads sharing 3 kv heads of 64): causal prefill from 0 over more
        // than one 64-key tile, a prefill continuing a cached prefix, decode steps with
        // context lengths 1, 101 and 300 (not multiples of the tile).
        case(9, 3, 64, 0, 0, 70),
        case(9, 3, 64, 0, 37, 29),
        case(9, 3, 64, 0, 0, 1),
        case(9, 3, 64, 0, 100, 1),
        case(9, 3, 64, 0, 299, 1),
        // Qwen2.5 (14 / 2, head_dim 64: a batch, and a decode step at 701 keys) and head_dim
        // 128 with 4 groups of 2.
        case(14, 2, 64, 0, 20, 9),
        case(14, 2, 64, 0, 700, 1),
        case(8, 4, 128, 0, 65, 3),
        // Gemma 3 (4 query heads on 1 kv head of 256) with a sliding window: prefill that
        // crosses the window edge, decode far past it, and a window wider than the context.
        case(4, 1, 256, 16, 5, 30),
        case(4, 1, 256, 16, 200, 1),
        case(4, 1, 256, 512, 90, 4),
        // Long contexts, past where llvmpipe's shared loop limit (65,535 iterations per
        // invocation) cut `per_query` short at head_dim 128 and 256 while its row walks were
        // loops (see PER_QUERY_ROLLED_MAX_HEAD_DIM): decode and a short prefill at 600-4,000
        // keys.
        case(4, 1, 256, 0, 1000, 3),
        case(4, 1, 256, 512, 600, 2),
        case(8, 4, 128, 0, 2000, 2),
        case(9, 3, 64, 0, 4000, 1),
        // Window of exactly one key: only the token itself.
        case(2, 2, 64, 1, 10, 3),
        // An odd head size (24 vec4s: split attention's value pass leaves threads idle) and
        // the largest batch split attention takes.
        case(6, 2, 96, 0, 130, 2),
        case(9, 3, 64, 0, 57, SPLIT_MAX_TOKENS),
    ];
    // Split attention serves small batches only; larger ones are the other kernels' cases.
    for c in cases.into_iter().filter(|c| (!split || c.n_tokens <= SPLIT_MAX_TOKENS) && keep(c)) {
        let (nh, hd) = (c.n_heads as usize, c.head_dim as usize);
        let kv_stride = c.n_kv_heads as usize * hd;
        let n_ctx = (c.pos0 + c.n_tokens) as usize + 5;
        let end = (c.pos0 + c.n_tokens) as usize;
        let first = c.first_visible(c.pos0 as usize);
        // Queries scaled up so softmax weights are uneven (a masking mistake moves them a lot).
        let q: Vec<f32> = (0..c.n_tokens as usize * nh * hd).map(|_| 3.0 * rng.signed_unit()).collect();
        let k: Vec<f32> = (0..n_ctx * kv_stride).map(|_| rng.signed_unit()).collect();
        let v: Vec<f32> = (0..n_ctx * kv_stride).map(|_| rng.signed_unit()).collect();
        let (mut k, mut v) = match kv {
            KvPrecision::F16 => (round_f16(&k), round_f16(&v)),
            KvPrecision::F32 => (k, v),
        };
        // Poison: rows no query may read (past the last token, before every query's window).
        for j in (0..first).chain(end..n_ctx) {
            k[j * kv_stride..][..kv_stride].fill(50.0);
            v[j * kv_stride..][..kv_stride].fill(6e4); // near f16's largest, 65,504
        }
        let scale = 1.0 / (hd as f32).sqrt();
        let shape = AttentionShape { n_heads: c.n_heads, n_kv_heads: c.n_kv_heads, head_dim: c.head_dim, window: c.window, scale, kv };
        let (rows, width) = (c.n_tokens as usize, nh * hd);
        let kv_dim = c.n_kv_heads * c.head_dim;
        let upload = |name: &str, data: &[f32]| match kv {
            KvPrecision::F16 => kv_store(ctx, name, &f16_pairs(data), kv_dim, texels),
            KvPrecision::F32 => KvStore::Buffer(ctx.f32_buffer_from(name, data)),
        };
        let (qb, kb, vb) = (tensor(ctx, "q", rows, width, &q), upload("k", &k), upload("v", &v));
        let out = zeros(ctx, "out", rows, width);
        let step = step_buffer(ctx, c.pos0, c.n_tokens);
        let d = pollster::block_on(attention(ctx, &cache, &qb, &kb, &vb, &out, &step, shape, c.n_tokens)).unwrap();
        assert_eq!(d.len(), if split { 2 } else { 1 }, "split attention is a partial pass and a merge");
        submit(ctx, c.n_tokens, &d);
        let got = read_tensor(ctx, &out);
        let (want, tol) = reference(&q, &k, &v, c, scale);

        // Error bound, per output row: each f32 score is within head_dim·ε·Σ|q·k|·scale of
        // the exact one (worst-case summation error) and exp adds 3 + 2|x| ulps (Vulkan's
        // bound); softmax turns a score error δ into at most 2δ·max|v| in the output, and
        // the f32 sums over n visible keys add (n + 8)·ε·max|v|. A leaked poison row or a
        // wrong kv head is off by orders of magnitude more.
        let mut worst = 0f64;
        for (i, ((&g, &w), &e)) in got.iter().zip(&want).zip(&tol).enumerate() {
            let diff = (f64::from(g) - w).abs();
            worst = worst.max(diff / e);
            assert!(diff <= e, "{c:?}: out[{i}] (token {}, head {}) = {g}, want {w} (tolerance {e:.2e})", i / (nh * hd), i / hd % nh);
        }
        let t = ctx.tuning;
        let per_query = t.attention_thread_per_query && c.head_dim <= t.attention_per_query_max_head_dim;
        let per_range = per_query && t.attention_query_ranges > 0 && c.n_tokens <= SPLIT_MAX_TOKENS;
        let variant = if split {
            format!("split {} / {}", t.attention_split_max, t.attention_split_min_keys)
        } else if per_range {
            format!("{} lanes per query", t.attention_query_ranges)
        } else if t.attention_tiled && !per_query {
            "tiled".to_string()
        } else {
            format!("thread per query {per_query}")
        };
        // The kernel that ran (kernels are labelled by head size and layout, src/gpu/pipelines.rs).
        let layout = match (split, per_range, t.attention_tiled, per_query) {
            (true, ..) => "split",
            (false, true, ..) => "per_range",
            (false, false, true, false) => "tiled",
            (false, false, _, true) => "per_query",
            (false, false, false, false) => "per_workgroup",
        };
        // The kv-group kernel: where heads share kv heads in groups of 2 to 8, of at most 64
        // dims, whose ranges' rows fit the workgroup memory (kernels::attention).
        let group = c.n_heads / c.n_kv_heads;
        let ranges = if per_range { t.attention_query_ranges } else { 0 };
        let grouped = per_query
            && t.attention_group_queries
            && (2..=8).contains(&group)
            && c.head_dim <= 64
            && ranges * group * (c.head_dim * 4 + 8) <= ctx.limits.max_compute_workgroup_storage_size;
        let label = match layout {
            "split" => format!("attention_split_d{}", c.head_dim),
            "tiled" => format!("attention_tiled_d{}", c.head_dim),
            "per_range" if grouped => format!("attention_d{}_per_range{ranges}_group{group}_", c.head_dim),
            "per_query" if grouped => format!("attention_d{}_per_query_group{group}_", c.head_dim),
            _ => format!("attention_d{}_{layout}", c.head_dim),
        };
        let ran = cache.labels().iter().any(|l| l.starts_with(&label) && (grouped || !l.contains("_group")));
        assert!(ran, "{c:?}: expected {label} among {:?}", cache.labels());
        let store = if texels { "texels" } else { "buffer" };
        eprintln!("{c:?} ({variant}, {kv:?} {store}): worst error {:.1}% of the bound", worst * 100.0);
    }
}

#[test]
fn unsupported_shapes_are_errors() {
    let ctx = common::gpu();
    let b = KvStore::Buffer(ctx.f32_buffer("b", 16));
    let step = step_buffer(&ctx, 0, 1);
    let t = zeros(&ctx, "t", 1, 4);
    let bad = [
        AttentionShape { n_heads: 4, n_kv_heads: 1, head_dim: 320, window: 0, scale: 1.0, kv: KvPrecision::F16 },
        AttentionShape { n_heads: 6, n_kv_heads: 4, head_dim: 64, window: 0, scale: 1.0, kv: KvPrecision::F16 },
        AttentionShape { n_heads: 4, n_kv_heads: 0, head_dim: 64, window: 0, scale: 1.0, kv: KvPrecision::F16 },
        AttentionShape { n_heads: 4, n_kv_heads: 2, head_dim: 66, window: 0, scale: 1.0, kv: KvPrecision::F16 },
    ];
    for shape in bad {
        let r = pollster::block_on(attention(&ctx, &PipelineCache::default(), &t, &b, &b, &t, &step, shape, 1));
        assert!(matches!(r, Err(hearth::Error::InvalidArgument(_))), "{shape:?} was accepted");
    }
    // Texel caches: heads that do not start on a texel (12 dims), an f32 cache in f16 texels, a
    // texture of the wrong width, and keys in a texture with values in a buffer.
    let texels = |kv_dim| KvStore::texels(&ctx, "texels", kv_dim, 4).unwrap();
    let head = |head_dim, kv| AttentionShape { n_heads: 2, n_kv_heads: 2, head_dim, window: 0, scale: 1.0, kv };
    let (t24, t128) = (texels(24), texels(128));
    for (shape, k, v) in [
        (head(12, KvPrecision::F16), &t24, &t24),
        (head(64, KvPrecision::F32), &t128, &t128),
        (head(32, KvPrecision::F16), &t128, &t128),
        (head(64, KvPrecision::F16), &t128, &b),
    ] {
        let q = zeros(&ctx, "q", 1, 2 * shape.head_dim as usize);
        let r = pollster::block_on(attention(&ctx, &PipelineCache::default(), &q, k, v, &q, &step, shape, 1));
        assert!(matches!(r, Err(hearth::Error::InvalidArgument(_))), "{shape:?} over texels was accepted");
    }
    // Threads per query that are not a power of two up to 64.
    for ranges in [3, 128] {
        let tuning = Tuning { attention_query_ranges: ranges, ..Tuning::CPU };
        let ctx = common::gpu_with(GpuOptions { tuning: Some(tuning), ..Default::default() });
        let (b, t, step) = (KvStore::Buffer(ctx.f32_buffer("b", 16)), zeros(&ctx, "t", 1, 4), step_buffer(&ctx, 0, 1));
        let shape = AttentionShape { n_heads: 1, n_kv_heads: 1, head_dim: 4, window: 0, scale: 1.0, kv: KvPrecision::F16 };
        let r = pollster::block_on(attention(&ctx, &PipelineCache::default(), &t, &b, &b, &t, &step, shape, 1));
        assert!(matches!(r, Err(hearth::Error::InvalidArgument(_))), "{ranges} threads per query were accepted");
    }
    // More split ranges than the merge takes.
    let tuning = Tuning { attention_split_max: 257, ..Tuning::GPU };
    let ctx = common::gpu_with(GpuOptions { tuning: Some(tuning), ..Default::default() });
    let (b, t, step) = (KvStore::Buffer(ctx.f32_buffer("b", 16)), zeros(&ctx, "t", 1, 4), step_buffer(&ctx, 0, 1));
    let shape = AttentionShape { n_heads: 1, n_kv_heads: 1, head_dim: 4, window: 0, scale: 1.0, kv: KvPrecision::F16 };
    let r = pollster::block_on(attention(&ctx, &PipelineCache::default(), &t, &b, &b, &t, &step, shape, 1));
    assert!(matches!(r, Err(hearth::Error::InvalidArgument(_))), "257 split ranges were accepted");
}
