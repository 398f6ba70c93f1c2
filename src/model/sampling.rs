//! Sampling on the GPU inside the model's own passes: the GPU sampler (src/kernels/sample.rs)
//! bound once, at load, to the last logits row that the prefill and decode graphs share,
//! writing its id to a one-element buffer. A prefill or decode step records the graph, then
//! the sampler, and reads back (or, in a decode chain, feeds forward) that id, so a sampled
//! request moves 4 bytes per token instead of a logits row; with logprobs asked for, also
//! each step's (1 + top_logprobs) (id, logprob) pairs.

use std::cell::Cell;

use super::arena::Arena;
use crate::error::Result;
use crate::gpu::{GpuContext, PipelineCache};
use crate::kernels::Dispatch;
use crate::kernels::sample::{GpuSampler, MAX_VOCAB};
use crate::sample::TokenLogprobs;

pub struct Sampling {
    pub sampler: GpuSampler,
    pub dispatch: Dispatch,
    /// `[1]` u32: the id the last sampler dispatch picked (or `SENTINEL`).
    pub out: wgpu::Buffer,
    /// The logprobs records of the steps of the last submission, copied out by `after`.
    logprobs_staging: wgpu::Buffer,
    /// Steps recorded into the current submission so far (set by `before`): `after` copies
    /// that many logprobs records, so the last step's copy holds the whole chain's.
    steps: Cell<usize>,
}

impl Sampling {
    /// The sampler for this arena's last logits row; `None` for vocabularies it does not
    /// take (over `MAX_VOCAB`), which then sample on the CPU.
    pub async fn new(ctx: &GpuContext, pipelines: &PipelineCache, arena: &Arena, vocab: u32) -> Result<Option<Sampling>> {
        if vocab > MAX_VOCAB {
            return Ok(None);
        }
        let sampler = GpuSampler::new(ctx, vocab)?;
        let out = ctx.create_buffer(&wgpu::BufferDescriptor {
            label: Some("sampled id"),
            size: 4,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let logprobs_staging = ctx.create_buffer(&wgpu::BufferDescriptor {
            label: Some("sampled logprobs staging"),
            size: GpuSampler::LOGPROBS_STAGING_BYTES,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let dispatch = sampler.dispatch(ctx, pipelines, &arena.logits_last.buffer, 0, &out, 0).await?.named("sample");
        Ok(Some(Sampling { sampler, dispatch, out, logprobs_staging, steps: Cell::new(0) }))
    }

    /// Records step record `j`'s copy into the sampler's uniform (before the forward pass).
    pub fn before(&self, encoder: &mut wgpu::CommandEncoder, j: usize) {
        self.sampler.copy_step(encoder, j);
        self.steps.set(j + 1);
    }

    /// Records the sampler dispatch (after the forward pass), and with logprobs on the copy
    /// of the records written so far in this submission to the staging buffer (a few hundred
    /// bytes on the GPU; the CPU maps only what `read_logprobs` asks for).
    pub fn after(&self, encoder: &mut wgpu::CommandEncoder) {
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            self.dispatch.record(&mut pass, 1);
        }
        self.sampler.copy_logprobs(encoder, self.steps.get(), &self.logprobs_staging);
    }

    /// The logprobs of the first `steps` steps of the last submission (empty when the
    /// request did not ask for them), and the bytes read back. Call after the submission's
    /// ids were read (the GPU is done with it).
    pub async fn read_logprobs(&self, ctx: &GpuContext, steps: usize) -> Result<(Vec<TokenLogprobs>, u64)> {
        let Some(words) = self.sampler.logprob_words() else { return Ok((Vec::new(), 0)) };
        let bytes = steps as u64 * u64::from(words) * 4;
        let data = ctx.map_read_prefix(&self.logprobs_staging, bytes).await?;
        Ok((self.sampler.parse_logprobs(&bytemuck::pod_collect_to_vec(&data)), bytes))
    }
}
