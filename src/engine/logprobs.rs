//! Log-probabilities as the engine reports them: the sampler's (id, logprob) pairs with each
//! token's text and bytes added, in OpenAI's `logprobs.content` shape.

use serde::Serialize;

use crate::error::Result;
use crate::sample::TokenLogprobs;
use crate::tokenizer::Tokenizer;

/// One generated token: its log-probability and the most likely alternatives at its step
/// (OpenAI `choices[0].logprobs.content[i]`, plus the token ids).
#[derive(Clone, Debug, PartialEq, Serialize)]
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
pub struct TopLogprob {
    pub id: u32,
    pub token: String,
    pub bytes: Vec<u8>,
    pub logprob: f32,
}

/// `lp` with each token's text.
pub fn with_text(tokenizer: &Tokenizer, lp: &TokenLogprobs) -> Result<TokenLogprob> {
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
