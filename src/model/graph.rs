//! The forward pass for a fixed number of tokens, built once: activation buffers, bind
//! groups and the list of dispatches. Running it records one compute pass and copies out
//! only what is asked for (the greedy token id, or logits).

use super::config::ModelConfig;
use super::kv_cache::KvCache;
use super::weights::ModelWeights;
use crate::error::{Error, Result};
use crate::gpu::{ElementwiseOp, GpuContext, GpuMatrix, PipelineCache};
use crate::kernels::Dispatch;
use crate::kernels::argmax::argmax;
use crate::kernels::attention::{AttentionShape, attention};
use crate::kernels::bias::add_bias;
use crate::kernels::elementwise::elementwise;
use crate::kernels::embed::embed;
use crate::kernels::kv_store::kv_store;
use crate::kernels::matmul::matmul;
use crate::kernels::rmsnorm::{Rows, rmsnorm};
use crate::kernels::rope::rope;

/// Which positions' logits a forward pass computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Logits {
    /// Only the last token's (generation: prefill and decode).
    Last,
    /// Every token's (perplexity, tests).
    All,
}

/// Buffers shared by every graph of a model: the per-step uniform and RoPE frequencies.
pub struct Shared<'a> {
    pub ctx: &'a GpuContext,
    pub pipelines: &'a PipelineCache,
    pub cfg: &'a ModelConfig,
    pub weights: &'a ModelWeights,
    pub kv: &'a KvCache,
    pub step: &'a wgpu::Buffer,
    /// RoPE inverse frequencies of the global layers, and of the sliding-window layers
    /// (the same buffer when the family has no separate local base).
    pub inv_freq: &'a wgpu::Buffer,
    pub inv_freq_local: &'a wgpu::Buffer,
}

pub struct Graph {
    pub n_tokens: u32,
    pub ids: wgpu::Buffer,
    pub logits: wgpu::Buffer,
    argmax_out: wgpu::Buffer,
    id_staging: wgpu::Buffer,
    logits_staging: wgpu::Buffer,
    dispatches: Vec<Dispatch>,
}

impl Graph {
    pub async fn build(s: &Shared<'_>, n_tokens: u32, mode: Logits) -> Result<Graph> {
        let (ctx, p, cfg, w) = (s.ctx, s.pipelines, s.cfg, s.weights);
        let fam = &cfg.family;
        let n = n_tokens;
        let nu = n as usize;
        let (d, q_dim, kv_dim, ff) = (cfg.d_model as usize, cfg.q_dim() as usize, cfg.kv_dim() as usize, cfg.d_ff as usize);
        let logits_rows = match mode {
            Logits::Last => 1,
            Logits::All => n,
        };
        let buf = |label: &str, len: usize| activation_buffer(ctx, label, len, n);
        let ids = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("ids"),
            size: u64::from(n) * 4,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let x = buf("x", nu * d)?;
        let h = buf("h", nu * d)?;
        let q = buf("q", nu * q_dim)?;
        let k = buf("k", nu * kv_dim)?;
        let v = buf("v", nu * kv_dim)?;
        // With per-head q/k norms the projections land here and the norms write q and k.
        let (q_proj, k_proj) = if fam.qk_norm { (buf("q_proj", nu * q_dim)?, buf("k_proj", nu * kv_dim)?) } else { (q.clone(), k.clone()) };
        let att = buf("att", nu * q_dim)?;
        let o = buf("o", nu * d)?;
        let gate = buf("gate", nu * ff)?;
        let up = buf("up", nu * ff)?;
        let h_out = buf("h_out", logits_rows as usize * d)?;
        let logits = buf("logits", logits_rows as usize * cfg.vocab as usize)?;
        let argmax_out = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("argmax"),
            size: 4,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let staging = |label: &str, size: u64| {
            ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        };
        let id_staging = staging("id staging", 4);
        let logits_staging = staging("logits staging", logits.size());

        let mut ds = Vec::new();
        ds.extend(embed(ctx, p, &w.token_embd, &ids, &x, n, cfg.embed_scale).await?);
        let all_rows = Rows { n: cfg.d_model, first_row: 0, n_rows: n };
        let head_rows = |heads: u32| Rows { n: cfg.head_dim, first_row: 0, n_rows: n * heads };
        let eps = cfg.rms_eps;
        for (i, (layer, (k_cache, v_cache))) in w.layers.iter().zip(&s.kv.layers).enumerate() {
            let la = cfg.layer_attention(i as u32);
            let inv_freq = if la.local_rope { s.inv_freq_local } else { s.inv_freq };
            let attn_shape = AttentionShape {
                n_heads: cfg.n_heads,
                n_kv_heads: cfg.n_kv_heads,
                head_dim: cfg.head_dim,
                window: la.window,
                scale: cfg.attn_scale,
            };
            ds.push(rmsnorm(ctx, p, &x, &layer.attn_norm, &h, all_rows, eps).await?);
            ds.extend(linear(s, &layer.wq, layer.bq.as_ref(), &h, &q_proj, n).await?);
            ds.extend(linear(s, &layer.wk, layer.bk.as_ref(), &h, &k_proj, n).await?);
            ds.extend(linear(s, &layer.wv, layer.bv.as_ref(), &h, &v, n).await?);
            if let (Some(qn), Some(kn)) = (&layer.q_norm, &layer.k_norm) {
                ds.push(rmsnorm(ctx, p, &q_proj, qn, &q, head_rows(cfg.n_heads), eps).await?);
                ds.push(rmsnorm(ctx, p, &k_proj, kn, &k, head_rows(cfg.n_kv_heads), eps).await?);
            }
            ds.push(rope(ctx, p, &q, inv_freq, s.step, cfg.n_heads, cfg.head_dim, cfg.n_rot, cfg.rope_style, n).await?);
            ds.push(rope(ctx, p, &k, inv_freq, s.step, cfg.n_kv_heads, cfg.head_dim, cfg.n_rot, cfg.rope_style, n).await?);
            ds.push(kv_store(ctx, p, &k, &v, k_cache, v_cache, s.step, cfg.kv_dim(), s.kv.n_ctx, n).await?);
            ds.push(attention(ctx, p, &q, k_cache, v_cache, &att, s.step, attn_shape, n).await?);
            ds.extend(linear(s, &layer.wo, layer.bo.as_ref(), &att, &o, n).await?);
            ds.extend(residual_add(s, &x, &o, layer.post_attn_norm.as_ref(), &h, n).await?);
            ds.push(rmsnorm(ctx, p, &x, &layer.ffn_norm, &h, all_rows, eps).await?);
            ds.extend(matmul(ctx, p, &layer.w_gate, &h, &gate, n).await?);
            ds.extend(matmul(ctx, p, &layer.w_up, &h, &up, n).await?);
            ds.push(elementwise(ctx, p, fam.ffn_activation, &gate, &up, n * cfg.d_ff).await?);
            ds.extend(matmul(ctx, p, &layer.w_down, &gate, &o, n).await?);
            ds.extend(residual_add(s, &x, &o, layer.post_ffn_norm.as_ref(), &h, n).await?);
        }
        let out_rows = Rows { n: cfg.d_model, first_row: n - logits_rows, n_rows: logits_rows };
        ds.push(rmsnorm(ctx, p, &x, &w.output_norm, &h_out, out_rows, eps).await?);
        ds.extend(linear(s, w.lm_head(), w.output_bias.as_ref(), &h_out, &logits, logits_rows).await?);
        let last = (logits_rows - 1) * cfg.vocab;
        ds.push(argmax(ctx, p, &logits, last, &argmax_out, cfg.vocab).await?);
        Ok(Graph { n_tokens, ids, logits, argmax_out, id_staging, logits_staging, dispatches: ds })
    }

    /// Records the whole forward pass as one compute pass (its inputs already written).
    pub fn record(&self, encoder: &mut wgpu::CommandEncoder) {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        for d in &self.dispatches {
            d.record(&mut pass);
        }
    }

    /// The one-element buffer the argmax of the last logits row lands in.
    pub fn argmax_out(&self) -> &wgpu::Buffer {
        &self.argmax_out
    }

    /// Runs the graph on `ids` (whose first token is at position `pos0`) and returns the
    /// argmax of the last logits row, plus all computed logits when `read_logits`.
    pub async fn run(
        &self,
        ctx: &GpuContext,
        step: &wgpu::Buffer,
        ids: &[u32],
        pos0: u32,
        read_logits: bool,
    ) -> Result<(u32, Option<Vec<f32>>)> {
        debug_assert_eq!(ids.len(), self.n_tokens as usize);
        ctx.queue.write_buffer(&self.ids, 0, bytemuck::cast_slice(ids));
        ctx.queue.write_buffer(step, 0, bytemuck::bytes_of(&crate::kernels::rope::Step { pos0, _pad: [0; 3] }));
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        self.record(&mut encoder);
        encoder.copy_buffer_to_buffer(&self.argmax_out, 0, &self.id_staging, 0, 4);
        if read_logits {
            encoder.copy_buffer_to_buffer(&self.logits, 0, &self.logits_staging, 0, self.logits.size());
        }
        ctx.queue.submit([encoder.finish()]);
        let id_bytes = ctx.map_read(&self.id_staging).await?;
        let id = u32::from_le_bytes(id_bytes[..4].try_into().expect("4 bytes"));
        let logits = if read_logits { Some(bytemuck::pod_collect_to_vec(&ctx.map_read(&self.logits_staging).await?)) } else { None };
        Ok((id, logits))
    }
}

/// `y = x · Wᵀ (+ bias)` for `n` tokens.
async fn linear(
    s: &Shared<'_>,
    w: &GpuMatrix,
    bias: Option<&wgpu::Buffer>,
    x: &wgpu::Buffer,
    y: &wgpu::Buffer,
    n: u32,
) -> Result<Vec<Dispatch>> {
    let mut ds = matmul(s.ctx, s.pipelines, w, x, y, n).await?;
    if let Some(b) = bias {
        ds.push(add_bias(s.ctx, s.pipelines, y, b, w.rows, n).await?);
    }
    Ok(ds)
}

/// The residual connection `x += out`, or `x += rmsnorm(out) * post_norm` for families that
/// normalise each block's output (`scratch` holds the normalised rows).
async fn residual_add(
    s: &Shared<'_>,
    x: &wgpu::Buffer,
    out: &wgpu::Buffer,
    post_norm: Option<&wgpu::Buffer>,
    scratch: &wgpu::Buffer,
    n: u32,
) -> Result<Vec<Dispatch>> {
    let (ctx, p, d) = (s.ctx, s.pipelines, s.cfg.d_model);
    let mut ds = Vec::new();
    let added = match post_norm {
        Some(weight) => {
            ds.push(rmsnorm(ctx, p, out, weight, scratch, Rows { n: d, first_row: 0, n_rows: n }, s.cfg.rms_eps).await?);
            scratch
        }
        None => out,
    };
    ds.push(elementwise(ctx, p, ElementwiseOp::AddInPlace, x, added, n * d).await?);
    Ok(ds)
}

/// An activation buffer, refused with a clear error (instead of a GPU validation failure
/// when it is bound) if it exceeds the device's storage-binding limit.
fn activation_buffer(ctx: &GpuContext, label: &str, len: usize, n_tokens: u32) -> Result<wgpu::Buffer> {
    let bytes = len as u64 * 4;
    if bytes > ctx.max_storage_binding {
        return Err(Error::InvalidArgument(format!(
            "the `{label}` activations of a {n_tokens}-token batch take {bytes} bytes, over this device's \
             storage-binding limit of {} bytes",
            ctx.max_storage_binding
        )));
    }
    Ok(ctx.f32_buffer(label, len))
}

pub(crate) fn context_full(n_past: u32, n_new: usize, n_ctx: u32) -> Error {
    Error::InvalidArgument(format!("context full: {n_past} tokens in the cache + {n_new} new > context length {n_ctx}"))
}
