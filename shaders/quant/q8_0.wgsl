// Q8_0, repacked: word 0 = d (low) | pad; words 1..9 = qs[32] as i8. x[j] = qs[j] * d.
const BLOCK_SIZE_Q8_0: u32 = 32u;
const BLOCK_WORDS_Q8_0: u32 = 9u;
const CHUNKS_PER_BLOCK_Q8_0: u32 = 1u;

fn load_chunk_q8_0(bw: u32, sub: u32) {
    chunk_of_q8_0(w_word_oct(bw));
}

// The chunk from the block's words (also read a group of blocks at a time: chunk_group_wgsl).
fn chunk_of_q8_0(block: WordOct) {
    let d = unpack2x16float(block.word).x;
    let qs = block.oct;
    for (var k = 0u; k < 8u; k++) {
        chunk[k] = sbytes(qs[k / 4u][k % 4u]) * d;
    }
}

// The raw chunk (shaders/quant/common.wgsl): the signed bytes (not in place: sign extension
// shifts each byte anyway), value = d * q.
fn load_chunk_raw_q8_0(bw: u32, sub: u32) {
    chunk_raw_of_q8_0(w_word_oct(bw));
}

fn chunk_raw_of_q8_0(block: WordOct) {
    chunk_affine = vec2<f32>(unpack2x16float(block.word).x, 0.0);
    let qs = block.oct;
    for (var k = 0u; k < 8u; k++) {
        chunk[k] = sbytes(qs[k / 4u][k % 4u]);
    }
}

fn load_chunk_i8_q8_0(bw: u32, sub: u32) {
    let block = w_word_oct(bw);
    chunk_dm = both_halves(vec2<f32>(unpack2x16float(block.word).x, 0.0));
    let qs = block.oct;
    for (var k = 0u; k < 8u; k++) {
        chunk_q[k] = qs[k / 4u][k % 4u];
    }
}
