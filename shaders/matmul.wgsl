// Quantised matrix × activations: y[t, row] = sum_c W[row, c] * x[t, c].
// Decode is the n_tokens = 1 case; prefill batches tokens so each dequantised chunk of W
// is reused for up to TOKENS_PER_GROUP tokens.
//
// Assembled after a generated line `const THREADS_PER_ROW: u32 = N;` (1, 2, 4, ... 64:
// threads sharing one row; 1 suits CPU-like devices such as lavapipe, 16 suits GPUs where
// neighbouring threads should read neighbouring memory), shaders/quant/common.wgsl and the
// weight format's snippet, which gives BLOCK_SIZE, BLOCK_WORDS, CHUNKS_PER_BLOCK and
// load_chunk() (fills `chunk` with 32 values).
//
// Bindings:
//   w: [rows × cols] in the format's GPU layout (one part of a possibly split matrix)
//   x: [n_tokens × x_stride] f32, the row of token t starts at t * x_stride
//   y: [n_tokens × y_stride] f32, this part writes columns y_row_offset .. + rows
// Dispatch: groups = ceil(rows / ROWS_PER_GROUP) split as (x, y) with x <= 65535,
//           z = ceil(n_tokens / TOKENS_PER_GROUP).

struct Params {
    rows: u32,
    cols: u32,
    n_tokens: u32,
    x_stride: u32,
    y_stride: u32,
    y_row_offset: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read> w: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

const WG: u32 = 64u;
const ROWS_PER_GROUP: u32 = WG / THREADS_PER_ROW;
const TOKENS_PER_GROUP: u32 = 8u;

var<workgroup> partial: array<f32, 512>; // TOKENS_PER_GROUP * WG

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let row = (wid.x + wid.y * groups.x) * ROWS_PER_GROUP + lid / THREADS_PER_ROW;
    let lane = lid % THREADS_PER_ROW;
    let t0 = wid.z * TOKENS_PER_GROUP;
    let nt = min(TOKENS_PER_GROUP, p.n_tokens - t0);
    let n_chunks = select(0u, p.cols / 32u, row < p.rows); // rows past the end do no work
    let row_word = row * (p.cols / BLOCK_SIZE) * BLOCK_WORDS;

    var acc: array<f32, 8>;
    for (var c = lane; c < n_chunks; c += THREADS_PER_ROW) {
        load_chunk(row_word + (c / CHUNKS_PER_BLOCK) * BLOCK_WORDS, c % CHUNKS_PER_BLOCK);
        for (var t = 0u; t < nt; t++) {
            let xb = (t0 + t) * p.x_stride + c * 32u;
            var s = 0.0;
            for (var i = 0u; i < 32u; i++) {
                s += chunk[i] * x[xb + i];
            }
            acc[t] += s;
        }
    }

    if (THREADS_PER_ROW > 1u) {
        // Sum the lanes of each row: partial[t * WG + lid], reduced within groups of
        // THREADS_PER_ROW consecutive threads.
        for (var t = 0u; t < TOKENS_PER_GROUP; t++) {
            partial[t * WG + lid] = acc[t];
        }
        workgroupBarrier();
        for (var stride = THREADS_PER_ROW / 2u; stride > 0u; stride /= 2u) {
            if (lane < stride) {
                for (var t = 0u; t < TOKENS_PER_GROUP; t++) {
                    partial[t * WG + lid] += partial[t * WG + lid + stride];
                }
            }
            workgroupBarrier();
        }
        for (var t = 0u; t < TOKENS_PER_GROUP; t++) {
            acc[t] = partial[t * WG + lid];
        }
    }
    if (lane == 0u && row < p.rows) {
        for (var t = 0u; t < nt; t++) {
            y[(t0 + t) * p.y_stride + p.y_row_offset + row] = acc[t];
        }
    }
}
