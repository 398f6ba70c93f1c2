//! The vocabulary as llama.cpp loads it from GGUF metadata (`llama_vocab::impl::load`):
//! token texts, per-token attributes, special ids, the add-BOS/EOS flags and the set of
//! end-of-generation tokens. Reproducing its quirks here (default ids, text-based EOG
//! detection that re-types tokens as control) is what makes our ids equal llama.cpp's.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::gguf::Metadata;

/// Token attributes, the bits of llama.cpp's `llama_token_attr` that tokenisation reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Attr(u8);

impl Attr {
    pub const UNDEFINED: Attr = Attr(0);
    pub const UNKNOWN: Attr = Attr(1);
    pub const UNUSED: Attr = Attr(2);
    pub const NORMAL: Attr = Attr(4);
    pub const CONTROL: Attr = Attr(8);
    pub const USER_DEFINED: Attr = Attr(16);
    pub const BYTE: Attr = Attr(32);

    /// From `tokenizer.ggml.token_type` (1 normal, 2 unknown, 3 control, 4 user-defined,
    /// 5 unused, 6 byte; anything else is undefined, as in llama.cpp).
    pub fn from_gguf_type(t: i64) -> Attr {
        match t {
            1 => Attr::NORMAL,
            2 => Attr::UNKNOWN,
            3 => Attr::CONTROL,
            4 => Attr::USER_DEFINED,
            5 => Attr::UNUSED,
            6 => Attr::BYTE,
            _ => Attr::UNDEFINED,
        }
    }

    pub fn has(self, other: Attr) -> bool {
        self.0 & other.0 != 0
    }

    pub fn with(self, other: Attr) -> Attr {
        Attr(self.0 | other.0)
    }

    /// Tokens llama.cpp hides when asked not to render special tokens.
    pub fn is_special(self) -> bool {
        self.has(Attr::CONTROL.with(Attr::UNKNOWN))
    }
}

/// Which tokenisation algorithm the GGUF asks for (`tokenizer.ggml.model`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelKind {
    /// `gpt2`: byte-level BPE with ranked merges.
    Gpt2,
    /// `llama`: SentencePiece-style BPE driven by token scores, with byte fallback.
    Spm,
}

pub const SUPPORTED_MODELS: &str = "gpt2, llama";

/// Texts llama.cpp treats as end-of-turn when no `eot_token_id` is given, in the order
/// Hearth prefers them. (llama.cpp walks a hash map, so with several candidates its pick
/// is unspecified; Hearth takes the first in this list that the vocabulary has.)
pub(super) const EOT_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "<end_of_utterance>",
];
const EOM_TEXTS: &[&str] = &["<|eom_id|>"];
const FIM_PAD_TEXTS: &[&str] = &["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"];
const FIM_REP_TEXTS: &[&str] = &["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"];
const FIM_SEP_TEXTS: &[&str] = &["<|file_sep|>"];
const FIM_OTHER_TEXTS: &[&[&str]] = &[
    &["<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<PRE>", "<|code_prefix|>", "<|prefix|>"],
    &["<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<SUF>", "<|code_suffix|>", "<|suffix|>"],
    &["<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<MID>", "<|code_middle|>", "<|middle|>"],
];
/// Every token with one of these texts ends generation (llama.cpp's list).
pub(super) const EOG_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<|return|>",
    "<|call|>",
    "<|flush|>",
    "<|calls|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "</s>",
    "<|eom_id|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "[EOS]",
    "<|end_of_text|>",
    "<end_of_utterance>",
    "<eos>",
    "<turn|>",
    "<|tool_response>",
];

/// The vocabulary and special-token facts of one GGUF tokenizer.
#[derive(Clone, Debug)]
pub struct GgufVocab {
    pub model: ModelKind,
    /// `tokenizer.ggml.pre`, if present.
    pub pre: Option<String>,
    pub texts: Vec<String>,
    pub attrs: Vec<Attr>,
    pub scores: Vec<f32>,
    pub bos: Option<u32>,
    pub eos: Option<u32>,
    pub eot: Option<u32>,
    pub unk: Option<u32>,
    pub pad: Option<u32>,
    pub add_bos: bool,
    pub add_eos: bool,
    pub add_space_prefix: bool,
    /// llama.cpp's `clean_spaces`: detokenising removes spaces before `?!.,` and some
    /// apostrophes. On for most byte-level BPE pre-tokenizers, off for SentencePiece.
    pub clean_spaces: bool,
    /// End-of-generation ids, sorted.
    pub eog: Vec<u32>,
}

impl GgufVocab {
    pub fn from_metadata(meta: &Metadata) -> Result<GgufVocab> {
        let model_name = meta.str("tokenizer.ggml.model")?;
        let model = match model_name {
            "gpt2" => ModelKind::Gpt2,
            "llama" => ModelKind::Spm,
            other => {
                return Err(Error::Tokenizer(format!("unsupported tokenizer.ggml.model `{other}` (supported: {SUPPORTED_MODELS})")));
            }
        };
        let pre = meta.opt_str("tokenizer.ggml.pre")?.map(str::to_owned);

        let raw = meta.str_array("tokenizer.ggml.tokens")?;
        if raw.is_empty() {
            return Err(Error::Tokenizer("tokenizer.ggml.tokens is empty".into()));
        }
        if u32::try_from(raw.len()).is_err() {
            return Err(Error::Tokenizer(format!("{} tokens do not fit u32 ids", raw.len())));
        }
        let n = raw.len();
        // llama.cpp renames empty tokens so that no special-token pattern is empty.
        let texts: Vec<String> =
            raw.iter().enumerate().map(|(i, t)| if t.is_empty() { format!("[EMPTY_{i}]") } else { t.clone() }).collect();

        let attrs = match meta.opt_int_array("tokenizer.ggml.token_type")? {
            Some(types) if types.len() != n => {
                return Err(Error::Tokenizer(format!(
                    "tokenizer.ggml.token_type has {} entries but tokenizer.ggml.tokens has {n}",
                    types.len()
                )));
            }
            Some(types) => types.into_iter().map(Attr::from_gguf_type).collect(),
            None => vec![Attr::NORMAL; n],
        };
        let scores = match meta.opt_f32_array("tokenizer.ggml.scores")? {
            Some(s) if s.len() != n => {
                return Err(Error::Tokenizer(format!("tokenizer.ggml.scores has {} entries but tokenizer.ggml.tokens has {n}", s.len())));
            }
            Some(s) => s.to_vec(),
            None => vec![0.0; n],
        };

        let mut v = GgufVocab {
            model,
            pre,
            texts,
            attrs,
            scores,
            bos: None,
            eos: None,
            eot: None,
            unk: None,
            pad: None,
            add_bos: false,
            add_eos: false,
            add_space_prefix: false,
            clean_spaces: false,
            eog: Vec::new(),
        };
        v.apply_model_defaults();
        v.read_flags_and_ids(meta)?;
        v.detect_special_by_text(meta)?;
        Ok(v)
    }

    pub fn len(&self) -> usize {
        self.texts.len()
    }

    /// Ids of the tokens whose text is one of `wanted`, in one pass over the vocabulary.
    /// Later duplicates win, like llama.cpp's `token_to_id[word] = i`.
    fn ids_of(&self, wanted: &[&'static str]) -> HashMap<&'static str, u32> {
        let mut found = HashMap::new();
        for (i, t) in self.texts.iter().enumerate() {
            if let Some(w) = wanted.iter().find(|w| **w == t.as_str()) {
                found.insert(*w, i as u32);
            }
        }
        found
    }

    /// llama.cpp's per-model defaults before the metadata overrides them.
    fn apply_model_defaults(&mut self) {
        let valid = |id: u32| ((id as usize) < self.texts.len()).then_some(id);
        match self.model {
            ModelKind::Spm => {
                self.bos = valid(1);
                self.eos = valid(2);
                self.unk = valid(0);
                self.add_bos = true;
                self.add_space_prefix = true;
                self.clean_spaces = false;
            }
            ModelKind::Gpt2 => {
                // llama.cpp really defaults both to 11 for BPE vocabularies.
                self.bos = valid(11);
                self.eos = valid(11);
                let pre = self.pre.as_deref().unwrap_or("default");
                self.clean_spaces = !crate::tokenizer::pretokenize::keeps_spaces(pre);
                self.add_bos = crate::tokenizer::pretokenize::adds_bos(pre);
            }
        }
    }

    fn read_flags_and_ids(&mut self, meta: &Metadata) -> Result<()> {
        let n = self.texts.len();
        let id = |key: &str| -> Result<Option<Option<u32>>> {
            // Out-of-range ids are ignored (llama.cpp warns and keeps its default).
            Ok(meta.opt_u32(key)?.map(|v| ((v as usize) < n).then_some(v)))
        };
        if let Some(Some(v)) = id("tokenizer.ggml.bos_token_id")? {
            self.bos = Some(v);
        }
        if let Some(Some(v)) = id("tokenizer.ggml.eos_token_id")? {
            self.eos = Some(v);
        }
        if let Some(Some(v)) = id("tokenizer.ggml.eot_token_id")? {
            self.eot = Some(v);
        }
        if let Some(Some(v)) = id("tokenizer.ggml.unknown_token_id")? {
            self.unk = Some(v);
        }
        if let Some(Some(v)) = id("tokenizer.ggml.padding_token_id")? {
            self.pad = Some(v);
        }
        if let Some(b) = meta.opt_bool("tokenizer.ggml.add_bos_token")? {
            self.add_bos = b;
        }
        if let Some(b) = meta.opt_bool("tokenizer.ggml.add_eos_token")? {
            self.add_eos = b;
        }
        if let Some(b) = meta.opt_bool("tokenizer.ggml.add_space_prefix")? {
            self.add_space_prefix = b;
        }
        if self.add_bos && self.bos.is_none() {
            return Err(Error::Tokenizer("add_bos_token is set but the vocabulary has no BOS token".into()));
        }
        if self.add_eos && self.eos.is_none() {
            return Err(Error::Tokenizer("add_eos_token is set but the vocabulary has no EOS token".into()));
        }
        Ok(())
    }

    fn mark_control(&mut self, id: u32) {
        let a = &mut self.attrs[id as usize];
        *a = a.with(Attr::CONTROL);
    }

    /// llama.cpp's text-based detection of EOT/EOM/FIM tokens and of the EOG set; every
    /// token it picks this way becomes a control token (so it is matched as special text).
    fn detect_special_by_text(&mut self, meta: &Metadata) -> Result<()> {
        let fim_key = |k: &str| meta.opt_u32(k).map(|v| v.filter(|&v| (v as usize) < self.texts.len()));
        let eom_meta = fim_key("tokenizer.ggml.eom_token_id")?;
        let fim_pad_meta = fim_key("tokenizer.ggml.fim_pad_token_id")?;
        let fim_rep_meta = fim_key("tokenizer.ggml.fim_rep_token_id")?;
        let fim_sep_meta = fim_key("tokenizer.ggml.fim_sep_token_id")?;

        let mut wanted: Vec<&'static str> = [EOT_TEXTS, EOM_TEXTS, FIM_PAD_TEXTS, FIM_REP_TEXTS, FIM_SEP_TEXTS]
            .into_iter()
            .chain(FIM_OTHER_TEXTS.iter().copied())
            .flatten()
            .copied()
            .collect();
        wanted.extend(["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"]);
        let index = self.ids_of(&wanted);

        // The first text of the list that the vocabulary has, unless the metadata named one.
        let detect = |v: &mut Self, given: Option<u32>, texts: &[&str]| -> Option<u32> {
            if given.is_some() {
                return given;
            }
            let found = texts.iter().find_map(|t| index.get(t).copied());
            if let Some(id) = found {
                v.mark_control(id);
            }
            found
        };
        let eot = detect(self, self.eot, EOT_TEXTS);
        self.eot = eot;
        let eom = detect(self, eom_meta, EOM_TEXTS);
        let fim_pad = detect(self, fim_pad_meta, FIM_PAD_TEXTS);
        let fim_rep = detect(self, fim_rep_meta, FIM_REP_TEXTS);
        let fim_sep = detect(self, fim_sep_meta, FIM_SEP_TEXTS);
        for texts in FIM_OTHER_TEXTS {
            // Prefix/suffix/middle are not EOG, but llama.cpp still re-types them as control.
            detect(self, None, texts);
        }

        let mut eog: Vec<u32> = [fim_pad, fim_rep, fim_sep].into_iter().flatten().collect();
        for i in 0..self.texts.len() {
            if EOG_TEXTS.contains(&self.texts[i].as_str()) {
                eog.push(i as u32);
                self.mark_control(i as u32);
            }
        }
        // gpt-oss: these must always be rendered, so llama.cpp makes them user-defined.
        for t in ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"] {
            if let Some(&id) = index.get(t) {
                self.attrs[id as usize] = Attr::USER_DEFINED;
            }
        }
        eog.extend([self.eos, eot, eom].into_iter().flatten());
        eog.sort_unstable();
        eog.dedup();

        let text_of = |v: &Self, id: u32| v.texts[id as usize].clone();
        let has = |v: &Self, eog: &[u32], t: &str| eog.iter().find(|&&id| text_of(v, id) == t).copied();
        // o200k_harmony / solar-open: `<|end|>` is not an end of generation there.
        let has_return = has(self, &eog, "<|return|>").is_some();
        let has_call = has(self, &eog, "<|call|>").is_some() || has(self, &eog, "<|calls|>").is_some();
        let has_flush = has(self, &eog, "<|flush|>").is_some();
        if let Some(end) = has(self, &eog, "<|end|>") {
            if has_call && (has_return || has_flush) {
                eog.retain(|&x| x != end);
                self.attrs[end as usize] = Attr::USER_DEFINED;
            }
        }
        // gemma4 / paddleocr: `</s>` is ordinary text when `<|tool_response>` exists.
        if let (Some(_), Some(s)) = (has(self, &eog, "<|tool_response>"), has(self, &eog, "</s>")) {
            eog.retain(|&x| x != s);
            self.attrs[s as usize] = Attr::NORMAL;
        }
        self.eog = eog;
        Ok(())
    }
}
