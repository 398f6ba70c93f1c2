//! Launcher for tiled prefill attention (shaders/attention_tiled.wgsl): a workgroup per head
//! and run of query tokens stages blocks of keys and values in workgroup memory once for all
//! its queries. Chosen by `kernels::attention::attention` where the tuning asks for it
//! (`Tuning::attention_tiled`, GPUs) and split-K attention does not take the batch.

use super::Dispatch;
use super::attention::{AttentionShape, params_buffer};
use super::kv::KvFormat;
use super::tensor::Tensor;
use crate::error::Result;
use crate::gpu::{GpuContext, Kernel, PipelineCache};

/// Threads per workgroup (shaders/attention_tiled.wgsl's `@workgroup_size`).
const THREADS: u32 = 64;

/// WebGPU's guaranteed workgroup memory: the tile stays within it on every device.
const MIN_WORKGROUP_BYTES: u32 = 16 * 1024;

/// The kernel's shape for heads of `head_dim` (a multiple of 4 up to 256, checked by the
/// caller) over a cache whose four elements take `quad_bytes`: threads per query (the
/// fewest, 1, 2 or 4, dividing the head's vec4s, that leave each thread at most 16 vec4s of
/// query and 16 of output in registers) and keys per staged block (the most, 32 down to 4,
/// whose tiles fit 16 KiB and the device's limit).
fn tile_shape(head_dim: u32, quad_bytes: u32, limits: &wgpu::Limits) -> (u32, u32) {
    let v4 = head_dim / 4;
    let dividing = [1, 2, 4].into_iter().filter(|l| v4 % l == 0);
    let lanes = dividing.clone().find(|l| v4 / l <= 16).unwrap_or_else(|| dividing.max().unwrap_or(1));
    let budget = MIN_WORKGROUP_BYTES.min(limits.max_compute_workgroup_storage_size);
    let bytes = |bk: u32| 2 * bk * v4 * quad_bytes + if lanes > 1 { THREADS * bk * 4 } else { 4 };
    let block_keys = [32, 16, 8, 4].into_iter().find(|&bk| bytes(bk) <= budget).unwrap_or(4);
    (lanes, block_keys)
}

/// The single dispatch of tiled attention for a batch; the shape is already checked.
pub(super) async fn attention_tiled(
    ctx: &GpuContext,
    cache: &PipelineCache,
    inputs: [wgpu::BindingResource<'_>; 3],
    kv: KvFormat,
    out: &Tensor,
    step: &wgpu::Buffer,
    shape: AttentionShape,
) -> Result<Vec<Dispatch>> {
    let AttentionShape { n_heads, head_dim, .. } = shape;
    let (lanes, block_keys) = tile_shape(head_dim, 4 * kv.precision.bytes() as u32, &ctx.limits);
    let u = params_buffer(ctx, shape);
    let [q, k, v] = inputs;
    let resources = [q, k, v, out.binding(), u.as_entire_binding(), step.as_entire_binding()];
    let queries = THREADS / lanes;
    let kernel = Kernel::AttentionTiled { head_dim, kv, lanes, block_keys };
    Ok(vec![Dispatch::per_batch(ctx, cache, kernel, &resources, move |n| [n_heads, n.div_ceil(queries), 1]).await?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_fit_webgpus_minimum_and_keep_registers_small() {
        let limits = wgpu::Limits::default();
        // SmolLM2 / Qwen2.5 (64), 128, Gemma 3 (256); f16 quads of 8 bytes, f32 of 16.
        assert_eq!(tile_shape(64, 8, &limits), (1, 32));
        assert_eq!(tile_shape(64, 16, &limits), (1, 16));
        assert_eq!(tile_shape(128, 8, &limits), (2, 16));
        assert_eq!(tile_shape(256, 8, &limits), (4, 8));
        assert_eq!(tile_shape(256, 16, &limits), (4, 4));
        // 24 vec4s: 2 lanes of 12; 17 vec4s: one lane holds them all.
        assert_eq!(tile_shape(96, 8, &limits).0, 2);
        assert_eq!(tile_shape(68, 8, &limits).0, 1);
    }
}
