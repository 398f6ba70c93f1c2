//! Everything that crosses the wasm boundary (src/wasm.rs), in both directions, as one set of
//! Rust types, with one naming convention (snake_case, as OpenAI's fields and the core's own):
//! the options and request bodies the hearth-llm package passes in, and the results, stream
//! pieces, plans and figures it gets back. www/src/generated/wire.ts holds their TypeScript
//! declarations, generated from these types with ts-rs; `tests::typescript_is_current` fails
//! when that file differs from what the types give (`HEARTH_BLESS=1 cargo test --lib wire`
//! rewrites it), so the package cannot drift from the wasm.

mod generate;
mod load;

pub use generate::{CallIds, GenerateRequest, GenerateResult, PromptInput, ReplyCall, ReplyFinish, StreamPiece, ToolCallDelta};
pub use load::{AdapterInfo, ContextOptions, CreateOptions, EngineStats, HeaderRead, LoadedModel, ShardPlace};

#[cfg(test)]
mod tests {
    use ts_rs::{Config, TS};

    use super::*;
    use crate::chat::ChatMessage;
    use crate::engine::{TokenLogprob, TopLogprob};
    use crate::error::ErrorKind;
    use crate::inspect::{ModelSummary, RopeSummary, TokenizerSummary};
    use crate::model::{GpuStats, LoadProgress, Plan};
    use crate::sample::SamplingParams;
    use crate::structured::{ConstraintStats, GrammarFormat, GrammarSyntax, JsonSchemaFormat, ResponseFormat};
    use crate::tools::{FunctionCall, ToolCall, ToolRequest};

    const GENERATED: &str = "www/src/generated/wire.ts";

    /// The TypeScript declarations of every type that crosses the boundary and the ones they
    /// use. u64 counters are `number` (serde-wasm-bindgen's JSON-compatible serializer writes
    /// numbers).
    fn typescript() -> String {
        let cfg = Config::new().with_large_int("number");
        let decls = [
            // generate: in, while running, out
            GenerateRequest::decl(&cfg),
            PromptInput::decl(&cfg),
            SamplingParams::decl(&cfg),
            ResponseFormat::decl(&cfg),
            JsonSchemaFormat::decl(&cfg),
            GrammarFormat::decl(&cfg),
            GrammarSyntax::decl(&cfg),
            ChatMessage::decl(&cfg),
            ToolCall::decl(&cfg),
            FunctionCall::decl(&cfg),
            ToolRequest::decl(&cfg),
            StreamPiece::decl(&cfg),
            ToolCallDelta::decl(&cfg),
            GenerateResult::decl(&cfg),
            ReplyFinish::decl(&cfg),
            ReplyCall::decl(&cfg),
            TokenLogprob::decl(&cfg),
            TopLogprob::decl(&cfg),
            ConstraintStats::decl(&cfg),
            // opening WebGPU, plans, loads, figures
            CreateOptions::decl(&cfg),
            AdapterInfo::decl(&cfg),
            ContextOptions::decl(&cfg),
            HeaderRead::<Plan>::decl(&cfg),
            Plan::decl(&cfg),
            ShardPlace::decl(&cfg),
            LoadProgress::decl(&cfg),
            LoadedModel::decl(&cfg),
            ModelSummary::decl(&cfg),
            RopeSummary::decl(&cfg),
            TokenizerSummary::decl(&cfg),
            EngineStats::decl(&cfg),
            GpuStats::decl(&cfg),
            ErrorKind::decl(&cfg),
        ];
        let mut out = String::from(
            "// Generated from the Rust types in src/wire/ (and the core types they use) by ts-rs: do not\n\
             // edit. After changing them, `HEARTH_BLESS=1 cargo test --lib wire` rewrites this file.\n",
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

    #[test]
    fn a_request_body_reads_in_one_pass() {
        let body = serde_json::json!({
            "messages": [{"role": "user", "content": "Hi"}],
            "tools": [], "parallel_tool_calls": false,
            "temperature": 1, "max_tokens": 5, "stop": "x",
        });
        let r: GenerateRequest = serde_json::from_value(body).unwrap();
        assert_eq!((r.sampling.temperature, r.sampling.max_tokens, r.sampling.stop), (1.0, 5, vec!["x".to_string()]));
        assert_eq!(r.prompt.messages.unwrap()[0].content, "Hi");
        assert_eq!(r.prompt.tools.parallel_tool_calls, Some(false));
        let e = serde_json::from_value::<ContextOptions>(serde_json::json!({"contextLength": 5})).unwrap_err();
        assert!(e.to_string().contains("contextLength"), "{e}");
    }
}
