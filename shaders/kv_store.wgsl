// Appends the keys and values of n_tokens tokens to one layer's KV cache, at positions
// step.pos0 .. step.pos0 + n_tokens.
// Bindings:
//   k, v:             [n_tokens × kv_dim] f32 (after RoPE for k)
//   k_cache, v_cache: [n_ctx × kv_dim] f32
// Dispatch: (ceil(kv_dim / 64), n_tokens).

struct Params {
    kv_dim: u32,
    n_ctx: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read> k: array<f32>;
@group(0) @binding(1) var<storage, read> v: array<f32>;
@group(0) @binding(2) var<storage, read_write> k_cache: array<f32>;
@group(0) @binding(3) var<storage, read_write> v_cache: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;
@group(0) @binding(5) var<uniform> step: Step;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    let t = gid.y;
    let pos = step.pos0 + t;
    if (i >= p.kv_dim || pos >= p.n_ctx) {
        return;
    }
    k_cache[pos * p.kv_dim + i] = k[t * p.kv_dim + i];
    v_cache[pos * p.kv_dim + i] = v[t * p.kv_dim + i];
}
