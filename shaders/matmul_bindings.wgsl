// The parameters and bindings that shaders/matmul.wgsl and shaders/gemm.wgsl share (one
// launcher, src/kernels/matmul.rs, binds either), assembled in front of each after the
// epilogue constants (GLU).
//   w: the weights' rows in their formats' GPU layouts: one part of a matrix split across
//      bindings, or the row segments of several formats that src/quant/shader.rs's
//      matrix_wgsl reads (segment s from row seg<s>_row and word seg<s>_word)
//   x: [n_tokens × x_stride] f32 read as vec4 (x_stride and cols multiples of 32); with
//      one_row only the last token's row is read (x_row); a uniform array<vec4<f32>, cols / 4>
//      where the launcher binds the only row a decode GEMV reads as a uniform, or a uniform
//      window of rows x_row0 .. for the dispatch computing tokens t_begin .. (prefill on
//      lavapipe, `Tuning::matmul_x_uniform`: a dispatch per window of tokens)
//   y: [n_tokens × y_stride] f32, this part writes columns y_row_offset .. + rows
//   bias: [y_row_offset + rows] f32 (BIAS only, binding 5, declared with the epilogue)
//   then the norm prologue's bindings (shaders/matmul_norm.wgsl), declared with it.

struct Params {
    rows: u32,
    cols: u32,
    one_row: u32, // 1: the batch's last row of x into y's only row (the last token's logits)
    x_stride: u32,
    y_stride: u32,
    y_row_offset: u32,
    glu_rows: u32, // GLU: where the up rows start in w (the gate rows are 0 .. rows)
    eps: f32,      // the norm prologue's (NORM >= 1)
    seg0_word: u32, // where the rows start in w (segment 0 starts at row 0)
    seg1_row: u32,  // the first weight row and word of segments 1 and 2, where the
    seg1_word: u32, // pipeline has them
    seg2_row: u32,
    seg2_word: u32,
    x_rows: u32,    // rows x holds (one_row reads its last when it holds fewer than the batch)
    x_row0: u32,    // the batch row that x's binding starts at (a window of a uniform x)
    t_begin: u32,   // the first token this dispatch computes (shaders/matmul.wgsl only)
}

// binding 0, w, and the w_word(i) that reads its words are declared by src/gpu/pipelines.rs in
// front of this file: a storage array<u32>, or (`Tuning::matmul_w_texture`) an rgba32uint
// texture holding the same words, four per texel, row after row.
// binding 1, x, is declared by src/gpu/pipelines.rs in front of this file: a storage array,
// or (`Tuning::matmul_x_uniform`, decode GEMVs) a uniform array of exactly one row.
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
@group(0) @binding(4) var<uniform> step: Step;

const HALVES: u32 = select(1u, 2u, GLU != 0u);

// The row of x that token slot t of a workgroup whose first token is t0 reads: slots past the
// batch repeat its last row (and write nothing); with one_row, the batch's last row (or x's
// only one: the last token's, normalised into a row of its own).
fn x_row(t0: u32, t: u32, n_tokens: u32) -> u32 {
    if (p.one_row == 1u) {
        return min(step.n_tokens, p.x_rows) - 1u;
    }
    return min(t0 + t, n_tokens - 1u);
}
