//! Launcher for shaders/bias.wgsl: adds a bias vector to every row of a matrix.

use bytemuck::{Pod, Zeroable};

use super::{Dispatch, split_groups, uniform};
use crate::error::{Error, Result};
use crate::gpu::{GpuContext, Kernel, PipelineCache};

/// Mirrors `struct Params` in shaders/bias.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
struct Params {
    n: u32,
    width: u32,
    groups_x: u32,
    _pad: u32,
}
const _: () = assert!(std::mem::size_of::<Params>() == 16);

/// `y[r, :] += bias` for `n_rows` rows of `bias`'s length (`width` f32s).
pub async fn add_bias(
    ctx: &GpuContext,
    cache: &PipelineCache,
    y: &wgpu::Buffer,
    bias: &wgpu::Buffer,
    width: u32,
    n_rows: u32,
) -> Result<Dispatch> {
    let n = width.checked_mul(n_rows).filter(|&n| width > 0 && u64::from(n) * 4 <= y.size());
    let Some(n) = n.filter(|_| u64::from(width) * 4 <= bias.size()) else {
        return Err(Error::InvalidArgument(format!(
            "bias add: {n_rows} rows of {width} do not fit a {}-byte output and a {}-byte bias",
            y.size(),
            bias.size()
        )));
    };
    let (gx, gy) = split_groups(n.div_ceil(64));
    let u = uniform(ctx, &Params { n, width, groups_x: gx, _pad: 0 });
    let resources = [y.as_entire_binding(), bias.as_entire_binding(), u.as_entire_binding()];
    Dispatch::new(ctx, cache, Kernel::Bias, &resources, [gx, gy, 1]).await
}
