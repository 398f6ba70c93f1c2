// The packed 6-bit (scale, min) pairs of Q4_K and Q5_K: 12 bytes at byte 4 of the block
// hold 8 scales and 8 mins. Pair j < 4 is in the low 6 bits of bytes j and j + 4; pair
// j >= 4 takes a nibble of byte j + 4 and the top 2 bits of bytes j - 4 and j.
// `head` is the block's words 0 .. 3 (d and dmin, then the 12 bytes): one read for all the
// pairs rather than a read per byte (a texel fetch each where the weights are a texture).
fn k_scale_min(head: vec4<u32>, j: u32) -> vec2<f32> {
    let s = 8u * (j % 4u);
    let lo = (head.y >> s) & 0xffu; // byte j % 4
    let mid = (head.z >> s) & 0xffu; // byte 4 + j % 4
    let hi = (head.w >> s) & 0xffu; // byte 8 + j % 4
    let sc = select((hi & 0xfu) | ((lo >> 6u) << 4u), lo & 63u, j < 4u);
    let m = select((hi >> 4u) | ((mid >> 6u) << 4u), mid & 63u, j < 4u);
    return vec2<f32>(f32(sc), f32(m));
}

// Chunk `sub`'s multiplier and offset: x = mul * q - off with mul = d * scale_sub and
// off = dmin * min_sub (d, dmin in word 0), shared by the f32 and integer readers. The block
// starts on a texel wherever the matrix's segments do (36 and 44 words).
fn k_chunk_mul_off(bw: u32, sub: u32) -> vec2<f32> {
    let head = w_quad_at_texel(bw);
    let dm = unpack2x16float(head.x);
    let sm = k_scale_min(head, sub);
    return vec2<f32>(dm.x * sm.x, dm.y * sm.y);
}
