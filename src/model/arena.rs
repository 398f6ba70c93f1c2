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
    pub q: Tensor,
    pub k: Tensor,
    pub v: Tensor,
    /// Where the q/k projections land when per-head norms then write `q` and `k` (else the
    /// same buffers as `q` and `k`).
    pub q_proj: Tensor,
    pub k_proj: Tensor,
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
        let (widest, width) = [("x", d), ("q", q_dim), ("k", kv_dim), ("gate", ff)].into_iter().max_by_key(|&(_, w)| w).expect("4");
        let fit = ctx.max_storage_binding / (u64::from(width) * 4);
        let capacity = fit.min(u64::from(max_batch)) as u32;
        if capacity == 0 {
            Tensor::new(ctx, widest, 1, width)?; // the error naming it
        }
        let per_token = |label: &str, width: u32| Tensor::new(ctx, label, capacity, width);
        let (q, k) = (per_token("q", q_dim)?, per_token("k", kv_dim)?);
        let (q_proj, k_proj) =
            if cfg.family.qk_norm { (per_token("q_proj", q_dim)?, per_token("k_proj", kv_dim)?) } else { (q.clone(), k.clone()) };
        Ok(Arena {
            capacity,
            ids: buffer(ctx, "ids", u64::from(capacity) * 4, STORAGE | COPY_DST),
            x: per_token("x", d)?,
            h: per_token("h", d)?,
            q,
            k,
            v: per_token("v", kv_dim)?,
            q_proj,
            k_proj,
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
