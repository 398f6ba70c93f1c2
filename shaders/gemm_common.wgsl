// The parts of the register-tiled GEMMs (shaders/gemm.wgsl with f32 tiles, shaders/gemm_dp4a.wgsl
// with 8-bit integer tiles) that do not depend on how the tiles hold the values: the tile's
// constants, which weight row a tile slot holds, and the epilogue. Assembled after the
// constants of shaders/gemm.wgsl's header and the epilogue's WGSL.

const OUT_ROWS: u32 = TILE_ROWS / HALVES;        // outputs per workgroup
const THREAD_OUTS: u32 = THREAD_ROWS / HALVES;   // outputs per thread
const TY: u32 = TILE_ROWS / THREAD_ROWS;
const TX: u32 = TILE_TOKENS / THREAD_TOKENS;
const GROUP: u32 = TX * TY;   // threads of one column group
const WG: u32 = GROUP * K_SPLIT;
const ACC_LEN: u32 = THREAD_ROWS * THREAD_TOKENS;

// The weight row behind slot `s` of the tile (gate rows first, then up rows, with GLU).
fn weight_row(out0: u32, s: u32) -> u32 {
    return min(out0 + s % OUT_ROWS, p.rows - 1u) + (s / OUT_ROWS) * p.glu_rows;
}

// Slot of a thread's i-th weight row (ty its row index): its outputs' gate rows, then up rows.
fn thread_slot(i: u32, ty: u32) -> u32 {
    return (i / THREAD_OUTS) * OUT_ROWS + ty + (i % THREAD_OUTS) * TY;
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
