//! Launcher for shaders/rope_store.wgsl: per-head q/k norm (where the family has one), RoPE
//! and the KV-cache append in one dispatch, from the Q/K/V projections' `qkv` rows.

use super::kv::{KV_TEXEL_ELEMENTS, KvFormat, KvPrecision, KvStore};
use super::tensor::Tensor;
use super::{Dispatch, uniform};
use crate::error::{Error, Result};
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
    /// Mirrors `struct Params` in shaders/rope_store.wgsl.
    pub(crate) struct Params {
        n_heads: u32,
        n_kv_heads: u32,
        head_dim: u32,
        n_rot: u32,
        neox: u32,
        qk_norm: u32,
        eps: f32,
        n_ctx: u32,
        mscale: f32,
        _pad0: u32,
        _pad1: u32,
        _pad2: u32,
    }
}

/// The heads, the rotation and the cache of one layer.
#[derive(Clone, Copy, Debug)]
pub struct RopeStoreShape {
    pub n_heads: u32,
    pub n_kv_heads: u32,
    pub head_dim: u32,
    /// Dimensions rotated per head (even, at most head_dim; 0 leaves the heads unrotated).
    pub n_rot: u32,
    pub style: RopeStyle,
    /// Multiplies each rotation's cos and sin (1 but for LongRoPE's attention factor).
    pub mscale: f32,
    /// Positions the cache holds.
    pub n_ctx: u32,
    pub kv: KvPrecision,
}

/// Per-head RMSNorm weights (`head_dim` each) of queries and keys, and its epsilon.
#[derive(Clone, Copy)]
pub struct QkNorm<'a> {
    pub q: &'a wgpu::Buffer,
    pub k: &'a wgpu::Buffer,
    pub eps: f32,
}

/// From `qkv` ([step.n_tokens × (n_heads + 2 n_kv_heads) × head_dim]: queries, keys, values):
/// the (normalised and) rotated queries into `q`, the (normalised and) rotated keys and the
/// values into the caches at `step.pos0` in the cache's precision.
#[allow(clippy::too_many_arguments)]
pub async fn rope_store(
    ctx: &GpuContext,
    cache: &PipelineCache,
    qkv: &Tensor,
    qk_norm: Option<QkNorm<'_>>,
    inv_freq: &wgpu::Buffer,
    q: &Tensor,
    k_cache: &KvStore,
    v_cache: &KvStore,
    step: &wgpu::Buffer,
    shape: RopeStoreShape,
) -> Result<Dispatch> {
    let RopeStoreShape { n_heads, n_kv_heads, head_dim, n_rot, style, mscale, n_ctx, kv } = shape;
    let heads_ok = head_dim != 0 && head_dim % 2 == 0 && n_rot % 2 == 0 && n_rot <= head_dim && n_kv_heads != 0 && n_heads != 0;
    if !(heads_ok && mscale.is_finite() && mscale > 0.0) {
        return Err(Error::InvalidArgument(format!(
            "rope_store {shape:?}: heads of an even size, an even n_rot up to it, at least one query and one kv head, \
             and a finite mscale above 0"
        )));
    }
    let heads = n_heads + 2 * n_kv_heads;
    qkv.expect("rope_store", "projections", 1, heads * head_dim)?;
    q.expect("rope_store", "queries", qkv.rows, n_heads * head_dim)?;
    k_cache.expect("rope_store", kv, n_kv_heads * head_dim, n_ctx)?;
    v_cache.expect("rope_store", kv, n_kv_heads * head_dim, n_ctx)?;
    // A texel holds 8 elements: k_store writes whole texels, 4 pairs of one head.
    if (k_cache.is_texels() || v_cache.is_texels()) && (k_cache.is_texels() != v_cache.is_texels() || head_dim % KV_TEXEL_ELEMENTS != 0) {
        return Err(Error::InvalidArgument(format!(
            "rope_store {shape:?}: texel caches for both keys and values, and heads of a multiple of 8 dims"
        )));
    }
    let format = KvFormat::of(kv, k_cache);
    if inv_freq.size() < u64::from(n_rot / 2) * 4 {
        return Err(Error::InvalidArgument(format!("rope_store {shape:?}: {} bytes of frequencies", inv_freq.size())));
    }
    if let Some(n) = qk_norm
        && (n.q.size() < u64::from(head_dim) * 4 || n.k.size() < u64::from(head_dim) * 4)
    {
        return Err(Error::InvalidArgument(format!("rope_store {shape:?}: q/k norm weights shorter than a head")));
    }
    let params = Params {
        n_heads,
        n_kv_heads,
        head_dim,
        n_rot,
        neox: u32::from(style == RopeStyle::Neox),
        qk_norm: u32::from(qk_norm.is_some()),
        eps: qk_norm.map_or(0.0, |n| n.eps),
        n_ctx,
        mscale,
        ..Default::default()
    };
    let u = uniform(ctx, &params);
    // Without a norm the weights are never read; any storage buffer fills their bindings.
    let (qn, kn) = qk_norm.map_or((inv_freq, inv_freq), |n| (n.q, n.k));
    let resources = [
        qkv.binding(),
        qn.as_entire_binding(),
        kn.as_entire_binding(),
        inv_freq.as_entire_binding(),
        q.binding(),
        k_cache.binding(),
        v_cache.binding(),
        u.as_entire_binding(),
        step.as_entire_binding(),
    ];
    if ctx.tuning.rope_store_workgroup_per_head {
        let kernel = Kernel::RopeStore { kv: format, per_head_workgroup: true };
        Dispatch::per_batch(ctx, cache, kernel, &resources, move |n| {
            let (x, y) = super::split_groups(n * heads);
            [x, y, 1]
        })
        .await
    } else {
        let kernel = Kernel::RopeStore { kv: format, per_head_workgroup: false };
        Dispatch::per_batch(ctx, cache, kernel, &resources, move |n| [(n * heads).div_ceil(64), 1, 1]).await
    }
}
