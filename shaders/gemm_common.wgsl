// The parts of the register-tiled GEMMs (shaders/gemm.wgsl with f32 tiles, shaders/gemm_dp4a.wgsl
// with 8-bit integer tiles) that do not depend on how the tiles hold the values: the tile's
// constants, where a thread works, which weight row a tile slot holds, and the end (the
// column groups' sums added, then the epilogue). Assembled after the constants of
// shaders/gemm.wgsl's header (RED_LEN: (K_SPLIT - 1) × TILE_ROWS × TILE_TOKENS, or 1) and the
// epilogue's WGSL.

const OUT_ROWS: u32 = TILE_ROWS / HALVES;        // outputs per workgroup
const THREAD_OUTS: u32 = THREAD_ROWS / HALVES;   // outputs per thread
const TY: u32 = TILE_ROWS / THREAD_ROWS;
const TX: u32 = TILE_TOKENS / THREAD_TOKENS;
const GROUP: u32 = TX * TY;   // threads of one column group
const WG: u32 = GROUP * K_SPLIT;
const ACC_LEN: u32 = THREAD_ROWS * THREAD_TOKENS;

// Groups 1.. of a column split leave their sums here for group 0.
var<workgroup> red: array<f32, RED_LEN>;

// Where a workgroup works: its tile's first output and first token, the batch's tokens and
// the 32-column steps. Uniform across the workgroup, and kept apart from the thread's own
// indices (GemmThread): uniformity analysis (Tint's, in browsers) does not track struct fields
// one by one, and the column-step loop's barriers need a uniform bound.
struct GemmTile {
    out0: u32,
    t0: u32,
    n_tokens: u32,
    n_chunks: u32,
}

fn gemm_tile(wid: vec3<u32>, groups: vec3<u32>) -> GemmTile {
    return GemmTile((wid.x + wid.y * groups.x) * OUT_ROWS, wid.z * TILE_TOKENS, select(step.n_tokens, 1u, p.one_row == 1u), p.cols / 32u);
}

// A thread's column group, its place in the group, and its row and token indices.
struct GemmThread {
    g: u32,
    gl: u32,
    tx: u32,
    ty: u32,
}

fn gemm_thread(lid: u32) -> GemmThread {
    let gl = lid % GROUP;
    return GemmThread(lid / GROUP, gl, gl % TX, gl / TX);
}

// The weight row behind slot `s` of the tile (gate rows first, then up rows, with GLU).
fn weight_row(out0: u32, s: u32) -> u32 {
    return min(out0 + s % OUT_ROWS, p.rows - 1u) + (s / OUT_ROWS) * p.glu_rows;
}

// Slot of a thread's i-th weight row (ty its row index): its outputs' gate rows, then up rows.
fn thread_slot(i: u32, ty: u32) -> u32 {
    return (i / THREAD_OUTS) * OUT_ROWS + ty + (i % THREAD_OUTS) * TY;
}

// After the column steps: group 0 adds the other groups' sums (in group order) and stores.
// Every thread of the workgroup calls it (a barrier).
fn gemm_finish(tile: GemmTile, th: GemmThread, own: array<f32, ACC_LEN>) {
    var acc = own;
    if (K_SPLIT > 1u) {
        if (th.g > 0u) {
            for (var i = 0u; i < ACC_LEN; i++) {
                red[((th.g - 1u) * GROUP + th.gl) * ACC_LEN + i] = acc[i];
            }
        }
        workgroupBarrier();
        if (th.g == 0u) {
            for (var h = 1u; h < K_SPLIT; h++) {
                for (var i = 0u; i < ACC_LEN; i++) {
                    acc[i] += red[((h - 1u) * GROUP + th.gl) * ACC_LEN + i];
                }
            }
        }
    }
    if (th.g == 0u) {
        gemm_store(tile.out0, tile.t0, th.ty, th.tx, tile.n_tokens, acc);
    }
}

// The epilogue, on each of a thread's outputs (and with GLU its up half, THREAD_OUTS slots
// later): tokens tx, tx + TX, ... of the tile at t0, outputs ty, ty + TY, ... from out0.
fn gemm_store(out0: u32, t0: u32, ty: u32, tx: u32, n_tokens: u32, acc: array<f32, ACC_LEN>) {
    for (var i = 0u; i < THREAD_OUTS; i++) {
        let row = out0 + ty + i * TY;
        for (var j = 0u; j < THREAD_TOKENS; j++) {
            let t = t0 + tx + j * TX;
            if (row < p.rows && t < n_tokens) {
                let col = p.y_row_offset + row;
                let at = t * p.y_stride + col;
                var v = acc[i * THREAD_TOKENS + j];
                if (GLU == 1u) {
                    v = swiglu_of(v, acc[(i + THREAD_OUTS) * THREAD_TOKENS + j]);
                } else if (GLU == 2u) {
                    v = geglu_tanh_of(v, acc[(i + THREAD_OUTS) * THREAD_TOKENS + j]);
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
}
