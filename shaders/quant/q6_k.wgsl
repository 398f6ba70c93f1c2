// Q6_K, repacked to 224 bytes (56 words, 14 texels): ql[128] (low 4 bits), qh[64] (high 2
// bits), scales[16] (i8), d (f16, word 52 low), 14 pad bytes (src/quant/gpu_layout.rs).
// Chunk s: half n = s / 4, quarter j = s % 4: low bits from ql[64n + 32(j % 2) + l]
// (high nibble when j >= 2), high bits (qh[32n + l] >> 2j) & 3, scale 8n + 2j + l / 16.
const BLOCK_SIZE_Q6_K: u32 = 256u;
const BLOCK_WORDS_Q6_K: u32 = 56u;
const CHUNKS_PER_BLOCK_Q6_K: u32 = 8u;

// Where chunk `sub` of the block at `bw` lies: its low- and high-bit words (8 each, starting
// on texels wherever the matrix's segments do), their shifts, and the scales of its two
// halves (d times the i8 scale).
struct Q6kChunk {
    lo_base: u32,
    hi_base: u32,
    lo_shift: u32,
    hi_shift: u32,
    scales: vec2<f32>,
}

fn q6k_chunk(bw: u32, sub: u32) -> Q6kChunk {
    let d = wf16(bw + 52u, 0u);
    let n = sub / 4u;
    let j = sub % 4u;
    // Both scales (bytes 192 + 8n + 2j and the next) lie in one word, read once.
    let pair = w_word(bw + 48u + 2u * n + j / 2u) >> (16u * (j % 2u));
    let s0 = d * f32(sbyte(pair & 0xffu));
    let s1 = d * f32(sbyte((pair >> 8u) & 0xffu));
    return Q6kChunk(bw + 16u * n + 8u * (j % 2u), bw + 32u + 8u * n, 4u * (j / 2u), 2u * j, vec2<f32>(s0, s1));
}

fn load_chunk_q6_k(bw: u32, sub: u32) {
    let at = q6k_chunk(bw, sub);
    let lo = w_oct_at_texel(at.lo_base);
    let hi = w_oct_at_texel(at.hi_base);
    for (var k = 0u; k < 8u; k++) {
        let q = byte_bits(lo[k / 4u][k % 4u], at.lo_shift, 0xfu) | (byte_bits(hi[k / 4u][k % 4u], at.hi_shift, 3u) << vec4<u32>(4u));
        chunk[k] = select(at.scales.y, at.scales.x, k < 4u) * (vec4<f32>(q) - 32.0);
    }
}

// The integer form (shaders/quant/common.wgsl): q = the 6-bit value (0 ..= 63), each half's
// value = s_h q - 32 s_h.
fn load_chunk_i8_q6_k(bw: u32, sub: u32) {
    let at = q6k_chunk(bw, sub);
    chunk_dm = vec4<f32>(at.scales.x, -32.0 * at.scales.x, at.scales.y, -32.0 * at.scales.y);
    let lo = w_oct_at_texel(at.lo_base);
    let hi = w_oct_at_texel(at.hi_base);
    for (var k = 0u; k < 8u; k++) {
        chunk_q[k] = ((lo[k / 4u][k % 4u] >> at.lo_shift) & 0x0f0f0f0fu) | (((hi[k / 4u][k % 4u] >> at.hi_shift) & 0x03030303u) << 4u);
    }
}
