// Appends the keys and values of n_tokens tokens to one layer's KV cache, at positions
// step.pos0 .. step.pos0 + n_tokens, in the cache's precision: assembled after a snippet of
// shaders/kv/ (f16 packed two per u32 by default, or f32) that defines KvPair and kv_pack.
// Keys and values are activations of magnitude ~1-100, far inside f16's range.
// Bindings:
//   k, v:             [n_tokens × kv_dim] f32 (after RoPE for k); kv_dim even
//   k_cache, v_cache: [n_ctx × kv_dim / 2] KvPair
// Dispatch: (ceil(kv_dim / 2 / 64), n_tokens).

struct Params {
    kv_dim: u32,
    n_ctx: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read> k: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read> v: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> k_cache: array<KvPair>;
@group(0) @binding(3) var<storage, read_write> v_cache: array<KvPair>;
@group(0) @binding(4) var<uniform> p: Params;
@group(0) @binding(5) var<uniform> step: Step;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x; // pair index
    let t = gid.y;
    let pos = step.pos0 + t;
    let pairs = p.kv_dim / 2u;
    if (i >= pairs || pos >= p.n_ctx) {
        return;
    }
    k_cache[pos * pairs + i] = kv_pack(k[t * pairs + i]);
    v_cache[pos * pairs + i] = kv_pack(v[t * pairs + i]);
}
