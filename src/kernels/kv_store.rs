//! Launcher for shaders/kv_store.wgsl: appends a forward pass's keys and values to one
//! layer's cache at the position in the step uniform.

use super::{Dispatch, uniform};
use crate::error::Result;
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

/// Appends `k` and `v` ([step.n_tokens × kv_dim]) to the caches ([n_ctx × kv_dim]) at
/// `step.pos0`; positions at or past `n_ctx` are dropped.
#[allow(clippy::too_many_arguments)]
pub async fn kv_store(
    ctx: &GpuContext,
    cache: &PipelineCache,
    k: &wgpu::Buffer,
    v: &wgpu::Buffer,
    k_cache: &wgpu::Buffer,
    v_cache: &wgpu::Buffer,
    step: &wgpu::Buffer,
    kv_dim: u32,
    n_ctx: u32,
) -> Result<Dispatch> {
    let u = uniform(ctx, &Params { kv_dim, n_ctx, ..Default::default() });
    let resources = [
        k.as_entire_binding(),
        v.as_entire_binding(),
        k_cache.as_entire_binding(),
        v_cache.as_entire_binding(),
        u.as_entire_binding(),
        step.as_entire_binding(),
    ];
    let chunks = kv_dim.div_ceil(64);
    Dispatch::per_batch(ctx, cache, Kernel::KvStore, &resources, move |n| [chunks, n, 1]).await
}
