// BF16: two elements per word, low half first; a bf16 is the top half of an f32.
const BLOCK_SIZE: u32 = 32u;
const BLOCK_WORDS: u32 = 16u;
const CHUNKS_PER_BLOCK: u32 = 1u;

fn load_chunk(bw: u32, sub: u32) {
    for (var i = 0u; i < 16u; i++) {
        let v = w[bw + i];
        chunk[2u * i] = bitcast<f32>(v << 16u);
        chunk[2u * i + 1u] = bitcast<f32>(v & 0xffff0000u);
    }
}
