// The post-norm residual add of shaders/matmul_norm.wgsl (NORM = 2):
//   x_new[t, :] = x[t, :] + rmsnorm(o[t, :]) * post_w.
// Assembled after the generated bindings and `post_scale` ([NORM_TOKENS] f32, 1 / rms of
// each slot's o; shared like norm_scale):
//   block_out: [n_tokens × x_stride] f32 read as vec4 (o, the block's output)
//   post_w:    [cols] f32 read as vec4
//   x_out:     [n_tokens × x_stride] f32 as vec4, read_write (x_new; never x itself)

// 1 / rms of the o row at vec4 `base` (returned to the row's lanes, and kept for x_at).
// Every thread of the workgroup must call it.
fn post_norm_scale(t: u32, base: u32, lane: u32, lid: u32) -> f32 {
    var ss = 0.0;
    for (var v = lane; v < p.cols / 4u; v += NORM_LANES) {
        let o = block_out[base + v];
        ss += dot(o, o);
    }
    let s = inverseSqrt(sum_over_lanes(ss, lid) / f32(p.cols) + p.eps);
    if (lane == 0u || !NORM_SHARED) {
        post_scale[t] = s;
    }
    return s;
}

// vec4 `i` of x_new (vec4 `v` of its row), the o row scaled by `post`.
fn residual_at(i: u32, v: u32, post: f32) -> vec4<f32> {
    return x[i] + block_out[i] * post * post_w[v];
}

fn post_scale_of(t: u32) -> f32 {
    return post_scale[t];
}

fn store_residual(i: u32, r: vec4<f32>) {
    x_out[i] = r;
}
