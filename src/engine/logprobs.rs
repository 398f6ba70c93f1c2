//! Log-probabilities as the engine reports them: the sampler's (id, logprob) pairs with each
//! token's text and bytes added, in OpenAI's `logprobs.content` shape, and the queue that
//! lines them up with the ids the generation loop consumes.

use std::collections::VecDeque;

use serde::Serialize;

use crate::error::Result;
use crate::sample::{SamplingParams, TokenLogprobs};
use crate::tokenizer::Tokenizer;

/// One generated token: its log-probability and the most likely alternatives at its step
/// (OpenAI `choices[0].logprobs.content[i]`, plus the token ids).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct TokenLogprob {
    pub id: u32,
    /// The token's text; a token holding part of a UTF-8 character shows U+FFFD for it
    /// (`bytes` has the exact bytes), as OpenAI does.
    pub token: String,
    pub bytes: Vec<u8>,
    /// Natural log of the token's probability under the raw model logits (see
    /// `sample::logprobs`); -inf is serialized as null.
    pub logprob: f32,
    pub top_logprobs: Vec<TopLogprob>,
}

/// One alternative at a step (OpenAI `top_logprobs[j]`, plus the token id).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct TopLogprob {
    pub id: u32,
    pub token: String,
    pub bytes: Vec<u8>,
    pub logprob: f32,
}

/// `lp` with each token's text.
fn with_text(tokenizer: &Tokenizer, lp: &TokenLogprobs) -> Result<TokenLogprob> {
    let text = |id: u32| -> Result<(String, Vec<u8>)> {
        let bytes = tokenizer.decode_token_bytes(id)?;
        Ok((String::from_utf8_lossy(&bytes).into_owned(), bytes))
    };
    let (token, bytes) = text(lp.id)?;
    let top_logprobs = lp
        .top
        .iter()
        .map(|&(id, logprob)| {
            let (token, bytes) = text(id)?;
            Ok(TopLogprob { id, token, bytes, logprob })
        })
        .collect::<Result<_>>()?;
    Ok(TokenLogprob { id: lp.id, token, bytes, logprob: lp.logprob, top_logprobs })
}

/// The logprobs of one generation: those of ids produced but not yet consumed by the loop
/// (the prefill's, then a decode chain's), and the list reported so far. Inert when the
/// request did not ask for logprobs.
pub struct Reported {
    asked: bool,
    top_n: usize,
    pending: VecDeque<TokenLogprobs>,
    list: Vec<TokenLogprob>,
}

impl Reported {
    pub fn new(params: &SamplingParams) -> Self {
        Reported { asked: params.logprobs, top_n: params.top_logprobs as usize, pending: VecDeque::new(), list: Vec::new() }
    }

    /// The CPU path: `id` was drawn from `logits`.
    pub fn add_from_row(&mut self, logits: &[f32], id: u32) -> Result<()> {
        if self.asked {
            self.pending.push_back(crate::sample::logprobs(logits, id, self.top_n)?);
        }
        Ok(())
    }

    /// The GPU path: the records of the steps just read back, in order.
    pub fn add_from_gpu(&mut self, steps: Vec<TokenLogprobs>) {
        self.pending.extend(steps);
    }

    /// The next consumed token's entry, with its text; `None` when not asked, and for a stop
    /// token (its text is not output, so OpenAI reports no entry for it either).
    pub fn next_token(&mut self, tokenizer: &Tokenizer, stop_token: bool) -> Result<Option<&TokenLogprob>> {
        let Some(lp) = self.pending.pop_front() else { return Ok(None) };
        if stop_token {
            return Ok(None);
        }
        self.list.push(with_text(tokenizer, &lp)?);
        Ok(self.list.last())
    }

    pub fn finish(self) -> Option<Vec<TokenLogprob>> {
        self.asked.then_some(self.list)
    }
}
