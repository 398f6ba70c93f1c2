//! Launcher for shaders/argmax.wgsl and argmax_merge.wgsl: greedy sampling on the GPU, so a
//! decode step reads back one token id instead of the logits. Two dispatches: every
//! workgroup's best of its span of the row, then the best of those.

use super::tensor::Tensor;
use super::{Dispatch, uniform};
use crate::error::Result;
use crate::gpu::{GpuContext, Kernel, PipelineCache};

wgsl_struct! {
    /// Mirrors `struct Params` in shaders/argmax.wgsl.
    pub(crate) struct Params {
        n: u32,
        offset: u32,
        row_stride: u32,
        _pad0: u32,
    }
}

wgsl_struct! {
    /// Mirrors `struct Params` in shaders/argmax_merge.wgsl.
    pub(crate) struct MergeParams {
        groups: u32,
        _pad0: u32,
        _pad1: u32,
        _pad2: u32,
    }
}

/// Which row of `x` the argmax scans.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgmaxRow {
    /// This row.
    At(u32),
    /// The batch's last row (`x` holds one row per token).
    LastOfBatch,
}

/// Words of the mask buffer an argmax over `n` values reads: a flag, then one bit per value.
pub fn mask_words(n: u32) -> u32 {
    1 + n.div_ceil(32)
}

/// `out[0]` = the index of the largest value of a row of `x` that `mask` allows (word 0: 0 =
/// every index; else bit i % 32 of word 1 + i / 32), ties to the lowest index; the batch's
/// token count comes from `step`. Makes the first pass's scratch buffer (8 bytes a workgroup).
/// With no allowed index the result is `u32::MAX`.
pub async fn argmax(
    ctx: &GpuContext,
    cache: &PipelineCache,
    x: &Tensor,
    row: ArgmaxRow,
    out: &wgpu::Buffer,
    step: &wgpu::Buffer,
    mask: &wgpu::Buffer,
) -> Result<Vec<Dispatch>> {
    let n = x.width;
    let (offset, row_stride) = match row {
        ArgmaxRow::At(r) => {
            x.expect("argmax", "input", r + 1, n)?;
            (r * n, 0)
        }
        ArgmaxRow::LastOfBatch => (0, n),
    };
    let (workgroup_size, per_thread) = (ctx.tuning.argmax_workgroup_size, ctx.tuning.argmax_per_thread);
    // Values per thread at most 4,096: the loop over them stays far below llvmpipe's
    // 65,535-iteration limit per invocation (see PER_QUERY_ROLLED_MAX_HEAD_DIM in attention.rs).
    if !workgroup_size.is_power_of_two() || !(1..=256).contains(&workgroup_size) || !(1..=4096).contains(&per_thread) {
        return Err(crate::error::Error::InvalidArgument(format!(
            "argmax: workgroup size {workgroup_size} must be a power of two up to 256 and values per thread {per_thread} from 1 to 4096"
        )));
    }
    // Elements of the row one first-pass workgroup reads (`SPAN` in shaders/argmax.wgsl).
    let groups = n.div_ceil(workgroup_size * per_thread).max(1);
    // Through the context, so the model's unload destroys it (see GpuContext::create_buffer).
    let part = ctx.create_buffer(&wgpu::BufferDescriptor {
        label: Some("argmax part"),
        size: u64::from(groups) * 8,
        usage: wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    });
    let u = uniform(ctx, &Params { n, offset, row_stride, ..Default::default() });
    if mask.size() < u64::from(mask_words(n)) * 4 {
        return Err(crate::error::Error::InvalidArgument(format!(
            "argmax over {n} values needs a {}-byte mask buffer, got {}",
            mask_words(n) * 4,
            mask.size()
        )));
    }
    let resources = [x.binding(), part.as_entire_binding(), u.as_entire_binding(), step.as_entire_binding(), mask.as_entire_binding()];
    let first = Dispatch::new(ctx, cache, Kernel::Argmax { workgroup_size, per_thread }, &resources, [groups, 1, 1]).await?;
    let mu = uniform(ctx, &MergeParams { groups, ..Default::default() });
    let resources = [part.as_entire_binding(), out.as_entire_binding(), mu.as_entire_binding()];
    let merge = Dispatch::new(ctx, cache, Kernel::ArgmaxMerge { workgroup_size }, &resources, [1, 1, 1]).await?;
    Ok(vec![first, merge])
}
