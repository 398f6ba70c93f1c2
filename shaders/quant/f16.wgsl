// F16: two elements per word, low half first.
const BLOCK_SIZE: u32 = 32u;
const BLOCK_WORDS: u32 = 16u;
const CHUNKS_PER_BLOCK: u32 = 1u;

fn load_chunk(bw: u32, sub: u32) {
    for (var i = 0u; i < 16u; i++) {
        let v = unpack2x16float(w[bw + i]);
        chunk[2u * i] = v.x;
        chunk[2u * i + 1u] = v.y;
    }
}
