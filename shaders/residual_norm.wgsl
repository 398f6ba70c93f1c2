// The residual add of a block whose output is normalised first (Gemma 3's post-attention and
// post-FFN norms), fused with the RMSNorm that the next block applies to the sum:
//   x[r, :] += rmsnorm(o[r, :]) * post_weight
//   out[r, :] = rmsnorm(x[r, :]) * weight
// rmsnorm(v) = v / sqrt(mean(v²) + eps). last_only = 1 does this for the last token's row
// only (out holding just that row), for the last layer when only the last logits are needed.
// Bindings:
//   x:           [step.n_tokens × n] f32, read_write (the residual stream)
//   o:           [step.n_tokens × n] f32 (the block's output)
//   post_weight: [n] f32
//   weight:      [n] f32
//   out:         [rows × n] f32 (may not alias x or o)
// Dispatch: (rows, 1, 1), one workgroup per row: rows = step.n_tokens, or 1 if last_only.

struct Params {
    n: u32,
    eps: f32,
    last_only: u32,
    _pad0: u32,
}

@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read> o: array<f32>;
@group(0) @binding(2) var<storage, read> post_weight: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;
@group(0) @binding(6) var<uniform> step: Step;

const WG: u32 = 64u;
var<workgroup> partial: array<f32, 64>;

// The sum of every thread's `v` (all threads must call it).
fn workgroup_sum(v: f32, lid: u32) -> f32 {
    workgroupBarrier(); // the previous sum's readers are done with `partial`
    partial[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s /= 2u) {
        if (lid < s) {
            partial[lid] += partial[lid + s];
        }
        workgroupBarrier();
    }
    return partial[0];
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    var row = wid.x;
    if (p.last_only == 1u) {
        row = step.n_tokens - 1u;
    }
    let base = row * p.n;
    let out_base = wid.x * p.n;
    var ss = 0.0;
    for (var i = lid; i < p.n; i += WG) {
        let v = o[base + i];
        ss += v * v;
    }
    let inv_o = inverseSqrt(workgroup_sum(ss, lid) / f32(p.n) + p.eps);
    // Each thread updates and then re-reads only its own elements: no barrier needed between.
    ss = 0.0;
    for (var i = lid; i < p.n; i += WG) {
        let v = x[base + i] + o[base + i] * inv_o * post_weight[i];
        x[base + i] = v;
        ss += v * v;
    }
    let inv_x = inverseSqrt(workgroup_sum(ss, lid) / f32(p.n) + p.eps);
    for (var i = lid; i < p.n; i += WG) {
        out[out_base + i] = x[base + i] * inv_x * weight[i];
    }
}
