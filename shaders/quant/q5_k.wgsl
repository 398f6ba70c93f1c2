// Q5_K (176 bytes = 44 words): d, dmin (word 0), scales[12] (k_scale_min), qh[32]
// (bit s of qh[l] is the 5th bit of element l of chunk s), qs[128] as in Q4_K.
const BLOCK_SIZE_Q5_K: u32 = 256u;
const BLOCK_WORDS_Q5_K: u32 = 44u;
const CHUNKS_PER_BLOCK_Q5_K: u32 = 8u;

fn load_chunk_q5_k(bw: u32, sub: u32) {
    let mo = k_chunk_mul_off(bw, sub);
    let scale = mo.x;
    let offset = mo.y;
    let shift = 4u * (sub % 2u);
    let base = bw + 12u + 8u * (sub / 2u);
    let qs = w_oct_at_texel(base);
    let qh = w_oct_at_texel(bw + 4u);
    for (var k = 0u; k < 8u; k++) {
        let v = byte_bits(qs[k / 4u][k % 4u], shift, 0xfu) | (byte_bits(qh[k / 4u][k % 4u], sub, 1u) << vec4<u32>(4u));
        chunk[k] = scale * vec4<f32>(v) - offset;
    }
}

// The raw chunk (shaders/quant/common.wgsl), as Q4_K's with each value's 5th bit (bit `sub`
// of its qh byte) on bit 4 of its byte, in place.
fn load_chunk_raw_q5_k(bw: u32, sub: u32) {
    let mo = k_chunk_mul_off(bw, sub);
    chunk_affine = vec2<f32>(mo.x, -mo.y);
    let shift = 4u * (sub % 2u);
    let qs = w_oct_at_texel(bw + 12u + 8u * (sub / 2u));
    let qh = w_oct_at_texel(bw + 4u);
    for (var k = 0u; k < 8u; k++) {
        let q = ((qs[k / 4u][k % 4u] >> shift) & 0x0f0f0f0fu) | (((qh[k / 4u][k % 4u] >> sub) & 0x01010101u) << 4u);
        chunk[k] = raw_bytes(q);
    }
}

// The integer form (shaders/quant/common.wgsl), as Q4_K's with each value's 5th bit (bit
// `sub` of its qh byte) moved onto bit 4 of its byte: q in 0 ..= 31.
fn load_chunk_i8_q5_k(bw: u32, sub: u32) {
    let mo = k_chunk_mul_off(bw, sub);
    chunk_dm = both_halves(vec2<f32>(mo.x, -mo.y));
    let shift = 4u * (sub % 2u);
    let base = bw + 12u + 8u * (sub / 2u);
    let qs = w_oct_at_texel(base);
    let qh = w_oct_at_texel(bw + 4u);
    for (var k = 0u; k < 8u; k++) {
        chunk_q[k] = ((qs[k / 4u][k % 4u] >> shift) & 0x0f0f0f0fu) | (((qh[k / 4u][k % 4u] >> sub) & 0x01010101u) << 4u);
    }
}
