// Q4_0, repacked: word 0 = d (f16, low half) | 2 pad bytes; words 1..5 = qs[16].
// x[j] = (lo4(qs[j]) - 8) * d, x[j + 16] = (hi4(qs[j]) - 8) * d.
const BLOCK_SIZE: u32 = 32u;
const BLOCK_WORDS: u32 = 5u;
const CHUNKS_PER_BLOCK: u32 = 1u;

fn load_chunk(bw: u32, sub: u32) {
    let d = wf16(bw, 0u);
    for (var k = 0u; k < 4u; k++) {
        let q = w[bw + 1u + k];
        for (var b = 0u; b < 4u; b++) {
            let byte = (q >> (8u * b)) & 0xffu;
            chunk[4u * k + b] = (f32(byte & 0xfu) - 8.0) * d;
            chunk[4u * k + b + 16u] = (f32(byte >> 4u) - 8.0) * d;
        }
    }
}
