//! Launcher for shaders/argmax.wgsl: greedy sampling on the GPU, so a decode step reads
//! back one token id instead of the logits.

use bytemuck::{Pod, Zeroable};

use super::{Dispatch, uniform};
use crate::error::Result;
use crate::gpu::{GpuContext, Kernel, PipelineCache};

/// Mirrors `struct Params` in shaders/argmax.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
struct Params {
    n: u32,
    offset: u32,
    _pad: [u32; 2],
}
const _: () = assert!(std::mem::size_of::<Params>() == 16);

/// `out[0] = argmax(x[offset .. offset + n])` (index relative to `offset`), ties to the
/// lowest index.
pub async fn argmax(
    ctx: &GpuContext,
    cache: &PipelineCache,
    x: &wgpu::Buffer,
    offset: u32,
    out: &wgpu::Buffer,
    n: u32,
) -> Result<Dispatch> {
    let u = uniform(ctx, &Params { n, offset, _pad: [0; 2] });
    let resources = [x.as_entire_binding(), out.as_entire_binding(), u.as_entire_binding()];
    Dispatch::new(ctx, cache, Kernel::Argmax, &resources, [1, 1, 1]).await
}
