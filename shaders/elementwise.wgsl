// Element-wise kernels over step.n_tokens × per_token f32 values (one entry point each), for
// the FFN's gate and up when they are two matrices (else the matmul's GLU epilogue does this):
//   swiglu:       a[i] = silu(a[i]) * b[i]           (llama FFN: gate, up)
//   geglu_tanh:   a[i] = gelu_tanh(a[i]) * b[i]      (gemma FFN)
// Assembled after shaders/activation.wgsl.
// Bindings: a (read_write), b, params, step. Dispatch: ceil(n / 64) workgroups, split as
// (x, y) with x <= 65535.

struct Params {
    per_token: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read_write> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;
@group(0) @binding(3) var<uniform> step: Step;

// The element of this invocation, and whether it is inside the batch.
fn index(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
    return gid.x + gid.y * groups.x * 64u;
}

fn len() -> u32 {
    return p.per_token * step.n_tokens;
}

@compute @workgroup_size(64)
fn swiglu(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = index(gid, groups);
    if (i < len()) {
        a[i] = swiglu_of(a[i], b[i]);
    }
}

@compute @workgroup_size(64)
fn geglu_tanh(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = index(gid, groups);
    if (i < len()) {
        a[i] = geglu_tanh_of(a[i], b[i]);
    }
}
