// Rotary position embedding, in place, on [n_tokens × n_heads × head_dim] f32.
// Token t is at position step.pos0 + t. Pair i (0 .. n_rot/2) of a head rotates by
// angle pos * inv_freq[i]:
//   normal (llama, GGUF's permuted Q/K): the pair is (x[2i], x[2i + 1])
//   neox (qwen2, gemma3):                the pair is (x[i], x[i + n_rot/2])
// Dimensions n_rot .. head_dim are left as they are.
// Bindings: x (read_write), inv_freq [n_rot/2] f32, params, step.
// Dispatch: (ceil(n_rot/2 / 64), n_heads, n_tokens).

struct Params {
    n_heads: u32,
    head_dim: u32,
    n_rot: u32,
    neox: u32,
}

@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read> inv_freq: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;
@group(0) @binding(3) var<uniform> step: Step;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    let half = p.n_rot / 2u;
    if (i >= half) {
        return;
    }
    let head = gid.y;
    let t = gid.z;
    let base = (t * p.n_heads + head) * p.head_dim;
    var a = base + 2u * i;
    var b = a + 1u;
    if (p.neox == 1u) {
        a = base + i;
        b = base + i + half;
    }
    let angle = f32(step.pos0 + t) * inv_freq[i];
    let c = cos(angle);
    let s = sin(angle);
    let x0 = x[a];
    let x1 = x[b];
    x[a] = x0 * c - x1 * s;
    x[b] = x0 * s + x1 * c;
}
