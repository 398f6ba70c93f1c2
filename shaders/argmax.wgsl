// Greedy sampling on the GPU: out[0] = i for the largest x[offset + i], i < n (ties: lowest
// index), so a greedy decode step reads back 4 bytes instead of the logits.
// Bindings: x [n] f32, out [1] u32, params. Dispatch: (1, 1, 1).

struct Params {
    n: u32,
    offset: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<uniform> p: Params;

const WG: u32 = 256u;
var<workgroup> best_val: array<f32, 256>;
var<workgroup> best_idx: array<u32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
    var v = -3.4e38;
    var idx = 0xffffffffu;
    for (var i = lid; i < p.n; i += WG) {
        let xi = x[p.offset + i];
        if (xi > v) {
            v = xi;
            idx = i;
        }
    }
    best_val[lid] = v;
    best_idx[lid] = idx;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s /= 2u) {
        if (lid < s) {
            let ov = best_val[lid + s];
            let oi = best_idx[lid + s];
            if (ov > best_val[lid] || (ov == best_val[lid] && oi < best_idx[lid])) {
                best_val[lid] = ov;
                best_idx[lid] = oi;
            }
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        out[0] = best_idx[0];
    }
}
