// Q6_K, repacked to 212 bytes (53 words): ql[128] (low 4 bits), qh[64] (high 2 bits),
// scales[16] (i8), d (f16, word 52 low), 2 pad bytes.
// Chunk s: half n = s / 4, quarter k = s % 4: low bits from ql[64n + 32(k % 2) + l]
// (high nibble when k >= 2), high bits (qh[32n + l] >> 2k) & 3, scale 8n + 2k + l / 16.
const BLOCK_SIZE: u32 = 256u;
const BLOCK_WORDS: u32 = 53u;
const CHUNKS_PER_BLOCK: u32 = 8u;

fn load_chunk(bw: u32, sub: u32) {
    let d = wf16(bw + 52u, 0u);
    let n = sub / 4u;
    let k = sub % 4u;
    let lo_base = bw + 16u * n + 8u * (k % 2u);
    let hi_base = bw + 32u + 8u * n;
    let lo_shift = 4u * (k / 2u);
    let hi_shift = 2u * k;
    let s0 = d * f32(sbyte(wbyte(bw, 192u + 8u * n + 2u * k)));
    let s1 = d * f32(sbyte(wbyte(bw, 192u + 8u * n + 2u * k + 1u)));
    for (var j = 0u; j < 8u; j++) {
        let lo = w[lo_base + j] >> lo_shift;
        let hi = w[hi_base + j] >> hi_shift;
        let sc = select(s1, s0, j < 4u);
        for (var b = 0u; b < 4u; b++) {
            let q = i32(((lo >> (8u * b)) & 0xfu) | (((hi >> (8u * b)) & 3u) << 4u)) - 32;
            chunk[4u * j + b] = sc * f32(q);
        }
    }
}
