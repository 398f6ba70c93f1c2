//! A model file at a glance: what `hearth inspect` prints, computed from the GGUF header
//! alone (no tensor data is read), so it also works on a partly downloaded file.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::Result;
use crate::gguf::GgufHeader;

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ModelSummary {
    pub name: Option<String>,
    pub architecture: String,
    pub gguf_version: u32,
    pub block_count: Option<u64>,
    pub embedding_length: Option<u64>,
    pub feed_forward_length: Option<u64>,
    pub head_count: Option<u64>,
    pub head_count_kv: Option<u64>,
    pub head_dim: Option<u64>,
    pub context_length: Option<u64>,
    pub rope: RopeSummary,
    pub parameter_count: u64,
    /// Tensor count per format, e.g. {"Q4_1": 210, "F32": 61}.
    pub tensor_types: BTreeMap<String, usize>,
    pub tensor_count: usize,
    pub tensor_bytes: u64,
    pub tokenizer: TokenizerSummary,
    pub chat_template: bool,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct RopeSummary {
    pub freq_base: Option<f32>,
    pub dimension_count: Option<u64>,
    pub scaling_type: Option<String>,
    pub scaling_factor: Option<f32>,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct TokenizerSummary {
    /// `tokenizer.ggml.model`: `gpt2` (byte-level BPE) or `llama` (SentencePiece).
    pub model: Option<String>,
    /// `tokenizer.ggml.pre`: the pre-tokenizer variant of a `gpt2` tokenizer.
    pub pre: Option<String>,
    pub vocab_size: Option<usize>,
    pub bos_token_id: Option<u32>,
    pub eos_token_id: Option<u32>,
    pub add_bos_token: Option<bool>,
}

impl ModelSummary {
    pub fn from_header(h: &GgufHeader) -> Result<ModelSummary> {
        let m = &h.metadata;
        let arch = m.architecture()?.to_string();
        let key = |suffix: &str| format!("{arch}.{suffix}");
        let head_count = m.opt_u64(&key("attention.head_count"))?;
        let embedding_length = m.opt_u64(&key("embedding_length"))?;
        let head_dim = match m.opt_u64(&key("attention.key_length"))? {
            Some(d) => Some(d),
            None => embedding_length.zip(head_count).filter(|&(_, h)| h > 0).map(|(e, h)| e / h),
        };
        let mut tensor_types = BTreeMap::new();
        for t in &h.tensors {
            *tensor_types.entry(t.dtype.name().to_string()).or_insert(0) += 1;
        }
        Ok(ModelSummary {
            name: m.opt_str("general.name")?.map(str::to_string),
            gguf_version: h.version,
            block_count: m.opt_u64(&key("block_count"))?,
            embedding_length,
            feed_forward_length: m.opt_u64(&key("feed_forward_length"))?,
            head_count,
            head_count_kv: m.opt_u64(&key("attention.head_count_kv"))?,
            head_dim,
            context_length: m.opt_u64(&key("context_length"))?,
            rope: RopeSummary {
                freq_base: m.opt_f32(&key("rope.freq_base"))?,
                dimension_count: m.opt_u64(&key("rope.dimension_count"))?,
                scaling_type: m.opt_str(&key("rope.scaling.type"))?.map(str::to_string),
                scaling_factor: m.opt_f32(&key("rope.scaling.factor"))?,
            },
            parameter_count: h.tensors.iter().map(|t| t.n_elements).sum(),
            tensor_count: h.tensors.len(),
            tensor_bytes: h.tensors.iter().map(|t| t.n_bytes).sum(),
            tensor_types,
            tokenizer: TokenizerSummary {
                model: m.opt_str("tokenizer.ggml.model")?.map(str::to_string),
                pre: m.opt_str("tokenizer.ggml.pre")?.map(str::to_string),
                vocab_size: m.opt_str_array("tokenizer.ggml.tokens")?.map(<[String]>::len),
                bos_token_id: m.opt_u32("tokenizer.ggml.bos_token_id")?,
                eos_token_id: m.opt_u32("tokenizer.ggml.eos_token_id")?,
                add_bos_token: m.opt_bool("tokenizer.ggml.add_bos_token")?,
            },
            chat_template: m.contains("tokenizer.chat_template"),
            architecture: arch,
        })
    }
}

impl std::fmt::Display for ModelSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
            v.as_ref().map_or("-".to_string(), T::to_string)
        }
        writeln!(f, "name            {}", opt(&self.name))?;
        writeln!(f, "architecture    {} (GGUF v{})", self.architecture, self.gguf_version)?;
        writeln!(f, "layers          {}", opt(&self.block_count))?;
        writeln!(f, "d_model         {}", opt(&self.embedding_length))?;
        writeln!(f, "d_ff            {}", opt(&self.feed_forward_length))?;
        writeln!(f, "heads           {} query / {} kv, head dim {}", opt(&self.head_count), opt(&self.head_count_kv), opt(&self.head_dim))?;
        writeln!(f, "context length  {}", opt(&self.context_length))?;
        let r = &self.rope;
        write!(f, "rope            base {}, dims {}", opt(&r.freq_base), opt(&r.dimension_count))?;
        if let Some(t) = &r.scaling_type {
            write!(f, ", scaling {t} x{}", opt(&r.scaling_factor))?;
        }
        writeln!(f)?;
        writeln!(f, "parameters      {} ({:.1} M)", self.parameter_count, self.parameter_count as f64 / 1e6)?;
        let types: Vec<String> = self.tensor_types.iter().map(|(t, n)| format!("{t}: {n}")).collect();
        writeln!(
            f,
            "tensors         {} ({:.1} MiB): {}",
            self.tensor_count,
            self.tensor_bytes as f64 / (1 << 20) as f64,
            types.join(", ")
        )?;
        let t = &self.tokenizer;
        writeln!(
            f,
            "tokenizer       {} (pre {}), vocab {}, bos {}, eos {}, add_bos {}",
            opt(&t.model),
            opt(&t.pre),
            opt(&t.vocab_size),
            opt(&t.bos_token_id),
            opt(&t.eos_token_id),
            opt(&t.add_bos_token)
        )?;
        write!(f, "chat template   {}", if self.chat_template { "yes" } else { "no" })
    }
}
