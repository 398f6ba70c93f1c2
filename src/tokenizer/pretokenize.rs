//! Byte-level BPE pre-tokenisation as llama.cpp does it for each `tokenizer.ggml.pre`
//! (`llm_tokenizer_bpe` in llama-vocab.cpp): a list of regexes applied one after the
//! other, each splitting every piece into matches and the text between them, then the
//! GPT-2 byte-to-unicode mapping. In `tokenizers` terms: a Sequence of
//! `Split(regex, Isolated)` followed by a `ByteLevel` that has no regex of its own.

use tokenizers::SplitDelimiterBehavior;
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};

use crate::error::{Error, Result};

/// The regex families llama.cpp has for the pre-tokenizer names Hearth supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PreKind {
    /// llama.cpp's fallback (`LLAMA_VOCAB_PRE_TYPE_DEFAULT`).
    Default,
    /// GPT-2's single regex.
    Gpt2,
    /// Llama 3: digits in runs of up to three, case-insensitive contractions.
    Llama3,
    /// Qwen2: like Llama 3 but one digit per piece.
    Qwen2,
    /// StarCoder/SmolLM: every digit split off first, then the GPT-2 regex.
    Starcoder,
    /// Falcon.
    Falcon,
    /// GPT-4o's o200k (Phi-4-mini): words split at case changes, digits in runs of up to three.
    Gpt4o,
}

/// `tokenizer.ggml.pre` names Hearth accepts, each with its regex family (llama.cpp's
/// aliases for the same families included).
const NAMES: &[(&str, PreKind)] = &[
    ("default", PreKind::Default),
    ("gpt-2", PreKind::Gpt2),
    ("phi-2", PreKind::Gpt2),
    ("roberta-bpe", PreKind::Gpt2),
    ("mpt", PreKind::Gpt2),
    ("olmo", PreKind::Gpt2),
    ("jais", PreKind::Gpt2),
    ("llama3", PreKind::Llama3),
    ("llama-v3", PreKind::Llama3),
    ("llama-bpe", PreKind::Llama3),
    ("falcon3", PreKind::Llama3),
    ("dbrx", PreKind::Llama3),
    ("smaug-bpe", PreKind::Llama3),
    ("qwen2", PreKind::Qwen2),
    ("stablelm2", PreKind::Qwen2),
    ("megrez", PreKind::Qwen2),
    ("smollm", PreKind::Starcoder),
    ("starcoder", PreKind::Starcoder),
    ("refact", PreKind::Starcoder),
    ("command-r", PreKind::Starcoder),
    ("codeshell", PreKind::Starcoder),
    ("exaone", PreKind::Starcoder),
    ("minerva-7b", PreKind::Starcoder),
    ("falcon", PreKind::Falcon),
    ("gpt-4o", PreKind::Gpt4o),
];

/// Resolves a `tokenizer.ggml.pre` value. A missing one means `default`, as in llama.cpp
/// (which warns that quality may suffer); an unknown one is an error, as in llama.cpp,
/// because guessing the regex silently gives wrong ids.
pub fn resolve(pre: Option<&str>) -> Result<PreKind> {
    let name = pre.unwrap_or("default");
    NAMES.iter().find(|(n, _)| *n == name).map(|(_, k)| *k).ok_or_else(|| {
        let supported: Vec<&str> = NAMES.iter().map(|(n, _)| *n).collect();
        Error::Tokenizer(format!("unsupported tokenizer.ggml.pre `{name}` (supported: {})", supported.join(", ")))
    })
}

/// Pre-tokenizers for which llama.cpp turns `clean_spaces` off.
pub fn keeps_spaces(pre: &str) -> bool {
    matches!(
        pre,
        "qwen2"
            | "gpt-4o"
            | "smollm"
            | "command-r"
            | "deepseek-llm"
            | "deepseek-coder"
            | "deepseek-v3"
            | "poro-chat"
            | "viking"
            | "tekken"
            | "chameleon"
    )
}

/// Pre-tokenizers for which llama.cpp adds BOS by default.
pub fn adds_bos(pre: &str) -> bool {
    matches!(pre, "llama3" | "llama-v3" | "llama-bpe" | "falcon3" | "tekken" | "chameleon")
}

/// llama.cpp's `ignore_merges`: a whole pre-token that is in the vocabulary is one token.
pub fn ignores_merges(kind: PreKind) -> bool {
    kind == PreKind::Llama3
}

const GPT2_RE: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";
// llama.cpp spells `(?i:'s|...)` out as character classes; we use its spelling.
const LLAMA3_RE: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
// The o200k regex of the tokenizer.json files (llama.cpp rewrites its letter classes for its own
// regex engine); contractions spelled out as in LLAMA3_RE.
const GPT4O_RE: &str = concat!(
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?",
    r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?",
    r"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+",
);
const QWEN2_RE: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// The regexes llama.cpp applies, in order.
pub fn regexes(kind: PreKind) -> &'static [&'static str] {
    match kind {
        PreKind::Default => &[r"[\p{P}\$\+<=>\^~\|]+", GPT2_RE, r"\p{N}+", r"[0-9][0-9][0-9]"],
        PreKind::Gpt2 => &[GPT2_RE],
        PreKind::Llama3 => &[LLAMA3_RE],
        PreKind::Qwen2 => &[QWEN2_RE],
        PreKind::Starcoder => &[r"\p{N}", GPT2_RE],
        PreKind::Falcon => &[r"[\p{P}\$\+<=>\^~\|`]+", GPT2_RE, r"[0-9][0-9][0-9]"],
        PreKind::Gpt4o => &[GPT4O_RE],
    }
}

/// The `tokenizers` pre-tokenizer for a family: the regex splits, then byte-level mapping.
pub fn pre_tokenizer(kind: PreKind) -> Result<PreTokenizerWrapper> {
    let mut steps: Vec<PreTokenizerWrapper> = Vec::new();
    for re in regexes(kind) {
        let split = Split::new(SplitPattern::Regex((*re).to_owned()), SplitDelimiterBehavior::Isolated, false)
            .map_err(|e| Error::Tokenizer(format!("pre-tokenizer regex {re:?}: {e}")))?;
        steps.push(split.into());
    }
    // No prefix space and no regex: llama.cpp only maps bytes after its own splits.
    steps.push(ByteLevel::new(false, false, false).into());
    Ok(Sequence::new(steps).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokenizers::{OffsetReferential, OffsetType, PreTokenizedString, PreTokenizer};

    /// Each family's regex cuts the tokenizer tests' curated strings (every script, case mix,
    /// contractions, digits, whitespace runs) into the pieces transformers' pre-tokenizer does
    /// for the tiny family models (tests/fixtures/tiny/, scripts/fixtures/tiny_families.py),
    /// byte-level mapping included.
    #[test]
    fn pieces_match_transformers_for_the_family_regexes() {
        for (model, pre) in [("tiny-qwen3", "qwen2"), ("tiny-llama3", "llama-bpe"), ("tiny-phi3", "gpt-4o")] {
            let path = format!("{}/tests/fixtures/tiny/{model}.json", env!("CARGO_MANIFEST_DIR"));
            let fx: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            let splitter = pre_tokenizer(resolve(Some(pre)).unwrap()).unwrap();
            for case in fx["tokenize"].as_array().unwrap() {
                let text = case["text"].as_str().unwrap();
                let mut s = PreTokenizedString::from(text);
                splitter.pre_tokenize(&mut s).unwrap();
                let got: Vec<&str> = s.get_splits(OffsetReferential::Original, OffsetType::Byte).into_iter().map(|(p, _, _)| p).collect();
                let want: Vec<&str> = case["pieces"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
                assert_eq!(got, want, "{pre}: {text:?}");
            }
        }
    }
}
