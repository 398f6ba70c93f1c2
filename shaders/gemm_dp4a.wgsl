// The register-tiled GEMM of shaders/gemm.wgsl (same tiles, column split, bindings,
// prologue and epilogue) on 8-bit integers: per 32-column step, each weight slot is staged
// as its format's small integers q (four per u32) with a scale and offset (value = d q + m,
// `load_weight_chunk_i8`, shaders/quant/common.wgsl), and each token's 32 activations are
// quantised once per workgroup to q8 (a scale dx = max |x| / 127, values round(x / dx) in
// -127 ..= 127, and dx × their sum); a thread then sums products four at a time with
// dot4I8Packed into i32s and adds, per weight row and token,
//   sum(value × x) ≈ d dx sum(q qx) + m dx sum(qx),
// per half of the step (values 0-15 and 16-31 each have their (d, m): Q2_K, Q3_K and Q6_K
// scale every 16 values).
// Why: integer dot products take a quarter of the workgroup memory traffic and instructions
// of f32 vec4 dots, and GPUs run dot4I8Packed as one instruction (DP4A). The activations'
// rounding moves each product by at most |value| dx / 2, as in llama.cpp's q8 activations.
// Only for weights whose formats all have the integer reader (src/quant/shader.rs
// `has_i8_chunks`), on devices with WGSL's packed_4x8_integer_dot_product; chosen by
// Tuning::matmul_gemm_dp4a (src/kernels/gemm.rs).
//
// Assembled like shaders/gemm.wgsl.
// Workgroup memory: K_SPLIT × (TILE_ROWS + TILE_TOKENS) × 48 bytes + RED_LEN × 4.

// Group g's 32-column step: word k of slot (or token) i at [(g * 8 + k) * TILE_ROWS + i]
// (or TILE_TOKENS), and each slot's (d, m) per half and each token's (dx, dx × sum of its
// q per half, 0) at [g * TILE_ROWS + i] (or TILE_TOKENS).
var<workgroup> wq_tile: array<u32, K_SPLIT * TILE_ROWS * 8u>;
var<workgroup> wdm_tile: array<vec4<f32>, K_SPLIT * TILE_ROWS>;
var<workgroup> xq_tile: array<u32, K_SPLIT * TILE_TOKENS * 8u>;
var<workgroup> xs_tile: array<vec4<f32>, K_SPLIT * TILE_TOKENS>;

@compute @workgroup_size(WG)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let tile = gemm_tile(wid, groups);
    let th = gemm_thread(lid);
    let wq_base = th.g * 8u * TILE_ROWS;
    let xq_base = th.g * 8u * TILE_TOKENS;
    norm_prologue(lid, tile.out0 == 0u, tile.t0, tile.n_tokens);

    var acc: array<f32, ACC_LEN>; // acc[i * THREAD_TOKENS + j]: slot i, token j of this thread
    // The loop bound is uniform (barriers); a group whose step is past the end idles.
    for (var c0 = 0u; c0 < tile.n_chunks; c0 += K_SPLIT) {
        let c = c0 + th.g;
        if (c < tile.n_chunks) {
            for (var s = th.gl; s < TILE_ROWS; s += GROUP) {
                let row = weight_row(tile.out0, s);
                let seg = weight_segment(row);
                load_weight_chunk_i8(seg, weight_row_word(seg, row), c);
                for (var k = 0u; k < 8u; k++) {
                    wq_tile[wq_base + k * TILE_ROWS + s] = chunk_q[k];
                }
                wdm_tile[th.g * TILE_ROWS + s] = chunk_dm;
            }
            // A thread per token quantises its 32 activations.
            for (var t = th.gl; t < TILE_TOKENS; t += GROUP) {
                let base = x_row(tile.t0, t, tile.n_tokens) * (p.x_stride / 4u);
                var xv = array<vec4<f32>, 8>();
                var amax = 0.0;
                for (var k = 0u; k < 8u; k++) {
                    xv[k] = x_at(t, base, 8u * c + k);
                    let a = abs(xv[k]);
                    amax = max(amax, max(max(a.x, a.y), max(a.z, a.w)));
                }
                let inv = select(0.0, 127.0 / amax, amax > 0.0);
                var qsum = vec2<i32>(0); // values 0 .. 15, 16 .. 31
                for (var k = 0u; k < 8u; k++) {
                    let q = vec4<i32>(round(xv[k] * inv));
                    qsum[k / 4u] += (q.x + q.y) + (q.z + q.w);
                    xq_tile[xq_base + k * TILE_TOKENS + t] = pack4xI8(q);
                }
                let dx = amax / 127.0;
                xs_tile[th.g * TILE_TOKENS + t] = vec4<f32>(dx, dx * vec2<f32>(qsum), 0.0);
            }
        }
        workgroupBarrier();
        if (c < tile.n_chunks) {
            // Each half of the step (words 0-3, 4-7) in integers, then scaled by its own
            // (d, m): the per-16 scales of Q2_K, Q3_K and Q6_K.
            for (var h = 0u; h < 2u; h++) {
                // An explicit initialiser, as every loop-scoped var (src/kernels/wgsl_loop_vars.rs):
                // Chromium zeroed `var isum: T;` here on the first iteration only.
                var isum = array<i32, ACC_LEN>();
                for (var k = 4u * h; k < 4u * h + 4u; k++) {
                    var wv = array<u32, THREAD_ROWS>();
                    for (var i = 0u; i < THREAD_ROWS; i++) {
                        wv[i] = wq_tile[wq_base + k * TILE_ROWS + thread_slot(i, th.ty)];
                    }
                    for (var j = 0u; j < THREAD_TOKENS; j++) {
                        let xq = xq_tile[xq_base + k * TILE_TOKENS + th.tx + j * TX];
                        for (var i = 0u; i < THREAD_ROWS; i++) {
                            isum[i * THREAD_TOKENS + j] += dot4I8Packed(wv[i], xq);
                        }
                    }
                }
                for (var i = 0u; i < THREAD_ROWS; i++) {
                    let dm4 = wdm_tile[th.g * TILE_ROWS + thread_slot(i, th.ty)];
                    let dm = select(dm4.xy, dm4.zw, h == 1u);
                    for (var j = 0u; j < THREAD_TOKENS; j++) {
                        let xs = xs_tile[th.g * TILE_TOKENS + th.tx + j * TX];
                        let x_qsum = select(xs.y, xs.z, h == 1u);
                        acc[i * THREAD_TOKENS + j] += f32(isum[i * THREAD_TOKENS + j]) * (dm.x * xs.x) + dm.y * x_qsum;
                    }
                }
            }
        }
        workgroupBarrier(); // the tiles are restaged next step
    }

    gemm_finish(tile, th, acc);
}
