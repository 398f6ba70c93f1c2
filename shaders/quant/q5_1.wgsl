// Q5_1: word 0 = d (low) | m (high); word 1 = qh; words 2..6 = qs[16].
// Like Q5_0 without the -16 offset, plus the minimum m.
const BLOCK_SIZE_Q5_1: u32 = 32u;
const BLOCK_WORDS_Q5_1: u32 = 6u;
const CHUNKS_PER_BLOCK_Q5_1: u32 = 1u;
// Read whole, as Q5_0's blocks (w_six_at_even).

fn load_chunk_q5_1(bw: u32, sub: u32) {
    chunk_of_q5_1(w_six_at_even(bw));
}

// The chunk from the block's 6 words, as Q5_0's.
fn chunk_of_q5_1(block: array<vec4<u32>, 2>) {
    let dm = unpack2x16float(block[0].x);
    let qh = block[0].y;
    let qs = vec4<u32>(block[0].zw, block[1].xy);
    for (var k = 0u; k < 4u; k++) {
        let q = qs[k];
        let lo = (q & 0x0f0f0f0fu) | q5_high_bytes(qh, 4u * k);
        let hi = ((q >> 4u) & 0x0f0f0f0fu) | q5_high_bytes(qh, 4u * k + 16u);
        chunk[k] = vec4<f32>(byte_bits(lo, 0u, 0xffu)) * dm.x + dm.y;
        chunk[k + 4u] = vec4<f32>(byte_bits(hi, 0u, 0xffu)) * dm.x + dm.y;
    }
}

// The raw chunk (shaders/quant/common.wgsl): 5-bit values in place, value = d * q + m.
fn load_chunk_raw_q5_1(bw: u32, sub: u32) {
    chunk_raw_of_q5_1(w_six_at_even(bw));
}

fn chunk_raw_of_q5_1(block: array<vec4<u32>, 2>) {
    chunk_affine = unpack2x16float(block[0].x);
    raw_q5(block);
}

fn load_chunk_i8_q5_1(bw: u32, sub: u32) {
    let block = w_six_at_even(bw);
    chunk_dm = both_halves(unpack2x16float(block[0].x));
    let qh = block[0].y;
    let qs = vec4<u32>(block[0].zw, block[1].xy);
    for (var k = 0u; k < 4u; k++) {
        let q = qs[k];
        chunk_q[k] = (q & 0x0f0f0f0fu) | q5_high_bytes(qh, 4u * k);
        chunk_q[k + 4u] = ((q >> 4u) & 0x0f0f0f0fu) | q5_high_bytes(qh, 4u * k + 16u);
    }
}
