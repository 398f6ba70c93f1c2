//! Launcher for shaders/rope.wgsl (the positions come from the step uniform).

use super::tensor::Tensor;
use super::{Dispatch, uniform};
use crate::error::Result;
use crate::gpu::{GpuContext, Kernel, PipelineCache};

/// How pairs of dimensions are rotated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RopeStyle {
    /// Adjacent pairs (x[2i], x[2i+1]): llama in GGUF (Q/K rows are stored permuted).
    Normal,
    /// Halves (x[i], x[i + n_rot/2]): qwen2, gemma3 and other NeoX-style models.
    Neox,
}

/// The per-pair inverse frequencies `freq_scale * base^(-2i / n_rot)`, computed in f64
/// once so the shader only multiplies by the position.
pub fn inv_freq(n_rot: u32, base: f32, freq_scale: f32) -> Vec<f32> {
    (0..n_rot / 2).map(|i| (f64::from(freq_scale) * f64::from(base).powf(-2.0 * f64::from(i) / f64::from(n_rot))) as f32).collect()
}

wgsl_struct! {
    /// Mirrors `struct Params` in shaders/rope.wgsl.
    pub(crate) struct RopeParams {
        n_heads: u32,
        head_dim: u32,
        n_rot: u32,
        neox: u32,
    }
}

/// Rotates `x` ([step.n_tokens × n_heads × head_dim]) in place.
#[allow(clippy::too_many_arguments)]
pub async fn rope(
    ctx: &GpuContext,
    cache: &PipelineCache,
    x: &Tensor,
    inv_freq: &wgpu::Buffer,
    step: &wgpu::Buffer,
    n_heads: u32,
    head_dim: u32,
    n_rot: u32,
    style: RopeStyle,
) -> Result<Dispatch> {
    x.expect("rope", "x", 1, n_heads * head_dim)?;
    let params = RopeParams { n_heads, head_dim, n_rot, neox: u32::from(style == RopeStyle::Neox) };
    let u = uniform(ctx, &params);
    let resources = [x.binding(), inv_freq.as_entire_binding(), u.as_entire_binding(), step.as_entire_binding()];
    let pairs = (n_rot / 2).div_ceil(64);
    Dispatch::per_batch(ctx, cache, Kernel::Rope, &resources, move |n| [pairs, n_heads, n]).await
}
