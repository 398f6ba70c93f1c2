//! The model's vocabulary as llguidance sees it: a token trie over each token's bytes, built
//! from Hearth's own tokenizer (the pieces it streams output with), so masks and output agree
//! byte for byte and no second tokenizer library is linked into the wasm.

use std::sync::Arc;

use llguidance::toktrie::{TokEnv, TokRxInfo, TokTrie, TokenId, TokenizerEnv};

use crate::tokenizer::Tokenizer;
use crate::{Error, Result};

struct Vocab {
    trie: TokTrie,
}

impl TokenizerEnv for Vocab {
    fn tok_trie(&self) -> &TokTrie {
        &self.trie
    }

    /// Bytes to ids by longest match in the trie. llguidance tokenizes only prompts it is
    /// given and forced text (`compute_ff_tokens`); Hearth uses neither (it feeds back the
    /// sampled ids), so the model's real tokenizer is not needed here.
    fn tokenize_bytes(&self, s: &[u8]) -> Vec<TokenId> {
        self.trie.greedy_tokenize(s)
    }
}

/// The trie for `tokenizer`, padded to the model's `n_logits` (a logits row may be longer
/// than the vocabulary, e.g. Qwen2.5's 151,936 rows for 151,665 tokens). Control tokens and
/// padding are "special" (marked with 0xff): a grammar never spells them as text, and the
/// end-of-generation ids are the grammar's end.
pub fn tok_env(tokenizer: &Tokenizer, n_logits: u32) -> Result<TokEnv> {
    let n_tokens = tokenizer.vocab_size();
    if n_tokens > n_logits as usize {
        return Err(Error::InvalidArgument(format!(
            "structured output: the tokenizer has {n_tokens} tokens but the model only {n_logits} logits"
        )));
    }
    let special = |text: &[u8]| [&[TokTrie::SPECIAL_TOKEN_MARKER][..], text].concat();
    let mut words = Vec::with_capacity(n_logits as usize);
    for id in 0..n_tokens as u32 {
        let bytes = tokenizer.token_bytes(id)?;
        words.push(if tokenizer.is_special(id) { special(bytes) } else { bytes.to_vec() });
    }
    for id in n_tokens as u32..n_logits {
        words.push(special(format!("<[{id}]>").as_bytes()));
    }
    let stops = tokenizer.stop_ids();
    let eos =
        stops.first().copied().or(tokenizer.eos_id()).ok_or_else(|| {
            Error::InvalidArgument("structured output needs an end-of-generation token, and this tokenizer has none".into())
        })?;
    let mut info = TokRxInfo::new(n_logits, eos);
    info.tok_bos = tokenizer.bos_id();
    let mut trie = TokTrie::from(&info, &words);
    if stops.len() > 1 {
        trie = trie.with_eos_tokens(stops);
    }
    Ok(Arc::new(Vocab { trie }))
}
