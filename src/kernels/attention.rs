//! Causal grouped-query attention over the cache: shaders/attention.wgsl (a workgroup or a
//! thread per query), or on GPUs the split-K pair in src/kernels/attention_split.rs for small
//! batches and the tiled kernel in src/kernels/attention_tiled.rs for larger ones, as the
//! tuning says.

use super::attention_split::attention_split;
use super::attention_tiled::attention_tiled;
use super::kv::{KV_TEXEL_ELEMENTS, KvFormat, KvPrecision, KvStore};
use super::tensor::Tensor;
use super::{Dispatch, uniform};
use crate::error::{Error, Result};
use crate::gpu::{GpuContext, Kernel, PipelineCache};

wgsl_struct! {
    /// Mirrors `struct Params` in shaders/attention_common.wgsl.
    pub(crate) struct Params {
        n_heads: u32,
        n_kv_heads: u32,
        _pad0: u32,
        window: u32,
        scale: f32,
        _pad1: u32,
        _pad2: u32,
        _pad3: u32,
    }
}

/// The uniform of shaders/attention.wgsl and shaders/attention_tiled.wgsl for this shape.
pub(super) fn params_buffer(ctx: &GpuContext, shape: AttentionShape) -> wgpu::Buffer {
    let AttentionShape { n_heads, n_kv_heads, window, scale, .. } = shape;
    uniform(ctx, &Params { n_heads, n_kv_heads, window, scale, ..Default::default() })
}

/// Shapes of one attention layer.
#[derive(Clone, Copy, Debug)]
pub struct AttentionShape {
    pub n_heads: u32,
    pub n_kv_heads: u32,
    pub head_dim: u32,
    /// Sliding window in tokens (0: attend to the whole past).
    pub window: u32,
    pub scale: f32,
    /// The precision the cache stores keys and values in (where: the `KvStore` passed).
    pub kv: KvPrecision,
}

/// The largest head_dim whose thread-per-query kernels (`per_query`, `per_range`) keep the
/// row walks over a key's and a value's dims as loops; for larger heads the kernel's source
/// has them unrolled (src/gpu/pipelines.rs, `Kernel::must_unroll`). Why: llvmpipe (lavapipe)
/// stops every loop of an invocation once all its loops together have run 65,535 iterations
/// (LP_MAX_TGSI_LOOP_ITERATIONS, shared by every loop in a shader) and carries on with wrong
/// values, silently. Up to 64 dims LLVM unrolls the walks itself and only the key loop counts
/// (65,535 keys a thread); at 128 dims they counted and the output went wrong past ~1,000
/// keys, at 256 past ~500, which kept Gemma 3's heads on the workgroup kernel (`main`, 5-9x
/// slower in decode on lavapipe) until the source unrolled them. `main` runs ~200 iterations per 64
/// keys (~20,000 keys). tests/gpu/attention.rs checks the entry points past those lengths.
pub const PER_QUERY_ROLLED_MAX_HEAD_DIM: u32 = 64;

/// The most key ranges per query whose partial results fit the device's workgroup memory
/// (shaders/attention_per_range.wgsl: each range's output row, max and sum), a power of two:
/// Gemma 3's heads of 256 dims take 4 KiB a range, so 16 ranges would need just over the
/// 16 KiB WebGPU guarantees.
fn ranges_in_workgroup_memory(ctx: &GpuContext, head_dim: u32) -> u32 {
    let per_range = head_dim * 4 + 8;
    let fit = (ctx.limits.max_compute_workgroup_storage_size / per_range).max(1);
    1 << fit.ilog2()
}

/// The largest batch that takes split-K attention where the tuning asks for it
/// (`Tuning::attention_split_max`): decode, and chunks of a few tokens. Larger batches have
/// n_heads × n_tokens workgroups already, and their partial records would take
/// n_tokens × n_heads × ranges × (head_dim + 4) floats.
pub const SPLIT_MAX_TOKENS: u32 = 8;

/// The dispatches of one attention layer for batches of up to `max_tokens` queries: one, or
/// two for split-K attention (the partial pass and its merge).
#[allow(clippy::too_many_arguments)]
pub async fn attention(
    ctx: &GpuContext,
    cache: &PipelineCache,
    q: &Tensor,
    k_cache: &KvStore,
    v_cache: &KvStore,
    out: &Tensor,
    step: &wgpu::Buffer,
    shape: AttentionShape,
    max_tokens: u32,
) -> Result<Vec<Dispatch>> {
    let n_tokens = max_tokens;
    let AttentionShape { n_heads, n_kv_heads, head_dim, .. } = shape;
    if head_dim == 0 || head_dim > 256 || head_dim % 4 != 0 || n_kv_heads == 0 || n_heads % n_kv_heads != 0 {
        return Err(Error::InvalidArgument(format!(
            "unsupported attention shape {shape:?}: head_dim must be a multiple of 4 up to 256, and the heads whole groups of the kv heads"
        )));
    }
    q.expect("attention", "queries", n_tokens, n_heads * head_dim)?;
    out.expect("attention", "output", n_tokens, n_heads * head_dim)?;
    if k_cache.bytes() != v_cache.bytes() || k_cache.is_texels() != v_cache.is_texels() {
        return Err(Error::InvalidArgument(format!("attention {shape:?}: key and value caches of different sizes or stores")));
    }
    k_cache.expect("attention", shape.kv, n_kv_heads * head_dim, 1)?;
    // A texel holds 8 elements: every head must start on one (k_load reads whole texels).
    if k_cache.is_texels() && head_dim % KV_TEXEL_ELEMENTS != 0 {
        return Err(Error::InvalidArgument(format!("attention {shape:?}: a texel cache needs heads of a multiple of 8 dims")));
    }
    let kv = KvFormat::of(shape.kv, k_cache);
    let inputs = [q.binding(), k_cache.binding(), v_cache.binding()];
    if ctx.tuning.attention_split_max > 0 && max_tokens <= SPLIT_MAX_TOKENS {
        return attention_split(ctx, cache, inputs, kv, out, step, shape, max_tokens).await;
    }
    let thread_per_query = ctx.tuning.attention_thread_per_query && head_dim <= ctx.tuning.attention_per_query_max_head_dim;
    if ctx.tuning.attention_tiled && !thread_per_query {
        return attention_tiled(ctx, cache, inputs, kv, out, step, shape).await;
    }
    // Decode with a thread per query: several threads per query, a key range each
    // (`Tuning::attention_query_ranges`, shaders/attention_per_range.wgsl).
    let query_ranges = if thread_per_query && max_tokens <= SPLIT_MAX_TOKENS { ctx.tuning.attention_query_ranges } else { 0 };
    if query_ranges > 64 || !(query_ranges == 0 || query_ranges.is_power_of_two()) {
        return Err(Error::InvalidArgument(format!(
            "attention: {query_ranges} threads per query (Tuning::attention_query_ranges), expected 0 or a power of two up to 64"
        )));
    }
    // A thread's keys (or range of them) for all the queries of a kv head
    // (`Tuning::attention_group_queries`, shaders/attention_kv_group.wgsl) where heads share kv
    // heads, a thread can hold their rows (heads of up to 64 dims, at most 8 of them) and any
    // ranges' rows fit the workgroup memory.
    let group = n_heads / n_kv_heads;
    let group = if ctx.tuning.attention_group_queries
        && thread_per_query
        && (2..=8).contains(&group)
        && head_dim <= PER_QUERY_ROLLED_MAX_HEAD_DIM
        && query_ranges * group * (head_dim * 4 + 8) <= ctx.limits.max_compute_workgroup_storage_size
    {
        group
    } else {
        1
    };
    let query_ranges = if group > 1 { query_ranges } else { query_ranges.min(ranges_in_workgroup_memory(ctx, head_dim)) };
    let u = params_buffer(ctx, shape);
    let [q, k, v] = inputs;
    let resources = [q, k, v, out.binding(), u.as_entire_binding(), step.as_entire_binding()];
    let grid = move |n: u32| match (query_ranges, thread_per_query) {
        (1.., _) => [n * n_heads / group, 1, 1],
        (0, true) if group > 1 => [(n * n_heads / group).div_ceil(16), 1, 1],
        (0, true) => [(n * n_heads).div_ceil(64), 1, 1],
        (0, false) => [n_heads, n, 1],
    };
    let kernel = Kernel::Attention { head_dim, thread_per_query, query_ranges, group, kv };
    Ok(vec![Dispatch::per_batch(ctx, cache, kernel, &resources, grid).await?])
}
