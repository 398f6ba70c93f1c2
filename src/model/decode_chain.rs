//! Greedy decode of several tokens per GPU round trip. The one-token decode graph is recorded
//! `k` times into one command buffer; between two steps, copies move the step's argmax into
//! the graph's input id (the next step's token) and into slot `j` of an output array, and the
//! next step's position into the per-step uniform. The CPU waits once and reads `k` ids.
//!
//! Why: a submit-and-wait costs ~0.5 ms in Chrome and ~100 ms in Firefox (its completion
//! poll), so one round trip per token caps a small model's speed there, whatever the GPU.
//! The engine (src/engine/mod.rs) consumes the ids one by one, applying stops as before, and
//! rewinds the KV cache past a stop that falls inside a chain. A sampled chain whose request
//! asked for logprobs also leaves each step's (1 + top_logprobs) pairs in the sampler's
//! staging buffer (`Sampling::after` copies them), read once after the ids
//! (`Model::sampled_logprobs`).

use super::graph::Graph;
use super::sampling::Sampling;
use super::stats::GpuStats;
use crate::error::Result;
use crate::gpu::GpuContext;
use crate::kernels::step::Step;

/// The most decode steps recorded into one submission.
pub const MAX_DECODE_CHAIN: u32 = 16;

/// Buffers of the chain, allocated once per model: the positions of up to
/// `MAX_DECODE_CHAIN` steps, the ids they produce, and the readback of those ids.
pub struct DecodeChain {
    /// `[MAX_DECODE_CHAIN]` `Step` uniforms; step j's is copied into the graph's uniform.
    steps: wgpu::Buffer,
    /// `[MAX_DECODE_CHAIN]` u32: the argmax of each step.
    out_ids: wgpu::Buffer,
    out_staging: wgpu::Buffer,
}

const STEP_BYTES: u64 = std::mem::size_of::<Step>() as u64;

impl DecodeChain {
    pub fn new(ctx: &GpuContext) -> DecodeChain {
        let buffer = |label: &str, size: u64, usage: wgpu::BufferUsages| {
            ctx.create_buffer(&wgpu::BufferDescriptor { label: Some(label), size, usage, mapped_at_creation: false })
        };
        let n = u64::from(MAX_DECODE_CHAIN);
        DecodeChain {
            steps: buffer("decode chain steps", n * STEP_BYTES, wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST),
            out_ids: buffer("decode chain ids", n * 4, wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST),
            out_staging: buffer("decode chain ids staging", n * 4, wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST),
        }
    }

    /// Runs `decode` (the one-token, last-logits graph) `k` times in one submission: step j
    /// reads its token at position `pos0 + j`, the first being `first` and each next one the
    /// argmax of the step before, or with `sample` the GPU sampler's pick (step records
    /// 0..k, written by the caller). Returns the `k` ids.
    #[allow(clippy::too_many_arguments)]
    pub async fn run(
        &self,
        ctx: &GpuContext,
        decode: &Graph,
        step_uniform: &wgpu::Buffer,
        first: u32,
        pos0: u32,
        k: u32,
        sample: Option<&Sampling>,
        stats: &mut GpuStats,
    ) -> Result<Vec<u32>> {
        let encode_start = web_time::Instant::now();
        assert!(decode.capacity == 1 && (1..=MAX_DECODE_CHAIN).contains(&k), "a decode chain is 1..=16 steps of the one-token graph");
        let steps: Vec<Step> = (0..k).map(|j| Step::new(pos0 + j, 1)).collect();
        ctx.queue.write_buffer(&self.steps, 0, bytemuck::cast_slice(&steps));
        ctx.queue.write_buffer(&decode.ids, 0, bytemuck::bytes_of(&first));
        let mut encoder = ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("decode chain") });
        for j in 0..u64::from(k) {
            encoder.copy_buffer_to_buffer(&self.steps, j * STEP_BYTES, step_uniform, 0, STEP_BYTES);
            if let Some(s) = sample {
                s.before(&mut encoder, j as usize);
            }
            decode.record(&mut encoder, 1);
            let picked = match sample {
                Some(s) => {
                    s.after(&mut encoder);
                    &s.out
                }
                None => decode.argmax_out(),
            };
            // The pick is both this step's output and the next step's input token.
            encoder.copy_buffer_to_buffer(picked, 0, &self.out_ids, j * 4, 4);
            encoder.copy_buffer_to_buffer(picked, 0, &decode.ids, 0, 4);
        }
        let bytes = u64::from(k) * 4;
        encoder.copy_buffer_to_buffer(&self.out_ids, 0, &self.out_staging, 0, bytes);
        ctx.queue.submit([encoder.finish()]);
        stats.encode_seconds += encode_start.elapsed().as_secs_f64();
        stats.forward_passes += u64::from(k);
        stats.tokens += u64::from(k);
        stats.round_trips += 1;
        stats.dispatches += u64::from(k) * (decode.dispatch_count(1) as u64 + u64::from(sample.is_some()));
        stats.bytes_read_back += bytes;
        let data = ctx.map_read(&self.out_staging).await?;
        Ok(bytemuck::pod_collect_to_vec(&data[..bytes as usize]))
    }
}
