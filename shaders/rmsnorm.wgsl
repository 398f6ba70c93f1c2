// RMSNorm per row of n values: out[r, i] = x[r0 + r, i] / sqrt(mean(x[r0 + r, :]^2) + eps) * weight[i].
// A token has rows_per_token rows (1 for the model's norms, n_heads for per-head q/k norms).
// last_only = 1 normalises only the last token's rows (r0 = its first row; out holds just
// those), for the final norm when only the last token's logits are needed; else r0 = 0.
// Bindings:
//   x:      [step.n_tokens × rows_per_token × n] f32
//   weight: [n] f32
//   out:    [rows × n] f32 (may not alias x)
// Dispatch: (rows, 1, 1), one workgroup per row: rows = rows_per_token, times step.n_tokens
// unless last_only.

struct Params {
    n: u32,
    eps: f32,
    rows_per_token: u32,
    last_only: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
@group(0) @binding(4) var<uniform> step: Step;

const WG: u32 = 64u;
var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    var r0 = 0u;
    if (p.last_only == 1u) {
        r0 = (step.n_tokens - 1u) * p.rows_per_token;
    }
    let base = (r0 + wid.x) * p.n;
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
