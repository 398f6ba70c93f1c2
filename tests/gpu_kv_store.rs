//! shaders/kv_store.wgsl: a forward pass's keys and values land in the cache rows
//! pos0 .. pos0 + n_tokens, bit for bit (a copy, so the tolerance is zero), and nothing
//! else in the cache changes, including past the end of the context.

mod common;

use common::kernels::{read_f32, step_buffer, submit, tensor};
use hearth::gpu::PipelineCache;
use hearth::kernels::kv_store::kv_store;

#[test]
fn kv_store_appends_rows_at_pos0() {
    let ctx = common::gpu();
    let cache = PipelineCache::default();
    let mut rng = common::Rng(0xcafe);
    // (kv_dim, n_ctx, pos0, n_tokens): SmolLM2's 192 and Gemma 3's 256 (one kv head of
    // 256), kv_dim not a multiple of the 64-thread workgroup, a prefill from 0, decode steps
    // in the middle and at the last position, and a batch running past n_ctx (its tail is
    // dropped, not written out of bounds).
    for (kv_dim, n_ctx, pos0, n_tokens) in [(192, 40, 0, 17), (256, 40, 39, 1), (100, 33, 5, 1), (72, 20, 11, 9), (130, 16, 10, 12)] {
        let (dim, ctx_len, p0, n) = (kv_dim as usize, n_ctx as usize, pos0 as usize, n_tokens as usize);
        let k: Vec<f32> = (0..n * dim).map(|_| rng.signed_unit()).collect();
        let v: Vec<f32> = (0..n * dim).map(|_| rng.signed_unit()).collect();
        // What the cache held before (older positions); one spare row after the cache
        // proper catches writes past n_ctx.
        let k_old: Vec<f32> = (0..(ctx_len + 1) * dim).map(|i| -1000.0 - i as f32).collect();
        let v_old: Vec<f32> = (0..(ctx_len + 1) * dim).map(|i| 1000.0 + i as f32).collect();
        let (kb, vb) = (tensor(&ctx, "k", n, dim, &k), tensor(&ctx, "v", n, dim, &v));
        let (kc, vc) = (ctx.f32_buffer_from("k_cache", &k_old), ctx.f32_buffer_from("v_cache", &v_old));
        let step = step_buffer(&ctx, pos0, n_tokens);
        let d = pollster::block_on(kv_store(&ctx, &cache, &kb, &vb, &kc, &vc, &step, n_ctx)).unwrap();
        submit(&ctx, n_tokens, &[d]);

        for (name, new, old, cache_buf) in [("k", &k, &k_old, &kc), ("v", &v, &v_old, &vc)] {
            let got = read_f32(&ctx, cache_buf, old.len());
            let mut want = old.clone();
            for t in 0..n {
                if p0 + t < ctx_len {
                    want[(p0 + t) * dim..][..dim].copy_from_slice(&new[t * dim..][..dim]);
                }
            }
            assert!(
                got == want,
                "kv_dim {kv_dim} n_ctx {n_ctx} pos0 {pos0} n {n_tokens}: {name} cache differs at {:?}",
                got.iter().zip(&want).position(|(a, b)| a != b)
            );
        }
    }
}
