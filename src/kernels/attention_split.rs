//! Launcher for split-K ("flash-decoding") attention: shaders/attention_split.wgsl computes
//! a partial softmax per (head, key range, token) in parallel workgroups, and
//! shaders/attention_split_merge.wgsl combines each query's ranges. Two dispatches where the
//! unsplit kernel takes one; chosen by `kernels::attention::attention` from the tuning.

use super::attention::AttentionShape;
use super::kv::KvFormat;
use super::tensor::Tensor;
use super::{Dispatch, uniform};
use crate::error::{Error, Result};
use crate::gpu::{GpuContext, Kernel, PipelineCache};

wgsl_struct! {
    /// Mirrors `struct Params` in shaders/attention_split_range.wgsl (both passes read it).
    pub(crate) struct Params {
        n_heads: u32,
        n_kv_heads: u32,
        window: u32,
        scale: f32,
        max_splits: u32,
        min_keys: u32,
        _pad0: u32,
        _pad1: u32,
    }
}

/// The most ranges per query `Tuning::attention_split_max` may ask for: the merge walks its
/// query's records in series, and beyond a few hundred ranges it would cost more than the
/// ranges save.
pub const MAX_SPLITS: u32 = 256;

/// The partial pass and the merge for batches of up to `max_tokens` queries, each cut into at
/// most `Tuning::attention_split_max` key ranges of at least `attention_split_min_keys` keys.
/// `inputs` binds the queries, the key cache and the value cache (stored as `kv` says); the
/// shape is already checked.
/// On lavapipe (its 65,535 loop iterations per invocation, see
/// `attention::PER_QUERY_ROLLED_MAX_HEAD_DIM`) a range costs ~140 iterations per 64 keys, so ranges
/// stay correct up to ~30,000 keys: contexts of 30,000 × the ranges.
#[allow(clippy::too_many_arguments)]
pub(super) async fn attention_split(
    ctx: &GpuContext,
    cache: &PipelineCache,
    inputs: [wgpu::BindingResource<'_>; 3],
    kv: KvFormat,
    out: &Tensor,
    step: &wgpu::Buffer,
    shape: AttentionShape,
    max_tokens: u32,
) -> Result<Vec<Dispatch>> {
    let AttentionShape { n_heads, n_kv_heads, head_dim, .. } = shape;
    let (max_splits, min_keys) = (ctx.tuning.attention_split_max, ctx.tuning.attention_split_min_keys);
    if !(1..=MAX_SPLITS).contains(&max_splits) {
        return Err(Error::InvalidArgument(format!("split attention: {max_splits} key ranges per query, expected 1 to {MAX_SPLITS}")));
    }
    // One record per (token, head, range): head_dim / 4 vec4s of values and one of (max, sum).
    let record_bytes = u64::from(head_dim / 4 + 1) * 16;
    let bytes = u64::from(max_tokens) * u64::from(n_heads) * u64::from(max_splits) * record_bytes;
    if bytes > ctx.max_storage_binding {
        return Err(Error::InvalidArgument(format!(
            "split attention {shape:?}: {bytes} bytes of partial results for {max_tokens} tokens × {max_splits} ranges, over the device's {}-byte binding limit",
            ctx.max_storage_binding
        )));
    }
    let partials = ctx.f32_buffer("attention partials", (bytes / 4) as usize);
    let params = Params {
        n_heads,
        n_kv_heads,
        window: shape.window,
        scale: shape.scale,
        max_splits,
        min_keys: min_keys.max(1),
        ..Default::default()
    };
    let u = uniform(ctx, &params);
    let [q, k, v] = inputs;
    let split_resources = [q, k, v, partials.as_entire_binding(), u.as_entire_binding(), step.as_entire_binding()];
    let split = Kernel::AttentionSplit { head_dim, kv };
    let split = Dispatch::per_batch(ctx, cache, split, &split_resources, move |n| [n_heads, max_splits, n]).await?;
    let merge_resources = [partials.as_entire_binding(), out.binding(), u.as_entire_binding(), step.as_entire_binding()];
    let merge = Kernel::AttentionSplitMerge { head_dim };
    let merge = Dispatch::per_batch(ctx, cache, merge, &merge_resources, move |n| [n_heads, n, 1]).await?;
    Ok(vec![split, merge])
}
