//! The activation arena: every buffer a forward pass works in, allocated once per model at
//! load for the largest batch (`MAX_BATCH` tokens) and shared by all of its graphs. A graph
//! runs on any batch up to its capacity because the token count lives in the step uniform,
//! so no prompt length or chat turn allocates anything.

use super::config::ModelConfig;
use crate::error::Result;
use crate::gpu::GpuContext;
use crate::kernels::argmax::mask_words;
use crate::kernels::tensor::Tensor;

pub struct Arena {
    /// Tokens the per-token buffers hold.
    pub capacity: u32,
    /// `[capacity]` u32 input token ids (a decode chain also copies sampled ids in).
    pub ids: wgpu::Buffer,
    /// The residual stream; the matmuls after it normalise it as they read it.
    pub x: Tensor,
    /// Post-norm families (Gemma 3): the residual stream's other buffer. The matmul that adds a
    /// post-normed block output to the stream writes the sum to the buffer it does not read
    /// (its other workgroups still read the old one), so the stream alternates between these.
    pub x_alt: Option<Tensor>,
    /// The residual stream normalised by a dispatch of its own, where the matmuls do not
    /// normalise it themselves (`Tuning::matmul_norm_prologue` off: CPU-like devices).
    pub h: Tensor,
    /// The Q, K and V projections of each token, one row: `[q_dim + 2 kv_dim]`.
    pub qkv: Tensor,
    /// The queries after the per-head norm and RoPE (keys and values go to the cache).
    pub q: Tensor,
    pub att: Tensor,
    pub o: Tensor,
    pub gate: Tensor,
    pub up: Tensor,
    /// The last token's normalised row (as `h`) and its logits (graphs that compute only those).
    pub h_last: Tensor,
    pub logits_last: Tensor,
    pub logits_last_staging: wgpu::Buffer,
    /// The greedy pick of the last logits row, and its readback.
    pub argmax_out: wgpu::Buffer,
    pub id_staging: wgpu::Buffer,
    /// The tokens the argmax may pick (`kernels::argmax::mask_words`): a flag word, 0 until a
    /// greedy request under a grammar sets it, then one bit per logit.
    pub argmax_mask: wgpu::Buffer,
}

impl Arena {
    /// The arena for batches of up to `max_batch` tokens, or fewer where the device's
    /// storage-binding limit cannot hold that many rows of the widest activation.
    pub fn new(ctx: &GpuContext, cfg: &ModelConfig, max_batch: u32) -> Result<Arena> {
        let (d, q_dim, ff) = (cfg.d_model, cfg.q_dim(), cfg.d_ff);
        let logits_last = Tensor::new(ctx, "logits", 1, cfg.vocab)?;
        let qkv_width = qkv_width(cfg);
        let capacity = Self::capacity_for(cfg, ctx.max_storage_binding, max_batch);
        if capacity == 0 {
            let (widest, width) = widest_row(cfg);
            Tensor::new(ctx, widest, 1, width)?; // the error naming it
        }
        let per_token = |label: &str, width: u32| Tensor::new(ctx, label, capacity, width);
        Ok(Arena {
            capacity,
            ids: buffer(ctx, "ids", u64::from(capacity) * 4, STORAGE | COPY_DST),
            x: per_token("x", d)?,
            x_alt: if cfg.family.post_norms { Some(per_token("x (alternate)", d)?) } else { None },
            h: per_token("h", d)?,
            h_last: Tensor::new(ctx, "h_last", 1, d)?,
            qkv: per_token("qkv", qkv_width)?,
            q: per_token("q", q_dim)?,
            att: per_token("att", q_dim)?,
            o: per_token("o", d)?,
            gate: per_token("gate", ff)?,
            up: per_token("up", ff)?,
            logits_last_staging: staging(ctx, "logits staging", logits_last.buffer.size()),
            logits_last,
            argmax_out: buffer(ctx, "argmax", 4, STORAGE | COPY_SRC),
            id_staging: staging(ctx, "id staging", 4),
            argmax_mask: buffer(ctx, "argmax mask", u64::from(mask_words(cfg.vocab)) * 4, STORAGE | COPY_DST),
        })
    }
}

impl Arena {
    /// Tokens per batch `new` gives the arena under a `max_binding`-byte storage-binding limit:
    /// `max_batch`, or as many rows of the widest activation as one binding holds (0: none).
    pub fn capacity_for(cfg: &ModelConfig, max_binding: u64, max_batch: u32) -> u32 {
        let (_, width) = widest_row(cfg);
        (max_binding / (u64::from(width) * 4)).min(u64::from(max_batch)) as u32
    }

    /// Bytes of the buffers `new` allocates for `capacity` tokens (it must mirror `new`; the
    /// plan test compares it with `gpu_bytes` of a real arena).
    pub fn bytes_for(cfg: &ModelConfig, capacity: u32) -> u64 {
        let (d, q_dim, ff, vocab) = (cfg.d_model, cfg.q_dim(), cfg.d_ff, cfg.vocab);
        let f32s = |n: u64| n.max(1) * 4;
        let x_alt = if cfg.family.post_norms { d } else { 0 };
        let per_token: u64 = [d, d, qkv_width(cfg), q_dim, q_dim, d, ff, ff, x_alt]
            .iter()
            .filter(|&&w| w > 0)
            .map(|&w| f32s(u64::from(w) * u64::from(capacity)))
            .sum();
        // ids, then h_last, the last logits and their staging copy, argmax and its staging, the
        // argmax's mask.
        u64::from(capacity) * 4 + per_token + f32s(u64::from(d)) + 2 * f32s(u64::from(vocab)) + 4 + 4 + u64::from(mask_words(vocab)) * 4
    }

    /// Bytes of the buffers this arena holds.
    pub fn gpu_bytes(&self) -> u64 {
        let tensors = [&self.x, &self.h, &self.qkv, &self.q, &self.att, &self.o, &self.gate, &self.up, &self.h_last, &self.logits_last];
        let buffers = [&self.ids, &self.logits_last_staging, &self.argmax_out, &self.id_staging, &self.argmax_mask];
        tensors.into_iter().chain(&self.x_alt).map(|t| t.buffer.size()).sum::<u64>() + buffers.iter().map(|b| b.size()).sum::<u64>()
    }
}

/// One token's Q, K and V projections, side by side.
fn qkv_width(cfg: &ModelConfig) -> u32 {
    cfg.q_dim() + 2 * cfg.kv_dim()
}

/// The widest per-token activation (name, f32 values): it bounds how many tokens fit a binding.
fn widest_row(cfg: &ModelConfig) -> (&'static str, u32) {
    [("x", cfg.d_model), ("qkv", qkv_width(cfg)), ("gate", cfg.d_ff)].into_iter().max_by_key(|&(_, w)| w).expect("3")
}

const STORAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE;
const COPY_SRC: wgpu::BufferUsages = wgpu::BufferUsages::COPY_SRC;
const COPY_DST: wgpu::BufferUsages = wgpu::BufferUsages::COPY_DST;

fn buffer(ctx: &GpuContext, label: &str, size: u64, usage: wgpu::BufferUsages) -> wgpu::Buffer {
    ctx.create_buffer(&wgpu::BufferDescriptor { label: Some(label), size, usage, mapped_at_creation: false })
}

/// A buffer the CPU maps to read results.
pub(crate) fn staging(ctx: &GpuContext, label: &str, size: u64) -> wgpu::Buffer {
    buffer(ctx, label, size, wgpu::BufferUsages::MAP_READ | COPY_DST)
}
