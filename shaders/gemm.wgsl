// Quantised matrix × activations for batches (prefill), register-tiled:
// y[t, row] = sum_c W[row, c] * x[t, c], with the same bindings, parameters and epilogues
// as shaders/matmul.wgsl. Why a second kernel: there each workgroup reads the activations of
// its tokens for a handful of rows, so a 128-token prefill re-reads every activation once per
// few rows (Qwen2.5's Q5_0/Q4_K matrices took 110-165 ms of a 128-token prefill on an H200).
// Here a workgroup computes a TILE_ROWS × TILE_TOKENS tile: per 32-column step it
// dequantises the tile's weights once into workgroup memory (load_weight_chunk) and stages its
// tokens' activations there once, and each thread multiplies THREAD_ROWS rows by
// THREAD_TOKENS tokens from them, in registers. Every weight is dequantised once per
// TILE_TOKENS tokens and every activation loaded once per TILE_ROWS rows.
//
// Column split (K_SPLIT > 1, GPUs): the workgroup holds K_SPLIT groups of threads on the same
// output tile, group g taking the 32-column steps g, g + K_SPLIT, ... with tiles of its own;
// at the end groups 1.. leave their sums in workgroup memory and group 0 adds them and runs
// the epilogue (shaders/gemm_common.wgsl `gemm_finish`). A small model's prefill has few output tiles (SmolLM2's o projection at 128
// tokens: 36 workgroups of 64 × 32), so a large GPU idles; this multiplies the threads in
// flight and shortens each one's walk over the columns without another dispatch.
//
// Assembled after generated constants (src/gpu/pipelines.rs):
//   TILE_ROWS, TILE_TOKENS      weight rows and tokens per workgroup;
//   THREAD_ROWS, THREAD_TOKENS  weight rows and tokens per thread (dividing the tile's);
//   K_SPLIT                     thread groups splitting the columns (1: none);
//   RED_LEN                     room for groups 1..'s sums ((K_SPLIT - 1) × TILE_ROWS ×
//                               TILE_TOKENS floats, or 1);
//   BIAS, ACCUMULATE, GLU, bias_at: the epilogue, as in shaders/matmul.wgsl. With GLU the
//     tile's first TILE_ROWS / 2 weight rows are gate rows and the rest the same outputs'
//     up rows, and each thread holds both halves of THREAD_ROWS / 2 outputs;
// then shaders/activation.wgsl, the formats' snippets and their segment reader (as in matmul.wgsl),
// shaders/matmul_bindings.wgsl (parameters and bindings, shared with shaders/matmul.wgsl),
// the norm prologue (shaders/matmul_norm.wgsl, or stubs: x_at reads x itself) and
// shaders/gemm_common.wgsl (the tile's constants and the epilogue, shared with
// shaders/gemm_dp4a.wgsl).
//
// Threads: (TILE_ROWS / THREAD_ROWS) × (TILE_TOKENS / THREAD_TOKENS) × K_SPLIT. Thread (th.ty, th.tx) owns
// the tile's outputs th.ty, th.ty + TY, th.ty + 2 TY, ... and tokens th.tx, th.tx + TX, ...: interleaved, so
// that neighbouring threads read neighbouring words of the staged tiles (no bank conflicts).
// Workgroup memory: K_SPLIT × (TILE_ROWS + TILE_TOKENS) × 128 bytes + RED_LEN × 4 (16 KiB is WebGPU's minimum limit).
// Loop bounds are uniform (the column count) or constant, for barriers and for lavapipe's
// iteration limit; rows and tokens past the end load the last one and write nothing.
//
// Dispatch: as shaders/matmul.wgsl, with TILE_ROWS / HALVES outputs per workgroup and
// z = ceil(tile.n_tokens / TILE_TOKENS).

// Each column group's 32-column step of dequantised weights and activations: group g's
// vec4 k of row (or token) i at [(th.g * 8 + k) * TILE_ROWS + i] (or TILE_TOKENS): threads
// reading consecutive rows or tokens read consecutive vec4s.
var<workgroup> w_tile: array<vec4<f32>, K_SPLIT * TILE_ROWS * 8u>;
var<workgroup> x_tile: array<vec4<f32>, K_SPLIT * TILE_TOKENS * 8u>;

@compute @workgroup_size(WG)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let tile = gemm_tile(wid, groups);
    let th = gemm_thread(lid);
    let w_base = th.g * 8u * TILE_ROWS;
    let x_base = th.g * 8u * TILE_TOKENS;
    norm_prologue(lid, tile.out0 == 0u, tile.t0, tile.n_tokens);

    var acc: array<f32, ACC_LEN>; // acc[i * THREAD_TOKENS + j]: slot i, token j of this thread
    // The loop bound is uniform (barriers); a group whose step is past the end idles.
    for (var c0 = 0u; c0 < tile.n_chunks; c0 += K_SPLIT) {
        let c = c0 + th.g;
        if (c < tile.n_chunks) {
            // Stage: each weight slot's 32 columns, dequantised once.
            for (var s = th.gl; s < TILE_ROWS; s += GROUP) {
                let row = weight_row(tile.out0, s);
                let seg = weight_segment(row);
                load_weight_chunk(seg, weight_row_word(seg, row), c);
                for (var k = 0u; k < 8u; k++) {
                    w_tile[w_base + k * TILE_ROWS + s] = chunk[k];
                }
            }
            // And each token's 32 activations: 8 consecutive threads read one token's 128 bytes.
            for (var i = th.gl; i < TILE_TOKENS * 8u; i += GROUP) {
                let t = i / 8u;
                let k = i % 8u;
                x_tile[x_base + k * TILE_TOKENS + t] = x_at(t, x_row(tile.t0, t, tile.n_tokens) * (p.x_stride / 4u), 8u * c + k);
            }
        }
        workgroupBarrier();
        if (c < tile.n_chunks) {
            for (var k = 0u; k < 8u; k++) {
                var wv = array<vec4<f32>, THREAD_ROWS>();
                for (var i = 0u; i < THREAD_ROWS; i++) {
                    wv[i] = w_tile[w_base + k * TILE_ROWS + thread_slot(i, th.ty)];
                }
                for (var j = 0u; j < THREAD_TOKENS; j++) {
                    let xv = x_tile[x_base + k * TILE_TOKENS + th.tx + j * TX];
                    for (var i = 0u; i < THREAD_ROWS; i++) {
                        acc[i * THREAD_TOKENS + j] += dot(wv[i], xv);
                    }
                }
            }
        }
        workgroupBarrier(); // the tiles are restaged next step
    }

    gemm_finish(tile, th, acc);
}
