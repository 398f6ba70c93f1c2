//! shaders/rope_store.wgsl against an f64 reference written from the definitions: per head of
//! the `qkv` row, the optional per-head RMSNorm (x / sqrt(mean(x²) + eps) · w), then RoPE, pair
//! i (0 <= i < n_rot/2) turning by pos · freq_scale · base^(-2i / n_rot) (normal style: pairs
//! (x[2i], x[2i+1]); NeoX: (x[i], x[i + n_rot/2]); dims past n_rot stay), its cos and sin
//! multiplied by mscale (LongRoPE's attention factor; n_rot 0: no rotation); queries go to `q`,
//! keys and values to the cache rows pos0 .. pos0 + n_tokens (f32: keys within the rotation's
//! rounding, values bit for bit; f16: an f16 rounding of those), and nothing else in the cache
//! changes, including past the end of the context.

use crate::common;

use common::kernels::{
    is_f16_rounding_of, kv_store, read_kv_store, read_tensor, step_buffer, submit, tensor, unpack_f16_pairs, words_buffer, zeros,
};
use hearth::gpu::PipelineCache;
use hearth::kernels::kv::{KvPrecision, KvStore};
use hearth::kernels::rope_store::{QkNorm, RopeStoreShape, RopeStyle, inv_freq, rope_store};

#[derive(Clone, Copy, Debug)]
struct Case {
    style: RopeStyle,
    n_heads: u32,
    n_kv_heads: u32,
    head_dim: u32,
    n_rot: u32,
    qk_norm: bool,
    n_tokens: u32,
    pos0: u32,
    n_ctx: u32,
    base: f32,
    mscale: f32,
}

/// One head (`x`, head_dim values) normed (when `w` is given) and rotated at `pos`, in f64;
/// and per element the tolerance of an f32 computation of it.
fn head_reference(x: &[f32], w: Option<&[f32]>, c: Case, pos: u32) -> (Vec<f64>, Vec<f64>) {
    let hd = x.len();
    let eps = f64::from(f32::EPSILON);
    let mut v: Vec<f64> = x.iter().map(|&a| f64::from(a)).collect();
    if let Some(w) = w {
        let inv = 1.0 / (v.iter().map(|a| a * a).sum::<f64>() / hd as f64 + 1e-6).sqrt();
        v.iter_mut().zip(w).for_each(|(a, &wi)| *a *= inv * f64::from(wi));
    }
    let mut out = v.clone();
    let mut tol: Vec<f64> = v.iter().map(|a| (hd as f64 + 4.0) * eps * a.abs()).collect();
    let half = c.n_rot as usize / 2;
    for i in 0..half {
        let theta = f64::from(pos) * f64::from(c.base).powf(-2.0 * i as f64 / f64::from(c.n_rot));
        let (a, b) = match c.style {
            RopeStyle::Normal => (2 * i, 2 * i + 1),
            RopeStyle::Neox => (i, i + half),
        };
        let (cos, sin) = (theta.cos() * f64::from(c.mscale), theta.sin() * f64::from(c.mscale));
        out[a] = v[a] * cos - v[b] * sin;
        out[b] = v[a] * sin + v[b] * cos;
        // The angle forms in f32 (off by up to |theta|·ε, as llama.cpp's), sin/cos add a
        // few ulps, the rotation three roundings; the norm's own rounding carries through.
        let m = (v[a].abs() + v[b].abs()) * f64::from(c.mscale);
        let t = (2.0 * theta.abs() * eps + 1e-6 + (hd as f64 + 10.0) * eps) * m.max(1.0);
        tol[a] = t;
        tol[b] = t;
    }
    (out, tol)
}

#[test]
fn rope_store_matches_f64_reference() {
    // Both entry points: a thread per head (lavapipe's default tuning) and a workgroup per
    // head (the GPU tuning, forced here).
    for tuning in [hearth::gpu::Tuning::CPU, hearth::gpu::Tuning::GPU] {
        let ctx = common::gpu_with(hearth::gpu::GpuOptions { tuning: Some(tuning), ..Default::default() });
        check_cases(&ctx);
    }
}

fn check_cases(ctx: &hearth::gpu::GpuContext) {
    let cache = PipelineCache::default();
    let mut rng = common::Rng(0x5707e);
    let case = |style, n_heads, n_kv_heads, head_dim, qk_norm, n_tokens, pos0, n_ctx| Case {
        style,
        n_heads,
        n_kv_heads,
        head_dim,
        n_rot: head_dim,
        qk_norm,
        n_tokens,
        pos0,
        n_ctx,
        base: 10_000.0,
        mscale: 1.0,
    };
    let cases = [
        // SmolLM2 (9 / 3 heads of 64, normal pairs): a prefill from 0 and a decode step far in.
        case(RopeStyle::Normal, 9, 3, 64, false, 13, 0, 20),
        case(RopeStyle::Normal, 9, 3, 64, false, 1, 3000, 3001),
        // Qwen2.5 (14 / 2 heads, NeoX, base 1e6).
        Case { base: 1_000_000.0, ..case(RopeStyle::Neox, 14, 2, 64, false, 5, 7, 16) },
        // Gemma 3 (4 / 1 heads of 256 with q/k norms): decode at 1000 and a short prefill.
        case(RopeStyle::Neox, 4, 1, 256, true, 1, 1000, 1003),
        case(RopeStyle::Neox, 4, 1, 256, true, 3, 2, 8),
        // Odd sizes: partial rotation in both styles, a norm with 3 heads of 10, and a batch
        // running past the end of the cache (its tail is dropped).
        Case { n_rot: 32, ..case(RopeStyle::Neox, 3, 1, 128, false, 4, 9, 16) },
        Case { n_rot: 4, ..case(RopeStyle::Normal, 3, 1, 10, true, 6, 5, 9) },
        // Phi-4-mini's LongRoPE: 3/4 of the head rotated, cos and sin scaled by its attention
        // factor; and SmolLM3's layers without RoPE (no dimension rotated).
        Case { n_rot: 48, mscale: 1.19, ..case(RopeStyle::Neox, 3, 1, 64, false, 5, 100, 110) },
        Case { n_rot: 0, ..case(RopeStyle::Normal, 2, 1, 16, false, 3, 40, 50) },
    ];
    for c in cases {
        for kv in [KvPrecision::F16, KvPrecision::F32] {
            check(ctx, &cache, &mut rng, c, kv, false);
        }
        // The f16 texture cache (`KvStore::Texels`), for heads of a multiple of 8 dims.
        if c.head_dim % 8 == 0 {
            check(ctx, &cache, &mut rng, c, KvPrecision::F16, true);
        }
    }
}

fn check(ctx: &hearth::gpu::GpuContext, cache: &PipelineCache, rng: &mut common::Rng, c: Case, kv: KvPrecision, texels: bool) {
    let (nh, nkv, hd, n) = (c.n_heads as usize, c.n_kv_heads as usize, c.head_dim as usize, c.n_tokens as usize);
    let heads = nh + 2 * nkv;
    let qkv: Vec<f32> = (0..n * heads * hd).map(|_| 2.0 * rng.signed_unit()).collect();
    let qn: Vec<f32> = (0..hd).map(|_| 1.0 + 0.5 * rng.signed_unit()).collect();
    let kn: Vec<f32> = (0..hd).map(|_| 1.0 + 0.5 * rng.signed_unit()).collect();
    let (qnb, knb) = (ctx.f32_buffer_from("q_norm", &qn), ctx.f32_buffer_from("k_norm", &kn));
    let freqs = ctx.f32_buffer_from("inv_freq", &inv_freq(c.n_rot, c.base, 1.0));
    // The caches as they were (distinct words), one spare row past n_ctx to catch stray writes.
    let row_words = nkv * hd * kv.bytes() as usize / 4;
    let words = (c.n_ctx as usize + 1) * row_words;
    let k_old: Vec<u32> = (0..words as u32).map(|i| 0x8000_0000 | i).collect();
    let v_old: Vec<u32> = (0..words as u32).map(|i| 0x4000_0000 | i).collect();
    let kv_dim = c.n_kv_heads * c.head_dim;
    let (kc, vc) = (kv_store(ctx, "k_cache", &k_old, kv_dim, texels), kv_store(ctx, "v_cache", &v_old, kv_dim, texels));
    let qkv_b = tensor(ctx, "qkv", n, heads * hd, &qkv);
    let q_b = zeros(ctx, "q", n, nh * hd);
    let step = step_buffer(ctx, c.pos0, c.n_tokens);
    let shape = RopeStoreShape {
        n_heads: c.n_heads,
        n_kv_heads: c.n_kv_heads,
        head_dim: c.head_dim,
        n_rot: c.n_rot,
        style: c.style,
        mscale: c.mscale,
        n_ctx: c.n_ctx,
        kv,
    };
    let norm = c.qk_norm.then_some(QkNorm { q: &qnb, k: &knb, eps: 1e-6 });
    let d = pollster::block_on(rope_store(ctx, cache, &qkv_b, norm, &freqs, &q_b, &kc, &vc, &step, shape)).unwrap();
    submit(ctx, c.n_tokens, &[d]);
    let q = read_tensor(ctx, &q_b);
    let (k_got, v_got) = (read_kv_store(ctx, &kc), read_kv_store(ctx, &vc));
    assert_eq!((k_got.len(), v_got.len()), (words, words));
    let values = |row: &[u32]| match kv {
        KvPrecision::F16 => unpack_f16_pairs(row),
        KvPrecision::F32 => row.iter().map(|&w| f32::from_bits(w)).collect(),
    };
    let label = format!("{c:?} {kv:?}{}", if texels { " texels" } else { "" });
    for t in 0..n {
        let pos = c.pos0 + t as u32;
        for h in 0..heads {
            let x = &qkv[(t * heads + h) * hd..][..hd];
            let (is_q, is_v) = (h < nh, h >= nh + nkv);
            let weights = if !c.qk_norm || is_v {
                None
            } else if is_q {
                Some(&qn[..])
            } else {
                Some(&kn[..])
            };
            let (want, tol) =
                if is_v { (x.iter().map(|&a| f64::from(a)).collect(), vec![0.0; hd]) } else { head_reference(x, weights, c, pos) };
            let got: Vec<f32> = if is_q {
                q[(t * nh + h) * hd..][..hd].to_vec()
            } else if pos >= c.n_ctx {
                continue; // dropped: checked with the untouched rows below
            } else {
                let kvh = if is_v { h - nh - nkv } else { h - nh };
                let cache_row = if is_v { &v_got } else { &k_got };
                let per_head = hd * kv.bytes() as usize / 4;
                values(&cache_row[pos as usize * row_words + kvh * per_head..][..per_head])
            };
            for e in 0..hd {
                let (g, w) = (got[e], want[e]);
                let ok = if is_v {
                    match kv {
                        KvPrecision::F16 => is_f16_rounding_of(g, x[e]),
                        KvPrecision::F32 => g.to_bits() == x[e].to_bits(),
                    }
                } else if !is_q && kv == KvPrecision::F16 {
                    // An f16 rounding (to either neighbour) of a value within tol of w.
                    (f64::from(g) - w).abs() <= tol[e] + w.abs() / 1024.0 + 1e-7
                } else {
                    (f64::from(g) - w).abs() <= tol[e]
                };
                assert!(ok, "{label}: token {t} head {h} [{e}] = {g}, want {w} (tolerance {:.2e})", tol[e]);
            }
        }
    }
    // Cache rows this batch does not own, and those past n_ctx, are untouched.
    for row in 0..=c.n_ctx as usize {
        if row >= c.pos0 as usize && row < (c.pos0 as usize + n).min(c.n_ctx as usize) {
            continue;
        }
        for (name, got, old) in [("k", &k_got, &k_old), ("v", &v_got, &v_old)] {
            assert_eq!(
                &got[row * row_words..][..row_words],
                &old[row * row_words..][..row_words],
                "{label}: {name} cache row {row} changed"
            );
        }
    }
}

#[test]
fn bad_shapes_are_errors() {
    let ctx = common::gpu();
    let step = step_buffer(&ctx, 0, 1);
    let freqs = ctx.f32_buffer_from("inv_freq", &[1.0; 8]);
    let cache = KvStore::Buffer(words_buffer(&ctx, "cache", &[0; 64]));
    let shape = RopeStoreShape {
        n_heads: 2,
        n_kv_heads: 1,
        head_dim: 8,
        n_rot: 8,
        style: RopeStyle::Normal,
        mscale: 1.0,
        n_ctx: 4,
        kv: KvPrecision::F16,
    };
    let bad = [
        (RopeStoreShape { head_dim: 7, n_rot: 6, ..shape }, 4 * 7),
        (RopeStoreShape { n_rot: 10, ..shape }, 4 * 8),
        (RopeStoreShape { n_rot: 3, ..shape }, 4 * 8),
        (RopeStoreShape { n_kv_heads: 0, ..shape }, 2 * 8),
        (RopeStoreShape { mscale: f32::NAN, ..shape }, 4 * 8),
        (RopeStoreShape { mscale: 0.0, ..shape }, 4 * 8),
        (shape, 4 * 8 + 1),                               // a qkv row of the wrong width
        (RopeStoreShape { n_ctx: 1000, ..shape }, 4 * 8), // caches too small
    ];
    for (s, width) in bad {
        let qkv = zeros(&ctx, "qkv", 1, width);
        let q = zeros(&ctx, "q", 1, (s.n_heads * s.head_dim) as usize);
        let r = pollster::block_on(rope_store(&ctx, &PipelineCache::default(), &qkv, None, &freqs, &q, &cache, &cache, &step, s));
        assert!(matches!(r, Err(hearth::Error::InvalidArgument(_))), "{s:?} with rows of {width} was accepted");
    }
    // Texel caches (4 positions of 8 elements: one texel a row): more positions than rows, an
    // f32 cache, heads that do not fill whole texels (two kv heads of 4 dims), keys in texels
    // with values in a buffer.
    let texels = KvStore::texels(&ctx, "texels", 8, 4).unwrap();
    let bad = [
        (RopeStoreShape { n_ctx: 5, ..shape }, &texels, &texels),
        (RopeStoreShape { kv: KvPrecision::F32, ..shape }, &texels, &texels),
        (RopeStoreShape { n_heads: 2, n_kv_heads: 2, head_dim: 4, n_rot: 4, ..shape }, &texels, &texels),
        (shape, &texels, &cache),
    ];
    for (s, k, v) in bad {
        let qkv = zeros(&ctx, "qkv", 1, ((s.n_heads + 2 * s.n_kv_heads) * s.head_dim) as usize);
        let q = zeros(&ctx, "q", 1, (s.n_heads * s.head_dim) as usize);
        let r = pollster::block_on(rope_store(&ctx, &PipelineCache::default(), &qkv, None, &freqs, &q, k, v, &step, s));
        assert!(matches!(r, Err(hearth::Error::InvalidArgument(_))), "{s:?} over texels was accepted");
    }
}
