//! What distinguishes the supported architectures, as data: the graph builder and the weight
//! loader read one `Family` instead of branching on the architecture name. The values follow
//! llama.cpp's implementation of each family (hparams loading and graph building).

use crate::error::{Error, Result};
use crate::gpu::ElementwiseOp;
use crate::kernels::rope_store::RopeStyle;

/// The architectures Hearth runs (`general.architecture`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    Llama,
    Qwen2,
    Qwen3,
    Gemma3,
    SmolLm3,
    Phi3,
}

impl Arch {
    pub const SUPPORTED: [&'static str; 6] = ["llama", "qwen2", "qwen3", "gemma3", "smollm3", "phi3"];

    pub fn from_name(name: &str) -> Result<Arch> {
        match name {
            "llama" => Ok(Arch::Llama),
            "qwen2" => Ok(Arch::Qwen2),
            "qwen3" => Ok(Arch::Qwen3),
            "gemma3" => Ok(Arch::Gemma3),
            "smollm3" => Ok(Arch::SmolLm3),
            "phi3" => Ok(Arch::Phi3),
            other => Err(Error::UnsupportedModel { arch: other.to_string(), supported: Arch::SUPPORTED.join(", ") }),
        }
    }

    pub fn family(self) -> &'static Family {
        match self {
            Arch::Llama => &LLAMA,
            Arch::Qwen2 => &QWEN2,
            Arch::Qwen3 => &QWEN3,
            Arch::Gemma3 => &GEMMA3,
            Arch::SmolLm3 => &SMOLLM3,
            Arch::Phi3 => &PHI3,
        }
    }
}

/// Sliding-window attention on some layers (Gemma 3: five local layers, then one global).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SlidingWindow {
    /// Layer `i` is global when `i % period == period - 1`, local otherwise
    /// (llama.cpp's `set_swa_pattern(period)`).
    pub period: u32,
    /// RoPE base and frequency scale of the local layers (the global ones use the model's).
    pub rope_base: f32,
    pub rope_freq_scale: f32,
}

/// One architecture's forward pass, relative to llama's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Family {
    pub rope_style: RopeStyle,
    /// The gated FFN activation: `act(gate(x)) * up(x)`.
    pub ffn_activation: ElementwiseOp,
    /// Token embeddings are multiplied by sqrt(d_model) (Gemma).
    pub scale_embeddings: bool,
    /// Per-head RMSNorm of queries and keys before RoPE (`attn_q_norm`, `attn_k_norm`).
    pub qk_norm: bool,
    /// RMSNorm of the attention and FFN outputs before each residual add
    /// (`post_attention_norm`, `post_ffw_norm`).
    pub post_norms: bool,
    /// The query pre-attention scalar is `d_model / n_heads` instead of `head_dim` for models
    /// with this many layers (llama.cpp does this for Gemma 3 27B, by layer count).
    pub attn_scale_by_d_model_at_layers: Option<u32>,
    /// Present when the GGUF sets `{arch}.attention.sliding_window` (> 0).
    pub sliding_window: Option<SlidingWindow>,
    /// Layer `i` applies no RoPE when `(i + 1) % step == 0` (SmolLM3: every 4th layer; its GGUF
    /// has no key for it, llama.cpp fixes the step per architecture too).
    pub no_rope_layer_step: Option<u32>,
}

/// The baseline: pre-norm blocks, adjacent-pair RoPE (GGUF stores Q/K permuted), SwiGLU.
/// Q/K/V/O biases and `output.weight` are loaded when present, for every family.
const LLAMA: Family = Family {
    rope_style: RopeStyle::Normal,
    ffn_activation: ElementwiseOp::SwiGlu,
    scale_embeddings: false,
    qk_norm: false,
    post_norms: false,
    attn_scale_by_d_model_at_layers: None,
    sliding_window: None,
    no_rope_layer_step: None,
};

/// Llama with NeoX-style RoPE (and, in practice, Q/K/V biases and an untied output).
const QWEN2: Family = Family { rope_style: RopeStyle::Neox, ..LLAMA };

/// Qwen2 with Gemma's per-head q/k RMSNorm before RoPE, and (in practice) no Q/K/V biases;
/// the 0.6B-4B models tie the output to `token_embd`.
const QWEN3: Family = Family { qk_norm: true, ..QWEN2 };

const GEMMA3: Family = Family {
    rope_style: RopeStyle::Neox,
    ffn_activation: ElementwiseOp::GeGluTanh,
    scale_embeddings: true,
    qk_norm: true,
    post_norms: true,
    attn_scale_by_d_model_at_layers: Some(62),
    sliding_window: Some(SlidingWindow { period: 6, rope_base: 10_000.0, rope_freq_scale: 1.0 }),
    no_rope_layer_step: None,
};

/// Llama (its converter permutes Q/K like llama's) whose every 4th layer attends without
/// positions (NoPE).
const SMOLLM3: Family = Family { no_rope_layer_step: Some(4), ..LLAMA };

/// Phi-3.5-mini / Phi-4-mini: NeoX RoPE, partial on Phi-4-mini (`rope.dimension_count`), with
/// LongRoPE's factors and attention factor (model/rope.rs); Q/K/V and gate/up fused in the file
/// (model/fused.rs). Its `attention.sliding_window` is ignored, as llama.cpp does (the
/// converter's value is not the model's pattern).
const PHI3: Family = Family { rope_style: RopeStyle::Neox, ..LLAMA };
