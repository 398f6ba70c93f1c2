// BF16: two elements per word, low half first; a bf16 is the top half of an f32.
const BLOCK_SIZE_BF16: u32 = 32u;
const BLOCK_WORDS_BF16: u32 = 16u;
const CHUNKS_PER_BLOCK_BF16: u32 = 1u;

fn load_chunk_bf16(bw: u32, sub: u32) {
    for (var k = 0u; k < 8u; k++) {
        let a = w_word(bw + 2u * k);
        let b = w_word(bw + 2u * k + 1u);
        chunk[k] = bitcast<vec4<f32>>(vec4<u32>(a << 16u, a & 0xffff0000u, b << 16u, b & 0xffff0000u));
    }
}
