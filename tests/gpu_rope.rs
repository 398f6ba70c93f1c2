//! shaders/rope.wgsl against an f64 reference written from the definition: pair i of a head
//! (0 <= i < n_rot/2) turns by the angle pos · freq_scale · base^(-2i / n_rot); normal style
//! pairs (x[2i], x[2i+1]), NeoX style (x[i], x[i + n_rot/2]); dims past n_rot stay.

mod common;

use common::kernels::{read_tensor, step_buffer, submit, tensor};
use hearth::gpu::PipelineCache;
use hearth::kernels::rope::{RopeStyle, inv_freq, rope};

#[derive(Clone, Copy, Debug)]
struct Case {
    style: RopeStyle,
    n_heads: u32,
    head_dim: u32,
    n_rot: u32,
    n_tokens: u32,
    pos0: u32,
    base: f32,
    freq_scale: f32,
}

/// The rotated x and, per element, the largest angle magnitude involved (for the tolerance).
fn reference(x: &[f32], c: Case) -> (Vec<f64>, Vec<f64>) {
    let mut out: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    let mut angles = vec![0.0; x.len()];
    let (hd, half) = (c.head_dim as usize, c.n_rot as usize / 2);
    for t in 0..c.n_tokens as usize {
        let pos = f64::from(c.pos0) + t as f64;
        for h in 0..c.n_heads as usize {
            let base = (t * c.n_heads as usize + h) * hd;
            for i in 0..half {
                let theta = pos * f64::from(c.freq_scale) * f64::from(c.base).powf(-2.0 * i as f64 / f64::from(c.n_rot));
                let (a, b) = match c.style {
                    RopeStyle::Normal => (base + 2 * i, base + 2 * i + 1),
                    RopeStyle::Neox => (base + i, base + i + half),
                };
                let (x0, x1) = (f64::from(x[a]), f64::from(x[b]));
                out[a] = x0 * theta.cos() - x1 * theta.sin();
                out[b] = x0 * theta.sin() + x1 * theta.cos();
                angles[a] = theta;
                angles[b] = theta;
            }
        }
    }
    (out, angles)
}

#[test]
fn rope_matches_f64_reference() {
    let ctx = common::gpu();
    let cache = PipelineCache::default();
    let mut rng = common::Rng(0x0ddba11);
    let case = |style, n_heads, head_dim, n_rot, n_tokens, pos0| Case {
        style,
        n_heads,
        head_dim,
        n_rot,
        n_tokens,
        pos0,
        base: 10_000.0,
        freq_scale: 1.0,
    };
    let cases = [
        // SmolLM2 shapes: 9 query heads of 64, a prefill from 0 and a decode step far in.
        case(RopeStyle::Normal, 9, 64, 64, 13, 0),
        case(RopeStyle::Normal, 3, 64, 64, 1, 3000),
        // NeoX (qwen2 / gemma3) with head_dim 128 and 256 (more than 64 pairs per head).
        case(RopeStyle::Neox, 14, 64, 64, 5, 7),
        case(RopeStyle::Neox, 2, 128, 128, 3, 500),
        case(RopeStyle::Neox, 4, 256, 256, 2, 1000),
        // Partial rotation: only the first n_rot dims of each head turn, in both styles.
        case(RopeStyle::Neox, 3, 128, 32, 4, 9),
        case(RopeStyle::Normal, 5, 80, 40, 3, 70),
        // Linear rope scaling (freq_scale = 1 / factor) and another base (qwen2: 1e6).
        Case { freq_scale: 0.25, ..case(RopeStyle::Normal, 2, 64, 64, 6, 4090) },
        Case { base: 1_000_000.0, ..case(RopeStyle::Neox, 2, 64, 64, 2, 2047) },
    ];
    for c in cases {
        let x: Vec<f32> = (0..c.n_tokens * c.n_heads * c.head_dim).map(|_| rng.signed_unit()).collect();
        let xb = tensor(&ctx, "x", c.n_tokens as usize, (c.n_heads * c.head_dim) as usize, &x);
        let freqs = ctx.f32_buffer_from("inv_freq", &inv_freq(c.n_rot, c.base, c.freq_scale));
        let step = step_buffer(&ctx, c.pos0, c.n_tokens);
        let d = pollster::block_on(rope(&ctx, &cache, &xb, &freqs, &step, c.n_heads, c.head_dim, c.n_rot, c.style)).unwrap();
        submit(&ctx, c.n_tokens, &[d]);
        let got = read_tensor(&ctx, &xb);
        let (want, angles) = reference(&x, c);

        // The kernel forms the angle in f32, as llama.cpp does: the frequency and the
        // product pos · freq each round to half an ulp, so the angle is off by up to
        // |angle|·ε, which moves an output by up to that times |x0| + |x1| <= 2. sin/cos of
        // the rounded angle add a few ulps (lavapipe; 1e-6 allows for them), and the
        // rotation's products and sum three roundings of values <= 2. Untouched dims must
        // be exactly as they were.
        let eps = f64::from(f32::EPSILON);
        for (i, ((&g, &w), &angle)) in got.iter().zip(&want).zip(&angles).enumerate() {
            let tol = 2.0 * angle.abs() * eps + 1e-6 + 6.0 * eps;
            assert!((f64::from(g) - w).abs() <= tol, "{c:?}: x[{i}] = {g}, want {w} (angle {angle:.1}, tolerance {tol:.2e})");
            if angle == 0.0 && (i % c.head_dim as usize) >= c.n_rot as usize {
                assert_eq!(g, x[i], "{c:?}: x[{i}] is past n_rot and must not change");
            }
        }
    }
}
