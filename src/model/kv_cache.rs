//! The key/value cache: per layer, keys and values of every past position, on the GPU, in
//! the precision the model was loaded with (`KvPrecision`: f16 packed two per u32 by
//! default, f32 on request), in storage buffers or, where the tuning asks for it
//! (`Tuning::kv_texels`), in textures of f16 texels (`KvStore`). shaders/rope_store.wgsl
//! writes it, shaders/attention*.wgsl read it.

use super::config::ModelConfig;
use crate::gpu::GpuContext;
use crate::kernels::kv::{KvPrecision, KvStore};

pub struct KvCache {
    pub n_ctx: u32,
    pub precision: KvPrecision,
    /// (keys, values) per layer, each `[n_ctx × kv_dim]` elements of `precision`.
    pub layers: Vec<(KvStore, KvStore)>,
}

impl KvCache {
    pub fn new(ctx: &GpuContext, cfg: &ModelConfig, n_ctx: u32, precision: KvPrecision) -> KvCache {
        // Textures or buffers as the tuning says (`KvStore::for_tuning`), buffers of
        // `layer_buffer_bytes` each, the size the load plan counts.
        let store = |name: String| KvStore::for_tuning(ctx, &name, precision, cfg.head_dim, cfg.kv_dim(), n_ctx);
        let layers = (0..cfg.n_layers).map(|i| (store(format!("k_cache.{i}")), store(format!("v_cache.{i}")))).collect();
        KvCache { n_ctx, precision, layers }
    }

    /// Bytes of one layer's key (or value) store (`KvStore::buffer_bytes`: whole 4-byte words;
    /// a texture store takes the same), for the fit checks made before anything is allocated.
    pub fn layer_buffer_bytes(cfg: &ModelConfig, n_ctx: u32, precision: KvPrecision) -> u64 {
        KvStore::buffer_bytes(precision, cfg.kv_dim(), n_ctx)
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
