// Greedy sampling on the GPU, first pass: the argmax of a row of logits, as the best
// (value, index) of each workgroup's span of the row; shaders/argmax_merge.wgsl then picks
// the best of those, so a greedy decode step reads back 4 bytes instead of the logits.
// Ties go to the lowest index (like hearth::sample::argmax). Any finite or infinite values
// work (a row of -inf gives 0); NaN is not handled (WGSL lets implementations assume there
// is none).
//
// Why two passes: one workgroup scanning a whole 262k-token row (Gemma 3) left the rest of
// the GPU idle for 0.42-0.46 ms of a decode token on an H100; here each workgroup reads
// SPAN = WG x PER_THREAD elements, all its loads independent.
//
// row = offset + (step.n_tokens - 1) * row_stride: the batch's last row of logits when x
// holds one per token (row_stride = n), or a fixed row (row_stride = 0).
//
// The mask: with mask[0] != 0, only index i with bit i % 32 of mask[1 + i / 32] set may win
// (a grammar's allowed tokens: greedy structured output picks here instead of in the sampler,
// which scans a 262k row in one workgroup); mask[0] == 0 lets every index in.
// Assembled after the generated constants WG and PER_THREAD (`Tuning::argmax_workgroup_size`,
// `argmax_per_thread`) and shaders/argmax_common.wgsl.
// Bindings: x [n] f32, part [groups] (value bits, index), params, step, mask [1 + n / 32] u32.
// Dispatch: (ceil(n / SPAN), 1, 1).

struct Params {
    n: u32,
    offset: u32,
    row_stride: u32,
    _pad0: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> part: array<vec2<u32>>;
@group(0) @binding(2) var<uniform> p: Params;
@group(0) @binding(3) var<uniform> step: Step;
@group(0) @binding(4) var<storage, read> mask: array<u32>;

fn allowed(i: u32) -> bool {
    return mask[0] == 0u || ((mask[1u + i / 32u] >> (i % 32u)) & 1u) == 1u;
}

const SPAN: u32 = WG * PER_THREAD;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = p.offset + (step.n_tokens - 1u) * p.row_stride;
    var v = 0.0;
    var idx = NONE;
    // Element wid.x * SPAN + u * WG + lid: neighbouring threads read neighbouring floats.
    for (var u = 0u; u < PER_THREAD; u++) {
        let i = wid.x * SPAN + u * WG + lid;
        if (i < p.n && allowed(i)) {
            let xi = x[row + i];
            if (beats(xi, i, v, idx)) {
                v = xi;
                idx = i;
            }
        }
    }
    reduce_best(lid, v, idx);
    if (lid == 0u) {
        part[wid.x] = vec2<u32>(bitcast<u32>(best_val[0]), best_idx[0]);
    }
}
