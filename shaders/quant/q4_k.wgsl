// Q4_K (144 bytes = 36 words): d, dmin (word 0), scales[12] (k_scale_min), qs[128].
// Chunk s: group g = s / 2 of 64 elements, low (s even) or high nibble of qs[32g + l];
// x = d * scale_s * q - dmin * min_s.
const BLOCK_SIZE_Q4_K: u32 = 256u;
const BLOCK_WORDS_Q4_K: u32 = 36u;
const CHUNKS_PER_BLOCK_Q4_K: u32 = 8u;

fn load_chunk_q4_k(bw: u32, sub: u32) {
    let mo = k_chunk_mul_off(bw, sub);
    let scale = mo.x;
    let offset = mo.y;
    let shift = 4u * (sub % 2u);
    let base = bw + 4u + 8u * (sub / 2u);
    let qs = w_oct_at_texel(base);
    for (var k = 0u; k < 8u; k++) {
        chunk[k] = scale * vec4<f32>(byte_bits(qs[k / 4u][k % 4u], shift, 0xfu)) - offset;
    }
}

// The raw chunk (shaders/quant/common.wgsl): chunk s has one scale and minimum, so
// value = (d scale_s) q - dmin min_s, the nibbles in place in their bytes.
fn load_chunk_raw_q4_k(bw: u32, sub: u32) {
    let mo = k_chunk_mul_off(bw, sub);
    chunk_affine = vec2<f32>(mo.x, -mo.y);
    let shift = 4u * (sub % 2u);
    let qs = w_oct_at_texel(bw + 4u + 8u * (sub / 2u));
    for (var k = 0u; k < 8u; k++) {
        chunk[k] = raw_bytes((qs[k / 4u][k % 4u] >> shift) & 0x0f0f0f0fu);
    }
}

// The integer form (shaders/quant/common.wgsl): chunk s has one scale and minimum, so
// value = (d scale_s) q - dmin min_s with q the nibbles as they are.
fn load_chunk_i8_q4_k(bw: u32, sub: u32) {
    let mo = k_chunk_mul_off(bw, sub);
    chunk_dm = both_halves(vec2<f32>(mo.x, -mo.y));
    let shift = 4u * (sub % 2u);
    let base = bw + 4u + 8u * (sub / 2u);
    let qs = w_oct_at_texel(base);
    for (var k = 0u; k < 8u; k++) {
        chunk_q[k] = (qs[k / 4u][k % 4u] >> shift) & 0x0f0f0f0fu;
    }
}
