//! Model weights on the GPU, by GGUF tensor name. Matrices keep their file's format (one
//! model serves every quantisation); norm and bias vectors are dequantised to f32.
//! Gemma's RMSNorm multiplies by (1 + w): its GGUF converter stores w + 1, so every family's
//! norm weights are used as they are.
//!
//! Loading is in two steps so weights can stream: `ModelWeights::declare` reads only the
//! header, checks every tensor's shape and allocates its GPU buffers; the returned
//! [`TensorUploads`] then takes the file's bytes in order and fills those buffers.

use super::config::ModelConfig;
use super::upload::TensorUploads;
use super::{fused, rope};
use crate::error::{Error, Result};
use crate::gguf::{GgufHeader, TensorInfo};
use crate::gpu::{GpuContext, GpuMatrix, RowStack, WeightPart};
use crate::quant::DType;

pub struct LayerWeights {
    pub attn_norm: wgpu::Buffer,
    /// The Q, K and V projections as consecutive rows of one `[q_dim + 2 kv_dim] × d_model`
    /// product: a matrix per run of them that shares a format, concatenated at load, all in
    /// one buffer where they fit one binding (one dispatch).
    pub qkv: RowStack,
    pub wo: GpuMatrix,
    /// The Q, K, V biases concatenated like the matrices (zeros for any the file lacks), when
    /// the file has any (Qwen2: all three).
    pub b_qkv: Option<wgpu::Buffer>,
    pub bo: Option<wgpu::Buffer>,
    /// Per-head RMSNorm weights (`head_dim`) of queries and keys (`Family::qk_norm`).
    pub q_norm: Option<wgpu::Buffer>,
    pub k_norm: Option<wgpu::Buffer>,
    /// RMSNorm of the attention output before the residual add (`Family::post_norms`).
    pub post_attn_norm: Option<wgpu::Buffer>,
    pub ffn_norm: wgpu::Buffer,
    pub ffn_in: FfnIn,
    pub w_down: GpuMatrix,
    /// RMSNorm of the FFN output before the residual add (`Family::post_norms`).
    pub post_ffn_norm: Option<wgpu::Buffer>,
}

/// The FFN's gate and up projections.
pub enum FfnIn {
    /// Concatenated at load, [gate; up] in one buffer (one matrix, or two of different
    /// formats), for one matmul with the gated activation in its epilogue: when they fit one
    /// binding together.
    GateUp(RowStack),
    /// Two matrices (too large for one binding together).
    Separate { gate: GpuMatrix, up: GpuMatrix },
}

impl FfnIn {
    fn matrices(&self) -> Vec<&GpuMatrix> {
        match self {
            FfnIn::GateUp(s) => s.matrices().collect(),
            FfnIn::Separate { gate, up } => vec![gate, up],
        }
    }
}

pub struct ModelWeights {
    pub token_embd: GpuMatrix,
    /// `output.weight`, or `None` when the output projection is tied to `token_embd`.
    pub output: Option<GpuMatrix>,
    /// `output.bias`, when the file has one.
    pub output_bias: Option<wgpu::Buffer>,
    pub output_norm: wgpu::Buffer,
    pub layers: Vec<LayerWeights>,
    /// The global layers' RoPE inverse frequencies divided by the file's per-pair factors
    /// (model/rope.rs), when it has factors for this context.
    pub rope_freqs: Option<wgpu::Buffer>,
}

impl ModelWeights {
    pub fn lm_head(&self) -> &GpuMatrix {
        self.output.as_ref().unwrap_or(&self.token_embd)
    }

    /// Every weight matrix of the model.
    pub fn matrices(&self) -> impl Iterator<Item = &GpuMatrix> {
        let per_layer = self.layers.iter().flat_map(|l| l.qkv.matrices().chain([&l.wo, &l.w_down]).chain(l.ffn_in.matrices()));
        [&self.token_embd].into_iter().chain(self.output.as_ref()).chain(per_layer)
    }

    /// The matrices that only matmuls read: every one but the token embedding (which the
    /// embedding kernel reads from its buffer, whether or not it is also the output head).
    fn matmul_only_matrices(&self) -> impl Iterator<Item = &GpuMatrix> {
        self.matrices().filter(|m| !std::ptr::eq(*m, &self.token_embd))
    }

    /// Frees the buffers of the matrices only matmuls read once their texture mirrors exist
    /// (`WeightPart::release_buffer_once_mirrored`): where the matmuls read every weight from a
    /// mirror, which `Model::from_weights` decides from the tuning. Qwen2.5 0.5B's layers
    /// otherwise sat in memory twice on lavapipe: 1,109 MB resident once loaded, 912 MB with
    /// their buffers freed (2026-11-27). The embedding keeps its buffer, which its kernel
    /// reads: reading it from the mirror too and freeing it measured 1,005 MB, not less
    /// (lavapipe or wgpu's allocator kept the freed memory), so that stays a buffer.
    pub fn release_buffers_behind_mirrors(&self) {
        for m in self.matmul_only_matrices() {
            m.parts.iter().for_each(WeightPart::release_buffer_once_mirrored);
        }
    }

    /// Bytes of every weight buffer (matrix parts and vectors) on the GPU.
    pub fn gpu_bytes(&self) -> u64 {
        let opt = |b: &Option<wgpu::Buffer>| b.as_ref().map_or(0, wgpu::Buffer::size);
        let vectors: u64 = self
            .layers
            .iter()
            .map(|l| {
                l.attn_norm.size()
                    + l.ffn_norm.size()
                    + [&l.b_qkv, &l.bo, &l.q_norm, &l.k_norm, &l.post_attn_norm, &l.post_ffn_norm].into_iter().map(opt).sum::<u64>()
            })
            .sum();
        self.matrices().map(GpuMatrix::gpu_bytes).sum::<u64>()
            + vectors
            + opt(&self.output_bias)
            + self.output_norm.size()
            + opt(&self.rope_freqs)
    }

    /// Allocates every weight the model needs for a context of `n_ctx` tokens, from the header
    /// alone, and says where in the file each one's bytes are.
    pub fn declare(ctx: &GpuContext, cfg: &ModelConfig, header: &GgufHeader, n_ctx: u32) -> Result<(ModelWeights, TensorUploads)> {
        let mut loader = Loader { ctx, header, uploads: TensorUploads::default() };
        let (d, q, kv, ff, vocab) = (cfg.d_model, cfg.q_dim(), cfg.kv_dim(), cfg.d_ff, cfg.vocab);
        let (qk_norm, post_norms) = (cfg.family.qk_norm, cfg.family.post_norms);
        let mut layers = Vec::with_capacity(cfg.n_layers as usize);
        for i in 0..cfg.n_layers {
            let n = |s: &str| format!("blk.{i}.{s}.weight");
            let b = |s: &str| format!("blk.{i}.{s}.bias");
            let p = fused::projections(header, cfg, i)?;
            let b_qkv = match p.qkv_fused {
                true => loader.opt_vector(&b("attn_qkv"), q + 2 * kv)?,
                false => loader
                    .concat_opt_vectors(&[(&b("attn_q"), q), (&b("attn_k"), kv), (&b("attn_v"), kv)], &format!("blk.{i}.attn_qkv.bias"))?,
            };
            layers.push(LayerWeights {
                attn_norm: loader.vector(&n("attn_norm"), d)?,
                qkv: loader.concat_rows(&p.qkv, d, &format!("blk.{i}.attn_qkv"))?,
                wo: loader.matrix(&n("attn_output"), d, q)?,
                b_qkv,
                bo: loader.opt_vector(&b("attn_output"), d)?,
                q_norm: loader.vector_if(qk_norm, &n("attn_q_norm"), cfg.head_dim)?,
                k_norm: loader.vector_if(qk_norm, &n("attn_k_norm"), cfg.head_dim)?,
                post_attn_norm: loader.vector_if(post_norms, &n("post_attention_norm"), d)?,
                ffn_norm: loader.vector(&n("ffn_norm"), d)?,
                ffn_in: loader.gate_up(&p.gate, &p.up, &format!("blk.{i}.ffn_gate_up.weight"), ff, d)?,
                w_down: loader.matrix(&n("ffn_down"), d, ff)?,
                post_ffn_norm: loader.vector_if(post_norms, &n("post_ffw_norm"), d)?,
            });
        }
        let output = if loader.header.tensor("output.weight").is_some() { Some(loader.matrix("output.weight", vocab, d)?) } else { None };
        let weights = ModelWeights {
            token_embd: loader.matrix("token_embd.weight", vocab, d)?,
            output,
            output_bias: loader.opt_vector("output.bias", vocab)?,
            output_norm: loader.vector("output_norm.weight", d)?,
            layers,
            rope_freqs: loader.rope_freqs(cfg, n_ctx)?,
        };
        Ok((weights, loader.uploads))
    }
}

struct Loader<'a> {
    ctx: &'a GpuContext,
    header: &'a GgufHeader,
    uploads: TensorUploads,
}

impl Loader<'_> {
    fn info(&self, name: &str) -> Result<TensorInfo> {
        self.header.tensor(name).cloned().ok_or_else(|| Error::MissingTensor { name: name.to_string() })
    }

    fn check_shape(info: &TensorInfo, want: &[u64]) -> Result<()> {
        if info.dims != want {
            return Err(Error::InvalidArgument(format!(
                "tensor `{}` has shape {:?}, the model's metadata implies {want:?}",
                info.name, info.dims
            )));
        }
        Ok(())
    }

    /// A `[rows × cols]` matrix (GGUF dims `[cols, rows]`).
    fn matrix(&mut self, name: &str, rows: u32, cols: u32) -> Result<GpuMatrix> {
        let info = self.info(name)?;
        self.matrix_of(&info, rows, cols)
    }

    /// The matrix `info` (a tensor, or rows of one: model/fused.rs).
    fn matrix_of(&mut self, info: &TensorInfo, rows: u32, cols: u32) -> Result<GpuMatrix> {
        Self::check_shape(info, &[u64::from(cols), u64::from(rows)])?;
        let m = GpuMatrix::allocate(self.ctx, &info.name, info.dtype, rows, cols)?;
        self.uploads.add_matrix(info, m.clone());
        Ok(m)
    }

    /// Matrices `[rows_i × cols]` stacked by rows, each run of consecutive ones in the same
    /// format concatenated into one matrix (named `fused[first..end].weight` when it holds
    /// several, else after its tensor), in one buffer where they fit one binding.
    fn concat_rows(&mut self, infos: &[(TensorInfo, u32)], cols: u32, fused: &str) -> Result<RowStack> {
        for (info, rows) in infos {
            Self::check_shape(info, &[u64::from(cols), u64::from(*rows)])?;
        }
        // (first tensor, end, format, rows) per run.
        let mut runs = Vec::new();
        let mut start = 0;
        while start < infos.len() {
            let dtype = infos[start].0.dtype;
            let end = start + infos[start..].iter().take_while(|(info, _)| info.dtype == dtype).count();
            runs.push((start, end, dtype, infos[start..end].iter().map(|(_, r)| r).sum::<u32>()));
            start = end;
        }
        let named: Vec<(String, DType, u32)> = runs
            .iter()
            .map(|&(start, end, dtype, rows)| {
                let name = if end - start == 1 { infos[start].0.name.clone() } else { format!("{fused}[{start}..{end}].weight") };
                (name, dtype, rows)
            })
            .collect();
        let stack = RowStack::allocate(self.ctx, &named, cols)?;
        for (&(start, end, ..), (_, m)) in runs.iter().zip(&stack.runs) {
            let mut row = 0;
            for (info, rows) in &infos[start..end] {
                self.uploads.add_matrix_rows(info, m.clone(), row);
                row += rows;
            }
        }
        Ok(stack)
    }

    /// Vectors of `n_i` values stacked into one f32 buffer, those the file lacks left zero;
    /// `None` when it has none of them.
    fn concat_opt_vectors(&mut self, tensors: &[(&str, u32)], label: &str) -> Result<Option<wgpu::Buffer>> {
        if tensors.iter().all(|(name, _)| self.header.tensor(name).is_none()) {
            return Ok(None);
        }
        let total: u32 = tensors.iter().map(|(_, n)| n).sum();
        let buffer = self.ctx.f32_buffer(label, total as usize);
        let mut at = 0u64;
        for &(name, n) in tensors {
            if let Some(info) = self.header.tensor(name).cloned() {
                Self::check_shape(&info, &[u64::from(n)])?;
                self.uploads.add_vector_at(&info, buffer.clone(), at * 4);
            }
            at += u64::from(n);
        }
        Ok(Some(buffer))
    }

    /// The gate and up matrices (`[rows × cols]` each), stacked as `[2 rows × cols]` (one
    /// matrix named `fused` when they share a format) when they fit one storage binding
    /// together, else apart.
    fn gate_up(&mut self, gi: &TensorInfo, ui: &TensorInfo, fused: &str, rows: u32, cols: u32) -> Result<FfnIn> {
        for info in [gi, ui] {
            Self::check_shape(info, &[u64::from(cols), u64::from(rows)])?;
        }
        let runs = match gi.dtype == ui.dtype {
            true => vec![(fused.to_string(), gi.dtype, 2 * rows)],
            false => vec![(gi.name.clone(), gi.dtype, rows), (ui.name.clone(), ui.dtype, rows)],
        };
        // Over the binding limit, the stack is a matrix per run (and its buffers are dropped).
        let stack = RowStack::allocate(self.ctx, &runs, cols)?;
        if !stack.shared {
            return Ok(FfnIn::Separate { gate: self.matrix_of(gi, rows, cols)?, up: self.matrix_of(ui, rows, cols)? });
        }
        let (first, last) = (&stack.runs[0].1, &stack.runs[stack.runs.len() - 1]);
        self.uploads.add_matrix_rows(gi, first.clone(), 0);
        self.uploads.add_matrix_rows(ui, last.1.clone(), rows - last.0);
        Ok(FfnIn::GateUp(stack))
    }

    /// A vector of `n` values, stored as f32 whatever its format in the file.
    fn vector(&mut self, name: &str, n: u32) -> Result<wgpu::Buffer> {
        let info = self.info(name)?;
        Self::check_shape(&info, &[u64::from(n)])?;
        let buffer = self.ctx.f32_buffer(name, n as usize);
        self.uploads.add_vector(&info, buffer.clone());
        Ok(buffer)
    }

    /// A vector the model may or may not have (biases).
    fn opt_vector(&mut self, name: &str, n: u32) -> Result<Option<wgpu::Buffer>> {
        let present = self.header.tensor(name).is_some();
        present.then(|| self.vector(name, n)).transpose()
    }

    /// The RoPE factors for this context, if the file has them, as the frequencies they make.
    fn rope_freqs(&mut self, cfg: &ModelConfig, n_ctx: u32) -> Result<Option<wgpu::Buffer>> {
        let Some(name) = rope::factors_tensor(self.header, cfg, n_ctx) else { return Ok(None) };
        let info = self.info(name)?;
        Self::check_shape(&info, &[u64::from(cfg.n_rot / 2)])?;
        let buffer = self.ctx.f32_buffer("inv_freq (rope factors applied)", (cfg.n_rot / 2) as usize);
        self.uploads.add_rope_factors(&info, buffer.clone(), rope::base_inv_freq(cfg));
        Ok(Some(buffer))
    }

    /// A vector the family needs (`wanted`), else none.
    fn vector_if(&mut self, wanted: bool, name: &str, n: u32) -> Result<Option<wgpu::Buffer>> {
        wanted.then(|| self.vector(name, n)).transpose()
    }
}
