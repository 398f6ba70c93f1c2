//! What `generate` hands the hearth-llm package across the wasm boundary, and the error kinds:
//! one set of Rust types for both sides. www/src/generated/wire.ts holds their TypeScript
//! declarations, generated from these types with ts-rs; `tests::typescript_is_current` fails
//! when that file differs from what the types give (`HEARTH_BLESS=1 cargo test --lib wire`
//! rewrites it), so the package cannot drift from the wasm.

use serde::Serialize;

use crate::engine::{FinishReason, Generation, TokenLogprob};
use crate::model::GpuStats;
use crate::structured::ConstraintStats;
use crate::tools::ParsedCall;

/// The result of one generation (the package's `WasmGenerateResult`).
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
    /// The arguments object (the package sends it on as a JSON string, as OpenAI does).
    #[cfg_attr(test, ts(type = "Record<string, unknown>"))]
    pub arguments: serde_json::Value,
}

impl GenerateResult {
    /// The result of `g`; `tools` is the reply split into content and calls when the request
    /// had tools (each call gets a fresh random id).
    pub fn new(g: Generation, tools: Option<(String, Vec<ParsedCall>)>) -> GenerateResult {
        let (text, tool_calls) = match tools {
            Some((content, calls)) => {
                let calls = calls
                    .into_iter()
                    .map(|c| ReplyCall { id: format!("call_{:016x}", crate::sample::entropy_seed()), name: c.name, arguments: c.arguments })
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

#[cfg(test)]
mod tests {
    use ts_rs::{Config, TS};

    use super::*;
    use crate::engine::TopLogprob;
    use crate::error::ErrorKind;

    const GENERATED: &str = "www/src/generated/wire.ts";

    /// The TypeScript declarations of every type above and the ones they use. u64 counters
    /// are `number` (serde-wasm-bindgen's JSON-compatible serializer writes numbers).
    fn typescript() -> String {
        let cfg = Config::new().with_large_int("number");
        let decls = [
            GenerateResult::decl(&cfg),
            ReplyFinish::decl(&cfg),
            ReplyCall::decl(&cfg),
            GpuStats::decl(&cfg),
            TokenLogprob::decl(&cfg),
            TopLogprob::decl(&cfg),
            ConstraintStats::decl(&cfg),
            ErrorKind::decl(&cfg),
        ];
        let mut out = String::from(
            "// Generated from the Rust types in src/wire.rs by ts-rs: do not edit. After changing them,\n\
             // `HEARTH_BLESS=1 cargo test --lib wire` rewrites this file.\n",
        );
        for decl in decls {
            out.push_str(&format!("\nexport {decl}\n"));
        }
        out
    }

    #[test]
    fn typescript_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(GENERATED);
        let want = typescript();
        if std::env::var_os("HEARTH_BLESS").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(have == want, "{GENERATED} is stale: run `HEARTH_BLESS=1 cargo test --lib wire`\n--- want:\n{want}");
    }

    #[test]
    fn finish_reasons_and_error_kinds_serialize_as_the_package_names_them() {
        let json = |f: ReplyFinish| serde_json::to_value(f).unwrap();
        assert_eq!(json(ReplyFinish::ToolCalls), "tool_calls");
        assert_eq!(json(ReplyFinish::Abort), "abort");
        let err = crate::Error::ContextWindowExceeded { prompt_tokens: 1, max_tokens: 2, context_length: 2 };
        assert_eq!(err.kind().name(), "ContextWindowExceededError");
        assert_eq!(crate::Error::InvalidArgument("x".into()).kind(), ErrorKind::InvalidArgumentError);
    }
}
