//! The generation loop: prompt → prefill → decode, streaming text as it is produced,
//! stopping on end-of-generation tokens, stop strings or the token limit, with timings.

mod logprobs;
mod perplexity;
mod utf8_stream;

use crate::chat::{ChatMessage, ChatTemplate};
use crate::error::{Error, Result};
use crate::gguf::Metadata;
use crate::model::{GpuStats, Logits, MAX_DECODE_CHAIN, Model, ModelStream};
use crate::sample::{Sampler, SamplingParams, StopChecker, StopReason};
use crate::structured::{Constraint, ConstraintStats, Grammars};
use crate::tokenizer::Tokenizer;
use crate::tools::ToolUse;
pub use logprobs::{TokenLogprob, TopLogprob};
pub use perplexity::{Perplexity, perplexity};
pub use utf8_stream::Utf8Stream;

/// Why a generation ended (the OpenAI `finish_reason` values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// An end-of-generation token or a stop string.
    Stop,
    /// `max_tokens` or the context length.
    Length,
    /// The caller asked to stop.
    Aborted,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Generation {
    pub prompt_ids: Vec<u32>,
    /// Generated ids, including a final stop token if one ended the generation.
    pub ids: Vec<u32>,
    pub text: String,
    pub finish_reason: FinishReason,
    pub prefill_tokens: usize,
    pub prefill_seconds: f64,
    pub decode_seconds: f64,
    pub prefill_tok_s: f64,
    pub decode_tok_s: f64,
    /// GPU submissions waited on after the prefill (one per token, or one per chain of
    /// tokens: see `Engine::decode_chain`).
    pub decode_round_trips: usize,
    /// The GPU work of the whole generation (prefill and decode): round trips, bytes read
    /// back, dispatches, host encode time, graphs built.
    pub gpu: GpuStats,
    /// With `SamplingParams::logprobs`: one entry per generated token but a final stop token
    /// (whose text is not output either), else `None`.
    pub logprobs: Option<Vec<TokenLogprob>>,
    /// With a `response_format` that constrains: how many token masks were computed and how
    /// long they took.
    pub constraint: Option<ConstraintStats>,
}

/// What `Engine::generate_with` hands its callback after each token.
pub struct Emitted<'a> {
    /// The text that became final (possibly empty; never half a character, never part of a
    /// stop string).
    pub text: &'a str,
    /// The token's log-probabilities, when the request asked for them and the token is part
    /// of the output (`None` for the closing call that flushes held-back text).
    pub logprobs: Option<&'a TokenLogprob>,
}

pub struct Engine {
    pub model: Model,
    pub tokenizer: Tokenizer,
    pub chat_template: Option<ChatTemplate>,
    /// The most tokens decoded per GPU round trip (1..=`MAX_DECODE_CHAIN`), greedy or sampled
    /// on the GPU. A generation's chains grow 1, 2, 4, ... up to this; 1 waits for the GPU
    /// after every token.
    pub decode_chain: u32,
    /// Sample on the GPU where the parameters allow (`Model::samples_on_gpu`); `false` reads
    /// each logits row back and samples on the CPU (the reference path in tests).
    pub gpu_sampling: bool,
    /// The ids whose keys/values are in the model's cache, to reuse a shared prefix.
    cached: Vec<u32>,
    /// Structured output's vocabulary trie, built by the first request that needs it.
    grammars: Option<Grammars>,
}

/// `Engine::encode_chat` without a model on the GPU (the CLI's `tokenize --messages`).
pub fn encode_chat(tokenizer: &Tokenizer, template: Option<&ChatTemplate>, messages: &[ChatMessage]) -> Result<Vec<u32>> {
    encode_chat_with_tools(tokenizer, template, messages, None)
}

/// `encode_chat` with the request's tools rendered by the template (its `tools` variable).
pub fn encode_chat_with_tools(
    tokenizer: &Tokenizer,
    template: Option<&ChatTemplate>,
    messages: &[ChatMessage],
    tools: Option<&ToolUse>,
) -> Result<Vec<u32>> {
    let template = template.ok_or_else(|| Error::ChatTemplate("this model has no chat template (tokenizer.chat_template)".into()))?;
    let prompt = match tools {
        Some(t) => template.render_with_tools(messages, t.tools(), true)?,
        None => template.render(messages, true)?,
    };
    tokenizer.encode(&prompt, false)
}

impl Engine {
    /// Loads a model file from disk (native).
    #[cfg(not(target_arch = "wasm32"))]
    pub async fn load(
        ctx: &crate::gpu::GpuContext,
        file: &mut crate::gguf::GgufFile,
        options: crate::model::ModelOptions,
    ) -> Result<Engine> {
        // An unsupported architecture is the first thing to report, before the tokenizer.
        crate::model::ModelConfig::from_metadata(&file.header().metadata)?;
        let (tokenizer, chat_template) = Self::text_side(&file.header().metadata)?;
        let model = Model::load(ctx, file, options).await?;
        Ok(Self::new(model, tokenizer, chat_template))
    }

    /// Finishes a streamed load (the browser's path): every byte has been pushed.
    pub async fn from_stream(stream: ModelStream) -> Result<Engine> {
        let (model, header) = stream.finish().await?;
        let (tokenizer, chat_template) = Self::text_side(&header.metadata)?;
        Ok(Self::new(model, tokenizer, chat_template))
    }

    /// An engine around a loaded model, with the default decode chain and GPU sampling.
    pub fn new(model: Model, tokenizer: Tokenizer, chat_template: Option<ChatTemplate>) -> Engine {
        Engine { model, tokenizer, chat_template, decode_chain: MAX_DECODE_CHAIN, gpu_sampling: true, cached: Vec::new(), grammars: None }
    }

    /// The tokenizer and chat template a model's metadata describes.
    pub fn text_side(meta: &Metadata) -> Result<(Tokenizer, Option<ChatTemplate>)> {
        Ok((Tokenizer::from_gguf(meta)?, ChatTemplate::from_gguf(meta)?))
    }

    /// A plain prompt: tokenised with BOS/EOS as the model's metadata says.
    pub fn encode_prompt(&self, text: &str) -> Result<Vec<u32>> {
        self.tokenizer.encode(text, true)
    }

    /// A chat prompt: the model's template with a generation prompt, tokenised without
    /// adding BOS again (templates write `bos_token` themselves, as in transformers).
    pub fn encode_chat(&self, messages: &[ChatMessage]) -> Result<Vec<u32>> {
        encode_chat(&self.tokenizer, self.chat_template.as_ref(), messages)
    }

    /// `encode_chat` for a request with tools (`ToolRequest::resolve` against this engine's
    /// template gives `tools`).
    pub fn encode_chat_with_tools(&self, messages: &[ChatMessage], tools: Option<&ToolUse>) -> Result<Vec<u32>> {
        encode_chat_with_tools(&self.tokenizer, self.chat_template.as_ref(), messages, tools)
    }

    /// The request's constraint (`response_format`), if any; the first one builds the
    /// vocabulary trie (Gemma 3's 262k tokens: see README "Structured output").
    fn constraint(&mut self, params: &SamplingParams) -> Result<Option<Constraint>> {
        let Some(format) = &params.response_format else { return Ok(None) };
        if self.grammars.is_none() {
            self.grammars = Some(Grammars::new(&self.tokenizer, self.model.config.vocab)?);
        }
        self.grammars.as_ref().expect("just built").constraint(format)
    }

    /// The next token's mask from `constraint`, on the GPU sampler when that samples, or on
    /// the graphs' argmax when that picks (each keeps it for the following steps), and
    /// returned for the CPU sampler.
    fn next_mask(&mut self, constraint: Option<&mut Constraint>, on_gpu: bool, masked_argmax: bool) -> Result<Option<Vec<u32>>> {
        let Some(c) = constraint else { return Ok(None) };
        let mask = c.mask()?;
        if on_gpu {
            self.model.set_sample_mask(Some(&mask))?;
        }
        if masked_argmax {
            self.model.set_argmax_mask(Some(&mask))?;
        }
        Ok(Some(mask))
    }

    /// A GPU-sampled id, or the sampler's error for `SENTINEL` (bad logits), after which the
    /// cache is dropped (the steps after the failed one fed it garbage).
    async fn check_sampled(&mut self, id: u32) -> Result<u32> {
        let checked = self.model.check_sampled(id).await;
        self.recover_on_error(checked)
    }

    /// Passes `r` on; on an error the model's cache and `cached` are reset, since a failed
    /// GPU step may have left the cache holding other tokens than `cached` says.
    fn recover_on_error<T>(&mut self, r: Result<T>) -> Result<T> {
        if r.is_err() {
            self.model.reset();
            self.cached.clear();
        }
        r
    }

    /// Generates a continuation of `prompt_ids`. `on_text` is called after every token with
    /// the text that became final (possibly empty)
    /// (never half a character, never part of a stop string) and returns `false` to stop.
    pub async fn generate(
        &mut self,
        prompt_ids: &[u32],
        params: &SamplingParams,
        on_text: &mut dyn FnMut(&str) -> bool,
    ) -> Result<Generation> {
        self.generate_with(prompt_ids, params, &mut |e: Emitted<'_>| on_text(e.text)).await
    }

    /// `generate`, with each token's log-probabilities next to its text when the request
    /// asks for them (`SamplingParams::logprobs`).
    pub async fn generate_with(
        &mut self,
        prompt_ids: &[u32],
        params: &SamplingParams,
        on_token: &mut dyn FnMut(Emitted<'_>) -> bool,
    ) -> Result<Generation> {
        params.validate()?;
        if prompt_ids.is_empty() {
            return Err(Error::InvalidArgument("the prompt is empty".into()));
        }
        let n_ctx = self.model.n_ctx() as usize;
        // Refused up front rather than cut short at the context's end: the caller learns the
        // counts (to drop old turns or lower max_tokens) before any GPU work, as with OpenAI.
        if prompt_ids.len() + params.max_tokens as usize > n_ctx {
            return Err(Error::ContextWindowExceeded {
                prompt_tokens: prompt_ids.len(),
                max_tokens: params.max_tokens,
                context_length: self.model.n_ctx(),
            });
        }
        // The argmax is the pick (no draw, nothing changes the logits): the graphs' own argmax.
        // Else the GPU sampler where it takes the parameters, else the CPU one on read-back
        // logits. Either way the ids are the CPU `Sampler`'s for the same seed.
        // Logprobs need the whole row: the GPU sampler computes them (greedy included), or
        // the CPU from the read-back logits.
        let mut constraint = self.constraint(params)?;
        let greedy = params.temperature == 0.0 && params.penalties_neutral() && params.logit_bias.is_empty() && !params.logprobs;
        // Greedy under a grammar: the graphs' argmax among the allowed tokens (4 bytes back, no
        // sampler pass over the whole row), unless picking stays on the CPU (`gpu_sampling`
        // off, the reference path).
        let argmax = greedy && (constraint.is_none() || self.gpu_sampling);
        let masked_argmax = argmax && constraint.is_some();
        if !masked_argmax {
            // A request that ended early may have left one set.
            self.model.set_argmax_mask(None)?;
        }
        let on_gpu = !argmax && self.gpu_sampling && self.model.samples_on_gpu(params);
        let mut sampler = Sampler::new(params.clone())?;
        if on_gpu {
            self.model.begin_sampling(params, prompt_ids).await?;
        }
        // The mask depends on every token before it: one token per round trip while constrained.
        let chain_limit = if constraint.is_some() { 1 } else { self.decode_chain.clamp(1, MAX_DECODE_CHAIN) };
        // Tokens the grammar forces (a schema's keys and punctuation) are taken without a draw
        // and fed to the model in one batch with the sampled token before them, so a JSON
        // reply costs a forward pass per real choice, not per token. Not with logprobs (each
        // token's row is reported) or penalties (the GPU sampler's window sees only what it
        // drew).
        let fast_forward = constraint.is_some() && !params.logprobs && params.penalties_neutral();
        let mut forced = std::collections::VecDeque::new();
        // Tokens taken since the last forward pass, which the next one feeds (with a
        // constraint; otherwise always just `next`).
        let mut unfed: Vec<u32> = Vec::new();
        let mut mask = self.next_mask(constraint.as_mut(), on_gpu, masked_argmax)?;
        // Tokens sampled on the GPU so far in this request (its step records).
        let mut gpu_steps = 0u32;
        let mut stops = StopChecker::from_params(params);
        for &id in self.tokenizer.stop_ids() {
            stops.add_stop_token(id);
        }

        // Reuse the cached prefix; at least one token must be fed to get logits.
        let common = self.cached.iter().zip(prompt_ids).take_while(|(a, b)| a == b).count().min(prompt_ids.len() - 1);
        self.model.truncate(common as u32);
        if self.model.n_past() as usize != common {
            self.model.reset();
        }
        let fed_from = self.model.n_past() as usize;
        self.cached.truncate(fed_from);

        let stats_before = self.model.stats();
        let start = web_time::Instant::now();
        let new = &prompt_ids[fed_from..];
        let mut logprobs = logprobs::Reported::new(params);
        let first = if on_gpu {
            gpu_steps = 1;
            let u = sampler.next_uniform().unwrap_or(0.0);
            let id = self.model.sample_prefill(new, 0, u).await;
            let id = self.recover_on_error(id)?;
            let read = self.model.sampled_logprobs(1).await;
            logprobs.add_from_gpu(self.recover_on_error(read)?);
            id
        } else {
            let out = self.model.forward(new, Logits::Last, !argmax).await?;
            match out.logits {
                Some(l) => {
                    let id = sampler.sample_masked(&l, prompt_ids, mask.as_deref())?;
                    logprobs.add_from_row(&l, id)?;
                    id
                }
                None => allowed_by(mask.as_deref(), out.argmax)?,
            }
        };
        self.cached.extend_from_slice(new);
        let prefill_seconds = start.elapsed().as_secs_f64();

        let decode_start = web_time::Instant::now();
        let mut history: Vec<u32> = prompt_ids.to_vec();
        let mut ids = Vec::new();
        let mut text = String::new();
        let mut utf8 = Utf8Stream::default();
        let mut next = first;
        // Ids the GPU produced ahead of the loop (a decode chain), not yet consumed.
        let mut ahead = std::collections::VecDeque::new();
        let mut chain = 1u32;
        let mut round_trips = 0;
        let finish_reason = loop {
            ids.push(next);
            history.push(next);
            let piece = utf8.push(&self.tokenizer.decode_token_bytes(next)?);
            let step = stops.push(next, &piece);
            text.push_str(&step.emit);
            let shown = logprobs.next_token(&self.tokenizer, matches!(step.stop, Some(StopReason::Token(_))))?;
            // Called after every token, even with no new text, so a caller can stop on time.
            if !on_token(Emitted { text: &step.emit, logprobs: shown }) {
                break FinishReason::Aborted;
            }
            if step.stop.is_some() {
                break FinishReason::Stop;
            }
            if ids.len() >= params.max_tokens as usize || history.len() >= n_ctx {
                break FinishReason::Length;
            }
            unfed.push(next);
            if let Some(c) = constraint.as_mut() {
                c.consume(next)?;
                if forced.is_empty() && fast_forward {
                    forced.extend(c.forced());
                }
                if let Some(f) = forced.pop_front() {
                    next = f;
                    continue;
                }
                mask = self.next_mask(Some(c), on_gpu, masked_argmax)?;
            }
            let feed = std::mem::take(&mut unfed);
            if let Some(id) = ahead.pop_front() {
                next = if on_gpu { self.check_sampled(id).await? } else { id };
                continue;
            }
            round_trips += 1;
            if argmax || on_gpu {
                // No more than the ids this generation may still take (and the cache holds).
                let room = (params.max_tokens as usize - ids.len()).min(n_ctx - history.len());
                let k = chain.min(room as u32).clamp(1, chain_limit);
                let out = if on_gpu && feed.len() > 1 {
                    // Forced tokens ahead of this step (so k = 1, a constraint): one batch.
                    let u = sampler.next_uniform().unwrap_or(0.0);
                    let id = self.model.sample_prefill(&feed, gpu_steps, u).await;
                    gpu_steps += 1;
                    vec![self.recover_on_error(id)?]
                } else if on_gpu {
                    // One uniform per step, drawn in order as k CPU samples would draw them.
                    let uniforms: Vec<f64> = (0..k).map(|_| sampler.next_uniform().unwrap_or(0.0)).collect();
                    let out = self.model.decode_sampled(next, gpu_steps, &uniforms).await;
                    gpu_steps += k;
                    let out = self.recover_on_error(out)?;
                    let read = self.model.sampled_logprobs(out.len()).await;
                    logprobs.add_from_gpu(self.recover_on_error(read)?);
                    out
                } else if feed.len() > 1 {
                    // Forced tokens ahead of this step (so k = 1, a grammar): one batch.
                    vec![self.model.forward(&feed, Logits::Last, false).await?.argmax]
                } else {
                    self.model.decode_greedy(next, k).await?
                };
                self.cached.extend_from_slice(&feed);
                self.cached.extend_from_slice(&out[..out.len() - 1]);
                chain = (chain * 2).min(chain_limit);
                ahead.extend(out);
                let id = ahead.pop_front().expect("a chain of at least one id");
                next = if on_gpu { self.check_sampled(id).await? } else { allowed_by(mask.as_deref(), id)? };
            } else {
                let out = self.model.forward(&feed, Logits::Last, true).await?;
                self.cached.extend_from_slice(&feed);
                let logits = out.logits.as_deref().expect("logits were asked for");
                next = sampler.sample_masked(logits, &history, mask.as_deref())?;
                logprobs.add_from_row(logits, next)?;
            }
        };
        // A stop (or abort) inside a chain: the chain fed the cache ids the loop never took.
        // Drop them, so the cache holds exactly what one token per round trip leaves.
        if !ahead.is_empty() {
            let keep = self.cached.len() - ahead.len();
            self.cached.truncate(keep);
            self.model.truncate(keep as u32);
        }
        if finish_reason != FinishReason::Stop {
            let rest = stops.finish() + &utf8.finish();
            if !rest.is_empty() {
                text.push_str(&rest);
                on_token(Emitted { text: &rest, logprobs: None });
            }
        }
        if masked_argmax {
            self.model.set_argmax_mask(None)?;
        }
        let decode_seconds = decode_start.elapsed().as_secs_f64();
        // The first token comes from the prefill pass; the decode passes made the rest.
        let decode_passes = ids.len().saturating_sub(1);
        Ok(Generation {
            prompt_ids: prompt_ids.to_vec(),
            ids,
            text,
            finish_reason,
            prefill_tokens: new.len(),
            prefill_seconds,
            decode_seconds,
            prefill_tok_s: new.len() as f64 / prefill_seconds.max(1e-9),
            decode_tok_s: decode_passes as f64 / decode_seconds.max(1e-9),
            decode_round_trips: round_trips,
            gpu: self.model.stats().since(&stats_before),
            logprobs: logprobs.finish(),
            constraint: constraint.map(|c| c.stats()),
        })
    }
}

/// `id` from the graphs' argmax, checked against the grammar's `mask` when it had one: the
/// masked argmax gives `u32::MAX` when nothing is allowed (every allowed logit NaN or the
/// mask empty), which the CPU sampler reports as every logit masked.
fn allowed_by(mask: Option<&[u32]>, id: u32) -> Result<u32> {
    match mask {
        Some(bits) if bits.get(id as usize / 32).is_none_or(|w| w >> (id % 32) & 1 == 0) => Err(crate::sample::all_masked()),
        _ => Ok(id),
    }
}
