//! Text ↔ token ids, built from GGUF metadata alone (or a HF `tokenizer.json`), giving
//! the same ids as llama.cpp.
//!
//! The model-specific work (regex pre-tokenisation, byte-level mapping, BPE merging with
//! byte fallback) is a `tokenizers::Tokenizer`. Around it, this module does what llama.cpp
//! does differently from HF: splitting at special tokens (`special.rs`), the SentencePiece
//! prefix space after every special token, BOS/EOS, and detokenisation from per-token
//! pieces (`pieces.rs`), which the GPU engine also uses for streaming output.
//!
//! Build times (test profile, deps at opt-level 2, shared 2-core dev machine; printed by
//! tests/core/tokenizer_gguf.rs): SmolLM2 (49k tokens) ~60 ms, Qwen2.5 (152k) ~0.35 s,
//! Gemma 3 (262k, merges derived from scores) 0.9-1.7 s.

mod bpe_gpt2;
mod json;
mod pieces;
mod pretokenize;
mod special;
mod spm;
mod vocab;

use crate::error::{Error, Result};
use crate::gguf::Metadata;

use special::{Fragment, SpecialMatcher};
use vocab::{Attr, GgufVocab, ModelKind};

/// Where the tokenizer came from, which decides how `encode`/`decode` drive it.
#[derive(Clone, Debug)]
enum Source {
    /// Built from GGUF metadata: llama.cpp semantics, implemented here.
    Gguf { model: ModelKind, special: SpecialMatcher, add_space_prefix: bool, clean_spaces: bool },
    /// A HF tokenizer.json: its own added tokens, post-processor and decoder decide.
    Json,
}

/// A tokenizer for one model. Cheap to share (`&self` everywhere); building it is the
/// expensive part (see the module docs).
#[derive(Clone)]
pub struct Tokenizer {
    hf: tokenizers::Tokenizer,
    source: Source,
    kind: String,
    attrs: Vec<Attr>,
    pieces: Vec<Vec<u8>>,
    bos: Option<u32>,
    eos: Option<u32>,
    eot: Option<u32>,
    add_bos: bool,
    add_eos: bool,
    stop_ids: Vec<u32>,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("kind", &self.kind)
            .field("vocab_size", &self.pieces.len())
            .field("bos", &self.bos)
            .field("eos", &self.eos)
            .field("eot", &self.eot)
            .finish_non_exhaustive()
    }
}

impl Tokenizer {
    /// Builds the tokenizer described by a GGUF header's `tokenizer.ggml.*` keys.
    ///
    /// Supported `tokenizer.ggml.model`: `gpt2` (byte-level BPE; `tokenizer.ggml.pre`
    /// picks llama.cpp's regexes, an unknown one is an error) and `llama` (SentencePiece).
    pub fn from_gguf(meta: &Metadata) -> Result<Tokenizer> {
        let vocab = GgufVocab::from_metadata(meta)?;
        let (hf, kind) = match vocab.model {
            ModelKind::Gpt2 => {
                let pre = vocab.pre.clone().unwrap_or_else(|| "default".into());
                (bpe_gpt2::build(meta, &vocab)?, format!("gpt2/{pre}"))
            }
            ModelKind::Spm => (spm::build(&vocab)?, "llama (SentencePiece)".to_owned()),
        };
        let pieces = pieces::token_pieces(vocab.model, &vocab.texts, &vocab.attrs);
        let special = SpecialMatcher::new(&vocab.texts, &vocab.attrs);
        Ok(Tokenizer {
            hf,
            source: Source::Gguf {
                model: vocab.model,
                special,
                add_space_prefix: vocab.add_space_prefix,
                clean_spaces: vocab.clean_spaces,
            },
            kind,
            attrs: vocab.attrs,
            pieces,
            bos: vocab.bos,
            eos: vocab.eos,
            eot: vocab.eot,
            add_bos: vocab.add_bos,
            add_eos: vocab.add_eos,
            stop_ids: vocab.eog,
        })
    }

    /// Builds a tokenizer from a HF `tokenizer.json`. `bos`/`eos` override the ids found
    /// by token text (`<s>`, `<bos>`, `<|begin_of_text|>` / `</s>`, `<eos>`, ...). Encoding
    /// and decoding then follow the JSON (its post-processor adds BOS/EOS), not llama.cpp.
    pub fn from_json(json: &[u8], bos: Option<u32>, eos: Option<u32>) -> Result<Tokenizer> {
        json::build(json, bos, eos)
    }

    /// Text → ids. `add_special` adds BOS/EOS as the model says (for GGUF: `add_bos_token`
    /// and `add_eos_token`, with llama.cpp's defaults). Special tokens written in the text
    /// (`<|im_start|>`) become their ids, like llama.cpp with `parse_special = true`.
    pub fn encode(&self, text: &str, add_special: bool) -> Result<Vec<u32>> {
        let Source::Gguf { model, special, add_space_prefix, .. } = &self.source else {
            let enc = self.hf.encode_fast(text, add_special).map_err(hf_error)?;
            return Ok(enc.get_ids().to_vec());
        };
        let mut out = Vec::new();
        if add_special && self.add_bos {
            out.extend(self.bos);
        }
        // llama.cpp gives SentencePiece text a leading space at the start and after every
        // special token when add_space_prefix is on.
        let mut prev_special = true;
        for frag in special.partition(text, true) {
            match frag {
                Fragment::Token(id) => {
                    out.push(id);
                    prev_special = true;
                }
                Fragment::Text { start, end } => {
                    let piece = &text[start..end];
                    let prefixed;
                    let input = if *model == ModelKind::Spm && *add_space_prefix && prev_special {
                        prefixed = format!(" {piece}");
                        prefixed.as_str()
                    } else {
                        piece
                    };
                    let enc = self.hf.encode_fast(input, false).map_err(hf_error)?;
                    out.extend_from_slice(enc.get_ids());
                    prev_special = false;
                }
            }
        }
        if add_special && self.add_eos {
            out.extend(self.eos);
        }
        Ok(out)
    }

    /// Ids → text. With `skip_special`, control tokens are left out and a leading BOS /
    /// trailing EOS that `encode` would add is dropped (llama.cpp's `remove_special` and
    /// `unparse_special = false`). Bytes that are not valid UTF-8 become U+FFFD.
    ///
    /// Like llama.cpp, a SentencePiece prefix space is stripped from the first piece only
    /// when no leading BOS was removed, so `decode(encode(s, true), true)` keeps it while
    /// `decode(encode(s, false), false)` gives `s` back.
    pub fn decode(&self, ids: &[u32], skip_special: bool) -> Result<String> {
        Ok(String::from_utf8_lossy(&self.decode_bytes(ids, skip_special)?).into_owned())
    }

    /// Like [`decode`](Self::decode) but returns the raw bytes.
    pub fn decode_bytes(&self, ids: &[u32], skip_special: bool) -> Result<Vec<u8>> {
        for &id in ids {
            self.check_id(id)?;
        }
        let Source::Gguf { add_space_prefix, clean_spaces, .. } = &self.source else {
            return self.hf.decode(ids, skip_special).map(String::into_bytes).map_err(hf_error);
        };
        let mut ids = ids;
        let mut strip_space = *add_space_prefix;
        if skip_special && self.add_bos && ids.first().is_some_and(|&f| Some(f) == self.bos) {
            ids = &ids[1..];
            strip_space = false;
        }
        if skip_special && self.add_eos && ids.last().is_some_and(|&l| Some(l) == self.eos) {
            ids = &ids[..ids.len() - 1];
        }
        let mut out = Vec::new();
        for &id in ids {
            if skip_special && self.attrs[id as usize].is_special() {
                continue;
            }
            let mut piece: &[u8] = &self.pieces[id as usize];
            // The space SentencePiece put in front of the text is not part of it.
            if strip_space {
                piece = piece.strip_prefix(b" ").unwrap_or(piece);
            }
            strip_space = false;
            out.extend_from_slice(piece);
        }
        if *clean_spaces {
            pieces::clean_spaces(&mut out);
        }
        Ok(out)
    }

    /// The raw bytes token `id` stands for (its text for special tokens). Pieces may end
    /// inside a UTF-8 character: streaming output must buffer until a boundary.
    pub fn token_bytes(&self, id: u32) -> Result<&[u8]> {
        self.check_id(id)?;
        Ok(&self.pieces[id as usize])
    }

    /// Same as [`token_bytes`](Self::token_bytes), owned.
    pub fn decode_token_bytes(&self, id: u32) -> Result<Vec<u8>> {
        self.token_bytes(id).map(<[u8]>::to_vec)
    }

    /// True for control/unknown tokens, which `decode(.., skip_special = true)` leaves out.
    pub fn is_special(&self, id: u32) -> bool {
        self.attrs.get(id as usize).is_some_and(|a| a.is_special())
    }

    pub fn vocab_size(&self) -> usize {
        self.pieces.len()
    }

    pub fn bos_id(&self) -> Option<u32> {
        self.bos
    }

    pub fn eos_id(&self) -> Option<u32> {
        self.eos
    }

    /// End of turn (`<|im_end|>`, `<end_of_turn>`, ...): `tokenizer.ggml.eot_token_id`, or
    /// the first known end-of-turn text in the vocabulary.
    pub fn eot_id(&self) -> Option<u32> {
        self.eot
    }

    /// Whether `encode(.., true)` adds BOS / EOS.
    pub fn adds_bos(&self) -> bool {
        self.add_bos
    }

    pub fn adds_eos(&self) -> bool {
        self.add_eos
    }

    /// Every id that ends generation (llama.cpp's EOG set: EOS, EOT and the other
    /// end-of-turn control tokens), sorted.
    pub fn stop_ids(&self) -> &[u32] {
        &self.stop_ids
    }

    /// What kind of tokenizer this is, for `hearth inspect`: `gpt2/smollm`,
    /// `llama (SentencePiece)`, `tokenizer.json (BPE)`.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The underlying `tokenizers` pipeline (without llama.cpp's special-token handling
    /// for GGUF tokenizers).
    pub fn hf(&self) -> &tokenizers::Tokenizer {
        &self.hf
    }

    fn check_id(&self, id: u32) -> Result<()> {
        if (id as usize) < self.pieces.len() {
            Ok(())
        } else {
            Err(Error::Tokenizer(format!("token id {id} is out of range (vocabulary has {} tokens)", self.pieces.len())))
        }
    }
}

fn hf_error(e: tokenizers::Error) -> Error {
    Error::Tokenizer(e.to_string())
}
