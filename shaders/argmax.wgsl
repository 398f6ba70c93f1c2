// Greedy sampling on the GPU: out[0] = i for the largest x[row + i], i < n (ties: lowest
// index, like hearth::sample::argmax), so a greedy decode step reads back 4 bytes instead of
// the logits. Any finite or infinite values work (a row of -inf gives 0); NaN is not
// handled (WGSL lets implementations assume there is none).
// row = offset + (step.n_tokens - 1) * row_stride: the batch's last row of logits when x
// holds one per token (row_stride = n), or a fixed row (row_stride = 0).
// Bindings: x [n] f32, out [1] u32, params, step. Dispatch: (1, 1, 1).

struct Params {
    n: u32,
    offset: u32,
    row_stride: u32,
    _pad0: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<uniform> p: Params;
@group(0) @binding(3) var<uniform> step: Step;

const WG: u32 = 256u;
const NONE: u32 = 0xffffffffu; // a thread that has seen no element yet
var<workgroup> best_val: array<f32, 256>;
var<workgroup> best_idx: array<u32, 256>;

// Whether (v, i) beats the best so far (bv, bi). No sentinel value is used for "nothing
// yet", since any f32 (even -inf) may be the maximum.
fn beats(v: f32, i: u32, bv: f32, bi: u32) -> bool {
    if (i == NONE) {
        return false;
    }
    return bi == NONE || v > bv || (v == bv && i < bi);
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
    let row = p.offset + (step.n_tokens - 1u) * p.row_stride;
    var v = 0.0;
    var idx = NONE;
    for (var i = lid; i < p.n; i += WG) {
        let xi = x[row + i];
        if (beats(xi, i, v, idx)) {
            v = xi;
            idx = i;
        }
    }
    best_val[lid] = v;
    best_idx[lid] = idx;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s /= 2u) {
        if (lid < s && beats(best_val[lid + s], best_idx[lid + s], best_val[lid], best_idx[lid])) {
            best_val[lid] = best_val[lid + s];
            best_idx[lid] = best_idx[lid + s];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        out[0] = best_idx[0];
    }
}
