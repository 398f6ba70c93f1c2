// Shared helpers for the quant snippets. Weights are u32 words that the snippets read through
// `w_word(i)`, `w_quad(i)` (words i .. i + 3), `w_oct(i)` (i .. i + 7 as two quads),
// `w_word_quad(i)` and `w_word_oct(i)` (word i, and the 4 or 8 after it), defined by the kernel with its binding: word i of a storage `array<u32>`, or
// of an rgba32uint texture mirroring it (src/gpu/pipelines.rs, matmul_w_binding). Weights are
// repacked at load so every block starts on a u32 boundary (src/quant/gpu_layout.rs).
// A snippet fills `chunk` with 32 consecutive dequantised values of one block, as eight
// vec4s (chunk[k] = values 4k .. 4k + 3), reading each weight word once:
//   fn load_chunk_<format>(block_word: u32, sub: u32)   // sub = 0 .. CHUNKS_PER_BLOCK_<FORMAT>-1
// Names carry the format so that one shader can hold several (a matrix whose row ranges
// have different formats); src/quant/shader.rs gives kernels format-free names for them.
// vec4s rather than 32 scalars: kernels then read activations as vec4 too, which CPU-like
// devices (lavapipe) load about as fast as one scalar, and GPUs no slower.

var<private> chunk: array<vec4<f32>, 8>;

// The raw form, for the formats with one scale (and minimum) per 32 values (Q4_0, Q4_1, Q5_0,
// Q5_1, Q8_0, Q4_K, Q5_K; src/quant/raw_chunks.rs): `load_chunk_raw_<format>(block_word, sub)`
// (and, for the formats of one block per 32 values, `chunk_raw_of_<format>(block)`, which the
// group reads call) fills `chunk` with the chunk's small integers q as floats, each multiplied
// by an exact power of two that the kernel undoes in the activations (`RAW_X_SCALE`), and
// chunk_affine with (d, m) such that value = d * q + m: a row's dot with a chunk is then
// d * dot(q, x) + m * sum(x), one scale a chunk rather than a multiply-add on every value. Why
// the powers of two: a value is masked where it lies in its word (byte j at bit 8j) rather than
// shifted down, one instruction a value fewer on lavapipe, and q * 2^(8j) times x * 2^(-8j) is
// the same product as q * x, exactly.
var<private> chunk_affine: vec2<f32>;

// Each byte of a word left in place, and the activations' factors that undo it.
const BYTE_MASKS: vec4<u32> = vec4<u32>(0xffu, 0xff00u, 0xff0000u, 0xff000000u);
const BYTE_PLACES: vec4<f32> = vec4<f32>(1.0, 1.0 / 256.0, 1.0 / 65536.0, 1.0 / 16777216.0);

// The 4 values in the bytes of `q`, byte j scaled by 2^(8j): each below 32, so a masked word
// is below 2^29 and converts to f32 exactly (and as a signed integer, which x86 does in one
// instruction).
fn raw_bytes(q: u32) -> vec4<f32> {
    return vec4<f32>(vec4<u32>(q) & BYTE_MASKS);
}

// A block's first word and the 4 or 8 after it, read together (w_word_quad, w_word_oct): from
// a texture that is two or three texel fetches where separate reads would take three or four.
struct WordQuad {
    word: u32,
    quad: vec4<u32>,
}
struct WordOct {
    word: u32,
    oct: array<vec4<u32>, 2>,
}

// The integer form for dot4I8Packed kernels (shaders/gemm_dp4a.wgsl), where a format has
// one: `load_chunk_i8_<format>(block_word, sub)` fills chunk_q with the same 32 values as
// small integers q, four per word as bytes (chunk_q[k] = values 4k .. 4k + 3, each byte read
// as a signed i8), and chunk_dm with (d, m) for values 0 .. 15 and (d, m) for values 16 .. 31
// such that value = d * q + m: halves because Q2_K, Q3_K and Q6_K have a scale per 16
// values (formats with one per 32 give both halves the same pair, `both_halves`). An offset
// that the format subtracts from q (Q4_0's 8, Q5_0's 16, Q6_K's 32) goes into m (-8 d, ...),
// so q stays non-negative and the bytes need no sign handling.
var<private> chunk_q: array<u32, 8>;
var<private> chunk_dm: vec4<f32>;

fn both_halves(dm: vec2<f32>) -> vec4<f32> {
    return vec4<f32>(dm, dm);
}

// Bit offsets of the 4 bytes of a word.
const BYTE_SHIFTS: vec4<u32> = vec4<u32>(0u, 8u, 16u, 24u);

// Bits `shift .. shift + width` of each byte of `q` (width given as the mask `m`).
fn byte_bits(q: u32, shift: u32, m: u32) -> vec4<u32> {
    return (vec4<u32>(q) >> (BYTE_SHIFTS + vec4<u32>(shift))) & vec4<u32>(m);
}

// The 4 bytes of `q` as signed values: each moved to the top by a shift of its own, then one
// arithmetic shift down. Why not one vec4 shift by (24, 16, 8, 0): SwiftShader ran that lane
// by lane; Q8_0 decode GEMVs took 4.6 against 3.7 ms there (SmolLM2's gate/up).
fn sbytes(q: u32) -> vec4<f32> {
    let b = vec4<i32>(bitcast<i32>(q << 24u), bitcast<i32>(q << 16u), bitcast<i32>(q << 8u), bitcast<i32>(q));
    return vec4<f32>(b >> vec4<u32>(24u));
}

// The 5th bits of Q5_0 / Q5_1 values j .. j + 3 as one word: bit j + i of `qh` at bit 4 of
// byte i, ready to OR onto four nibbles. The multiply by 1 + 2^7 + 2^14 + 2^21 copies the
// 4-bit field to four places that do not overlap, so bit i of the field lands on bit 8i.
// Why not four per-component shifts of a vec4: SwiftShader's JIT runs those lane by lane;
// Q5_0 decode GEMVs took 1.7x Q4_0's time there (SmolLM2's gate/up: 5.7 against 3.4 ms).
fn q5_high_bytes(qh: u32, j: u32) -> u32 {
    return ((((qh >> j) & 0xfu) * 0x00204081u) & 0x01010101u) << 4u;
}

// The raw chunk of the 16 bytes of a Q4_0 / Q4_1 block's nibbles (values k .. k + 3 in the low
// nibbles of word k, values 16 + k .. in the high ones), each in place in its byte.
fn raw_nibbles(qs: vec4<u32>) {
    for (var k = 0u; k < 4u; k++) {
        let q = qs[k];
        chunk[k] = raw_bytes(q & 0x0f0f0f0fu);
        chunk[k + 4u] = raw_bytes((q >> 4u) & 0x0f0f0f0fu);
    }
}

// The raw chunk of a Q5_0 / Q5_1 block's 6 words: nibbles with their 5th bits, in place.
fn raw_q5(block: array<vec4<u32>, 2>) {
    let qh = block[0].y;
    let qs = vec4<u32>(block[0].zw, block[1].xy);
    for (var k = 0u; k < 4u; k++) {
        let q = qs[k];
        chunk[k] = raw_bytes((q & 0x0f0f0f0fu) | q5_high_bytes(qh, 4u * k));
        chunk[k + 4u] = raw_bytes(((q >> 4u) & 0x0f0f0f0fu) | q5_high_bytes(qh, 4u * k + 16u));
    }
}

// The f16 in the low (hi = 0) or high (hi = 1) half of word `i`.
fn wf16(i: u32, hi: u32) -> f32 {
    let v = unpack2x16float(w_word(i));
    return select(v.x, v.y, hi == 1u);
}

// Sign-extends the byte `b` (0..255) to an i32.
fn sbyte(b: u32) -> i32 {
    return (i32(b) << 24u) >> 24u;
}
