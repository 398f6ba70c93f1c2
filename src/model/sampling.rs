//! Sampling on the GPU inside the model's own passes: the GPU sampler (src/kernels/sample.rs)
//! bound once, at load, to the last logits row that the prefill and decode graphs share,
//! writing its id to a one-element buffer. A prefill or decode step records the graph, then
//! the sampler, and reads back (or, in a decode chain, feeds forward) that id, so a sampled
//! request moves 4 bytes per token instead of a logits row.

use super::arena::Arena;
use crate::error::Result;
use crate::gpu::{GpuContext, PipelineCache};
use crate::kernels::Dispatch;
use crate::kernels::sample::{GpuSampler, MAX_VOCAB};

pub struct Sampling {
    pub sampler: GpuSampler,
    pub dispatch: Dispatch,
    /// `[1]` u32: the id the last sampler dispatch picked (or `SENTINEL`).
    pub out: wgpu::Buffer,
}

impl Sampling {
    /// The sampler for this arena's last logits row; `None` for vocabularies it does not
    /// take (over `MAX_VOCAB`), which then sample on the CPU.
    pub async fn new(ctx: &GpuContext, pipelines: &PipelineCache, arena: &Arena, vocab: u32) -> Result<Option<Sampling>> {
        if vocab > MAX_VOCAB {
            return Ok(None);
        }
        let sampler = GpuSampler::new(ctx, vocab)?;
        let out = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("sampled id"),
            size: 4,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let dispatch = sampler.dispatch(ctx, pipelines, &arena.logits_last.buffer, 0, &out, 0).await?.named("sample");
        Ok(Some(Sampling { sampler, dispatch, out }))
    }

    /// Records step record `j`'s copy into the sampler's uniform (before the forward pass).
    pub fn before(&self, encoder: &mut wgpu::CommandEncoder, j: usize) {
        self.sampler.copy_step(encoder, j);
    }

    /// Records the sampler dispatch (after the forward pass).
    pub fn after(&self, encoder: &mut wgpu::CommandEncoder) {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        self.dispatch.record(&mut pass, 1);
    }
}
