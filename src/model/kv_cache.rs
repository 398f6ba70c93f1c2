//! The key/value cache: per layer, keys and values of every past position, on the GPU.
//! f32 for now: exact, and simple to read in WGSL without shader-f16.

use super::config::ModelConfig;
use crate::gpu::GpuContext;

pub struct KvCache {
    pub n_ctx: u32,
    /// (keys, values) per layer, each `[n_ctx × kv_dim]` f32.
    pub layers: Vec<(wgpu::Buffer, wgpu::Buffer)>,
}

impl KvCache {
    pub fn new(ctx: &GpuContext, cfg: &ModelConfig, n_ctx: u32) -> KvCache {
        let len = n_ctx as usize * cfg.kv_dim() as usize;
        let layers = (0..cfg.n_layers)
            .map(|i| (ctx.f32_buffer(&format!("k_cache.{i}"), len), ctx.f32_buffer(&format!("v_cache.{i}"), len)))
            .collect();
        KvCache { n_ctx, layers }
    }

    /// Bytes on the GPU.
    pub fn bytes(&self) -> u64 {
        self.layers.iter().map(|(k, v)| k.size() + v.size()).sum()
    }
}
