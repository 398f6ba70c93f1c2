// Q2_K (84 bytes = 21 words): scales[16] (low nibble: scale, high: min), qs[64] (2-bit),
// d, dmin (f16, word 20). Chunk s (0..7) covers elements 32s..32s+31: half n = s / 4,
// shift 2 * (s % 4) into qs[32n + l] (values 4k.. are in word 4 + 8n + k), scale byte
// 8n + 2(s % 4) (+1 for l >= 16).
const BLOCK_SIZE_Q2_K: u32 = 256u;
const BLOCK_WORDS_Q2_K: u32 = 21u;
const CHUNKS_PER_BLOCK_Q2_K: u32 = 8u;

fn load_chunk_q2_k(bw: u32, sub: u32) {
    let dm = unpack2x16float(w_word(bw + 20u));
    let n = sub / 4u;
    let j = sub % 4u;
    // Both scale bytes (8n + 2j and the next) lie in one word, read once; so do the chunk's
    // 2-bit values, words 4 + 8n .. 4 + 8n + 7.
    let pair = w_word(bw + 2u * n + j / 2u) >> (16u * (j % 2u));
    let sc0 = pair & 0xffu; // values 0..15
    let sc1 = (pair >> 8u) & 0xffu; // values 16..31
    let qs = w_oct(bw + 4u + 8u * n);
    // One loop with constant bounds, which compilers unroll: llvmpipe counts the
    // iterations of loops it does not unroll against a per-invocation limit (see
    // PER_QUERY_MAX_HEAD_DIM in src/kernels/attention.rs), and long rows reached it.
    for (var k = 0u; k < 8u; k++) {
        let sc = select(sc0, sc1, k >= 4u);
        let dl = dm.x * f32(sc & 0xfu);
        let ml = dm.y * f32(sc >> 4u);
        chunk[k] = dl * vec4<f32>(byte_bits(qs[k / 4u][k % 4u], 2u * j, 3u)) - ml;
    }
}

// The integer form (shaders/quant/common.wgsl): q = the 2-bit value, each half's value =
// d scale_h q - dmin min_h.
fn load_chunk_i8_q2_k(bw: u32, sub: u32) {
    let dm = unpack2x16float(w_word(bw + 20u));
    let n = sub / 4u;
    let j = sub % 4u;
    // Both scale bytes (8n + 2j and the next) lie in one word, read once; so do the chunk's
    // 2-bit values, words 4 + 8n .. 4 + 8n + 7.
    let pair = w_word(bw + 2u * n + j / 2u) >> (16u * (j % 2u));
    let sc0 = pair & 0xffu; // values 0..15
    let sc1 = (pair >> 8u) & 0xffu; // values 16..31
    let qs = w_oct(bw + 4u + 8u * n);
    chunk_dm = vec4<f32>(dm.x * f32(sc0 & 0xfu), -dm.y * f32(sc0 >> 4u), dm.x * f32(sc1 & 0xfu), -dm.y * f32(sc1 >> 4u));
    for (var k = 0u; k < 8u; k++) {
        chunk_q[k] = (qs[k / 4u][k % 4u] >> (2u * j)) & 0x03030303u;
    }
}
