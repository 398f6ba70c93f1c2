// Adds a bias vector to every row: y[t, i] += bias[i] for the batch's rows of `width` values
// (the Q/K/V biases of Qwen2, an optional output bias). A token has rows_per_token rows (the
// output bias of the last token only: 1 row whatever the batch, rows_per_token = 0).
// Bindings:
//   y:    [rows × width] f32 (read_write)
//   bias: [width] f32
// Dispatch: ceil(rows * width / 64) workgroups, split as (x, y) with x <= 65535.

struct Params {
    width: u32,
    rows_per_token: u32, // 0: one row, whatever the batch
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;
@group(0) @binding(3) var<uniform> step: Step;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.x + gid.y * groups.x * 64u;
    let rows = max(p.rows_per_token * step.n_tokens, 1u);
    if (i < rows * p.width) {
        y[i] += bias[i % p.width];
    }
}
