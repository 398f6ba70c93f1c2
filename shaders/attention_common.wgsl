// What shaders/attention.wgsl and shaders/attention_tiled.wgsl share: their parameters
// (mirrored by `Params` in src/kernels/attention.rs), their bindings and the causal window
// rule. Assembled after the cache's reader (src/kernels/kv.rs, `KvFormat::reader_wgsl`:
// KvQuad, the key and value bindings 1 and 2, k_quad, key_dot, ...) and shaders/step.wgsl.

struct Params {
    n_heads: u32,
    n_kv_heads: u32,
    _pad0: u32,
    window: u32,
    scale: f32,
    _pad1: u32,
    _pad2: u32,
    _pad3: u32,
}

@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> p: Params;
@group(0) @binding(5) var<uniform> step: Step;

const LOWEST: f32 = -3.4e38; // below any score; exp(LOWEST - s) is 0

// The first position query position `pos` may see.
fn first_visible(pos: u32) -> u32 {
    if (p.window > 0u && pos + 1u > p.window) {
        return pos + 1u - p.window;
    }
    return 0u;
}
