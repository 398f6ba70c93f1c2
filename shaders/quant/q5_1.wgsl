// Q5_1: word 0 = d (low) | m (high); word 1 = qh; words 2..6 = qs[16].
// Like Q5_0 without the -16 offset, plus the minimum m.
const BLOCK_SIZE_Q5_1: u32 = 32u;
const BLOCK_WORDS_Q5_1: u32 = 6u;
const CHUNKS_PER_BLOCK_Q5_1: u32 = 1u;

fn load_chunk_q5_1(bw: u32, sub: u32) {
    let dm = unpack2x16float(w[bw]);
    let qh = w[bw + 1u];
    for (var k = 0u; k < 4u; k++) {
        let q = w[bw + 2u + k];
        chunk[k] = vec4<f32>(byte_bits(q, 0u, 0xfu) | q5_high(qh, 4u * k)) * dm.x + dm.y;
        chunk[k + 4u] = vec4<f32>(byte_bits(q, 4u, 0xfu) | q5_high(qh, 4u * k + 16u)) * dm.x + dm.y;
    }
}
