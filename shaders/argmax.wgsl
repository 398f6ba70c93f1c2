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

// Independent loads in flight per thread and round. One workgroup scans the whole row, so
// with one load per round a thread of Gemma 3's 262k-row argmax waited on 1,024 loads in
// series (0.42 ms on an H100, 12% of a decode token); UNROLL independent bests, merged at
// the end, let the loads overlap.
const UNROLL: u32 = 8u;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
    let row = p.offset + (step.n_tokens - 1u) * p.row_stride;
    var vs: array<f32, UNROLL>;
    var is: array<u32, UNROLL>;
    for (var u = 0u; u < UNROLL; u++) {
        is[u] = NONE;
    }
    // Whole rounds: element i + u * WG goes to best u.
    let rounds = p.n / (WG * UNROLL);
    for (var r = 0u; r < rounds; r++) {
        let base = r * WG * UNROLL + lid;
        for (var u = 0u; u < UNROLL; u++) {
            let i = base + u * WG;
            let xi = x[row + i];
            if (beats(xi, i, vs[u], is[u])) {
                vs[u] = xi;
                is[u] = i;
            }
        }
    }
    // The rest (fewer than WG * UNROLL elements), into best 0.
    for (var i = rounds * WG * UNROLL + lid; i < p.n; i += WG) {
        let xi = x[row + i];
        if (beats(xi, i, vs[0], is[0])) {
            vs[0] = xi;
            is[0] = i;
        }
    }
    var v = vs[0];
    var idx = is[0];
    for (var u = 1u; u < UNROLL; u++) {
        if (beats(vs[u], is[u], v, idx)) {
            v = vs[u];
            idx = is[u];
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
