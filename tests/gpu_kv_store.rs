//! shaders/kv_store.wgsl: a forward pass's keys and values land in the cache rows
//! pos0 .. pos0 + n_tokens (an f32 cache holds them bit for bit; an f16 cache holds f16
//! roundings of them that WGSL allows), and nothing else in the cache changes, including past
//! the end of the context.

mod common;

use common::kernels::{is_f16_rounding_of, read_u32, step_buffer, submit, tensor, unpack_f16_pairs, words_buffer};
use hearth::gpu::PipelineCache;
use hearth::kernels::kv::KvPrecision;
use hearth::kernels::kv_store::kv_store;

#[test]
fn kv_store_appends_rows_at_pos0() {
    for kv in [KvPrecision::F16, KvPrecision::F32] {
        check(kv);
    }
}

fn check(kv: KvPrecision) {
    let ctx = common::gpu();
    let cache = PipelineCache::default();
    let mut rng = common::Rng(0xcafe);
    // (kv_dim, n_ctx, pos0, n_tokens): SmolLM2's 192 and Gemma 3's 256 (one kv head of
    // 256), kv_dim / 2 not a multiple of the 64-thread workgroup, a prefill from 0, decode
    // steps in the middle and at the last position, and a batch running past n_ctx (its tail
    // is dropped, not written out of bounds).
    for (kv_dim, n_ctx, pos0, n_tokens) in [(192, 40, 0, 17), (256, 40, 39, 1), (100, 33, 5, 1), (72, 20, 11, 9), (130, 16, 10, 12)] {
        let (dim, ctx_len, p0, n) = (kv_dim as usize, n_ctx as usize, pos0 as usize, n_tokens as usize);
        // Values of magnitude 0.005 to 100 (f16 keeps 11 significant bits over all of it;
        // real keys and values lie there too).
        let mut value = || {
            let (sign, mantissa, exponent) =
                (rng.signed_unit().signum(), 0.5 + 0.5 * rng.signed_unit().abs(), (rng.signed_unit() * 2.5).round());
            sign * mantissa * 10f32.powi(exponent as i32)
        };
        let k: Vec<f32> = (0..n * dim).map(|_| value()).collect();
        let v: Vec<f32> = (0..n * dim).map(|_| value()).collect();
        // What the cache held before (older positions): distinct words; one spare row after
        // the cache proper catches writes past n_ctx.
        let row_words = dim * kv.bytes() as usize / 4;
        let words = (ctx_len + 1) * row_words;
        let k_old: Vec<u32> = (0..words as u32).map(|i| 0x8000_0000 | i).collect();
        let v_old: Vec<u32> = (0..words as u32).map(|i| 0x4000_0000 | i).collect();
        let (kb, vb) = (tensor(&ctx, "k", n, dim, &k), tensor(&ctx, "v", n, dim, &v));
        let (kc, vc) = (words_buffer(&ctx, "k_cache", &k_old), words_buffer(&ctx, "v_cache", &v_old));
        let step = step_buffer(&ctx, pos0, n_tokens);
        let d = pollster::block_on(kv_store(&ctx, &cache, &kb, &vb, &kc, &vc, &step, n_ctx, kv)).unwrap();
        submit(&ctx, n_tokens, &[d]);

        for (name, new, old, cache_buf) in [("k", &k, &k_old, &kc), ("v", &v, &v_old, &vc)] {
            let got = read_u32(&ctx, cache_buf, old.len());
            for row in 0..=ctx_len {
                let written = row >= p0 && row < p0 + n && row < ctx_len;
                let got_row = &got[row * row_words..][..row_words];
                if !written {
                    assert_eq!(
                        got_row,
                        &old[row * row_words..][..row_words],
                        "{kv:?} kv_dim {kv_dim} pos0 {pos0} n {n}: {name} row {row} changed"
                    );
                    continue;
                }
                let input = &new[(row - p0) * dim..][..dim];
                let values = match kv {
                    KvPrecision::F16 => unpack_f16_pairs(got_row),
                    KvPrecision::F32 => got_row.iter().map(|&w| f32::from_bits(w)).collect(),
                };
                for (i, (&g, &x)) in values.iter().zip(input).enumerate() {
                    let ok = match kv {
                        KvPrecision::F16 => is_f16_rounding_of(g, x),
                        KvPrecision::F32 => g.to_bits() == x.to_bits(),
                    };
                    assert!(ok, "{kv:?} kv_dim {kv_dim} pos0 {pos0} n {n}: {name}[{row}, {i}] = {g}, stored from {x}");
                }
            }
        }
    }
}

#[test]
fn odd_rows_are_an_error() {
    let ctx = common::gpu();
    let k = tensor(&ctx, "k", 1, 3, &[1.0, 2.0, 3.0]);
    let c = words_buffer(&ctx, "cache", &[0; 8]);
    let step = step_buffer(&ctx, 0, 1);
    let r = pollster::block_on(kv_store(&ctx, &PipelineCache::default(), &k, &k, &c, &c, &step, 4, KvPrecision::F16));
    assert!(matches!(r, Err(hearth::Error::InvalidArgument(_))), "an odd kv_dim was accepted");
}
