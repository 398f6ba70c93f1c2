// Quantised matrix × activations: y[t, row] = sum_c W[row, c] * x[t, c].
// A workgroup computes a tile of rows × TOKENS_PER_GROUP tokens; each thread holds
// ROWS_PER_THREAD rows × TOKENS_PER_GROUP tokens of it in registers, so every dequantised
// weight serves TOKENS_PER_GROUP tokens and every activation ROWS_PER_THREAD rows.
// Decode is the n_tokens = 1 case (TOKENS_PER_GROUP = 1).
//
// Assembled after generated constants (src/gpu/pipelines.rs):
//   WG                threads per workgroup (16 to 256): CPU-like devices do better with
//                     small workgroups (less padding past the last row, better balance);
//   THREADS_PER_ROW   threads sharing one row (1, 2, 4, ... WG): 1 suits CPU-like devices
//                     such as lavapipe, 16 suits GPUs, where neighbouring threads should
//                     read neighbouring memory;
//   ROWS_PER_THREAD   rows per thread (1, 2, 4): more reuse of each activation load;
//   TOKENS_PER_GROUP  tokens per workgroup (1 for decode, more for prefill);
//   SUBGROUP_REDUCE   sum each row's lanes with subgroup shuffles (row_sum_in_subgroup,
//                     shaders/matmul_subgroup.wgsl) instead of a workgroup-memory tree;
//   BIAS              add bias[row] (declares binding 5, `bias`);
//   ACCUMULATE        add to what y holds (the residual stream: y += W·x);
//   GLU               0, or the gated activation of two halves of W (1: silu, 2: gelu_tanh):
//                     y[t, o] = act(W[o]·x) * (W[o + glu_rows]·x), the FFN's gate and up
//                     projections concatenated at load, so `rows` counts outputs and each
//                     thread's ROWS_PER_THREAD weight rows are ROWS_PER_THREAD / 2 outputs'
//                     gate and up rows;
// and shaders/activation.wgsl.
// then the weight formats' snippets and the reader of their row segments (src/quant/shader.rs:
// weight_segment, weight_row_word, load_weight_chunk, which fills `chunk` with 32 values);
// then the raw chunks' switches (src/quant/raw_chunks.rs: RAW_CHUNKS, RAW_SUMS, RAW_X_SCALE)
// and the readers of blocks a group at a time (src/quant/chunk_group.rs: CHUNK_GROUP,
// fetch_weight_group, load_weight_chunk_in_group);
// then the norm prologue (shaders/matmul_norm.wgsl, or stubs without one), which gives
// norm_prologue() and x_at(): token slot t's input, x itself or rmsnorm(x) * norm_w.
//
// Per chunk of 32 columns a thread loads the activations of its tokens once, then
// dequantises the chunk of each of its rows once. On CPU-like devices every load from a
// storage buffer is a per-lane gather (even when all lanes read the same address), so
// loads, not arithmetic, set the speed: 8·TOKENS_PER_GROUP + ROWS_PER_THREAD·(block words)
// loads per 32·ROWS_PER_THREAD·TOKENS_PER_GROUP multiply-adds.
//
// Every loop bound is the same for the whole workgroup (rows and tokens past the end
// repeat the last one and write nothing): CPU-like devices then run the loops without
// per-lane masks and unroll the inner ones, keeping the accumulators in registers.
//
// Bindings: shaders/matmul_bindings.wgsl (assembled in front of this file).
// Dispatch: groups = ceil(rows / ROWS_PER_GROUP) split as (x, y) with x <= 65535,
//           z = ceil(n_tokens / TOKENS_PER_GROUP), n_tokens = step.n_tokens (or 1 if one_row);
//           or, where x is bound in windows, the groups of tokens t_begin .. of this window.

const OUT_ROWS: u32 = ROWS_PER_THREAD / HALVES; // output rows per thread
const ROWS_PER_GROUP: u32 = WG / THREADS_PER_ROW * OUT_ROWS;
const TILE: u32 = ROWS_PER_THREAD * TOKENS_PER_GROUP;
const OUT_TILE: u32 = OUT_ROWS * TOKENS_PER_GROUP;
// A thread's rows are ROW_STEP apart: consecutive, or interleaved with the other threads'
// (`Tuning::matmul_decode_rows_interleaved`: lavapipe's SIMD lanes then read neighbouring rows).
const ROW_STEP: u32 = select(1u, WG / THREADS_PER_ROW, ROWS_INTERLEAVED);
const XV_LEN: u32 = 8u * TOKENS_PER_GROUP * CHUNK_GROUP;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    // This thread's output rows: row0, row0 + ROW_STEP, ... (OUT_ROWS of them).
    let row0 = (wid.x + wid.y * groups.x) * ROWS_PER_GROUP + (lid / THREADS_PER_ROW) * select(OUT_ROWS, 1u, ROWS_INTERLEAVED);
    let lane = lid % THREADS_PER_ROW;
    let t0 = p.t_begin + wid.z * TOKENS_PER_GROUP;
    let n_tokens = select(step.n_tokens, 1u, p.one_row == 1u);
    let n_chunks = p.cols / 32u;
    var row_seg: array<u32, ROWS_PER_THREAD>;
    var row_word: array<u32, ROWS_PER_THREAD>;
    for (var r = 0u; r < ROWS_PER_THREAD; r++) {
        // With GLU, slots OUT_ROWS .. are the up rows of the same outputs.
        let w_row = min(row0 + ROW_STEP * (r % OUT_ROWS), p.rows - 1u) + (r / OUT_ROWS) * p.glu_rows;
        row_seg[r] = weight_segment(w_row);
        row_word[r] = weight_row_word(row_seg[r], w_row);
    }
    // Where each token's activations start, in vec4s.
    var x_base: array<u32, TOKENS_PER_GROUP>;
    for (var t = 0u; t < TOKENS_PER_GROUP; t++) {
        x_base[t] = (x_row(t0, t, n_tokens) - p.x_row0) * (p.x_stride / 4u);
    }
    norm_prologue(lid, wid.x + wid.y == 0u, t0, n_tokens);

    var acc: array<f32, TILE>; // acc[r * TOKENS_PER_GROUP + t]
    // xv[8 (g TOKENS_PER_GROUP + t) + k]: chunk c + g's activations of token t. A thread takes
    // CHUNK_GROUP consecutive chunks at a time (src/quant/chunk_group.rs: 1 but where the
    // weights come from a texture a group of blocks is fetched at once).
    var xv: array<vec4<f32>, XV_LEN>;
    // With raw chunks (RAW_CHUNKS, src/quant/raw_chunks.rs) xv carries the factors that undo
    // the raw values' places, and xsum[g * TOKENS_PER_GROUP + t] the sum of the chunk's
    // activations (for the blocks' minimum or offset, RAW_SUMS).
    var xsum: array<f32, XV_LEN / 8u>;
    for (var c = lane * CHUNK_GROUP; c < n_chunks; c += THREADS_PER_ROW * CHUNK_GROUP) {
        for (var g = 0u; g < CHUNK_GROUP; g++) {
            for (var t = 0u; t < TOKENS_PER_GROUP; t++) {
                var sum = vec4<f32>(0.0);
                for (var k = 0u; k < 8u; k++) {
                    let v = x_at(t, x_base[t], 8u * (c + g) + k);
                    if (RAW_CHUNKS) {
                        xv[8u * (g * TOKENS_PER_GROUP + t) + k] = v * RAW_X_SCALE;
                        sum += v;
                    } else {
                        xv[8u * (g * TOKENS_PER_GROUP + t) + k] = v;
                    }
                }
                if (RAW_SUMS) {
                    xsum[g * TOKENS_PER_GROUP + t] = (sum.x + sum.y) + (sum.z + sum.w);
                }
            }
        }
        for (var r = 0u; r < ROWS_PER_THREAD; r++) {
            fetch_weight_group(row_seg[r], row_word[r], c);
            for (var g = 0u; g < CHUNK_GROUP; g++) {
                load_weight_chunk_in_group(row_seg[r], row_word[r], c, g);
                for (var t = 0u; t < TOKENS_PER_GROUP; t++) {
                    let x0 = 8u * (g * TOKENS_PER_GROUP + t);
                    var s = chunk[0] * xv[x0];
                    for (var k = 1u; k < 8u; k++) {
                        s += chunk[k] * xv[x0 + k];
                    }
                    let dot = (s.x + s.y) + (s.z + s.w);
                    if (RAW_SUMS) {
                        acc[r * TOKENS_PER_GROUP + t] += chunk_affine.x * dot + chunk_affine.y * xsum[g * TOKENS_PER_GROUP + t];
                    } else if (RAW_CHUNKS) {
                        acc[r * TOKENS_PER_GROUP + t] += chunk_affine.x * dot;
                    } else {
                        acc[r * TOKENS_PER_GROUP + t] += dot;
                    }
                }
            }
        }
    }

    if (THREADS_PER_ROW > 1u && SUBGROUP_REDUCE) {
        for (var i = 0u; i < TILE; i++) {
            acc[i] = row_sum_in_subgroup(acc[i]);
        }
    } else if (THREADS_PER_ROW > 1u) {
        for (var i = 0u; i < TILE; i++) {
            // Sum the lanes of each row: groups of THREADS_PER_ROW consecutive threads.
            partial[lid] = acc[i];
            workgroupBarrier();
            for (var stride = THREADS_PER_ROW / 2u; stride > 0u; stride /= 2u) {
                if (lane < stride) {
                    partial[lid] += partial[lid + stride];
                }
                workgroupBarrier();
            }
            acc[i] = partial[lid];
            workgroupBarrier();
        }
    }

    // The epilogue, on each output (acc[i], and with GLU its up half acc[i + OUT_TILE]).
    for (var i = 0u; i < OUT_TILE; i++) {
        let r = i / TOKENS_PER_GROUP;
        let t = i % TOKENS_PER_GROUP;
        let row = row0 + ROW_STEP * r;
        if (lane == 0u && row < p.rows && t0 + t < n_tokens) {
            let col = p.y_row_offset + row;
            let at = (t0 + t) * p.y_stride + col;
            var v = acc[i];
            if (GLU == 1u) {
                v = swiglu_of(v, acc[i + OUT_TILE]);
            } else if (GLU == 2u) {
                v = geglu_tanh_of(v, acc[i + OUT_TILE]);
            }
            if (BIAS) {
                v += bias_at(col);
            }
            if (ACCUMULATE) {
                v += y[at];
            }
            y[at] = v;
        }
    }
}
