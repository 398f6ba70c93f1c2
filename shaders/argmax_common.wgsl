// Shared by shaders/argmax.wgsl and argmax_merge.wgsl: the argmax's rule and its workgroup
// reduction. Ties go to the lowest index (like hearth::sample::argmax).
// Assembled after the generated constant WG (threads per workgroup, a power of two:
// `Tuning::argmax_workgroup_size`).

const NONE: u32 = 0xffffffffu; // a thread that has seen no element yet
var<workgroup> best_val: array<f32, WG>;
var<workgroup> best_idx: array<u32, WG>;

// Whether (v, i) beats the best so far (bv, bi). No sentinel value is used for "nothing
// yet", since any f32 (even -inf) may be the maximum.
fn beats(v: f32, i: u32, bv: f32, bi: u32) -> bool {
    if (i == NONE) {
        return false;
    }
    return bi == NONE || v > bv || (v == bv && i < bi);
}

// The workgroup's best of every thread's (v, idx), left in best_val[0] / best_idx[0] for
// thread 0 (call in uniform control flow).
fn reduce_best(lid: u32, v: f32, idx: u32) {
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
}
