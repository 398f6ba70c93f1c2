// Q5_0, repacked: word 0 = d (low) | pad; word 1 = qh (bit j = 5th bit of element j);
// words 2..6 = qs[16]. x[j] = ((lo4(qs[j]) | bit j of qh << 4) - 16) * d, and element
// j + 16 takes the high nibble and bit j + 16.
const BLOCK_SIZE_Q5_0: u32 = 32u;
const BLOCK_WORDS_Q5_0: u32 = 6u;
const CHUNKS_PER_BLOCK_Q5_0: u32 = 1u;
// Blocks of 6 words start on even words wherever the matrix's segments start on texels:
// read whole (w_six_at_even), two texel fetches rather than four separate reads.

fn load_chunk_q5_0(bw: u32, sub: u32) {
    chunk_of_q5_0(w_six_at_even(bw));
}

// The chunk from the block's 6 words ([0].xyzw, [1].xy; also read a group of blocks at a
// time: chunk_group_wgsl).
fn chunk_of_q5_0(block: array<vec4<u32>, 2>) {
    let d = unpack2x16float(block[0].x).x;
    let qh = block[0].y;
    let qs = vec4<u32>(block[0].zw, block[1].xy);
    for (var k = 0u; k < 4u; k++) {
        let q = qs[k];
        let lo = (q & 0x0f0f0f0fu) | q5_high_bytes(qh, 4u * k);
        let hi = ((q >> 4u) & 0x0f0f0f0fu) | q5_high_bytes(qh, 4u * k + 16u);
        chunk[k] = (vec4<f32>(byte_bits(lo, 0u, 0xffu)) - 16.0) * d;
        chunk[k + 4u] = (vec4<f32>(byte_bits(hi, 0u, 0xffu)) - 16.0) * d;
    }
}

// The raw chunk (shaders/quant/common.wgsl): 5-bit values in place, value = d * q - 16 d.
fn load_chunk_raw_q5_0(bw: u32, sub: u32) {
    chunk_raw_of_q5_0(w_six_at_even(bw));
}

fn chunk_raw_of_q5_0(block: array<vec4<u32>, 2>) {
    let d = unpack2x16float(block[0].x).x;
    chunk_affine = vec2<f32>(d, -16.0 * d);
    raw_q5(block);
}

fn load_chunk_i8_q5_0(bw: u32, sub: u32) {
    let block = w_six_at_even(bw);
    let d = unpack2x16float(block[0].x).x;
    chunk_dm = both_halves(vec2<f32>(d, -16.0 * d));
    let qh = block[0].y;
    let qs = vec4<u32>(block[0].zw, block[1].xy);
    for (var k = 0u; k < 4u; k++) {
        let q = qs[k];
        chunk_q[k] = (q & 0x0f0f0f0fu) | q5_high_bytes(qh, 4u * k);
        chunk_q[k + 4u] = ((q >> 4u) & 0x0f0f0f0fu) | q5_high_bytes(qh, 4u * k + 16u);
    }
}
