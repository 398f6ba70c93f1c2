//! Model hyper-parameters from GGUF metadata, for every supported architecture.

use crate::error::{Error, Result};
use crate::gguf::Metadata;
use crate::kernels::rope::RopeStyle;

/// The architectures Hearth runs (`general.architecture`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    Llama,
}

impl Arch {
    pub const SUPPORTED: [&'static str; 1] = ["llama"];

    pub fn from_name(name: &str) -> Result<Arch> {
        match name {
            "llama" => Ok(Arch::Llama),
            other => Err(Error::UnsupportedModel {
                arch: other.to_string(),
                supported: Arch::SUPPORTED.join(", "),
            }),
        }
    }
}

#[derive(Clone, Debug)]
pub struct ModelConfig {
    pub arch: Arch,
    pub n_layers: u32,
    pub d_model: u32,
    pub d_ff: u32,
    pub n_heads: u32,
    pub n_kv_heads: u32,
    pub head_dim: u32,
    pub vocab: u32,
    /// The context length the model was trained with.
    pub n_ctx_train: u32,
    pub rms_eps: f32,
    pub rope_base: f32,
    pub rope_freq_scale: f32,
    pub rope_style: RopeStyle,
    /// Dimensions of each head that RoPE rotates.
    pub n_rot: u32,
}

impl ModelConfig {
    pub fn from_metadata(m: &Metadata) -> Result<ModelConfig> {
        let arch = Arch::from_name(m.architecture()?)?;
        let a = m.architecture()?;
        let key = |s: &str| format!("{a}.{s}");
        let d_model = m.u32(&key("embedding_length"))?;
        let n_heads = m.u32(&key("attention.head_count"))?;
        let n_kv_heads = m
            .opt_u32(&key("attention.head_count_kv"))?
            .unwrap_or(n_heads);
        if n_heads == 0 || n_kv_heads == 0 || n_heads % n_kv_heads != 0 {
            return Err(Error::InvalidArgument(format!(
                "{a}: {n_heads} attention heads cannot share {n_kv_heads} key/value heads"
            )));
        }
        let head_dim = m
            .opt_u32(&key("attention.key_length"))?
            .unwrap_or(d_model / n_heads);
        let vocab = match m.opt_u32(&key("vocab_size"))? {
            Some(v) => v,
            None => m.str_array("tokenizer.ggml.tokens")?.len() as u32,
        };
        let rope_freq_scale = match m.opt_str(&key("rope.scaling.type"))? {
            None | Some("none") => 1.0,
            Some("linear") => 1.0 / m.f32(&key("rope.scaling.factor"))?,
            Some(other) => {
                return Err(Error::UnsupportedModel {
                    arch: format!("{a} with rope scaling `{other}`"),
                    supported: "rope scaling none, linear".into(),
                });
            }
        };
        Ok(ModelConfig {
            arch,
            n_layers: m.u32(&key("block_count"))?,
            d_model,
            d_ff: m.u32(&key("feed_forward_length"))?,
            n_heads,
            n_kv_heads,
            head_dim,
            vocab,
            n_ctx_train: m.u32(&key("context_length"))?,
            rms_eps: m
                .opt_f32(&key("attention.layer_norm_rms_epsilon"))?
                .unwrap_or(1e-5),
            rope_base: m.opt_f32(&key("rope.freq_base"))?.unwrap_or(10_000.0),
            rope_freq_scale,
            rope_style: match arch {
                Arch::Llama => RopeStyle::Normal,
            },
            n_rot: m.opt_u32(&key("rope.dimension_count"))?.unwrap_or(head_dim),
        })
    }

    pub fn kv_dim(&self) -> u32 {
        self.n_kv_heads * self.head_dim
    }

    pub fn q_dim(&self) -> u32 {
        self.n_heads * self.head_dim
    }
}
