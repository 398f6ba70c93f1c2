//! The per-step uniform (shaders/step.wgsl): where a forward pass's batch starts and how
//! many tokens it has. Every token-dependent kernel binds it, and recording a dispatch sizes
//! its workgroup grid from the same count, so a graph built once (at load, over activation
//! buffers for the largest batch) runs any batch up to that size: nothing is created per
//! prompt length or per token; only this uniform is written (or copied, in a decode chain).

wgsl_struct! {
    /// Mirrors `struct Step` in shaders/step.wgsl: `pos0` is the position of the batch's
    /// first token in the sequence, `n_tokens` the tokens in the batch (1 for decode).
    pub struct Step {
        pub pos0: u32,
        pub n_tokens: u32,
        pub _pad0: u32,
        pub _pad1: u32,
    }
}

impl Step {
    pub fn new(pos0: u32, n_tokens: u32) -> Step {
        Step { pos0, n_tokens, _pad0: 0, _pad1: 0 }
    }
}

/// The step uniform's buffer: written with `queue.write_buffer` before a run, or filled by
/// a copy inside a command buffer (decode chains).
pub fn step_uniform(ctx: &crate::gpu::GpuContext) -> wgpu::Buffer {
    ctx.create_buffer(&wgpu::BufferDescriptor {
        label: Some("step"),
        size: std::mem::size_of::<Step>() as u64,
        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}
