//! Model hyper-parameters from GGUF metadata, for every supported architecture, with the
//! family's differences (src/model/family.rs) resolved to numbers the graph uses directly.

use super::family::{Arch, Family};
use crate::error::{Error, Result};
use crate::gguf::Metadata;
use crate::kernels::rope_store::RopeStyle;

#[derive(Clone, Debug)]
pub struct ModelConfig {
    pub arch: Arch,
    pub family: Family,
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
    /// The context the model was trained with before its RoPE was scaled
    /// (`rope.scaling.original_context_length`, else `n_ctx_train`): a longer context picks
    /// LongRoPE's long factors (model/rope.rs).
    pub rope_orig_ctx: u32,
    /// Multiplies the cos and sin of every rotation (`rope.scaling.attn_factor`: LongRoPE's
    /// attention scaling, which scales q·k by its square).
    pub rope_attn_factor: f32,
    /// Dimensions of each head that RoPE rotates.
    pub n_rot: u32,
    /// Multiplies the token embeddings (sqrt(d_model) for Gemma, else 1).
    pub embed_scale: f32,
    /// Multiplies q·k before the softmax.
    pub attn_scale: f32,
    /// Sliding window in tokens of the local layers (0: every layer attends to everything).
    pub sliding_window: u32,
}

/// How one layer attends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerAttention {
    /// Sliding window in tokens (0: the whole past).
    pub window: u32,
    /// Uses the local RoPE frequencies (the family's `SlidingWindow::rope_base`).
    pub local_rope: bool,
    /// Rotates queries and keys at all (`Family::no_rope_layer_step`).
    pub rope: bool,
}

impl ModelConfig {
    pub fn from_metadata(m: &Metadata) -> Result<ModelConfig> {
        let a = m.architecture()?;
        let arch = Arch::from_name(a)?;
        let family = *arch.family();
        let key = |s: &str| format!("{a}.{s}");
        let d_model = m.u32(&key("embedding_length"))?;
        let n_layers = m.u32(&key("block_count"))?;
        let n_heads = m.u32(&key("attention.head_count"))?;
        let n_kv_heads = m.opt_u32(&key("attention.head_count_kv"))?.unwrap_or(n_heads);
        if n_heads == 0 || n_kv_heads == 0 || n_heads % n_kv_heads != 0 {
            return Err(Error::InvalidArgument(format!("{a}: {n_heads} attention heads cannot share {n_kv_heads} key/value heads")));
        }
        let head_dim = m.opt_u32(&key("attention.key_length"))?.unwrap_or(d_model / n_heads);
        let vocab = match m.opt_u32(&key("vocab_size"))? {
            Some(v) => v,
            None => m.str_array("tokenizer.ggml.tokens")?.len() as u32,
        };
        let rope_freq_scale = match m.opt_str(&key("rope.scaling.type"))? {
            None | Some("none") => 1.0,
            Some("linear") => 1.0 / m.f32(&key("rope.scaling.factor"))?,
            // Scaled per pair by the factor tensors (model/rope.rs), not by one factor.
            Some("llama3" | "longrope") => 1.0,
            Some(other) => return Err(unsupported(a, &format!("rope scaling `{other}`"), "rope scaling none, linear, llama3, longrope")),
        };
        if m.opt_f32(&key("final_logit_softcapping"))?.is_some_and(|c| c > 0.0) {
            return Err(unsupported(a, "final logit softcapping", "models without softcapping"));
        }
        let sliding_window = match family.sliding_window {
            Some(_) => m.opt_u32(&key("attention.sliding_window"))?.unwrap_or(0),
            None => 0,
        };
        // Gemma's query pre-attention scalar (llama.cpp's f_attention_scale).
        let scale_dim = match family.attn_scale_by_d_model_at_layers {
            Some(layers) if layers == n_layers => d_model / n_heads,
            _ => head_dim,
        };
        let attn_scale = match m.opt_f32(&key("attention.scale"))? {
            Some(s) => s,
            None => 1.0 / (scale_dim as f32).sqrt(),
        };
        let n_ctx_train = m.u32(&key("context_length"))?;
        let config = ModelConfig {
            arch,
            family,
            n_layers,
            d_model,
            d_ff: m.u32(&key("feed_forward_length"))?,
            n_heads,
            n_kv_heads,
            head_dim,
            vocab,
            n_ctx_train,
            rms_eps: m.opt_f32(&key("attention.layer_norm_rms_epsilon"))?.unwrap_or(1e-5),
            rope_base: m.opt_f32(&key("rope.freq_base"))?.unwrap_or(10_000.0),
            rope_freq_scale,
            rope_style: family.rope_style,
            rope_orig_ctx: m.opt_u32(&key("rope.scaling.original_context_length"))?.unwrap_or(n_ctx_train),
            rope_attn_factor: m.opt_f32(&key("rope.scaling.attn_factor"))?.unwrap_or(1.0),
            n_rot: m.opt_u32(&key("rope.dimension_count"))?.unwrap_or(head_dim),
            embed_scale: if family.scale_embeddings { (d_model as f32).sqrt() } else { 1.0 },
            attn_scale,
            sliding_window,
        };
        config.check(a)?;
        Ok(config)
    }

    /// Every hyper-parameter the graph uses, range-checked before anything is allocated: a
    /// NaN epsilon or a negative RoPE base would otherwise load and generate garbage, and a
    /// huge width would ask the GPU for impossible buffers. The error names the key (the
    /// one that set the value, or the default's) and the value. Tensor shapes are checked
    /// against these numbers when the weights load (model/weights.rs).
    fn check(&self, a: &str) -> Result<()> {
        let key = |s: &str| format!("{a}.{s}");
        let bad = |k: &str, value: String, expected: &str| Err(Error::MetadataValue { key: key(k), value, expected: expected.into() });
        let count = |k: &str, v: u32, max: u32| {
            if (1..=max).contains(&v) { Ok(()) } else { bad(k, v.to_string(), &format!("between 1 and {max}")) }
        };
        count("block_count", self.n_layers, 4096)?;
        count("embedding_length", self.d_model, 1 << 16)?;
        count("feed_forward_length", self.d_ff, 1 << 18)?;
        count("attention.head_count", self.n_heads, 1024)?;
        count("context_length", self.n_ctx_train, 1 << 24)?;
        count("rope.scaling.original_context_length", self.rope_orig_ctx, 1 << 24)?;
        count("vocab_size", self.vocab, 1 << 24)?;
        // RoPE rotates pairs of dimensions; the attention kernels take heads of up to 512.
        if self.head_dim == 0 || self.head_dim % 2 != 0 || self.head_dim > 512 {
            return bad("attention.key_length", self.head_dim.to_string(), "an even number between 2 and 512");
        }
        if self.n_rot == 0 || self.n_rot % 2 != 0 || self.n_rot > self.head_dim {
            return bad("rope.dimension_count", self.n_rot.to_string(), &format!("even, between 2 and the head size {}", self.head_dim));
        }
        let positive = |k: &str, v: f32, max: f32| {
            if v.is_finite() && v > 0.0 && v <= max {
                Ok(())
            } else {
                bad(k, v.to_string(), &format!("a finite number above 0 and at most {max}"))
            }
        };
        positive("attention.layer_norm_rms_epsilon", self.rms_eps, 1.0)?;
        positive("rope.freq_base", self.rope_base, 1e12)?;
        // 1/factor for linear scaling: the factor itself is what the file holds.
        if !(self.rope_freq_scale.is_finite() && self.rope_freq_scale > 0.0) {
            return bad("rope.scaling.factor", (1.0 / self.rope_freq_scale).to_string(), "a finite number above 0");
        }
        positive("attention.scale", self.attn_scale, 1e6)?;
        positive("rope.scaling.attn_factor", self.rope_attn_factor, 1e3)?;
        Ok(())
    }

    pub fn kv_dim(&self) -> u32 {
        self.n_kv_heads * self.head_dim
    }

    pub fn q_dim(&self) -> u32 {
        self.n_heads * self.head_dim
    }

    /// Whether layer `layer` attends through the sliding window, with its own RoPE base, and
    /// whether it rotates at all.
    pub fn layer_attention(&self, layer: u32) -> LayerAttention {
        let rope = self.family.no_rope_layer_step.is_none_or(|step| (layer + 1) % step != 0);
        match self.family.sliding_window {
            Some(swa) if self.sliding_window > 0 && layer % swa.period != swa.period - 1 => {
                LayerAttention { window: self.sliding_window, local_rope: true, rope }
            }
            _ => LayerAttention { window: 0, local_rope: false, rope },
        }
    }
}

fn unsupported(arch: &str, what: &str, supported: &str) -> Error {
    Error::UnsupportedModel { arch: format!("{arch} with {what}"), supported: supported.into() }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::gguf::MetaValue;

    fn gemma3_meta(n_layers: u32, window: Option<u32>) -> Metadata {
        gemma3_meta_with(n_layers, window, vec![])
    }

    /// `overrides` go in first: `Metadata::insert` keeps the first value of a key.
    pub(crate) fn gemma3_meta_with(n_layers: u32, window: Option<u32>, overrides: Vec<(&str, MetaValue)>) -> Metadata {
        let mut m = Metadata::default();
        for (k, v) in overrides {
            m.insert(k.into(), v);
        }
        let mut put = |k: &str, v: MetaValue| {
            m.insert(k.into(), v);
        };
        put("general.architecture", MetaValue::String("gemma3".into()));
        put("gemma3.embedding_length", MetaValue::U32(640));
        put("gemma3.block_count", MetaValue::U32(n_layers));
        put("gemma3.feed_forward_length", MetaValue::U32(2048));
        put("gemma3.attention.head_count", MetaValue::U32(4));
        put("gemma3.attention.head_count_kv", MetaValue::U32(1));
        put("gemma3.attention.key_length", MetaValue::U32(256));
        put("gemma3.context_length", MetaValue::U32(32768));
        put("gemma3.vocab_size", MetaValue::U32(1000));
        if let Some(w) = window {
            put("gemma3.attention.sliding_window", MetaValue::U32(w));
        }
        m
    }

    #[test]
    fn gemma3_layers_follow_llama_cpp_swa_pattern_of_six() {
        let cfg = ModelConfig::from_metadata(&gemma3_meta(18, Some(512))).unwrap();
        let global: Vec<u32> = (0..18).filter(|&i| cfg.layer_attention(i).window == 0).collect();
        assert_eq!(global, [5, 11, 17]);
        assert_eq!(cfg.layer_attention(0), LayerAttention { window: 512, local_rope: true, rope: true });
        assert_eq!(cfg.embed_scale, 640f32.sqrt());
        assert_eq!(cfg.attn_scale, 1.0 / 16.0, "1/sqrt(head_dim 256)");
        assert_eq!(cfg.rope_style, RopeStyle::Neox);
    }

    #[test]
    fn smollm3_skips_rope_on_every_fourth_layer() {
        let mut m = Metadata::default();
        m.insert("general.architecture".into(), MetaValue::String("smollm3".into()));
        for (k, v) in gemma3_meta(8, None).iter() {
            m.insert(k.replace("gemma3", "smollm3"), v.clone());
        }
        let cfg = ModelConfig::from_metadata(&m).unwrap();
        let no_rope: Vec<u32> = (0..8).filter(|&i| !cfg.layer_attention(i).rope).collect();
        assert_eq!(no_rope, [3, 7], "llama.cpp: (il + 1) % 4 == 0");
        assert_eq!(cfg.rope_style, RopeStyle::Normal);
    }

    #[test]
    fn gemma3_without_a_window_is_all_global() {
        let cfg = ModelConfig::from_metadata(&gemma3_meta(18, None)).unwrap();
        assert!((0..18).all(|i| cfg.layer_attention(i) == LayerAttention { window: 0, local_rope: false, rope: true }));
    }

    #[test]
    fn gemma3_27b_scales_queries_by_d_model_over_heads() {
        // llama.cpp recognises the 27B model by its 62 layers.
        let cfg = ModelConfig::from_metadata(&gemma3_meta(62, Some(1024))).unwrap();
        assert_eq!(cfg.attn_scale, 1.0 / 160f32.sqrt());
    }

    /// Each bad value gives `MetadataValue` naming the key and the value (issue: a NaN
    /// epsilon and a negative RoPE base loaded and generated garbage).
    #[test]
    fn out_of_range_hyper_parameters_name_key_and_value() {
        let cases: Vec<(&str, MetaValue, &str)> = vec![
            ("gemma3.attention.layer_norm_rms_epsilon", MetaValue::F32(f32::NAN), "NaN"),
            ("gemma3.attention.layer_norm_rms_epsilon", MetaValue::F32(-1e-6), "-0.000001"),
            ("gemma3.rope.freq_base", MetaValue::F32(-1.0), "-1"),
            ("gemma3.rope.freq_base", MetaValue::F32(f32::INFINITY), "inf"),
            ("gemma3.block_count", MetaValue::U32(0), "0"),
            ("gemma3.embedding_length", MetaValue::U32(1 << 20), "1048576"),
            ("gemma3.attention.key_length", MetaValue::U32(255), "255"),
            ("gemma3.rope.dimension_count", MetaValue::U32(512), "512"),
            ("gemma3.context_length", MetaValue::U32(0), "0"),
            ("gemma3.attention.scale", MetaValue::F32(f32::NAN), "NaN"),
            ("gemma3.rope.scaling.attn_factor", MetaValue::F32(0.0), "0"),
            ("gemma3.rope.scaling.original_context_length", MetaValue::U32(0), "0"),
        ];
        for (key, value, shown) in cases {
            let m = gemma3_meta_with(18, Some(512), vec![(key, value)]);
            let err = ModelConfig::from_metadata(&m).unwrap_err();
            match &err {
                Error::MetadataValue { key: k, value: v, .. } => assert_eq!((k.as_str(), v.as_str()), (key, shown), "{err}"),
                other => panic!("{key}: expected MetadataValue, got {other:?}"),
            }
            assert!(err.to_string().contains(key) && err.to_string().contains("must be"), "{err}");
        }
        // Linear RoPE scaling by a factor of 0 would divide by zero.
        let mut m = gemma3_meta(18, Some(512));
        m.insert("gemma3.rope.scaling.type".into(), MetaValue::String("linear".into()));
        m.insert("gemma3.rope.scaling.factor".into(), MetaValue::F32(0.0));
        let err = ModelConfig::from_metadata(&m).unwrap_err();
        assert!(matches!(&err, Error::MetadataValue { key, .. } if key == "gemma3.rope.scaling.factor"), "{err}");
    }

    /// llama3 and longrope scale RoPE per pair through the factor tensors (model/rope.rs), not
    /// by one factor; a scaling Hearth does not implement is refused naming the ones it does.
    #[test]
    fn rope_scaling_types() {
        for kind in ["llama3", "longrope"] {
            let m = gemma3_meta_with(18, None, vec![("gemma3.rope.scaling.type", MetaValue::String(kind.into()))]);
            assert_eq!(ModelConfig::from_metadata(&m).unwrap().rope_freq_scale, 1.0, "{kind}");
        }
        let m = gemma3_meta_with(18, None, vec![("gemma3.rope.scaling.type", MetaValue::String("yarn".into()))]);
        let err = ModelConfig::from_metadata(&m).unwrap_err();
        assert!(matches!(&err, Error::UnsupportedModel { .. }) && err.to_string().contains("llama3, longrope"), "{err}");
    }

    #[test]
    fn unknown_architecture_lists_the_supported_ones() {
        let mut m = Metadata::default();
        m.insert("general.architecture".into(), MetaValue::String("mamba".into()));
        let err = ModelConfig::from_metadata(&m).unwrap_err();
        assert!(matches!(&err, Error::UnsupportedModel { arch, .. } if arch == "mamba"), "{err}");
        assert!(err.to_string().contains("llama, qwen2, qwen3, gemma3, smollm3, phi3"), "{err}");
    }
}
