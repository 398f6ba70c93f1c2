//! One request's constraint: llguidance's matcher over the model's vocabulary, asked for the
//! allowed tokens before each step and told the token that was sampled.

use llguidance::toktrie::TokEnv;
use llguidance::{Matcher, ParserFactory};
use serde::Serialize;

use super::ResponseFormat;
use crate::tokenizer::Tokenizer;
use crate::{Error, Result};

/// What every constraint of one model shares: the vocabulary trie and llguidance's lexer
/// slices (building them walks the whole vocabulary: do it once per model, not per request).
pub struct Grammars {
    factory: ParserFactory,
}

impl Grammars {
    pub fn new(tokenizer: &Tokenizer, n_logits: u32) -> Result<Grammars> {
        let env: TokEnv = super::vocab::tok_env(tokenizer, n_logits)?;
        let mut factory = ParserFactory::new_simple(&env).map_err(|e| Error::InvalidArgument(format!("structured output: {e}")))?;
        // Errors come back as values (and become Hearth errors); nothing for stderr.
        factory.quiet();
        Ok(Grammars { factory })
    }

    /// The constraint for `format`, `None` for plain text. A schema or grammar llguidance
    /// cannot compile is an `InvalidArgument` naming the request field. llguidance bounds its
    /// own work per grammar and per step (`ParserLimits`), so a hostile grammar fails rather
    /// than hangs.
    pub fn constraint(&self, format: &ResponseFormat) -> Result<Option<Constraint>> {
        let field = format.field();
        let Some(grammar) = format.grammar()? else { return Ok(None) };
        let parser = self.factory.create_parser(grammar).map_err(|e| Error::InvalidArgument(format!("{field}: {e}")))?;
        let matcher = Matcher::new(Ok(parser));
        if let Some(e) = matcher.get_error() {
            return Err(Error::InvalidArgument(format!("{field}: {e}")));
        }
        Ok(Some(Constraint { matcher, field, mask_seconds: Vec::new() }))
    }
}

pub struct Constraint {
    matcher: Matcher,
    field: &'static str,
    /// How long each `mask` took.
    mask_seconds: Vec<f64>,
}

/// The cost of a request's masks, for `Generation` (and `hearth generate --json`).
#[derive(Clone, Debug, Default, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ConstraintStats {
    pub masks: usize,
    pub mask_ms_median: f64,
    pub mask_ms_max: f64,
    pub mask_ms_total: f64,
}

impl Constraint {
    /// The tokens allowed next: bit `id % 32` of word `id / 32`, the sampler's mask layout.
    /// Once the grammar is complete, only the end-of-generation tokens.
    pub fn mask(&mut self) -> Result<Vec<u32>> {
        let start = web_time::Instant::now();
        let mask = self.matcher.compute_mask_or_eos().map_err(|e| self.error(e))?;
        self.mask_seconds.push(start.elapsed().as_secs_f64());
        Ok(mask.as_slice().to_vec())
    }

    /// Advances past the sampled token (one the last mask allowed).
    pub fn consume(&mut self, id: u32) -> Result<()> {
        self.matcher.consume_token(id).map_err(|e| self.error(e))
    }

    /// The tokens the grammar allows no alternative to from here (llguidance's fast-forward:
    /// after `{"name": "` in a schema, the rest of a key, its quote and colon), not yet
    /// consumed. Empty when the next token is a real choice.
    pub fn forced(&mut self) -> Vec<u32> {
        self.matcher.compute_ff_tokens()
    }

    pub fn stats(&self) -> ConstraintStats {
        let mut ms: Vec<f64> = self.mask_seconds.iter().map(|s| s * 1e3).collect();
        ms.sort_by(f64::total_cmp);
        ConstraintStats {
            masks: ms.len(),
            mask_ms_median: ms.get(ms.len() / 2).copied().unwrap_or(0.0),
            mask_ms_max: ms.last().copied().unwrap_or(0.0),
            mask_ms_total: ms.iter().sum(),
        }
    }

    fn error(&self, e: impl std::fmt::Display) -> Error {
        Error::InvalidArgument(format!("{}: {e}", self.field))
    }
}
