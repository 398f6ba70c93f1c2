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
// Assembled after generated constants and bindings (src/gpu/matmul_fusion.rs):
//   NORM_TOKENS  token rows per workgroup (TOKENS_PER_GROUP, or the GEMM's TILE_TOKENS);
//   NORM_LANES   threads summing one row (WG / NORM_TOKENS, at least 1; a power of two);
//   norm_w: [cols] f32 read as vec4 (binding after the bias);
// and for NORM = 2 shaders/matmul_norm_residual.wgsl (o, post_w, x_out), for NORM = 1 its
// stubs: post_norm_scale, residual_at, post_scale_of, store_residual.
// Uses `WG` and `x_row` (shaders/matmul_bindings.wgsl) of the kernel it is assembled with.

const NORM_AT_ONCE: u32 = WG / NORM_LANES; // token rows summed side by side

var<workgroup> norm_partial: array<f32, WG>;
var<workgroup> norm_scale: array<f32, NORM_TOKENS>; // 1 / rms of each slot's x (or x_new)

// The sum of `v` over each row's NORM_LANES consecutive threads, returned to all of them.
// Every thread of the workgroup must call it.
fn sum_over_lanes(v: f32, lid: u32) -> f32 {
    norm_partial[lid] = v;
    workgroupBarrier();
    for (var s = NORM_LANES / 2u; s > 0u; s >>= 1u) {
        if (lid % NORM_LANES < s) {
            norm_partial[lid] += norm_partial[lid + s];
        }
        workgroupBarrier();
    }
    let total = norm_partial[lid - lid % NORM_LANES];
    workgroupBarrier(); // read by all before the next call overwrites
    return total;
}

// Fills norm_scale (and post_scale) for the workgroup's token slots 0 .. NORM_TOKENS
// (tokens t0 ..; slots past the batch repeat its last row), and with NORM = 2 stores x_new
// when `first_group`. Every thread of the workgroup must call it, before any x_at.
fn norm_prologue(lid: u32, first_group: bool, t0: u32, n_tokens: u32) {
    let lane = lid % NORM_LANES;
    let n_vec = p.cols / 4u;
    for (var b = 0u; b < NORM_TOKENS; b += NORM_AT_ONCE) {
        let t = b + lid / NORM_LANES;
        let base = x_row(t0, t, n_tokens) * (p.x_stride / 4u);
        let post = post_norm_scale(t, base, lane, lid);
        let store = first_group && t0 + t < n_tokens;
        var ss = 0.0;
        for (var v = lane; v < n_vec; v += NORM_LANES) {
            let r = residual_at(base + v, v, post);
            if (store) {
                store_residual(base + v, r);
            }
            ss += dot(r, r);
        }
        let total = sum_over_lanes(ss, lid);
        if (lane == 0u) {
            norm_scale[t] = inverseSqrt(total / f32(p.cols) + p.eps);
        }
    }
    workgroupBarrier();
}

// vec4 `v` of token slot t's normalised input, whose row starts at vec4 `base` of x.
fn x_at(t: u32, base: u32, v: u32) -> vec4<f32> {
    return residual_at(base + v, v, post_scale_of(t)) * (norm_scale[t] * norm_w[v]);
}
