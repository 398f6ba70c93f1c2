//! One launcher per shader family, 1:1 with `shaders/`: each owns its params struct
//! (mirroring the WGSL `struct Params`), builds bind groups at load time, and records its
//! dispatches into a caller's compute pass.

pub mod matmul;

/// Splits a workgroup count over x and y so neither exceeds WebGPU's 65,535 per dimension
/// (the kernels rebuild the index as `x + y * num_workgroups.x`).
pub(crate) fn split_groups(n: u32) -> (u32, u32) {
    const MAX: u32 = 65_535;
    if n <= MAX { (n.max(1), 1) } else { (MAX, n.div_ceil(MAX)) }
}
