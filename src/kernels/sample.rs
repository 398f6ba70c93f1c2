//! Launcher for shaders/sample.wgsl: the whole CPU [`Sampler`](crate::sample::Sampler) on
//! the GPU, so a decode step reads back one token id and a decode chain can feed it to the
//! next step without a round trip.
//!
//! Use, per model: [`GpuSampler::new`] once (buffers are allocated once), a
//! [`GpuSampler::dispatch`] per logits row it samples from (built once, with the graph).
//! Per request: [`GpuSampler::supports`] (else sample on the CPU), then
//! [`GpuSampler::begin_request`] with the history the CPU sampler would get, and
//! optionally [`GpuSampler::set_mask`]. Per chain of k steps: [`GpuSampler::write_steps`]
//! with k uniforms pre-drawn from the request's CPU `Sampler`
//! ([`Sampler::next_uniform`](crate::sample::Sampler::next_uniform)), then for step j
//! record [`GpuSampler::copy_step`]`(j)` → the forward graph → the sampler dispatch. The ids
//! equal the CPU sampler's for the same seed (see the shader header for the rounding cases).
//!
//! Log-probabilities (a request with `logprobs`): step j also writes record j of the
//! logprobs buffer, `2 * (1 + top_logprobs)` words ([`GpuSampler::logprob_words`]): the
//! drawn id and its logprob, then the top ids and theirs (f32 bits). Copy them out with
//! [`GpuSampler::copy_logprobs`] and decode with [`GpuSampler::parse_logprobs`]; the values
//! are those of [`sample::logprobs`](crate::sample::logprobs) on the same row.
//!
//! Errors: the kernel writes [`SENTINEL`] instead of an id (and every later step of the
//! chain does too); [`GpuSampler::check`] turns it into the `Error::InvalidArgument` the
//! CPU sampler would have returned.

use std::cell::Cell;

use super::Dispatch;
use crate::error::{Error, Result};
use crate::gpu::{GpuContext, Kernel, PipelineCache};
use crate::sample::{MAX_TOP_LOGPROBS, SamplingParams, TokenLogprobs, all_masked, bad_logit};

/// The id the kernel writes when it cannot sample (see [`GpuSampler::check`]).
pub const SENTINEL: u32 = u32::MAX;
/// Longest penalty window (`penalty_last_n`) the GPU sampler handles.
pub const MAX_PENALTY_WINDOW: u32 = 1024;
/// Slots of the history ring: the window plus the steps of one chain.
pub const HISTORY_CAP: u32 = MAX_PENALTY_WINDOW + MAX_STEPS as u32;
/// Most per-step records (steps of one decode chain).
pub const MAX_STEPS: usize = 16;
/// Most `logit_bias` entries.
pub const MAX_BIAS: usize = 1024;
/// Largest vocabulary. Masses are 64-bit fixed point with 44 fraction bits, so a sum of up
/// to 2^20 weights of at most 1 stays below 2^64; the tighter bound is llvmpipe's (lavapipe)
/// cap of 65,535 loop iterations per invocation, which the ~110 passes of a request with
/// every filter on would pass somewhere above 350k tokens (Gemma 3's 262,144 is tested).
pub const MAX_VOCAB: u32 = 1 << 19;

const FLAG_MASK: u32 = 1;
const FLAG_PENALTIES: u32 = 2;
const FLAG_TOP_P: u32 = 4;
const FLAG_MIN_P: u32 = 8;
const FLAG_LOGPROBS: u32 = 16;
/// Words of the logprobs buffer per step at most: (id, logprob) for the drawn token and up to
/// `MAX_TOP_LOGPROBS` alternatives.
const MAX_LOGPROB_WORDS: u64 = 2 * (1 + MAX_TOP_LOGPROBS as u64);

wgsl_struct! {
    /// Mirrors `struct Place` in shaders/sample.wgsl: where one dispatch reads the logits and
    /// writes the id (in elements).
    pub(crate) struct Place {
        logits_offset: u32,
        out_offset: u32,
        _pad0: u32,
        _pad1: u32,
    }
}
const _: () = assert!(std::mem::size_of::<Place>() == 16);

wgsl_struct! {
    /// Mirrors `struct Params` in shaders/sample.wgsl: one request's settings. `flags` holds
    /// FLAG_*; `top_p_lo`/`top_p_hi` are top_p as a 64-bit fraction (floor(top_p * 2^64)).
    pub(crate) struct Params {
        vocab: u32,
        top_k: u32,
        bias_count: u32,
        flags: u32,
        temperature: f32,
        min_p_ln: f32,
        repetition_penalty: f32,
        frequency_penalty: f32,
        presence_penalty: f32,
        top_p_lo: u32,
        top_p_hi: u32,
        top_logprobs: u32,
    }
}
const _: () = assert!(std::mem::size_of::<Params>() == 48);

wgsl_struct! {
    /// Mirrors `struct SampleStep` in shaders/sample.wgsl: one step of a chain. The uniform
    /// as a 64-bit fraction (lo, hi words); the penalty window, `window_len` history-ring
    /// slots from `window_start`; the ring slot the sampled id goes to; the logprobs record
    /// the step writes (its index in the chain).
    pub(crate) struct SampleStep {
        u_lo: u32,
        u_hi: u32,
        window_start: u32,
        window_len: u32,
        out_slot: u32,
        lp_slot: u32,
        _pad1: u32,
        _pad2: u32,
    }
}
const _: () = assert!(std::mem::size_of::<SampleStep>() == 32);
const STEP_SIZE: u64 = std::mem::size_of::<SampleStep>() as u64;

/// The GPU sampler of one model: its buffers, and the request's state needed to place
/// chained steps in the history ring.
pub struct GpuSampler {
    vocab: u32,
    params: wgpu::Buffer,
    step: wgpu::Buffer,
    steps: wgpu::Buffer,
    work: wgpu::Buffer,
    history: wgpu::Buffer,
    bias: wgpu::Buffer,
    mask: wgpu::Buffer,
    status: wgpu::Buffer,
    /// `[MAX_STEPS * MAX_LOGPROB_WORDS]` u32: each chain step's logprobs record.
    logprobs: wgpu::Buffer,
    /// The params last written (set_mask rewrites them with the mask flag).
    current: Cell<Params>,
    /// Ids written to the ring by begin_request, and the penalty window (0: no penalties).
    history_len: Cell<u32>,
    window: Cell<u32>,
}

impl GpuSampler {
    /// Allocates the buffers for a vocabulary of `vocab` tokens (1 ..= [`MAX_VOCAB`]).
    pub fn new(ctx: &GpuContext, vocab: u32) -> Result<GpuSampler> {
        if vocab == 0 || vocab > MAX_VOCAB {
            return Err(Error::InvalidArgument(format!("GPU sampler: vocabulary of {vocab}, allowed: 1 ..= {MAX_VOCAB}")));
        }
        let buffer = |label: &str, size: u64, usage: wgpu::BufferUsages| {
            ctx.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size,
                usage: usage | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        };
        use wgpu::BufferUsages as U;
        let status = buffer("sample status", 16, U::STORAGE | U::COPY_SRC);
        Ok(GpuSampler {
            vocab,
            params: buffer("sample params", std::mem::size_of::<Params>() as u64, U::UNIFORM),
            step: buffer("sample step", STEP_SIZE, U::UNIFORM),
            steps: buffer("sample steps", STEP_SIZE * MAX_STEPS as u64, U::COPY_SRC),
            work: buffer("sample work", u64::from(vocab.div_ceil(4)) * 16, U::STORAGE),
            history: buffer("sample history", u64::from(HISTORY_CAP) * 4, U::STORAGE | U::COPY_SRC),
            bias: buffer("sample bias", MAX_BIAS as u64 * 8, U::STORAGE),
            mask: buffer("sample mask", u64::from(vocab.div_ceil(32)) * 4, U::STORAGE),
            status,
            logprobs: buffer("sample logprobs", MAX_STEPS as u64 * MAX_LOGPROB_WORDS * 4, U::STORAGE | U::COPY_SRC),
            current: Cell::new(Params::default()),
            history_len: Cell::new(0),
            window: Cell::new(0),
        })
    }

    pub fn vocab(&self) -> u32 {
        self.vocab
    }

    /// Whether the GPU sampler can run these (valid) parameters; if not, sample on the CPU.
    /// It cannot when the penalties are on with `penalty_last_n` over
    /// [`MAX_PENALTY_WINDOW`], or with more than [`MAX_BIAS`] `logit_bias` entries.
    pub fn supports(params: &SamplingParams) -> bool {
        (penalty_window(params) <= MAX_PENALTY_WINDOW) && params.logit_bias.len() <= MAX_BIAS
    }

    /// Builds the dispatch that samples from `logits[logits_offset ..][.. vocab]` (f32) and
    /// writes the id to `out_id[out_offset]` (u32 elements), and to the history ring.
    /// `out_id` must be a storage buffer; the dispatch's grid is (1, 1, 1).
    pub async fn dispatch(
        &self,
        ctx: &GpuContext,
        cache: &PipelineCache,
        logits: &wgpu::Buffer,
        logits_offset: u32,
        out_id: &wgpu::Buffer,
        out_offset: u32,
    ) -> Result<Dispatch> {
        let fits = |buffer: &wgpu::Buffer, end: u64| buffer.size() >= end * 4;
        if !fits(logits, u64::from(logits_offset) + u64::from(self.vocab)) || !fits(out_id, u64::from(out_offset) + 1) {
            return Err(Error::InvalidArgument(format!(
                "GPU sampler: {} logits from element {logits_offset} or an id at element {out_offset} do not fit the buffers \
                 ({} and {} bytes)",
                self.vocab,
                logits.size(),
                out_id.size()
            )));
        }
        let place = ctx.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("sample place"),
            contents: bytemuck::bytes_of(&Place { logits_offset, out_offset, ..Default::default() }),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let resources = [
            place.as_entire_binding(),
            self.params.as_entire_binding(),
            self.step.as_entire_binding(),
            logits.as_entire_binding(),
            self.work.as_entire_binding(),
            self.history.as_entire_binding(),
            self.bias.as_entire_binding(),
            self.mask.as_entire_binding(),
            out_id.as_entire_binding(),
            self.status.as_entire_binding(),
            self.logprobs.as_entire_binding(),
        ];
        Dispatch::new(ctx, cache, Kernel::Sample, &resources, [1, 1, 1]).await
    }

    /// Starts a request: writes its parameters and `logit_bias`, the last `penalty_last_n`
    /// ids of `history` (what the CPU sampler would be given for the first step) into the
    /// history ring, clears the error status and the mask. Errors as the CPU sampler's (a
    /// bias or history id outside the vocabulary), plus unsupported parameters.
    pub fn begin_request(&self, queue: &wgpu::Queue, params: &SamplingParams, history: &[u32]) -> Result<()> {
        params.validate()?;
        if !Self::supports(params) {
            return Err(Error::InvalidArgument(format!(
                "GPU sampler: penalty_last_n {} (at most {MAX_PENALTY_WINDOW}) or {} logit_bias entries (at most {MAX_BIAS}): \
                 sample on the CPU",
                params.penalty_last_n,
                params.logit_bias.len()
            )));
        }
        let bias = params.logit_bias_ids()?;
        if let Some(&(id, _)) = bias.iter().find(|(id, _)| *id >= self.vocab) {
            return Err(Error::InvalidArgument(format!(
                "sampler: logit_bias token id {id} is outside the vocabulary of {} logits",
                self.vocab
            )));
        }
        let window = penalty_window(params);
        let tail = &history[history.len() - (window as usize).min(history.len())..];
        if let Some(&id) = tail.iter().find(|&&id| id >= self.vocab) {
            return Err(Error::InvalidArgument(format!(
                "sampler: history token id {id} is outside the vocabulary of {} logits",
                self.vocab
            )));
        }
        let (top_p_lo, top_p_hi) = fraction64(f64::from(params.top_p));
        let mut flags = 0;
        if window > 0 {
            flags |= FLAG_PENALTIES;
        }
        if params.top_p < 1.0 {
            flags |= FLAG_TOP_P;
        }
        if params.min_p > 0.0 {
            flags |= FLAG_MIN_P;
        }
        if params.logprobs {
            flags |= FLAG_LOGPROBS;
        }
        let p = Params {
            vocab: self.vocab,
            top_k: params.top_k,
            bias_count: bias.len() as u32,
            flags,
            temperature: params.temperature,
            min_p_ln: if params.min_p > 0.0 { f64::from(params.min_p).ln() as f32 } else { 0.0 },
            repetition_penalty: params.repetition_penalty,
            frequency_penalty: params.frequency_penalty,
            presence_penalty: params.presence_penalty,
            top_p_lo,
            top_p_hi,
            // No more alternatives than tokens: the kernel's rounds each pick a new one.
            top_logprobs: params.top_logprobs.min(self.vocab),
        };
        queue.write_buffer(&self.params, 0, bytemuck::bytes_of(&p));
        self.current.set(p);
        if !bias.is_empty() {
            let words: Vec<[u32; 2]> = bias.iter().map(|&(id, b)| [id, b.to_bits()]).collect();
            queue.write_buffer(&self.bias, 0, bytemuck::cast_slice(&words));
        }
        if !tail.is_empty() {
            queue.write_buffer(&self.history, 0, bytemuck::cast_slice(tail));
        }
        queue.write_buffer(&self.status, 0, &[0; 16]);
        self.history_len.set(tail.len() as u32);
        self.window.set(window);
        Ok(())
    }

    /// Restricts the request's draws to the tokens allowed by `mask` (bit `id % 32` of word
    /// `id / 32`; at least `ceil(vocab / 32)` words), or lifts the restriction (`None`), as
    /// `Sampler::sample_masked`. Call after `begin_request`; it applies to every following
    /// step until changed.
    pub fn set_mask(&self, queue: &wgpu::Queue, mask: Option<&[u32]>) -> Result<()> {
        let mut p = self.current.get();
        match mask {
            Some(mask) => {
                let words = self.vocab.div_ceil(32) as usize;
                if mask.len() < words {
                    return Err(Error::InvalidArgument(format!(
                        "sampler: the allowed-token mask has {} words, a vocabulary of {} needs {words}",
                        mask.len(),
                        self.vocab
                    )));
                }
                queue.write_buffer(&self.mask, 0, bytemuck::cast_slice(&mask[..words]));
                p.flags |= FLAG_MASK;
            }
            None => p.flags &= !FLAG_MASK,
        }
        queue.write_buffer(&self.params, 0, bytemuck::bytes_of(&p));
        self.current.set(p);
        Ok(())
    }

    /// Writes the records of `uniforms.len()` chained steps (at most [`MAX_STEPS`]), the
    /// request's steps `first_step ..` (0 for the first token sampled on the GPU after
    /// `begin_request`). `uniforms` are the draws of those steps, in [0, 1), from
    /// `Sampler::next_uniform` (any value when greedy: the kernel ignores them). Record j is
    /// then used by `copy_step(encoder, j)`.
    pub fn write_steps(&self, queue: &wgpu::Queue, first_step: u32, uniforms: &[f64]) -> Result<()> {
        if uniforms.is_empty() || uniforms.len() > MAX_STEPS {
            return Err(Error::InvalidArgument(format!("GPU sampler: {} steps, allowed: 1 ..= {MAX_STEPS}", uniforms.len())));
        }
        if let Some(u) = uniforms.iter().find(|u| !(0.0..1.0).contains(*u)) {
            return Err(Error::InvalidArgument(format!("GPU sampler: uniform {u}, allowed: [0, 1)")));
        }
        let records: Vec<SampleStep> = uniforms
            .iter()
            .zip(first_step..)
            .enumerate()
            .map(|(j, (&u, s))| {
                let (u_lo, u_hi) = fraction64(u);
                let end = u64::from(self.history_len.get()) + u64::from(s);
                let window_len = end.min(u64::from(self.window.get()));
                let slot = |i: u64| (i % u64::from(HISTORY_CAP)) as u32;
                SampleStep {
                    u_lo,
                    u_hi,
                    window_start: slot(end - window_len),
                    window_len: window_len as u32,
                    out_slot: slot(end),
                    lp_slot: j as u32,
                    ..Default::default()
                }
            })
            .collect();
        queue.write_buffer(&self.steps, 0, bytemuck::cast_slice(&records));
        Ok(())
    }

    /// Records the copy of step record `j` into the step uniform the kernel reads.
    pub fn copy_step(&self, encoder: &mut wgpu::CommandEncoder, j: usize) {
        debug_assert!(j < MAX_STEPS);
        encoder.copy_buffer_to_buffer(&self.steps, j as u64 * STEP_SIZE, &self.step, 0, STEP_SIZE);
    }

    /// Words of one step's logprobs record for the current request, `None` when it did not
    /// ask for logprobs.
    pub fn logprob_words(&self) -> Option<u32> {
        let p = self.current.get();
        (p.flags & FLAG_LOGPROBS != 0).then_some(2 * (1 + p.top_logprobs))
    }

    /// Records the copy of the first `steps` logprobs records (the request's record size, see
    /// `logprob_words`) to the start of `staging`; nothing when logprobs are off. Returns the
    /// bytes copied.
    pub fn copy_logprobs(&self, encoder: &mut wgpu::CommandEncoder, steps: usize, staging: &wgpu::Buffer) -> u64 {
        let Some(words) = self.logprob_words() else { return 0 };
        let bytes = steps.min(MAX_STEPS) as u64 * u64::from(words) * 4;
        encoder.copy_buffer_to_buffer(&self.logprobs, 0, staging, 0, bytes);
        bytes
    }

    /// Bytes a staging buffer for `copy_logprobs` needs (a chain of `MAX_STEPS` with the most
    /// alternatives).
    pub const LOGPROBS_STAGING_BYTES: u64 = MAX_STEPS as u64 * MAX_LOGPROB_WORDS * 4;

    /// Decodes the logprobs records of consecutive steps (`words` as copied by
    /// `copy_logprobs`), one `TokenLogprobs` per record.
    pub fn parse_logprobs(&self, words: &[u32]) -> Vec<TokenLogprobs> {
        let Some(size) = self.logprob_words() else { return Vec::new() };
        let pair = |w: &[u32]| (w[0], f32::from_bits(w[1]));
        words
            .chunks_exact(size as usize)
            .map(|record| {
                let (id, logprob) = pair(record);
                TokenLogprobs { id, logprob, top: record[2..].chunks_exact(2).map(pair).collect() }
            })
            .collect()
    }

    /// `Ok(id)` for a sampled id; for [`SENTINEL`], reads the status the kernel left and
    /// returns the CPU sampler's error for it.
    pub async fn check(&self, ctx: &GpuContext, id: u32) -> Result<u32> {
        if id != SENTINEL {
            return Ok(id);
        }
        let bytes = ctx.read_bytes(&self.status, 16).await?;
        let words: Vec<u32> = bytemuck::pod_collect_to_vec(&bytes);
        Err(status_error(words[0], words[1], words[2]))
    }
}

/// The error for a status the kernel wrote: the same message as the CPU sampler's.
pub fn status_error(code: u32, id: u32, bits: u32) -> Error {
    match code {
        1 => bad_logit(id as usize, f32::from_bits(bits), "in the model output"),
        2 => bad_logit(id as usize, f32::from_bits(bits), "after the penalties"),
        3 => all_masked(),
        _ => Error::Gpu(format!("GPU sampler: wrote no id (status {code})")),
    }
}

/// The penalty window the kernel applies: 0 when the penalties are neutral (as the CPU
/// sampler skips them).
fn penalty_window(p: &SamplingParams) -> u32 {
    if p.penalties_neutral() { 0 } else { p.penalty_last_n }
}

/// x in [0, 1) as the 64-bit fraction floor(x * 2^64), split into (lo, hi) words. Exact
/// for a uniform (53 bits) and for an f32.
fn fraction64(x: f64) -> (u32, u32) {
    let v = (x * 18_446_744_073_709_551_616.0) as u64;
    (v as u32, (v >> 32) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_are_exact() {
        assert_eq!(fraction64(0.0), (0, 0));
        assert_eq!(fraction64(0.5), (0, 0x8000_0000));
        assert_eq!(fraction64(0.75 + 2f64.powi(-53)), (0x800, 0xC000_0000));
        // The largest uniform: 1 - 2^-53.
        assert_eq!(fraction64(1.0 - 2f64.powi(-53)), (0xFFFF_F800, 0xFFFF_FFFF));
    }

    #[test]
    fn status_errors_match_the_cpu_sampler_messages() {
        let msg = |e: Error| e.to_string();
        assert_eq!(msg(status_error(1, 7, f32::NAN.to_bits())), msg(bad_logit(7, f32::NAN, "in the model output")));
        assert!(msg(status_error(2, 3, f32::INFINITY.to_bits())).contains("logit of token 3 is inf after the penalties"));
        assert!(msg(status_error(3, 0, 0)).contains("every logit is -inf"));
        assert!(matches!(status_error(9, 0, 0), Error::Gpu(_)));
    }

    #[test]
    fn supports_limits_the_window_only_when_penalties_are_on() {
        let p = |penalty_last_n, presence_penalty| SamplingParams { penalty_last_n, presence_penalty, ..SamplingParams::default() };
        assert!(GpuSampler::supports(&p(1024, 0.5)));
        assert!(!GpuSampler::supports(&p(1025, 0.5)));
        assert!(GpuSampler::supports(&p(100_000, 0.0)));
    }
}
