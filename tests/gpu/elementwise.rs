//! shaders/elementwise.wgsl against f64 references written from the definitions:
//!   swiglu:       silu(a) · b = a / (1 + e^-a) · b
//!   geglu_tanh:   gelu_tanh(a) · b = a/2 · (1 + tanh(√(2/π) · (a + 0.044715 a³))) · b

use crate::common;

use common::kernels::{read_tensor, step_buffer, submit, tensor};
use hearth::gpu::{ElementwiseOp, PipelineCache};
use hearth::kernels::elementwise::elementwise;

fn reference(op: ElementwiseOp, a: f64, b: f64) -> f64 {
    match op {
        ElementwiseOp::SwiGlu => a / (1.0 + (-a).exp()) * b,
        ElementwiseOp::GeGluTanh => {
            let inner = (2.0 / std::f64::consts::PI).sqrt() * (a + 0.044715 * a * a * a);
            0.5 * a * (1.0 + inner.tanh()) * b
        }
    }
}

/// Inputs: random values of several magnitudes, plus the extremes an activation meets
/// (large gates, where exp overflows or tanh saturates, must give a finite result).
fn inputs(n: usize, rng: &mut common::Rng) -> (Vec<f32>, Vec<f32>) {
    let special = [0.0, -0.0, 1.0, -1.0, 9.0, -9.0, 30.0, -30.0, 88.0, -88.0, 100.0, -100.0, 1e4, -1e4, 1e-20];
    let a = (0..n).map(|i| special.get(i).copied().unwrap_or_else(|| rng.signed_unit() * [1.0, 6.0, 40.0][i % 3])).collect();
    let b = (0..n).map(|_| 2.0 * rng.signed_unit()).collect();
    (a, b)
}

#[test]
fn elementwise_ops_match_f64_reference() {
    let ctx = common::gpu();
    let cache = PipelineCache::default();
    let mut rng = common::Rng(0xe1e);
    // 1, sizes around the 64-thread workgroup, and one needing more than WebGPU's 65,535
    // workgroups in x (the kernel then spreads them over y).
    // The count is per token × tokens in the batch (from the step uniform).
    for (n, tokens) in [(1usize, 1), (63, 1), (64, 2), (65, 5), (1000, 4), (65_535 * 64 + 100, 1)] {
        let (a, b) = inputs(n, &mut rng);
        for op in [ElementwiseOp::SwiGlu, ElementwiseOp::GeGluTanh] {
            let ab = tensor(&ctx, "a", tokens, n / tokens, &a);
            let bb = tensor(&ctx, "b", tokens, n / tokens, &b);
            let step = step_buffer(&ctx, 0, tokens as u32);
            let d = pollster::block_on(elementwise(&ctx, &cache, op, &ab, &bb, &step)).unwrap();
            submit(&ctx, tokens as u32, &[d]);
            let got = read_tensor(&ctx, &ab);
            let got_b = read_tensor(&ctx, &bb);
            assert!(got_b == b, "{op:?} n={n}: b changed");
            let eps = f64::from(f32::EPSILON);
            for i in 0..n {
                let want = reference(op, f64::from(a[i]), f64::from(b[i]));
                let g = f64::from(got[i]);
                // swiglu: Vulkan's exp is within 3 + 2|x| ulps, and 1 + e, the division and
                // the product add 3 roundings. geglu: tanh has an absolute bound of 2^-21
                // (relative to the result, that is 1e-6 · |a·b|), plus the cube and products.
                // A wrong formula or a missing gate is far outside these.
                let tol = match op {
                    ElementwiseOp::SwiGlu => (8.0 + 2.0 * f64::from(a[i]).abs().min(88.0)) * eps * want.abs() + 1e-37,
                    ElementwiseOp::GeGluTanh => 10.0 * eps * want.abs() + 1e-6 * (f64::from(a[i]) * f64::from(b[i])).abs() + 1e-37,
                };
                assert!(
                    (g - want).abs() <= tol,
                    "{op:?} n={n}: a[{i}] = {}, b = {}: got {g}, want {want} (tolerance {tol:.2e})",
                    a[i],
                    b[i]
                );
            }
        }
    }
}
