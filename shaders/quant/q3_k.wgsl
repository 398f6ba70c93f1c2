// Q3_K, repacked to 112 bytes (28 words): hmask[32], qs[64] (low 2 bits), scales[12]
// (sixteen 6-bit scales, offset by 32), d (f16, word 27 low), 2 pad bytes.
// Chunk s: half n = s / 4, shift 2 * (s % 4) into qs[32n + l], high bit = bit s of
// hmask[l] (set means +0, clear means -4), scale 8n + 2(s % 4) (+1 for l >= 16).
// Values 4k.. of a chunk: qs word 8 + 8n + k, hmask word k.
const BLOCK_SIZE_Q3_K: u32 = 256u;
const BLOCK_WORDS_Q3_K: u32 = 28u;
const CHUNKS_PER_BLOCK_Q3_K: u32 = 8u;

// Scale i (0..15) as a signed value, from the block's words 24 .. 26 (`tail`, whose w is d).
fn q3k_scale(tail: vec4<u32>, i: u32) -> f32 {
    let a0 = tail.x;
    let a1 = tail.y;
    let t = tail.z;
    var s: u32;
    switch (i / 4u) {
        case 0u: { s = (a0 & 0x0f0f0f0fu) | ((t & 0x03030303u) << 4u); }
        case 1u: { s = (a1 & 0x0f0f0f0fu) | (((t >> 2u) & 0x03030303u) << 4u); }
        case 2u: { s = ((a0 >> 4u) & 0x0f0f0f0fu) | (((t >> 4u) & 0x03030303u) << 4u); }
        default: { s = ((a1 >> 4u) & 0x0f0f0f0fu) | (((t >> 6u) & 0x03030303u) << 4u); }
    }
    return f32(i32((s >> (8u * (i % 4u))) & 0xffu) - 32);
}

// What chunk `sub` reads, each part once (a block of 28 words starts on a texel wherever the
// matrix's segments do): the hmask words 0 .. 7, its 2-bit values (words 8 + 8n .. + 7) and
// the two scales of its halves times d (words 24 .. 27).
struct Q3kChunk {
    hmask: array<vec4<u32>, 2>,
    qs: array<vec4<u32>, 2>,
    dl: vec2<f32>,
}

fn q3k_chunk(bw: u32, sub: u32) -> Q3kChunk {
    let n = sub / 4u;
    let j = sub % 4u;
    let tail = w_quad_at_texel(bw + 24u);
    let d = unpack2x16float(tail.w).x;
    let dl = d * vec2<f32>(q3k_scale(tail, 8u * n + 2u * j), q3k_scale(tail, 8u * n + 2u * j + 1u));
    return Q3kChunk(w_oct_at_texel(bw), w_oct_at_texel(bw + 8u + 8u * n), dl);
}

fn load_chunk_q3_k(bw: u32, sub: u32) {
    let at = q3k_chunk(bw, sub);
    let j = sub % 4u;
    // One loop with constant bounds (see q2_k.wgsl: llvmpipe's loop limit).
    for (var k = 0u; k < 8u; k++) {
        let dl = select(at.dl.x, at.dl.y, k >= 4u);
        let q = vec4<i32>(byte_bits(at.qs[k / 4u][k % 4u], 2u * j, 3u));
        let high = byte_bits(at.hmask[k / 4u][k % 4u], sub, 1u);
        chunk[k] = dl * vec4<f32>(q - select(vec4<i32>(4), vec4<i32>(0), high == vec4<u32>(1u)));
    }
}

// The integer form (shaders/quant/common.wgsl): q = the 2 low bits with the hmask bit above
// them (0 ..= 7), each half's value = dl_h q - 4 dl_h.
fn load_chunk_i8_q3_k(bw: u32, sub: u32) {
    let at = q3k_chunk(bw, sub);
    let j = sub % 4u;
    chunk_dm = vec4<f32>(at.dl.x, -4.0 * at.dl.x, at.dl.y, -4.0 * at.dl.y);
    for (var k = 0u; k < 8u; k++) {
        chunk_q[k] = ((at.qs[k / 4u][k % 4u] >> (2u * j)) & 0x03030303u) | (((at.hmask[k / 4u][k % 4u] >> sub) & 0x01010101u) << 2u);
    }
}
