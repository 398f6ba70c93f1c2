//! A transformer on the GPU: config from GGUF metadata, weights by tensor name, a KV
//! cache, an activation arena and forward graphs built once at load (decode, and prefill of
//! any batch up to `MAX_BATCH`) that append tokens to the cache.

mod arena;
mod config;
mod decode_chain;
mod family;
mod fused;
mod graph;
mod kv_cache;
mod plan;
mod profile;
mod rope;
mod sampling;
mod stats;
mod stream;
mod traffic;
mod upload;
mod weights;

pub use config::{LayerAttention, ModelConfig};
pub use decode_chain::MAX_DECODE_CHAIN;
pub use family::{Arch, Family, SlidingWindow};
pub use graph::Logits;
pub use plan::{DeviceLimits, Plan, plan};
pub use stats::{DispatchTime, GpuStats};
pub use stream::{LoadProgress, ModelStream};
pub use traffic::{DecodeTraffic, decode_traffic};
pub use upload::TensorUploads;
pub use weights::ModelWeights;

use self::arena::Arena;
use self::decode_chain::DecodeChain;
use self::graph::{Graph, Shared, context_full};
use self::kv_cache::KvCache;
use self::rope::base_inv_freq;
use self::sampling::Sampling;
use crate::error::{Error, Result};
use crate::gpu::{GpuContext, GpuMatrix, PipelineCache};
pub use crate::kernels::kv::KvPrecision;
use crate::kernels::rope_store::inv_freq;
use crate::kernels::sample::GpuSampler;
use crate::kernels::step::step_uniform;
use crate::sample::SamplingParams;

/// The most tokens one forward pass processes; longer inputs are split.
pub const MAX_BATCH: usize = 256;
/// The longest context a load takes when the caller does not choose one (capped by the
/// model's own; see `plan::default_context`).
pub const DEFAULT_CONTEXT: u32 = 8192;
/// The most KV-cache bytes a default context may take: past it the default halves, down to
/// `MIN_DEFAULT_CONTEXT`, so a larger model does not claim gigabytes of GPU memory unasked.
pub const DEFAULT_KV_BUDGET: u64 = 256 << 20;
/// The shortest default context (or the model's own, if shorter).
pub const MIN_DEFAULT_CONTEXT: u32 = 2048;
/// Bytes read from a model file per push when loading natively.
#[cfg(not(target_arch = "wasm32"))]
const FILE_CHUNK: u64 = 16 << 20;

#[derive(Clone, Copy, Debug, Default)]
pub struct ModelOptions {
    /// Context length (KV cache size). Default: `plan::default_context` (the model's, at most
    /// 8192, less where the KV cache would pass 256 MiB).
    pub n_ctx: Option<u32>,
    /// How the KV cache stores keys and values. Default: f16.
    pub kv_precision: KvPrecision,
}

pub struct Model {
    ctx: GpuContext,
    pub config: ModelConfig,
    weights: ModelWeights,
    kv: KvCache,
    pipelines: PipelineCache,
    step: wgpu::Buffer,
    inv_freq: wgpu::Buffer,
    inv_freq_local: wgpu::Buffer,
    arena: Arena,
    /// One token, the decode matmul kernels; recorded per step by decode chains too.
    decode: Graph,
    /// Up to the arena's capacity (`MAX_BATCH` tokens where the device allows), last logits only.
    prefill: Graph,
    /// Every token's logits (perplexity); built on first use, its logits buffer is large.
    all_logits: Option<Graph>,
    /// What the GPU work has cost since load (graphs built after it included).
    stats: GpuStats,
    /// The GPU sampler on the last logits row, built by the first sampled request: its
    /// shader is large (seconds to compile on software GPUs), and greedy-only use never needs it.
    sampling: Option<Sampling>,
    decode_chain: DecodeChain,
    /// Tokens in the KV cache.
    n_past: u32,
}

/// The result of feeding tokens: the greedy next token and, when asked, logits
/// (`[rows × vocab]`, rows = 1 for `Logits::Last`, one per input token for `Logits::All`).
pub struct Forward {
    pub argmax: u32,
    pub logits: Option<Vec<f32>>,
}

/// The context length a load will use (the option, else the smaller of the model's and
/// `DEFAULT_CONTEXT`). Refused when it is 0 or over the model's trained maximum, and with
/// `Error::DoesNotFit` (naming the largest context that fits) when a layer's key (or value)
/// cache, one binding each, would exceed the device's storage-binding limit. Checked as soon
/// as the header is parsed, so a browser does not download the weights of a load that must fail.
pub(crate) fn context_length(ctx: &GpuContext, config: &ModelConfig, options: ModelOptions) -> Result<u32> {
    let n_ctx = plan::requested_context(config, options)?;
    let limit = ctx.max_storage_binding;
    if let Some(reason) = plan::kv_cache_refusal(config, n_ctx, options.kv_precision, limit) {
        return Err(Error::DoesNotFit { reason, largest_context: plan::largest_context(config, options.kv_precision, limit) });
    }
    Ok(n_ctx)
}

impl Model {
    /// Loads a model from a GGUF file on disk, streaming its tensor data to the GPU in
    /// chunks (the same path the browser's downloads take).
    #[cfg(not(target_arch = "wasm32"))]
    pub async fn load(ctx: &GpuContext, file: &mut crate::gguf::GgufFile, options: ModelOptions) -> Result<Model> {
        let mut stream = ModelStream::with_header(ctx, file.header().clone(), file.len(), options).await?;
        let mut pos = file.header().data_offset;
        while pos < file.len() {
            let n = FILE_CHUNK.min(file.len() - pos);
            stream.push(&file.read_range(pos, n)?).await?;
            pos += n;
        }
        Ok(stream.finish().await?.0)
    }

    /// Builds a model around weights already on the GPU: the KV cache, RoPE tables and
    /// the decode graph (compiling its shaders).
    pub async fn from_weights(ctx: &GpuContext, config: ModelConfig, weights: ModelWeights, options: ModelOptions) -> Result<Model> {
        let n_ctx = context_length(ctx, &config, options)?;
        let kv = KvCache::new(ctx, &config, n_ctx, options.kv_precision);
        let step = step_uniform(ctx);
        // The file's per-pair factors applied at load (model/rope.rs), else the plain ones.
        let inv_freq_global = match &weights.rope_freqs {
            Some(b) => b.clone(),
            None => ctx.f32_buffer_from("inv_freq", &base_inv_freq(&config)),
        };
        let inv_freq_local = match config.family.sliding_window {
            Some(swa) if config.sliding_window > 0 => {
                ctx.f32_buffer_from("inv_freq_local", &inv_freq(config.n_rot, swa.rope_base, swa.rope_freq_scale))
            }
            _ => inv_freq_global.clone(),
        };
        let arena = Arena::new(ctx, &config, MAX_BATCH as u32)?;
        let pipelines = PipelineCache::default();
        let shared = Shared {
            ctx,
            pipelines: &pipelines,
            cfg: &config,
            weights: &weights,
            kv: &kv,
            arena: &arena,
            step: &step,
            inv_freq: &inv_freq_global,
            inv_freq_local: &inv_freq_local,
        };
        // Where every matmul reads its weights from texture mirrors (made as the graphs below
        // bind them), their buffers go as each mirror is made. Not with the GEMM, which reads
        // the buffers (a later batch's graph may use it).
        if ctx.tuning.matmul_w_texture && !ctx.tuning.matmul_gemm {
            weights.release_buffers_behind_mirrors();
        }
        // Every graph generation needs, built (and its shaders compiled) at load.
        let decode = Graph::build(&shared, 1, Logits::Last).await?;
        let prefill = Graph::build(&shared, arena.capacity, Logits::Last).await?;
        Ok(Model {
            ctx: ctx.clone(),
            config,
            weights,
            kv,
            pipelines,
            step,
            inv_freq: inv_freq_global,
            inv_freq_local,
            arena,
            decode,
            prefill,
            all_logits: None,
            stats: GpuStats::default(),
            sampling: None,
            decode_chain: DecodeChain::new(ctx),
            n_past: 0,
        })
    }

    /// The GPU this model runs on.
    pub fn gpu(&self) -> &GpuContext {
        &self.ctx
    }

    pub fn n_ctx(&self) -> u32 {
        self.kv.n_ctx
    }

    /// GPU memory taken by the KV cache.
    pub fn kv_cache_bytes(&self) -> u64 {
        self.kv.bytes()
    }

    /// Whether the KV cache is in textures (`Tuning::kv_texels`) rather than buffers.
    pub fn kv_cache_in_texels(&self) -> bool {
        self.kv.layers.iter().all(|(k, v)| k.is_texels() && v.is_texels())
    }

    /// GPU memory taken by the weights (matrices in their GPU layout, vectors as f32).
    pub fn weight_bytes(&self) -> u64 {
        self.weights.gpu_bytes()
    }

    /// GPU memory taken by the activation arena, and the tokens per forward pass it holds.
    pub fn activation_bytes(&self) -> (u64, u32) {
        (self.arena.gpu_bytes(), self.arena.capacity)
    }

    /// The weight matrices whose buffers were freed for their texture mirrors, and those
    /// whose buffers were kept (`ModelWeights::release_buffers_behind_mirrors`), by name.
    pub fn released_weight_buffers(&self) -> (Vec<String>, Vec<String>) {
        let (released, kept): (Vec<&GpuMatrix>, Vec<&GpuMatrix>) =
            self.weights.matrices().partition(|m| m.parts.iter().all(|p| p.buffer_released()));
        let names = |v: Vec<&GpuMatrix>| v.into_iter().map(|m| m.name.clone()).collect();
        (names(released), names(kept))
    }

    /// The matrices stored in several buffers because they exceed the device's storage-binding
    /// limit, with their part counts (Qwen2's 151,936-row output on a 128 MiB limit).
    pub fn split_matrices(&self) -> Vec<(String, usize)> {
        self.weights.matrices().filter(|m| m.parts.len() > 1).map(|m| (m.name.clone(), m.parts.len())).collect()
    }

    /// Tokens currently in the KV cache.
    pub fn n_past(&self) -> u32 {
        self.n_past
    }

    /// Forgets the cached context (the next tokens start at position 0).
    pub fn reset(&mut self) {
        self.n_past = 0;
    }

    /// Rewinds the cache to `n` tokens (to reuse a shared prompt prefix).
    pub fn truncate(&mut self, n: u32) {
        self.n_past = self.n_past.min(n);
    }

    /// Forward graphs built since load: 0 for any number of prompts and chat turns; the
    /// every-token-logits graph of perplexity is built once, on first use.
    pub fn graphs_built(&self) -> u64 {
        self.stats.graphs_built
    }

    /// What the GPU work has cost since load.
    pub fn stats(&self) -> GpuStats {
        self.stats
    }

    /// Dispatches recorded per decode step.
    pub fn decode_dispatches(&self) -> usize {
        self.decode.dispatch_count(1)
    }

    /// Builds the every-token-logits graph if `mode` needs it and it is not built yet.
    async fn ensure_graph(&mut self, mode: Logits) -> Result<()> {
        if mode == Logits::All && self.all_logits.is_none() {
            let shared = Shared {
                ctx: &self.ctx,
                pipelines: &self.pipelines,
                cfg: &self.config,
                weights: &self.weights,
                kv: &self.kv,
                arena: &self.arena,
                step: &self.step,
                inv_freq: &self.inv_freq,
                inv_freq_local: &self.inv_freq_local,
            };
            let capacity = self.max_batch(Logits::All)? as u32;
            self.all_logits = Some(Graph::build(&shared, capacity, Logits::All).await?);
            self.stats.graphs_built += 1;
        }
        Ok(())
    }

    /// The graph for a batch of `n` tokens (after `ensure_graph(mode)`).
    fn graph(&self, n: u32, mode: Logits) -> &Graph {
        match mode {
            Logits::All => self.all_logits.as_ref().expect("ensure_graph builds it"),
            Logits::Last if n == 1 => &self.decode,
            Logits::Last => &self.prefill,
        }
    }

    /// Tokens per forward pass: `MAX_BATCH`, or fewer where the device's storage-binding limit
    /// cannot hold that many rows of an activation. Computing every token's logits needs a
    /// `[batch × vocab]` f32 buffer in one binding (256 tokens of Gemma's 262,144-token
    /// vocabulary are 256 MiB), so with `Logits::All` the batch shrinks to what that holds.
    pub fn max_batch(&self, mode: Logits) -> Result<usize> {
        let row_bytes = u64::from(self.config.vocab) * 4;
        let fit = self.ctx.max_storage_binding / row_bytes;
        if fit == 0 {
            return Err(Error::InvalidArgument(format!(
                "one row of logits ({} vocabulary entries, {row_bytes} bytes) exceeds this device's storage-binding limit of {} bytes",
                self.config.vocab, self.ctx.max_storage_binding
            )));
        }
        let capacity = self.arena.capacity as usize;
        Ok(match mode {
            Logits::Last => capacity,
            Logits::All => capacity.min(fit as usize),
        })
    }

    /// Greedy decode of `k` tokens (1..=`MAX_DECODE_CHAIN`) in one GPU round trip: feeds
    /// `first`, then each step's argmax to the next step, and returns the `k` argmax ids, the
    /// same as `k` calls of `forward(&[id], Logits::Last, false)` each fed the previous
    /// argmax. The cache grows by `k` (`first` and all ids but the last); `truncate` undoes
    /// the steps a caller does not keep.
    pub async fn decode_greedy(&mut self, first: u32, k: u32) -> Result<Vec<u32>> {
        self.check_chain(first, k)?;
        let ids = self.decode_chain.run(&self.ctx, &self.decode, &self.step, first, self.n_past, k, None, &mut self.stats).await?;
        self.n_past += k;
        Ok(ids)
    }

    fn check_chain(&self, first: u32, k: u32) -> Result<()> {
        if !(1..=MAX_DECODE_CHAIN).contains(&k) {
            return Err(Error::InvalidArgument(format!("a decode chain has 1 to {MAX_DECODE_CHAIN} steps, not {k}")));
        }
        if first >= self.config.vocab {
            return Err(Error::InvalidArgument(format!("token id {first} is outside the vocabulary of {}", self.config.vocab)));
        }
        if self.n_past + k > self.kv.n_ctx {
            return Err(context_full(self.n_past, k as usize, self.kv.n_ctx));
        }
        Ok(())
    }

    /// Whether `sample_prefill`/`decode_sampled` can run these (valid) parameters on the GPU;
    /// if not, sample on the CPU from the logits.
    pub fn samples_on_gpu(&self, params: &SamplingParams) -> bool {
        self.ctx.tuning.sample_on_gpu && self.config.vocab <= crate::kernels::sample::MAX_VOCAB && GpuSampler::supports(params)
    }

    /// Starts a request sampled on the GPU: its parameters, and the `history` the CPU
    /// sampler would be given for its first token (the penalties' window).
    /// The first call builds the sampler (buffers, its pipeline, one bind group).
    pub async fn begin_sampling(&mut self, params: &SamplingParams, history: &[u32]) -> Result<()> {
        if self.sampling.is_none() {
            self.sampling = Sampling::new(&self.ctx, &self.pipelines, &self.arena, self.config.vocab).await?;
        }
        self.gpu_sampler()?.sampler.begin_request(&self.ctx.queue, params, history)
    }

    fn gpu_sampler(&self) -> Result<&Sampling> {
        self.sampling.as_ref().ok_or_else(|| {
            Error::InvalidArgument(format!(
                "no GPU sampler: begin_sampling first (it takes vocabularies of up to {} tokens)",
                crate::kernels::sample::MAX_VOCAB
            ))
        })
    }

    /// Like `forward(ids, Logits::Last, false)`, but the next token is sampled on the GPU (the
    /// request's step `step`, with the uniform `u` from `Sampler::next_uniform`) instead of
    /// the argmax. Errors as the CPU sampler for bad logits.
    pub async fn sample_prefill(&mut self, ids: &[u32], step: u32, u: f64) -> Result<u32> {
        let s = self.gpu_sampler()?;
        s.sampler.write_steps(&self.ctx.queue, step, &[u])?;
        let id = self.forward_inner(ids, Logits::Last, false, true).await?.argmax;
        self.gpu_sampler()?.sampler.check(&self.ctx, id).await
    }

    /// Sampled decode of `k` tokens (1..=`MAX_DECODE_CHAIN`) in one GPU round trip, the
    /// request's steps `first_step ..` with one uniform each: like `decode_greedy`, with the
    /// GPU sampler's pick fed to the next step. A step that could not sample (bad logits)
    /// gives `kernels::sample::SENTINEL` there and after; `check_sampled` says why.
    pub async fn decode_sampled(&mut self, first: u32, first_step: u32, uniforms: &[f64]) -> Result<Vec<u32>> {
        let k = uniforms.len() as u32;
        self.check_chain(first, k)?;
        let s = self.gpu_sampler()?;
        s.sampler.write_steps(&self.ctx.queue, first_step, uniforms)?;
        let mut stats = self.stats;
        let ids = self.decode_chain.run(&self.ctx, &self.decode, &self.step, first, self.n_past, k, Some(s), &mut stats).await?;
        self.stats = stats;
        self.n_past += k;
        Ok(ids)
    }

    /// Restricts the graphs' argmax (greedy decoding: `forward`'s `argmax`, `decode_greedy`) to
    /// the tokens `mask` allows (the layout of `Sampler::sample_masked`: bit id % 32 of word
    /// id / 32, at least ceil(vocab / 32) words) for the following passes; `None` lifts it. An
    /// argmax with nothing allowed gives `u32::MAX`.
    pub fn set_argmax_mask(&self, mask: Option<&[u32]>) -> Result<()> {
        let words = self.config.vocab.div_ceil(32) as usize;
        let flagged: Vec<u32> = match mask {
            None => vec![0],
            Some(bits) if bits.len() >= words => std::iter::once(1).chain(bits[..words].iter().copied()).collect(),
            Some(bits) => {
                return Err(Error::InvalidArgument(format!(
                    "argmax: the allowed-token mask has {} words, a vocabulary of {} needs {words}",
                    bits.len(),
                    self.config.vocab
                )));
            }
        };
        self.ctx.queue.write_buffer(&self.arena.argmax_mask, 0, bytemuck::cast_slice(&flagged));
        Ok(())
    }

    /// Restricts the GPU sampler's draws to the tokens `mask` allows (the layout of
    /// `Sampler::sample_masked`), for this request's following steps; `None` lifts it.
    pub fn set_sample_mask(&self, mask: Option<&[u32]>) -> Result<()> {
        self.gpu_sampler()?.sampler.set_mask(&self.ctx.queue, mask)
    }

    /// `Ok(id)` for a sampled id, the sampler's error for `SENTINEL`.
    pub async fn check_sampled(&self, id: u32) -> Result<u32> {
        self.gpu_sampler()?.sampler.check(&self.ctx, id).await
    }

    /// The logprobs of the tokens the last `sample_prefill` (1) or `decode_sampled` (its k)
    /// sampled, when the request asked for them (`SamplingParams::logprobs`; else empty):
    /// (1 + top_logprobs) (id, logprob) pairs per token, read back from the GPU.
    pub async fn sampled_logprobs(&mut self, steps: usize) -> Result<Vec<crate::sample::TokenLogprobs>> {
        let (logprobs, bytes) = self.gpu_sampler()?.read_logprobs(&self.ctx, steps).await?;
        self.stats.bytes_read_back += bytes;
        Ok(logprobs)
    }

    /// Appends `ids` to the context and runs the model over them. With `Logits::All`, the
    /// logits of every input token are returned; otherwise those of the last, if asked.
    pub async fn forward(&mut self, ids: &[u32], mode: Logits, read_logits: bool) -> Result<Forward> {
        self.forward_inner(ids, mode, read_logits, false).await
    }

    /// `forward`, with the GPU sampler after the last batch when `sample` (its `argmax` is
    /// then the sampled id, or `SENTINEL`).
    async fn forward_inner(&mut self, ids: &[u32], mode: Logits, read_logits: bool, sample: bool) -> Result<Forward> {
        if ids.is_empty() {
            return Err(Error::InvalidArgument("forward needs at least one token".into()));
        }
        if let Some(&bad) = ids.iter().find(|&&id| id >= self.config.vocab) {
            return Err(Error::InvalidArgument(format!("token id {bad} is outside the vocabulary of {}", self.config.vocab)));
        }
        if self.n_past as usize + ids.len() > self.kv.n_ctx as usize {
            return Err(context_full(self.n_past, ids.len(), self.kv.n_ctx));
        }
        let mut argmax = 0;
        let mut all_logits = Vec::new();
        self.ensure_graph(mode).await?;
        let batch = self.max_batch(mode)?;
        let last = (ids.len() - 1) / batch;
        for (i, chunk) in ids.chunks(batch).enumerate() {
            let n = chunk.len() as u32;
            let mut stats = self.stats;
            let sampling = if sample && i == last { self.sampling.as_ref() } else { None };
            let graph = self.graph(n, mode);
            let (id, logits) = graph.run(&self.ctx, &self.step, chunk, self.n_past, read_logits, sampling, &mut stats).await?;
            self.stats = stats;
            argmax = id;
            if let Some(l) = logits {
                all_logits.extend(l);
            }
            self.n_past += n;
        }
        let logits = if read_logits {
            if mode == Logits::Last {
                let v = self.config.vocab as usize;
                all_logits.drain(..all_logits.len() - v);
            }
            Some(all_logits)
        } else {
            None
        };
        Ok(Forward { argmax, logits })
    }
}
