// RMSNorm per row: out[r, i] = x[first_row + r, i] / sqrt(mean(x[first_row + r, :]^2) + eps) * weight[i].
// (first_row lets the final norm process only the last token when only its logits are needed.)
// Bindings:
//   x:      [n_rows × n] f32
//   weight: [n] f32
//   out:    [n_rows × n] f32 (may not alias x)
// Dispatch: (n_rows, 1, 1), one workgroup per row.

struct Params {
    n: u32,
    eps: f32,
    first_row: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

const WG: u32 = 64u;
var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let base = (p.first_row + wid.x) * p.n;
    let out_base = wid.x * p.n;
    var ss = 0.0;
    for (var i = lid; i < p.n; i += WG) {
        let v = x[base + i];
        ss += v * v;
    }
    partial[lid] = ss;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s /= 2u) {
        if (lid < s) {
            partial[lid] += partial[lid + s];
        }
        workgroupBarrier();
    }
    let inv = inverseSqrt(partial[0] / f32(p.n) + p.eps);
    for (var i = lid; i < p.n; i += WG) {
        out[out_base + i] = x[base + i] * inv * weight[i];
    }
}
