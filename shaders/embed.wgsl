// Embedding gather: out[t, :] = dequantised row ids[t] of the embedding matrix, times
// `scale` (1 for llama; sqrt(d_model) for gemma).
//
// Assembled after shaders/quant/common.wgsl and the format's snippet (load_chunk).
// Bindings:
//   w:   this part of the [vocab × cols] embedding (rows first_row .. first_row + rows)
//   ids: [n_tokens] u32 token ids
//   out: [n_tokens × cols] f32
// Dispatch: (ceil(cols / 32 / 64), n_tokens). Threads whose id is outside this part do nothing.

struct Params {
    cols: u32,
    first_row: u32,
    rows: u32,
    scale: f32,
}

// binding 0, w, and its readers w_word / w_quad: src/gpu/pipelines.rs (matmul_w_binding).
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c = gid.x; // chunk of 32 columns
    let t = gid.y;
    let id = ids[t];
    if (c * 32u >= p.cols || id < p.first_row || id >= p.first_row + p.rows) {
        return;
    }
    let row_word = (id - p.first_row) * (p.cols / BLOCK_SIZE) * BLOCK_WORDS;
    load_chunk(row_word + (c / CHUNKS_PER_BLOCK) * BLOCK_WORDS, c % CHUNKS_PER_BLOCK);
    let base = t * p.cols + c * 32u;
    for (var k = 0u; k < 8u; k++) {
        let v = chunk[k] * p.scale;
        out[base + 4u * k] = v.x;
        out[base + 4u * k + 1u] = v.y;
        out[base + 4u * k + 2u] = v.z;
        out[base + 4u * k + 3u] = v.w;
    }
}
