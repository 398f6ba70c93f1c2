// F32: one element per word.
const BLOCK_SIZE: u32 = 32u;      // a "block" here is just 32 elements, to share the chunk loop
const BLOCK_WORDS: u32 = 32u;
const CHUNKS_PER_BLOCK: u32 = 1u;

fn load_chunk(bw: u32, sub: u32) {
    for (var i = 0u; i < 32u; i++) {
        chunk[i] = bitcast<f32>(w[bw + i]);
    }
}
