//! Launcher for shaders/attention.wgsl (causal grouped-query attention over the cache).

use bytemuck::{Pod, Zeroable};

use super::{Dispatch, uniform};
use crate::error::{Error, Result};
use crate::gpu::{GpuContext, Kernel, PipelineCache};

/// Mirrors `struct Params` in shaders/attention.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
struct Params {
    n_heads: u32,
    n_kv_heads: u32,
    head_dim: u32,
    window: u32,
    scale: f32,
    _pad: [u32; 3],
}
const _: () = assert!(std::mem::size_of::<Params>() == 32);

/// Shapes of one attention layer.
#[derive(Clone, Copy, Debug)]
pub struct AttentionShape {
    pub n_heads: u32,
    pub n_kv_heads: u32,
    pub head_dim: u32,
    /// Sliding window in tokens (0: attend to the whole past).
    pub window: u32,
    pub scale: f32,
}

#[allow(clippy::too_many_arguments)]
pub async fn attention(
    ctx: &GpuContext,
    cache: &PipelineCache,
    q: &wgpu::Buffer,
    k_cache: &wgpu::Buffer,
    v_cache: &wgpu::Buffer,
    out: &wgpu::Buffer,
    step: &wgpu::Buffer,
    shape: AttentionShape,
    n_tokens: u32,
) -> Result<Dispatch> {
    if shape.head_dim > 256 || shape.n_kv_heads == 0 || shape.n_heads % shape.n_kv_heads != 0 {
        return Err(Error::InvalidArgument(format!(
            "unsupported attention shape {shape:?}"
        )));
    }
    let params = Params {
        n_heads: shape.n_heads,
        n_kv_heads: shape.n_kv_heads,
        head_dim: shape.head_dim,
        window: shape.window,
        scale: shape.scale,
        _pad: [0; 3],
    };
    let u = uniform(ctx, &params);
    let resources = [
        q.as_entire_binding(),
        k_cache.as_entire_binding(),
        v_cache.as_entire_binding(),
        out.as_entire_binding(),
        u.as_entire_binding(),
        step.as_entire_binding(),
    ];
    Dispatch::new(
        ctx,
        cache,
        Kernel::Attention,
        &resources,
        [shape.n_heads, n_tokens, 1],
    )
    .await
}
