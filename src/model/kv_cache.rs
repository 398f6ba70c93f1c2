//! The key/value cache: per layer, keys and values of every past position, on the GPU, in
//! the precision the model was loaded with (`KvPrecision`: f16 packed two per u32 by
//! default, f32 on request), in storage buffers or, where the tuning asks for it
//! (`Tuning::kv_texels`), in textures of f16 texels (`KvStore`). shaders/rope_store.wgsl
//! writes it, shaders/attention*.wgsl read it.

use super::config::ModelConfig;
use crate::gpu::GpuContext;
use crate::kernels::kv::{KV_TEXEL_ELEMENTS, KvPrecision, KvStore};

pub struct KvCache {
    pub n_ctx: u32,
    pub precision: KvPrecision,
    /// (keys, values) per layer, each `[n_ctx × kv_dim]` elements of `precision`.
    pub layers: Vec<(KvStore, KvStore)>,
}

impl KvCache {
    pub fn new(ctx: &GpuContext, cfg: &ModelConfig, n_ctx: u32, precision: KvPrecision) -> KvCache {
        let words = (Self::layer_buffer_bytes(cfg, n_ctx, precision) / 4) as usize;
        // Texels hold f16 elements, 8 to a texel, whole heads each (see `KvStore::Texels`);
        // elsewhere, or where the textures would be too large, buffers. The two take the same
        // bytes (n_ctx × kv_dim × 2), which the load plan counts.
        let texels = ctx.tuning.kv_texels && precision == KvPrecision::F16 && cfg.head_dim % KV_TEXEL_ELEMENTS == 0;
        let store = |name: String| {
            texels
                .then(|| KvStore::texels(ctx, &name, cfg.kv_dim(), n_ctx))
                .flatten()
                .unwrap_or_else(|| KvStore::Buffer(ctx.f32_buffer(&name, words)))
        };
        let layers = (0..cfg.n_layers).map(|i| (store(format!("k_cache.{i}")), store(format!("v_cache.{i}")))).collect();
        KvCache { n_ctx, precision, layers }
    }

    /// Bytes of one layer's key (or value) buffer: sized in 4-byte words (f16 pairs, or f32s).
    /// The one sizing rule, shared with the fit checks made before anything is allocated.
    pub fn layer_buffer_bytes(cfg: &ModelConfig, n_ctx: u32, precision: KvPrecision) -> u64 {
        (u64::from(n_ctx) * u64::from(cfg.kv_dim()) * precision.bytes()).div_ceil(4) * 4
    }

    /// The longest context whose per-layer buffers stay within `limit` bytes each: a buffer
    /// of `n` tokens is `n × kv_dim × precision` rounded up to 4 bytes, which is within
    /// `limit` exactly when `n × kv_dim × precision` is within `limit` rounded down to 4.
    pub fn max_context(cfg: &ModelConfig, precision: KvPrecision, limit: u64) -> u64 {
        (limit / 4 * 4) / (u64::from(cfg.kv_dim()) * precision.bytes())
    }

    /// Bytes on the GPU.
    pub fn bytes(&self) -> u64 {
        self.layers.iter().map(|(k, v)| k.bytes() + v.bytes()).sum()
    }
}
