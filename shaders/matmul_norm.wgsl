// The RMSNorm prologue of shaders/matmul.wgsl and shaders/gemm.wgsl (NORM >= 1): x is the
// residual stream and the matmul multiplies rmsnorm(x[t, :]) * norm_w by W, so the norm that
// feeds a matmul is not a dispatch of its own. Each workgroup recomputes the inverse RMS of
// its own token rows (a d_model row is a few thousand floats: cheap next to the weights).
// NORM = 2 adds a post-normed block output first (Gemma 3's post-attention and post-FFN
// norms): the matmul's input is rmsnorm(x_new) * norm_w with
//   x_new[t, :] = x[t, :] + rmsnorm(o[t, :]) * post_w,
// and the workgroup holding the first rows writes x_new to x_out, the residual stream from
// then on (another buffer: every other workgroup of the dispatch still reads x).
// rmsnorm(v) = v / sqrt(mean(v²) + p.eps).
//
// Two ways to share the work, chosen with the kernel's shape (src/gpu/matmul_fusion.rs):
// NORM_SHARED, the workgroup's threads split each row and sum it through workgroup memory
// (GPUs); else each thread sums every row itself, with no barrier: on lavapipe a barrier
// makes the whole shader a coroutine whose registers live in memory, which slowed the
// CPU tuning's matmuls (a thread per row, no barrier otherwise) by 20-40%.
//
// Assembled after generated constants and bindings:
//   NORM_TOKENS   token rows per workgroup (TOKENS_PER_GROUP, or the GEMM's TILE_TOKENS);
//   NORM_SHARED   whether the threads share the rows (else each does all of them);
//   NORM_LANES    threads summing one row (NORM_SHARED: WG / NORM_TOKENS, at least 1, a
//                 power of two; else 1);
//   NORM_AT_ONCE  token rows one thread group takes at a time (NORM_SHARED: WG / NORM_LANES;
//                 else 1);
//   norm_scale    [NORM_TOKENS] f32, workgroup memory if NORM_SHARED, else private;
//   sum_over_lanes(v, lid), norm_barrier(): shaders/matmul_norm_shared.wgsl if NORM_SHARED,
//                 else stubs (the thread's own sum, no barrier);
//   norm_w: [cols] f32 read as vec4 (binding after the bias);
// and for NORM = 2 shaders/matmul_norm_residual.wgsl (o, post_w, x_out), for NORM = 1 its
// stubs: post_norm_scale, residual_at, post_scale_of, store_residual.
// Uses `WG` and `x_row` (shaders/matmul_bindings.wgsl) of the kernel it is assembled with.

// Fills norm_scale (and post_scale) for the workgroup's token slots 0 .. NORM_TOKENS
// (tokens t0 ..; slots past the batch repeat its last row), and with NORM = 2 stores x_new
// when `first_group`. Every thread of the workgroup must call it, before any x_at.
fn norm_prologue(lid: u32, first_group: bool, t0: u32, n_tokens: u32) {
    let lane = lid % NORM_LANES;
    let n_vec = p.cols / 4u;
    for (var b = 0u; b < NORM_TOKENS; b += NORM_AT_ONCE) {
        let t = b + select(0u, lid / NORM_LANES, NORM_SHARED);
        let base = x_row(t0, t, n_tokens) * (p.x_stride / 4u);
        let post = post_norm_scale(t, base, lane, lid);
        let store = first_group && t0 + t < n_tokens && (NORM_SHARED || lid == 0u);
        var ss = 0.0;
        for (var v = lane; v < n_vec; v += NORM_LANES) {
            let r = residual_at(base + v, v, post);
            if (store) {
                store_residual(base + v, r);
            }
            ss += dot(r, r);
        }
        let total = sum_over_lanes(ss, lid);
        if (lane == 0u || !NORM_SHARED) {
            norm_scale[t] = inverseSqrt(total / f32(p.cols) + p.eps);
        }
    }
    norm_barrier();
}

// vec4 `v` of token slot t's normalised input, whose row starts at vec4 `base` of x.
fn x_at(t: u32, base: u32, v: u32) -> vec4<f32> {
    return residual_at(base + v, v, post_scale_of(t)) * (norm_scale[t] * norm_w[v]);
}
