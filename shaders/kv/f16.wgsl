// KV cache elements in f16, two per u32 (pack2x16float / unpack2x16float: no shader-f16
// feature needed). Element 2i sits in the low half of word i. Chosen by
// src/kernels/kv.rs (KvPrecision::F16), prepended to the kernels that read or write a cache.

alias KvPair = u32;       // two consecutive elements
alias KvQuad = vec2<u32>; // four consecutive elements

fn kv_pack(v: vec2<f32>) -> KvPair {
    return pack2x16float(v);
}

// Widening f16 to f32 is exact.
fn kv_unpack4(w: KvQuad) -> vec4<f32> {
    return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
}
