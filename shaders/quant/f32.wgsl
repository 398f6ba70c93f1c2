// F32: one element per word.
const BLOCK_SIZE_F32: u32 = 32u;      // a "block" here is just 32 elements, to share the chunk loop
const BLOCK_WORDS_F32: u32 = 32u;
const CHUNKS_PER_BLOCK_F32: u32 = 1u;

fn load_chunk_f32(bw: u32, sub: u32) {
    for (var k = 0u; k < 8u; k++) {
        let i = bw + 4u * k;
        chunk[k] = bitcast<vec4<f32>>(vec4<u32>(w_word(i), w_word(i + 1u), w_word(i + 2u), w_word(i + 3u)));
    }
}
