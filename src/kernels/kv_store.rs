//! Launcher for shaders/kv_store.wgsl: appends a forward pass's keys and values to one
//! layer's cache, in the cache's precision, at the position in the step uniform.

use super::kv::KvPrecision;
use super::tensor::Tensor;
use super::{Dispatch, uniform};
use crate::error::{Error, Result};
use crate::gpu::{GpuContext, Kernel, PipelineCache};

wgsl_struct! {
    /// Mirrors `struct Params` in shaders/kv_store.wgsl.
    pub(crate) struct Params {
        kv_dim: u32,
        n_ctx: u32,
        _pad0: u32,
        _pad1: u32,
    }
}

/// Appends `k` and `v` ([step.n_tokens × kv_dim] f32, kv_dim even) to the caches
/// ([n_ctx × kv_dim] in `precision`) at `step.pos0`; positions at or past `n_ctx` are dropped.
#[allow(clippy::too_many_arguments)]
pub async fn kv_store(
    ctx: &GpuContext,
    cache: &PipelineCache,
    k: &Tensor,
    v: &Tensor,
    k_cache: &wgpu::Buffer,
    v_cache: &wgpu::Buffer,
    step: &wgpu::Buffer,
    n_ctx: u32,
    precision: KvPrecision,
) -> Result<Dispatch> {
    let kv_dim = k.width;
    v.expect("kv_store", "values", k.rows, kv_dim)?;
    if kv_dim % 2 != 0 {
        return Err(Error::InvalidArgument(format!("kv_store: rows of {kv_dim} values do not pack into f16 pairs")));
    }
    let cache_bytes = u64::from(n_ctx) * u64::from(kv_dim) * precision.bytes();
    if k_cache.size() < cache_bytes || v_cache.size() < cache_bytes {
        return Err(Error::InvalidArgument(format!("kv_store: caches of {n_ctx} × {kv_dim} need {cache_bytes} bytes each")));
    }
    let u = uniform(ctx, &Params { kv_dim, n_ctx, ..Default::default() });
    let resources = [
        k.binding(),
        v.binding(),
        k_cache.as_entire_binding(),
        v_cache.as_entire_binding(),
        u.as_entire_binding(),
        step.as_entire_binding(),
    ];
    let chunks = (kv_dim / 2).div_ceil(64);
    Dispatch::per_batch(ctx, cache, Kernel::KvStore(precision), &resources, move |n| [chunks, n, 1]).await
}
