//! Launcher for shaders/argmax.wgsl: greedy sampling on the GPU, so a decode step reads
//! back one token id instead of the logits.

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

/// Which row of `x` the argmax scans.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgmaxRow {
    /// This row.
    At(u32),
    /// The batch's last row (`x` holds one row per token).
    LastOfBatch,
}

/// `out[0]` = the index of the largest value of a row of `x`, ties to the lowest index; the
/// batch's token count comes from `step`.
pub async fn argmax(
    ctx: &GpuContext,
    cache: &PipelineCache,
    x: &Tensor,
    row: ArgmaxRow,
    out: &wgpu::Buffer,
    step: &wgpu::Buffer,
) -> Result<Dispatch> {
    let n = x.width;
    let (offset, row_stride) = match row {
        ArgmaxRow::At(r) => {
            x.expect("argmax", "input", r + 1, n)?;
            (r * n, 0)
        }
        ArgmaxRow::LastOfBatch => (0, n),
    };
    let u = uniform(ctx, &Params { n, offset, row_stride, ..Default::default() });
    let resources = [x.binding(), out.as_entire_binding(), u.as_entire_binding(), step.as_entire_binding()];
    Dispatch::new(ctx, cache, Kernel::Argmax, &resources, [1, 1, 1]).await
}
