//! `tokenizer.ggml.model = gpt2`: byte-level BPE from the GGUF token list and ranked
//! merges ("a b" strings), with llama.cpp's regexes for `tokenizer.ggml.pre`.

use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::BPE;

use super::pretokenize;
use super::vocab::GgufVocab;
use crate::error::{Error, Result};
use crate::gguf::Metadata;

/// Builds the `tokenizers` pipeline (pre-tokenizer, BPE, decoder) without added tokens:
/// special tokens are split off before this runs (see `special.rs`).
pub fn build(meta: &Metadata, vocab: &GgufVocab) -> Result<tokenizers::Tokenizer> {
    let pre = pretokenize::resolve(vocab.pre.as_deref())?;
    let merges_raw = meta.str_array("tokenizer.ggml.merges")?;

    let mut map = tokenizers::models::bpe::Vocab::with_capacity(vocab.len());
    for (i, t) in vocab.texts.iter().enumerate() {
        map.insert(t.clone(), i as u32);
    }

    // llama.cpp splits a merge at its first space after the first byte. A merge whose parts
    // or result are not tokens could never produce a token there either, and `tokenizers`
    // rejects it, so it is left out.
    let mut merges = Vec::with_capacity(merges_raw.len());
    for (i, m) in merges_raw.iter().enumerate() {
        let split = m.bytes().skip(1).position(|b| b == b' ').map(|p| p + 1);
        let Some(p) = split else {
            return Err(Error::Tokenizer(format!("tokenizer.ggml.merges[{i}] = {m:?} has no space")));
        };
        let (a, b) = (&m[..p], &m[p + 1..]);
        if map.contains_key(a) && map.contains_key(b) && map.contains_key(&format!("{a}{b}")) {
            merges.push((a.to_owned(), b.to_owned()));
        }
    }

    let bpe = BPE::builder()
        .vocab_and_merges(map, merges)
        .ignore_merges(pretokenize::ignores_merges(pre))
        .build()
        .map_err(|e| Error::Tokenizer(format!("building BPE model: {e}")))?;

    let mut tok = tokenizers::Tokenizer::new(bpe);
    tok.with_pre_tokenizer(Some(pretokenize::pre_tokenizer(pre)?));
    tok.with_decoder(Some(ByteLevelDecoder::new(false, false, false)));
    Ok(tok)
}
