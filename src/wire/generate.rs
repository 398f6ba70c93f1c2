//! A generation across the wasm boundary: the request body `generate` reads, the pieces its
//! callback gets while it runs, and the result it resolves with.

use serde::{Deserialize, Serialize};

use crate::chat::ChatMessage;
use crate::engine::{FinishReason, Generation, TokenLogprob};
use crate::model::GpuStats;
use crate::sample::SamplingParams;
use crate::structured::ConstraintStats;
use crate::tools::{CallDelta, ParsedCall, ToolRequest};

/// The body of `generate`: sampling fields, and what to generate from (the package's chat and
/// completion requests, checked and reduced to what the engine reads).
#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(type = "SamplingParams & PromptInput"))]
pub struct GenerateRequest {
    #[serde(flatten)]
    pub sampling: SamplingParams,
    #[serde(flatten)]
    pub prompt: PromptInput,
}

/// What a prompt is made of: exactly one of `messages` (chat, through the template, with the
/// optional tool fields) and `prompt` (plain text). Also `countTokens`' input.
#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct PromptInput {
    #[serde(default)]
    #[cfg_attr(test, ts(optional))]
    pub messages: Option<Vec<ChatMessage>>,
    #[serde(default)]
    #[cfg_attr(test, ts(optional))]
    pub prompt: Option<String>,
    #[serde(flatten)]
    pub tools: ToolRequest,
}

/// What `generate`'s callback gets as the reply grows: content as soon as it is final (the
/// first token's piece even without text, so the package can time it), with the token's
/// logprobs entry when asked for, and pieces of tool calls as OpenAI streams them.
#[derive(Debug, Default, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct StreamPiece {
    pub text: String,
    pub logprobs: Option<TokenLogprob>,
    pub tool_calls: Vec<ToolCallDelta>,
}

/// A piece of a streamed call (OpenAI's `delta.tool_calls[]`): the first piece of a call has
/// its `id` and `name` and empty `arguments`, the next ones more of its `arguments` JSON text.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ToolCallDelta {
    pub index: usize,
    pub id: Option<String>,
    pub name: Option<String>,
    pub arguments: String,
}

/// The calls' ids, one per call index, made when a call first shows (streamed or not), so a
/// stream's ids and the result's agree.
#[derive(Debug, Default)]
pub struct CallIds(Vec<String>);

impl CallIds {
    pub fn get(&mut self, index: usize) -> String {
        while self.0.len() <= index {
            self.0.push(format!("call_{:016x}", crate::sample::entropy_seed()));
        }
        self.0[index].clone()
    }

    /// A scanner's delta with the call's id on its first piece.
    pub fn delta(&mut self, d: CallDelta) -> ToolCallDelta {
        let id = d.name.is_some().then(|| self.get(d.index));
        ToolCallDelta { index: d.index, id, name: d.name, arguments: d.arguments }
    }
}

/// The result of one generation.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct GenerateResult {
    /// The reply's text; with tools, its content around the calls.
    pub text: String,
    pub finish_reason: ReplyFinish,
    pub prompt_tokens: usize,
    pub completion_tokens: usize,
    pub prompt_ids: Vec<u32>,
    pub ids: Vec<u32>,
    pub prefill_tok_s: f64,
    pub decode_tok_s: f64,
    pub decode_round_trips: usize,
    /// The prefill pass alone; the package measures time to first token from the request's
    /// arrival (queueing, template, tokenisation and the worker hop included).
    pub prefill_ms: f64,
    /// The generation's GPU work (round trips, bytes read back, host encode time, ...).
    pub gpu: GpuStats,
    /// With `logprobs: true`: one entry per output token (OpenAI `logprobs.content`).
    pub logprobs: Option<Vec<TokenLogprob>>,
    /// With a constraining `response_format`: the token masks' count and time.
    pub constraint: Option<ConstraintStats>,
    /// With `tools`: the calls the reply makes (`text` is then the content around them).
    pub tool_calls: Option<Vec<ReplyCall>>,
}

/// OpenAI's `finish_reason` values, with the package's `abort`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ReplyFinish {
    Stop,
    Length,
    Abort,
    ToolCalls,
}

/// A tool call of the reply, with the id OpenAI's `tool_calls[].id` takes.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ReplyCall {
    pub id: String,
    pub name: String,
    /// The arguments object's JSON text as the model wrote it (OpenAI's `function.arguments`;
    /// a stream's argument pieces join to it).
    pub arguments: String,
}

impl GenerateResult {
    /// The result of `g`; `tools` is the reply split into content and calls when the request
    /// had tools, the calls' ids those their streamed pieces had.
    pub fn new(g: Generation, tools: Option<(String, Vec<ParsedCall>)>, ids: &mut CallIds) -> GenerateResult {
        let (text, tool_calls) = match tools {
            Some((content, calls)) => {
                let calls = calls
                    .into_iter()
                    .enumerate()
                    .map(|(i, c)| ReplyCall { id: ids.get(i), name: c.name, arguments: c.arguments_text })
                    .collect();
                (content, Some(calls))
            }
            None => (g.text, None),
        };
        let called = tool_calls.as_ref().is_some_and(|c: &Vec<ReplyCall>| !c.is_empty());
        GenerateResult {
            text,
            finish_reason: match g.finish_reason {
                FinishReason::Stop if called => ReplyFinish::ToolCalls,
                FinishReason::Stop => ReplyFinish::Stop,
                FinishReason::Length => ReplyFinish::Length,
                FinishReason::Aborted => ReplyFinish::Abort,
            },
            prompt_tokens: g.prompt_ids.len(),
            completion_tokens: g.ids.len(),
            prompt_ids: g.prompt_ids,
            ids: g.ids,
            prefill_tok_s: g.prefill_tok_s,
            decode_tok_s: g.decode_tok_s,
            decode_round_trips: g.decode_round_trips,
            prefill_ms: g.prefill_seconds * 1000.0,
            gpu: g.gpu,
            logprobs: g.logprobs,
            constraint: g.constraint,
            tool_calls,
        }
    }
}
