//! A real model's structured-output reply, checked without trusting llguidance: the engine
//! answers a chat request with `response_format: json_schema` (the 'compact' schema of
//! tests/fixtures/structured/schemas.json: an enum of strings with escapes, an array of
//! integers, a nested object with a bounded string), greedy, on the GPU path, and the reply is
//! parsed by serde_json and checked against the schema's rules written out here. (The browser
//! tests validate the same schema's replies with ajv: tests/browser/structured.js.)

use std::path::Path;

use hearth::chat::{ChatMessage, ChatTemplate};
use hearth::engine::{Engine, FinishReason};
use hearth::gguf::GgufFile;
use hearth::model::Model;
use hearth::sample::SamplingParams;
use serde_json::Value;

/// The request the real models answer (~30 tokens of JSON).
pub const PROMPT: &str = "Describe a small thing as JSON.";

/// An engine around an already loaded `model` (the test file's shared one) with the file's
/// tokenizer, and its chat template or the one in `template_file` (for base models).
pub fn engine(model: Model, path: &Path, template_file: Option<&Path>) -> Engine {
    let file = GgufFile::open(path).unwrap();
    let meta = &file.header().metadata;
    let (tokenizer, mut template) = Engine::text_side(meta).unwrap();
    if let Some(t) = template_file {
        template = Some(ChatTemplate::with_gguf_tokens(&std::fs::read_to_string(t).unwrap(), meta).unwrap());
    }
    Engine::new(model, tokenizer, template)
}

/// The engine's greedy reply to `PROMPT` under the 'compact' schema: it stops by itself and
/// follows every rule of the schema. Returns the reply.
pub fn check_compact_reply(engine: &mut Engine, what: &str) -> String {
    let schema = crate::common::read_fixture_json("structured/schemas.json")["compact"].clone();
    let format = serde_json::from_value(
        serde_json::json!({"type": "json_schema", "json_schema": {"name": "compact", "schema": schema.clone(), "strict": true}}),
    )
    .unwrap();
    let params = SamplingParams { temperature: 0.0, max_tokens: 48, response_format: Some(format), ..Default::default() };
    let prompt = engine.encode_chat(&[ChatMessage::user(PROMPT)]).unwrap();
    let g = pollster::block_on(engine.generate(&prompt, &params, &mut |_| true)).unwrap();
    eprintln!("{what}: {} ({} tokens)", g.text, g.ids.len());
    assert_eq!(g.finish_reason, FinishReason::Stop, "{what}: {:?}", g.text);
    let value: Value = serde_json::from_str(&g.text).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {:?}", g.text));
    let object = value.as_object().unwrap_or_else(|| panic!("{what}: not an object: {}", g.text));
    let keys: Vec<&str> = object.keys().map(String::as_str).collect();
    assert_eq!(keys, ["kind", "tags", "inner"], "{what}: the schema's properties, in order, no others");
    let kinds = schema["properties"]["kind"]["enum"].as_array().unwrap();
    assert!(kinds.contains(&object["kind"]), "{what}: kind {} not in {kinds:?}", object["kind"]);
    let tags = object["tags"].as_array().unwrap_or_else(|| panic!("{what}: tags not an array"));
    assert!((1..=2).contains(&tags.len()), "{what}: {} tags", tags.len());
    assert!(tags.iter().all(|t| t.as_u64().is_some_and(|t| t <= 9)), "{what}: tags {tags:?} not integers 0..=9");
    let inner = object["inner"].as_object().unwrap_or_else(|| panic!("{what}: inner not an object"));
    assert_eq!(inner.keys().collect::<Vec<_>>(), ["word"], "{what}: inner's properties");
    let word = inner["word"].as_str().unwrap_or_else(|| panic!("{what}: word not a string"));
    assert!((1..=4).contains(&word.chars().count()), "{what}: word {word:?}");
    g.text
}
