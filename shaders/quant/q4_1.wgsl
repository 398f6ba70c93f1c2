// Q4_1: word 0 = d (low) | m (high); words 1..5 = qs[16].
// x[j] = lo4(qs[j]) * d + m, x[j + 16] = hi4(qs[j]) * d + m.
const BLOCK_SIZE_Q4_1: u32 = 32u;
const BLOCK_WORDS_Q4_1: u32 = 5u;
const CHUNKS_PER_BLOCK_Q4_1: u32 = 1u;

fn load_chunk_q4_1(bw: u32, sub: u32) {
    chunk_of_q4_1(w_word_quad(bw));
}

// The chunk from the block's words (also read a group of blocks at a time: chunk_group_wgsl).
fn chunk_of_q4_1(block: WordQuad) {
    let dm = unpack2x16float(block.word);
    let qs = block.quad;
    for (var k = 0u; k < 4u; k++) {
        let q = qs[k];
        chunk[k] = vec4<f32>(byte_bits(q, 0u, 0xfu)) * dm.x + dm.y;
        chunk[k + 4u] = vec4<f32>(byte_bits(q, 4u, 0xfu)) * dm.x + dm.y;
    }
}

// The raw chunk (shaders/quant/common.wgsl): nibbles in place, value = d * q + m.
fn load_chunk_raw_q4_1(bw: u32, sub: u32) {
    chunk_raw_of_q4_1(w_word_quad(bw));
}

fn chunk_raw_of_q4_1(block: WordQuad) {
    chunk_affine = unpack2x16float(block.word);
    raw_nibbles(block.quad);
}

fn load_chunk_i8_q4_1(bw: u32, sub: u32) {
    let block = w_word_quad(bw);
    chunk_dm = both_halves(unpack2x16float(block.word));
    let qs = block.quad;
    for (var k = 0u; k < 4u; k++) {
        let q = qs[k];
        chunk_q[k] = q & 0x0f0f0f0fu;
        chunk_q[k + 4u] = (q >> 4u) & 0x0f0f0f0fu;
    }
}
