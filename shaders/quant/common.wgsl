// Shared helpers for the quant snippets. Weights live in `w: array<u32>` (declared by the
// kernel), repacked at load so every block starts on a u32 boundary (src/quant/gpu_layout.rs).
// A snippet fills `chunk` with 32 consecutive dequantised values of one block:
//   fn load_chunk(block_word: u32, sub: u32)   // sub = 0 .. CHUNKS_PER_BLOCK-1

var<private> chunk: array<f32, 32>;

// Byte `i` (0-based) of the block starting at word `bw`.
fn wbyte(bw: u32, i: u32) -> u32 {
    return (w[bw + (i >> 2u)] >> ((i & 3u) * 8u)) & 0xffu;
}

// The f16 in the low (hi = 0) or high (hi = 1) half of word `i`.
fn wf16(i: u32, hi: u32) -> f32 {
    let v = unpack2x16float(w[i]);
    return select(v.x, v.y, hi == 1u);
}

// Sign-extends the byte `b` (0..255) to an i32.
fn sbyte(b: u32) -> i32 {
    return (i32(b) << 24u) >> 24u;
}
