// Adds a bias vector to every row: y[t, i] += bias[i] for n_rows rows of `width` values
// (the Q/K/V biases of Qwen2, an optional output bias).
// Bindings:
//   y:    [n_rows × width] f32 (read_write)
//   bias: [width] f32
// Dispatch: ceil(n_rows * width / 64) workgroups, split as (groups_x, y) with x <= 65535.

struct Params {
    n: u32,        // n_rows * width
    width: u32,
    groups_x: u32,
    _pad0: u32,
}

@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x + gid.y * p.groups_x * 64u;
    if (i < p.n) {
        y[i] += bias[i % p.width];
    }
}
