//! Model weights on the GPU, by GGUF tensor name. Matrices keep their file's format (one
//! model serves every quantisation); norm vectors are dequantised to f32.

use super::config::ModelConfig;
use crate::error::{Error, Result};
use crate::gguf::{GgufHeader, TensorInfo};
use crate::gpu::{GpuContext, GpuMatrix};
use crate::quant;

/// Where tensor bytes come from: a file natively, downloaded chunks in the browser.
pub trait TensorSource {
    fn header(&self) -> &GgufHeader;
    /// The raw (GGUF layout) bytes of one tensor.
    fn read_tensor(&mut self, info: &TensorInfo) -> Result<Vec<u8>>;
}

#[cfg(not(target_arch = "wasm32"))]
impl TensorSource for crate::gguf::GgufFile {
    fn header(&self) -> &GgufHeader {
        crate::gguf::GgufFile::header(self)
    }
    fn read_tensor(&mut self, info: &TensorInfo) -> Result<Vec<u8>> {
        crate::gguf::GgufFile::read_tensor(self, info)
    }
}

pub struct LayerWeights {
    pub attn_norm: wgpu::Buffer,
    pub wq: GpuMatrix,
    pub wk: GpuMatrix,
    pub wv: GpuMatrix,
    pub wo: GpuMatrix,
    pub ffn_norm: wgpu::Buffer,
    pub w_gate: GpuMatrix,
    pub w_up: GpuMatrix,
    pub w_down: GpuMatrix,
}

pub struct ModelWeights {
    pub token_embd: GpuMatrix,
    /// `output.weight`, or `None` when the output projection is tied to `token_embd`.
    pub output: Option<GpuMatrix>,
    pub output_norm: wgpu::Buffer,
    pub layers: Vec<LayerWeights>,
}

impl ModelWeights {
    pub fn lm_head(&self) -> &GpuMatrix {
        self.output.as_ref().unwrap_or(&self.token_embd)
    }

    pub fn load(ctx: &GpuContext, cfg: &ModelConfig, src: &mut dyn TensorSource) -> Result<ModelWeights> {
        let mut loader = Loader { ctx, src };
        let (d, q, kv, ff, vocab) = (cfg.d_model, cfg.q_dim(), cfg.kv_dim(), cfg.d_ff, cfg.vocab);
        let mut layers = Vec::with_capacity(cfg.n_layers as usize);
        for i in 0..cfg.n_layers {
            let n = |s: &str| format!("blk.{i}.{s}.weight");
            layers.push(LayerWeights {
                attn_norm: loader.vector(&n("attn_norm"), d)?,
                wq: loader.matrix(&n("attn_q"), q, d)?,
                wk: loader.matrix(&n("attn_k"), kv, d)?,
                wv: loader.matrix(&n("attn_v"), kv, d)?,
                wo: loader.matrix(&n("attn_output"), d, q)?,
                ffn_norm: loader.vector(&n("ffn_norm"), d)?,
                w_gate: loader.matrix(&n("ffn_gate"), ff, d)?,
                w_up: loader.matrix(&n("ffn_up"), ff, d)?,
                w_down: loader.matrix(&n("ffn_down"), d, ff)?,
            });
        }
        let output = if loader.src.header().tensor("output.weight").is_some() {
            Some(loader.matrix("output.weight", vocab, d)?)
        } else {
            None
        };
        Ok(ModelWeights {
            token_embd: loader.matrix("token_embd.weight", vocab, d)?,
            output,
            output_norm: loader.vector("output_norm.weight", d)?,
            layers,
        })
    }
}

struct Loader<'a> {
    ctx: &'a GpuContext,
    src: &'a mut dyn TensorSource,
}

impl Loader<'_> {
    fn info(&self, name: &str) -> Result<TensorInfo> {
        self.src.header().tensor(name).cloned().ok_or_else(|| Error::MissingTensor { name: name.to_string() })
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
        Self::check_shape(&info, &[u64::from(cols), u64::from(rows)])?;
        let bytes = self.src.read_tensor(&info)?;
        GpuMatrix::upload(self.ctx, name, info.dtype, rows, cols, &bytes)
    }

    /// A vector of `n` values as f32.
    fn vector(&mut self, name: &str, n: u32) -> Result<wgpu::Buffer> {
        let info = self.info(name)?;
        Self::check_shape(&info, &[u64::from(n)])?;
        let bytes = self.src.read_tensor(&info)?;
        let values = quant::dequantize_to_vec(info.dtype, &bytes)?;
        Ok(self.ctx.f32_buffer_from(name, &values))
    }
}
