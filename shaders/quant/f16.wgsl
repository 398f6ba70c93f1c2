// F16: two elements per word, low half first.
const BLOCK_SIZE_F16: u32 = 32u;
const BLOCK_WORDS_F16: u32 = 16u;
const CHUNKS_PER_BLOCK_F16: u32 = 1u;

fn load_chunk_f16(bw: u32, sub: u32) {
    let lo = w_oct(bw);
    let hi = w_oct(bw + 8u);
    for (var k = 0u; k < 4u; k++) {
        chunk[k] = vec4<f32>(unpack2x16float(lo[k / 2u][2u * (k % 2u)]), unpack2x16float(lo[k / 2u][2u * (k % 2u) + 1u]));
        chunk[k + 4u] = vec4<f32>(unpack2x16float(hi[k / 2u][2u * (k % 2u)]), unpack2x16float(hi[k / 2u][2u * (k % 2u) + 1u]));
    }
}
