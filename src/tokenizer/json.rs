//! `Tokenizer::from_json`: a HF `tokenizer.json` used as is. Its own added tokens,
//! normaliser, pre-tokenizer, post-processor and decoder decide encoding and decoding;
//! this file only derives what Hearth needs beside them: BOS/EOS/EOT, stop ids and the
//! per-token byte pieces for streaming.

use super::pieces;
use super::vocab::{Attr, EOG_TEXTS, EOT_TEXTS, ModelKind};
use super::{Source, Tokenizer};
use crate::error::{Error, Result};

const BOS_TEXTS: &[&str] = &["<s>", "<bos>", "<|begin_of_text|>", "<|startoftext|>", "<|im_start|>"];
const EOS_TEXTS: &[&str] = &["</s>", "<eos>", "<|end_of_text|>", "<|endoftext|>", "<|im_end|>"];

pub fn build(json: &[u8], bos: Option<u32>, eos: Option<u32>) -> Result<Tokenizer> {
    let hf = tokenizers::Tokenizer::from_bytes(json).map_err(|e| Error::Tokenizer(format!("tokenizer.json: {e}")))?;
    // Byte-level vocabularies spell bytes as GPT-2 characters; the others are
    // SentencePiece-like ('▁' for space, `<0xNN>` byte tokens).
    let raw: serde_json::Value = serde_json::from_slice(json).map_err(|e| Error::Tokenizer(format!("tokenizer.json: {e}")))?;
    let mentions_byte_level = |key: &str| raw.get(key).is_some_and(|v| v.to_string().contains("\"ByteLevel\""));
    let model = if mentions_byte_level("decoder") || mentions_byte_level("pre_tokenizer") { ModelKind::Gpt2 } else { ModelKind::Spm };

    let n = hf.get_vocab_size(true);
    let added = hf.get_added_tokens_decoder();
    let mut texts = Vec::with_capacity(n);
    let mut attrs = Vec::with_capacity(n);
    for id in 0..n as u32 {
        let text = hf.id_to_token(id).unwrap_or_default();
        let attr = match added.get(&id) {
            Some(t) if t.special => Attr::CONTROL,
            Some(_) => Attr::USER_DEFINED,
            None if text.is_empty() => Attr::UNDEFINED,
            None if model == ModelKind::Spm && pieces::parse_byte_token(&text).is_some() => Attr::BYTE,
            None => Attr::NORMAL,
        };
        texts.push(text);
        attrs.push(attr);
    }
    let find = |cands: &[&str]| cands.iter().find_map(|t| hf.token_to_id(t));
    let check = |id: Option<u32>, what: &str| -> Result<Option<u32>> {
        match id {
            Some(i) if i as usize >= n => Err(Error::Tokenizer(format!("{what} id {i} is out of range (vocabulary has {n} tokens)"))),
            other => Ok(other),
        }
    };
    let bos = check(bos.or_else(|| find(BOS_TEXTS)), "BOS")?;
    let eos = check(eos.or_else(|| find(EOS_TEXTS)), "EOS")?;
    let eot = find(EOT_TEXTS);

    let mut stop_ids: Vec<u32> = EOG_TEXTS.iter().filter_map(|t| hf.token_to_id(t)).collect();
    stop_ids.extend(eos);
    stop_ids.sort_unstable();
    stop_ids.dedup();

    // Whether the post-processor adds BOS/EOS, seen on the empty string.
    let framing = hf.encode_fast("", true).map_err(|e| Error::Tokenizer(e.to_string()))?;
    let framing = framing.get_ids();
    let add_bos = bos.is_some() && framing.first().copied() == bos;
    let add_eos = eos.is_some() && framing.last().copied() == eos;

    let pieces = pieces::token_pieces(model, &texts, &attrs);
    let kind = match model {
        ModelKind::Gpt2 => "tokenizer.json (byte-level BPE)",
        ModelKind::Spm => "tokenizer.json (SentencePiece-style)",
    };
    Ok(Tokenizer { hf, source: Source::Json, kind: kind.to_owned(), attrs, pieces, bos, eos, eot, add_bos, add_eos, stop_ids })
}
