// KV cache elements in f32: exact, twice the bytes of f16. Chosen by src/kernels/kv.rs
// (KvPrecision::F32), prepended to the kernels that read or write a cache.

alias KvPair = vec2<f32>; // two consecutive elements
alias KvQuad = vec4<f32>; // four consecutive elements

fn kv_pack(v: vec2<f32>) -> KvPair {
    return v;
}

fn kv_unpack4(w: KvQuad) -> vec4<f32> {
    return w;
}
