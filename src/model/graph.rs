//! A forward pass as a list of prepared dispatches over the model's activation arena: built
//! once (bind groups, params uniforms, grids as functions of the batch size), run for any
//! batch up to its capacity by writing the step uniform and recording the list into one
//! compute pass. A model keeps three: decode (one token, the decode matmul kernel), prefill
//! (up to `MAX_BATCH` tokens) and, for perplexity, one that computes every token's logits.

use super::arena::{Arena, staging};
use super::config::ModelConfig;
use super::kv_cache::KvCache;
use super::sampling::Sampling;
use super::stats::GpuStats;
use super::weights::{FfnIn, ModelWeights};
use crate::error::{Error, Result};
use crate::gpu::{GpuContext, PipelineCache};
use crate::kernels::argmax::{ArgmaxRow, argmax};
use crate::kernels::attention::{AttentionShape, attention};
use crate::kernels::elementwise::elementwise;
use crate::kernels::embed::embed;
use crate::kernels::matmul::{Fusion, matmul_with};
use crate::kernels::matmul_norm::{Norm, PostNorm};
use crate::kernels::residual_norm::residual_norm;
use crate::kernels::rmsnorm::{Rows, rmsnorm};
use crate::kernels::rope_store::{QkNorm, RopeStoreShape, rope_store};
use crate::kernels::step::Step;
use crate::kernels::tensor::Tensor;
use crate::kernels::{BatchRows, Dispatch};

/// Which positions' logits a forward pass computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Logits {
    /// Only the last token's (generation: prefill and decode).
    Last,
    /// Every token's (perplexity, tests).
    All,
}

/// Buffers shared by every graph of a model.
pub struct Shared<'a> {
    pub ctx: &'a GpuContext,
    pub pipelines: &'a PipelineCache,
    pub cfg: &'a ModelConfig,
    pub weights: &'a ModelWeights,
    pub kv: &'a KvCache,
    pub arena: &'a Arena,
    pub step: &'a wgpu::Buffer,
    /// RoPE inverse frequencies of the global layers, and of the sliding-window layers
    /// (the same buffer when the family has no separate local base).
    pub inv_freq: &'a wgpu::Buffer,
    pub inv_freq_local: &'a wgpu::Buffer,
}

pub struct Graph {
    /// The most tokens one run takes.
    pub capacity: u32,
    pub mode: Logits,
    /// Input token ids (the arena's).
    pub ids: wgpu::Buffer,
    /// `[rows × vocab]` logits: one row (`Logits::Last`) or one per token.
    pub logits: Tensor,
    logits_staging: wgpu::Buffer,
    argmax_out: wgpu::Buffer,
    id_staging: wgpu::Buffer,
    vocab: u32,
    pub(super) dispatches: Vec<Dispatch>,
}

impl Graph {
    /// The forward pass for batches of up to `capacity` tokens (at most the arena's).
    pub async fn build(s: &Shared<'_>, capacity: u32, mode: Logits) -> Result<Graph> {
        let (ctx, p, cfg, w, a, step) = (s.ctx, s.pipelines, s.cfg, s.weights, s.arena, s.step);
        if capacity == 0 || capacity > a.capacity {
            return Err(Error::InvalidArgument(format!("a graph takes 1 to {} tokens, not {capacity}", a.capacity)));
        }
        let fam = &cfg.family;
        let per_token = BatchRows::PerToken(capacity);
        // The output head: the last token's row, or every token's.
        let (out_rows, logits, logits_staging) = match mode {
            Logits::Last => (BatchRows::One, a.logits_last.clone(), a.logits_last_staging.clone()),
            Logits::All => {
                let logits = Tensor::new(ctx, "logits (all tokens)", capacity, cfg.vocab)?;
                let logits_staging = staging(ctx, "logits staging (all tokens)", logits.buffer.size());
                (per_token, logits, logits_staging)
            }
        };
        let eps = cfg.rms_eps;

        let mut ops = Ops::default();
        ops.add("token_embd", embed(ctx, p, &w.token_embd, &a.ids, &a.x, capacity, cfg.embed_scale).await?);
        // Every norm in front of a block is the prologue of the matmul that reads it, or a
        // dispatch of its own (`Tuning::matmul_norm_prologue`).
        let mut stream = Residual::new(a, ctx.tuning.matmul_norm_prologue);
        for (i, (layer, (k_cache, v_cache))) in w.layers.iter().zip(&s.kv.layers).enumerate() {
            let la = cfg.layer_attention(i as u32);
            let inv_freq = if la.local_rope { s.inv_freq_local } else { s.inv_freq };
            let attn_shape = AttentionShape {
                n_heads: cfg.n_heads,
                n_kv_heads: cfg.n_kv_heads,
                head_dim: cfg.head_dim,
                window: la.window,
                scale: cfg.attn_scale,
                kv: s.kv.precision,
            };
            let name = |op: &str| format!("blk.{i}.{op}");
            // Attention block.
            let (x, norm) = stream.input(s, &layer.attn_norm, per_token, &mut ops, name("attn_norm")).await?;
            let f = Fusion { norm, bias: layer.b_qkv.as_ref(), ..Default::default() };
            ops.add(name("attn_qkv"), matmul_with(ctx, p, &layer.qkv, x, &a.qkv, step, per_token, f).await?);
            let qk_norm = match (&layer.q_norm, &layer.k_norm) {
                (Some(q), Some(k)) => Some(QkNorm { q, k, eps }),
                _ => None,
            };
            let rope_shape = RopeStoreShape {
                n_heads: cfg.n_heads,
                n_kv_heads: cfg.n_kv_heads,
                head_dim: cfg.head_dim,
                // A layer without positions rotates no dimensions (SmolLM3's NoPE layers).
                n_rot: if la.rope { cfg.n_rot } else { 0 },
                style: cfg.rope_style,
                mscale: cfg.rope_attn_factor,
                n_ctx: s.kv.n_ctx,
                kv: s.kv.precision,
            };
            ops.add(name("rope_store"), rope_store(ctx, p, &a.qkv, qk_norm, inv_freq, &a.q, k_cache, v_cache, step, rope_shape).await?);
            ops.add(name("attention"), attention(ctx, p, &a.q, k_cache, v_cache, &a.att, step, attn_shape, capacity).await?);
            let (y, accumulate) = stream.block_output(layer.post_attn_norm.as_ref());
            let f = Fusion { bias: layer.bo.as_ref(), accumulate, ..Default::default() };
            ops.add(name("attn_output"), matmul_with(ctx, p, &layer.wo, &a.att, y, step, per_token, f).await?);
            // Feed-forward block.
            let (x, norm) = stream.input(s, &layer.ffn_norm, per_token, &mut ops, name("ffn_norm")).await?;
            match &layer.ffn_in {
                FfnIn::GateUp(stack) => {
                    let glu = Fusion { norm, glu: Some(fam.ffn_activation), ..Default::default() };
                    ops.add(name("ffn_gate_up"), matmul_with(ctx, p, stack, x, &a.gate, step, per_token, glu).await?);
                }
                FfnIn::Separate { gate, up } => {
                    let f = Fusion { norm, ..Default::default() };
                    ops.add(name("ffn_gate"), matmul_with(ctx, p, gate, x, &a.gate, step, per_token, f).await?);
                    ops.add(name("ffn_up"), matmul_with(ctx, p, up, x, &a.up, step, per_token, f).await?);
                    ops.add(name("ffn_act"), elementwise(ctx, p, fam.ffn_activation, &a.gate, &a.up, step).await?);
                }
            }
            let (y, accumulate) = stream.block_output(layer.post_ffn_norm.as_ref());
            let f = Fusion { accumulate, ..Default::default() };
            ops.add(name("ffn_down"), matmul_with(ctx, p, &layer.w_down, &a.gate, y, step, per_token, f).await?);
        }
        // The output head, for the rows it computes, after the final norm as a dispatch of its
        // own even where the blocks' norms are prologues: the head has a workgroup per few of
        // its vocabulary rows (32,768 for Gemma 3), each of which would recompute the norm. On
        // an H200 that made Gemma's Q8_0 head 0.47 -> 1.11 ms of a ~3 ms decode token.
        stream.prologue = false;
        let (x, norm) = stream.input(s, &w.output_norm, out_rows, &mut ops, "output_norm".into()).await?;
        let f = Fusion { norm, bias: w.output_bias.as_ref(), ..Default::default() };
        ops.add("output", matmul_with(ctx, p, w.lm_head(), x, &logits, step, out_rows, f).await?);
        let last_row = if out_rows == BatchRows::One { ArgmaxRow::At(0) } else { ArgmaxRow::LastOfBatch };
        ops.add("argmax", argmax(ctx, p, &logits, last_row, &a.argmax_out, step, &a.argmax_mask).await?);
        let ds = ops.0;
        Ok(Graph {
            capacity,
            mode,
            ids: a.ids.clone(),
            logits,
            logits_staging,
            argmax_out: a.argmax_out.clone(),
            id_staging: a.id_staging.clone(),
            vocab: cfg.vocab,
            dispatches: ds,
        })
    }

    /// Records the forward pass over a batch of `n_tokens` as one compute pass (its inputs
    /// and the step uniform already written or copied).
    pub fn record(&self, encoder: &mut wgpu::CommandEncoder, n_tokens: u32) {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        for d in &self.dispatches {
            d.record(&mut pass, n_tokens);
        }
    }

    /// The one-element buffer the argmax of the last logits row lands in.
    pub fn argmax_out(&self) -> &wgpu::Buffer {
        &self.argmax_out
    }

    /// Dispatches recorded for a batch of `n` tokens.
    pub fn dispatch_count(&self, n: u32) -> usize {
        self.dispatches.iter().filter(|d| d.runs(n)).count()
    }

    /// Checks a batch size against the capacity.
    pub fn check_batch(&self, n: u32) -> Result<()> {
        if n == 0 || n > self.capacity {
            return Err(Error::InvalidArgument(format!("a batch of {n} tokens for a graph of 1 to {}", self.capacity)));
        }
        Ok(())
    }

    /// Runs the graph on `ids` (whose first token is at position `pos0`) and returns the
    /// argmax of the last logits row, or with `sample` the GPU sampler's pick from it (step
    /// record 0, written by the caller), plus the computed logits when `read_logits`.
    #[allow(clippy::too_many_arguments)]
    pub async fn run(
        &self,
        ctx: &GpuContext,
        step: &wgpu::Buffer,
        ids: &[u32],
        pos0: u32,
        read_logits: bool,
        sample: Option<&Sampling>,
        stats: &mut GpuStats,
    ) -> Result<(u32, Option<Vec<f32>>)> {
        let n = ids.len() as u32;
        self.check_batch(n)?;
        let encode_start = web_time::Instant::now();
        ctx.queue.write_buffer(&self.ids, 0, bytemuck::cast_slice(ids));
        ctx.queue.write_buffer(step, 0, bytemuck::bytes_of(&Step::new(pos0, n)));
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        if let Some(s) = sample {
            s.before(&mut encoder, 0);
        }
        self.record(&mut encoder, n);
        let id_source = match sample {
            Some(s) => {
                s.after(&mut encoder);
                &s.out
            }
            None => &self.argmax_out,
        };
        encoder.copy_buffer_to_buffer(id_source, 0, &self.id_staging, 0, 4);
        let logits_bytes = match self.mode {
            Logits::Last => u64::from(self.vocab) * 4,
            Logits::All => u64::from(n) * u64::from(self.vocab) * 4,
        };
        if read_logits {
            encoder.copy_buffer_to_buffer(&self.logits.buffer, 0, &self.logits_staging, 0, logits_bytes);
        }
        ctx.queue.submit([encoder.finish()]);
        stats.encode_seconds += encode_start.elapsed().as_secs_f64();
        stats.forward_passes += 1;
        stats.tokens += u64::from(n);
        stats.round_trips += 1;
        stats.dispatches += self.dispatch_count(n) as u64 + u64::from(sample.is_some());
        stats.bytes_read_back += 4 + if read_logits { logits_bytes } else { 0 };
        let id_bytes = ctx.map_read(&self.id_staging).await?;
        let id = u32::from_le_bytes(id_bytes[..4].try_into().expect("4 bytes"));
        let logits = if read_logits {
            let bytes = ctx.map_read(&self.logits_staging).await?;
            Some(bytemuck::pod_collect_to_vec(&bytes[..logits_bytes as usize]))
        } else {
            None
        };
        Ok((id, logits))
    }
}

/// The graph's dispatches, each named after what it computes in the model.
#[derive(Default)]
struct Ops(Vec<Dispatch>);

impl Ops {
    fn add(&mut self, name: impl Into<String>, dispatches: impl Into<Vec<Dispatch>>) {
        let name = name.into();
        self.0.extend(dispatches.into().into_iter().map(|d| d.named(name.clone())));
    }
}

/// The residual stream through a graph: which buffer holds it, and for post-norm families
/// the block output still to be added (normalised) before the next block reads it.
struct Residual<'a> {
    arena: &'a Arena,
    x: &'a Tensor,
    /// The other buffer (post-norm families): where the next sum goes.
    spare: Option<&'a Tensor>,
    /// A block output in `arena.o` waiting to be added, with its post-norm weight.
    pending: Option<&'a wgpu::Buffer>,
    /// The norms are the prologues of the matmuls (else dispatches into `arena.h`).
    prologue: bool,
}

impl<'a> Residual<'a> {
    fn new(arena: &'a Arena, prologue: bool) -> Self {
        Residual { arena, x: &arena.x, spare: arena.x_alt.as_ref(), pending: None, prologue }
    }

    /// What the next block's matmuls read for the batch's `rows`, and the norm they apply.
    /// As a prologue: the stream itself with `rmsnorm(x) * weight`, or, with a block output
    /// pending, `x + rmsnorm(o) * post` first (stored by those matmuls into the spare buffer,
    /// which holds the stream from then on; several store the same sum). Else `arena.h` (or
    /// `h_last` for the last row only), normalised by a dispatch added to `ops` as `name`
    /// (shaders/rmsnorm.wgsl, or residual_norm.wgsl adding the pending output in place).
    async fn input(
        &mut self,
        s: &Shared<'a>,
        weight: &'a wgpu::Buffer,
        rows: BatchRows,
        ops: &mut Ops,
        name: String,
    ) -> Result<(&'a Tensor, Option<Norm<'a>>)> {
        let (a, eps) = (self.arena, s.cfg.rms_eps);
        if self.prologue {
            let input = self.x;
            let post = match (self.pending.take(), self.spare) {
                (Some(post), Some(spare)) => {
                    (self.x, self.spare) = (spare, Some(input));
                    Some(PostNorm { o: &a.o, weight: post, x_out: spare })
                }
                _ => None,
            };
            return Ok((input, Some(Norm { weight, eps, post })));
        }
        let out = if rows == BatchRows::One { &a.h_last } else { &a.h };
        let dispatch = match self.pending.take() {
            Some(post) => residual_norm(s.ctx, s.pipelines, self.x, &a.o, post, weight, out, s.step, rows, eps).await?,
            None => {
                let norm_rows = Rows { n: s.cfg.d_model, per_token: 1, tokens: rows };
                rmsnorm(s.ctx, s.pipelines, self.x, weight, out, s.step, norm_rows, eps).await?
            }
        };
        ops.add(name, dispatch);
        Ok((out, None))
    }

    /// Where a block's output projection writes, and whether it adds to what is there: into
    /// the stream, or for a post-normed block (`post_norm`) into `arena.o`, added by the next
    /// block's input.
    fn block_output(&mut self, post_norm: Option<&'a wgpu::Buffer>) -> (&'a Tensor, bool) {
        match post_norm {
            Some(post) => {
                self.pending = Some(post);
                (&self.arena.o, false)
            }
            None => (self.x, true),
        }
    }
}

pub(crate) fn context_full(n_past: u32, n_new: usize, n_ctx: u32) -> Error {
    Error::InvalidArgument(format!("context full: {n_past} tokens in the cache + {n_new} new > context length {n_ctx}"))
}
