// Q5_1: word 0 = d (low) | m (high); word 1 = qh; words 2..6 = qs[16].
// Like Q5_0 without the -16 offset, plus the minimum m.
const BLOCK_SIZE: u32 = 32u;
const BLOCK_WORDS: u32 = 6u;
const CHUNKS_PER_BLOCK: u32 = 1u;

fn load_chunk(bw: u32, sub: u32) {
    let dm = unpack2x16float(w[bw]);
    let qh = w[bw + 1u];
    for (var k = 0u; k < 4u; k++) {
        let q = w[bw + 2u + k];
        for (var b = 0u; b < 4u; b++) {
            let j = 4u * k + b;
            let byte = (q >> (8u * b)) & 0xffu;
            let h0 = ((qh >> j) & 1u) << 4u;
            let h1 = ((qh >> (j + 16u)) & 1u) << 4u;
            chunk[j] = f32((byte & 0xfu) | h0) * dm.x + dm.y;
            chunk[j + 16u] = f32((byte >> 4u) | h1) * dm.x + dm.y;
        }
    }
}
