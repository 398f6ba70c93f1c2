// Greedy sampling on the GPU, second pass: out[0] = the index of the best of the first
// pass's per-workgroup bests (shaders/argmax.wgsl), ties to the lowest index.
// Assembled after the generated constant WG and shaders/argmax_common.wgsl.
// Bindings: part [groups] (value bits, index), out [1] u32, params. Dispatch: (1, 1, 1).

struct Params {
    groups: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read> part: array<vec2<u32>>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
    var v = 0.0;
    var idx = NONE;
    for (var g = lid; g < p.groups; g += WG) {
        let c = part[g];
        if (beats(bitcast<f32>(c.x), c.y, v, idx)) {
            v = bitcast<f32>(c.x);
            idx = c.y;
        }
    }
    reduce_best(lid, v, idx);
    if (lid == 0u) {
        out[0] = best_idx[0];
    }
}
