//! The activation arena: every buffer a forward pass works in, allocated once per model at
//! load for the largest batch (`MAX_BATCH` tokens) and shared by all of its graphs. A graph
//! runs on any batch up to its capacity because the token count lives in the step uniform,
//! so no prompt length or chat turn allocates anything.

use super::config::ModelConfig;
use crate::error::Result;
use crate::gpu::GpuContext;
use crate::kernels::tensor::Tensor;

pub struct Arena {
    /// Tokens the per-token buffers hold.
    pub capacity: u32,
    /// `[capacity]` u32 input token ids (a decode chain also copies sampled ids in).
    pub ids: wgpu::Buffer,
    pub x: Tensor,
    pub h: Tensor,
    /// The Q, K and V projections of each token, one row: `[q_dim + 2 kv_dim]`.
    pub qkv: Tensor,
    /// The queries after the per-head norm and RoPE (keys and values go to the cache).
    pub q: Tensor,
    pub att: Tensor,
    pub o: Tensor,
    pub gate: Tensor,
    pub up: Tensor,
    /// The last token's normalised row and its logits (graphs that compute only those).
    pub h_last: Tensor,
    pub logits_last: Tensor,
    pub logits_last_staging: wgpu::Buffer,
    /// The greedy pick of the last logits row, and its readback.
    pub argmax_out: wgpu::Buffer,
    pub id_staging: wgpu::Buffer,
}

impl Arena {
    /// The arena for batches of up to `max_batch` tokens, or fewer where the device's
    /// storage-binding limit cannot hold that many rows of the widest activation.
    pub fn new(ctx: &GpuContext, cfg: &ModelConfig, max_batch: u32) -> Result<Arena> {
        let (d, q_dim, kv_dim, ff) = (cfg.d_model, cfg.q_dim(), cfg.kv_dim(), cfg.d_ff);
        let logits_last = Tensor::new(ctx, "logits", 1, cfg.vocab)?;
        let qkv_width = q_dim + 2 * kv_dim;
        let (widest, width) = [("x", d), ("qkv", qkv_width), ("gate", ff)].into_iter().max_by_key(|&(_, w)| w).expect("3");
        let fit = ctx.max_storage_binding / (u64::from(width) * 4);
        let capacity = fit.min(u64::from(max_batch)) as u32;
        if capacity == 0 {
            Tensor::new(ctx, widest, 1, width)?; // the error naming it
        }
        let per_token = |label: &str, width: u32| Tensor::new(ctx, label, capacity, width);
        Ok(Arena {
            capacity,
            ids: buffer(ctx, "ids", u64::from(capacity) * 4, STORAGE | COPY_DST),
            x: per_token("x", d)?,
            h: per_token("h", d)?,
            qkv: per_token("qkv", qkv_width)?,
            q: per_token("q", q_dim)?,
            att: per_token("att", q_dim)?,
            o: per_token("o", d)?,
            gate: per_token("gate", ff)?,
            up: per_token("up", ff)?,
            h_last: Tensor::new(ctx, "h_last", 1, d)?,
            logits_last_staging: staging(ctx, "logits staging", logits_last.buffer.size()),
            logits_last,
            argmax_out: buffer(ctx, "argmax", 4, STORAGE | COPY_SRC),
            id_staging: staging(ctx, "id staging", 4),
        })
    }
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
