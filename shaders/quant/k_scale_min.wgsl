// The packed 6-bit (scale, min) pairs of Q4_K and Q5_K: 12 bytes at byte 4 of the block
// hold 8 scales and 8 mins. Pair j < 4 is in the low 6 bits of bytes j and j + 4; pair
// j >= 4 takes a nibble of byte j + 4 and the top 2 bits of bytes j - 4 and j.
fn k_scale_min(bw: u32, j: u32) -> vec2<f32> {
    if (j < 4u) {
        return vec2<f32>(f32(wbyte(bw, 4u + j) & 63u), f32(wbyte(bw, 8u + j) & 63u));
    }
    let b = wbyte(bw, 8u + j);
    let sc = (b & 0xfu) | ((wbyte(bw, j) >> 6u) << 4u);
    let m = (b >> 4u) | ((wbyte(bw, 4u + j) >> 6u) << 4u);
    return vec2<f32>(f32(sc), f32(m));
}

// Chunk `sub`'s multiplier and offset: x = mul * q - off with mul = d * scale_sub and
// off = dmin * min_sub (d, dmin in word 0), shared by the f32 and integer readers.
fn k_chunk_mul_off(bw: u32, sub: u32) -> vec2<f32> {
    let dm = unpack2x16float(w_word(bw));
    let sm = k_scale_min(bw, sub);
    return vec2<f32>(dm.x * sm.x, dm.y * sm.y);
}
