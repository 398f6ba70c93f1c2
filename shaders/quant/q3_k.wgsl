// Q3_K, repacked to 112 bytes (28 words): hmask[32], qs[64] (low 2 bits), scales[12]
// (sixteen 6-bit scales, offset by 32), d (f16, word 27 low), 2 pad bytes.
// Chunk s: half n = s / 4, shift 2 * (s % 4) into qs[32n + l], high bit = bit s of
// hmask[l] (set means +0, clear means -4), scale 8n + 2(s % 4) (+1 for l >= 16).
// Values 4k.. of a chunk: qs word 8 + 8n + k, hmask word k.
const BLOCK_SIZE_Q3_K: u32 = 256u;
const BLOCK_WORDS_Q3_K: u32 = 28u;
const CHUNKS_PER_BLOCK_Q3_K: u32 = 8u;

// Scale i (0..15) as a signed value.
fn q3k_scale(bw: u32, i: u32) -> f32 {
    let a0 = w_word(bw + 24u);
    let a1 = w_word(bw + 25u);
    let t = w_word(bw + 26u);
    var s: u32;
    switch (i / 4u) {
        case 0u: { s = (a0 & 0x0f0f0f0fu) | ((t & 0x03030303u) << 4u); }
        case 1u: { s = (a1 & 0x0f0f0f0fu) | (((t >> 2u) & 0x03030303u) << 4u); }
        case 2u: { s = ((a0 >> 4u) & 0x0f0f0f0fu) | (((t >> 4u) & 0x03030303u) << 4u); }
        default: { s = ((a1 >> 4u) & 0x0f0f0f0fu) | (((t >> 6u) & 0x03030303u) << 4u); }
    }
    return f32(i32((s >> (8u * (i % 4u))) & 0xffu) - 32);
}

fn load_chunk_q3_k(bw: u32, sub: u32) {
    let d = wf16(bw + 27u, 0u);
    let n = sub / 4u;
    let j = sub % 4u;
    let dl0 = d * q3k_scale(bw, 8u * n + 2u * j); // values 0..15
    let dl1 = d * q3k_scale(bw, 8u * n + 2u * j + 1u); // values 16..31
    // One loop with constant bounds (see q2_k.wgsl: llvmpipe's loop limit).
    for (var k = 0u; k < 8u; k++) {
        let dl = select(dl0, dl1, k >= 4u);
        let q = vec4<i32>(byte_bits(w_word(bw + 8u + 8u * n + k), 2u * j, 3u));
        let high = byte_bits(w_word(bw + k), sub, 1u);
        chunk[k] = dl * vec4<f32>(q - select(vec4<i32>(4), vec4<i32>(0), high == vec4<u32>(1u)));
    }
}

// The integer form (shaders/quant/common.wgsl): q = the 2 low bits with the hmask bit above
// them (0 ..= 7), each half's value = dl_h q - 4 dl_h.
fn load_chunk_i8_q3_k(bw: u32, sub: u32) {
    let d = wf16(bw + 27u, 0u);
    let n = sub / 4u;
    let j = sub % 4u;
    let dl0 = d * q3k_scale(bw, 8u * n + 2u * j);
    let dl1 = d * q3k_scale(bw, 8u * n + 2u * j + 1u);
    chunk_dm = vec4<f32>(dl0, -4.0 * dl0, dl1, -4.0 * dl1);
    for (var k = 0u; k < 8u; k++) {
        chunk_q[k] = ((w_word(bw + 8u + 8u * n + k) >> (2u * j)) & 0x03030303u) | (((w_word(bw + k) >> sub) & 0x01010101u) << 2u);
    }
}
