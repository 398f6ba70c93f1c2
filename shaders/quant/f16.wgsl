// F16: two elements per word, low half first.
const BLOCK_SIZE_F16: u32 = 32u;
const BLOCK_WORDS_F16: u32 = 16u;
const CHUNKS_PER_BLOCK_F16: u32 = 1u;

fn load_chunk_f16(bw: u32, sub: u32) {
    for (var k = 0u; k < 8u; k++) {
        chunk[k] = vec4<f32>(unpack2x16float(w[bw + 2u * k]), unpack2x16float(w[bw + 2u * k + 1u]));
    }
}
