//! Decoding in chains of several tokens per GPU round trip (src/model/decode_chain.rs), greedy
//! or sampled on the GPU (src/kernels/sample.rs), gives exactly what one round trip per token
//! with the CPU sampler gives: the same ids, text and finish reason when a stop
//! string, a stop token, max_tokens or an abort falls inside a chain, and the same cache
//! afterwards (the next request reuses the prefix). The reference side is the engine with
//! `decode_chain = 1` and `gpu_sampling = false`: logits read back every token and sampled
//! by the CPU `Sampler`, the path the other tests check against llama.cpp and numpy.
//! The model is the tiny random-weight one with SmolLM2's tokenizer
//! (scripts/make-tiny-chat-model.py): these are mechanics, the same for any weights, and it
//! runs ~50x faster than SmolLM2 on lavapipe.

use crate::common;

use std::sync::{Mutex, MutexGuard, OnceLock};

use hearth::engine::{Engine, FinishReason, Generation};
use hearth::model::{Logits, MAX_DECODE_CHAIN, ModelOptions};
use hearth::sample::SamplingParams;
use hearth::structured::ResponseFormat;

fn engine() -> MutexGuard<'static, Engine> {
    static ENGINE: OnceLock<Mutex<Engine>> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let ctx = common::gpu();
            let mut file = hearth::gguf::GgufFile::open(common::model_path(common::TINY_CHAT)).unwrap();
            Mutex::new(pollster::block_on(Engine::load(&ctx, &mut file, ModelOptions { n_ctx: Some(256), ..Default::default() })).unwrap())
        })
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn greedy(max_tokens: u32) -> SamplingParams {
    SamplingParams { temperature: 0.0, max_tokens, ..Default::default() }
}

/// Seeded sampling with every filter and penalty on (llama.cpp's defaults, plus OpenAI's
/// frequency penalty).
fn sampled(max_tokens: u32) -> SamplingParams {
    SamplingParams {
        temperature: 0.8,
        top_k: 40,
        top_p: 0.95,
        min_p: 0.05,
        repetition_penalty: 1.1,
        frequency_penalty: 0.2,
        seed: Some(7),
        max_tokens,
        ..Default::default()
    }
}

/// Generates with at most `chain` tokens per round trip, sampling on the GPU unless `chain`
/// is 1 (the reference: CPU sampler, one round trip per token); `abort_after` ends it by the
/// callback after that many tokens.
fn run(e: &mut Engine, chain: u32, prompt: &[u32], params: &SamplingParams, abort_after: Option<usize>) -> (Generation, String) {
    e.decode_chain = chain;
    e.gpu_sampling = chain > 1;
    let mut streamed = String::new();
    let mut calls = 0;
    let g = pollster::block_on(e.generate(prompt, params, &mut |t| {
        streamed.push_str(t);
        calls += 1;
        abort_after != Some(calls)
    }))
    .unwrap();
    (g, streamed)
}

/// The chains a generation uses, as token index ranges (the first token comes from the
/// prefill, index 0): with `max_chain` 16, indices 1 | 2-3 | 4-7 | 8-15 | 16-31 ...
fn chain_starts(max_chain: u32) -> Vec<usize> {
    let (mut starts, mut at, mut k) = (Vec::new(), 1usize, 1u32);
    while at < 200 {
        starts.push(at);
        at += k as usize;
        k = (k * 2).min(max_chain);
    }
    starts
}

/// A stop string made of the text of tokens 10 and 11 of `free` (inside the 8-15 chain).
fn stop_string_inside_the_8_to_15_chain(e: &Engine, free: &Generation) -> String {
    let piece: String =
        free.ids[10..12].iter().map(|&id| String::from_utf8_lossy(&e.tokenizer.decode_token_bytes(id).unwrap()).into_owned()).collect();
    assert!(!piece.trim().is_empty() && free.text.contains(&piece), "{piece:?} in {:?}", free.text);
    piece
}

/// Asserts that the generation ending at token index `last` (0-based) stops strictly inside
/// a chain, so that the rollback is exercised.
fn assert_mid_chain(last: usize, max_chain: u32) {
    let starts = chain_starts(max_chain);
    let next_start = starts.iter().find(|&&s| s > last).unwrap();
    assert!(next_start - 1 > last, "token {last} ends a chain: the test would not exercise a rollback");
}

/// The chained and the one-per-round-trip generations agree, and so do follow-up requests
/// that reuse each one's cache (rolled back past a stop). Both start from an empty cache, so
/// both caches were computed the same way (the prompt by one prefill, then one decode step
/// per token): a cache left holding a wrong or extra entry changes the follow-up, while
/// the rounding differences between a prefill and decode steps cannot.
fn assert_same(e: &mut Engine, prompt: &[u32], params: &SamplingParams, abort_after: Option<usize>) -> Generation {
    e.model.reset();
    let (one, one_text) = run(e, 1, prompt, params, abort_after);
    let follow: Vec<u32> = prompt.iter().chain(&one.ids).chain(&prompt[prompt.len() - 1..]).copied().collect();
    let (after_one, _) = run(e, 1, &follow, &greedy(6), None);
    e.model.reset();
    let (chained, chained_text) = run(e, MAX_DECODE_CHAIN, prompt, params, abort_after);
    assert_eq!(chained.ids, one.ids);
    assert_eq!(chained.text, one.text);
    assert_eq!(chained_text, one_text);
    assert_eq!(chained.finish_reason, one.finish_reason);
    let (after_chained, _) = run(e, MAX_DECODE_CHAIN, &follow, &greedy(6), None);
    assert_eq!(after_chained.prefill_tokens, after_one.prefill_tokens, "both follow-ups reuse the same prefix");
    assert_eq!(after_chained.ids, after_one.ids, "the request after a chained one");
    one
}

#[test]
fn decode_greedy_equals_one_forward_per_token() {
    let mut e = engine();
    let prompt = e.encode_prompt("The history of the printing press").unwrap();
    let m = &mut e.model;
    m.reset();
    let first = pollster::block_on(m.forward(&prompt, Logits::Last, false)).unwrap().argmax;
    let mut want = Vec::new();
    let mut next = first;
    for _ in 0..MAX_DECODE_CHAIN {
        next = pollster::block_on(m.forward(&[next], Logits::Last, false)).unwrap().argmax;
        want.push(next);
    }
    for k in [1, 5, MAX_DECODE_CHAIN] {
        m.truncate(prompt.len() as u32);
        let got = pollster::block_on(m.decode_greedy(first, k)).unwrap();
        assert_eq!(got, want[..k as usize], "chain of {k}");
        assert_eq!(m.n_past() as usize, prompt.len() + k as usize);
    }
    // Refused, not run: an empty or too long chain, an id outside the vocabulary.
    let vocab = m.config.vocab;
    assert!(pollster::block_on(m.decode_greedy(first, 0)).is_err());
    assert!(pollster::block_on(m.decode_greedy(first, MAX_DECODE_CHAIN + 1)).is_err());
    assert!(pollster::block_on(m.decode_greedy(vocab, 1)).is_err());
}

#[test]
fn max_tokens_in_chains_equals_one_token_per_round_trip_with_fewer_round_trips() {
    let mut e = engine();
    let prompt = e.encode_prompt("Once upon a time").unwrap();
    let one = assert_same(&mut e, &prompt, &greedy(24), None);
    assert_eq!(one.finish_reason, FinishReason::Length);
    assert_eq!(one.ids.len(), 24);
    assert_eq!(one.decode_round_trips, 23);
    let (chained, _) = run(&mut e, MAX_DECODE_CHAIN, &prompt, &greedy(24), None);
    // Chains of 1, 2, 4, 8 and the 8 left: 5 round trips for 23 decoded tokens.
    assert_eq!(chained.decode_round_trips, 5);
    // The GPU counters of the request: the prefill pass and the 5 chains, each reading back
    // only token ids (4 bytes per id), on the graphs the load built.
    let g = chained.gpu;
    assert_eq!(g.round_trips, 1 + 5);
    assert_eq!(g.forward_passes, 1 + 23);
    assert_eq!(g.tokens, chained.prefill_tokens as u64 + 23);
    assert_eq!(g.bytes_read_back, 4 * (1 + 23));
    assert_eq!(g.dispatches, 24 * e.model.decode_dispatches() as u64);
    assert!(g.encode_seconds > 0.0);
    assert_eq!(g.graphs_built, 0);
    assert_eq!(e.model.graphs_built(), 0, "no graph built since load, for prompts of every length");
}

#[test]
fn a_stop_string_inside_a_chain_rolls_the_cache_back() {
    let mut e = engine();
    let prompt = e.encode_prompt("Here is a list of fruits:").unwrap();
    let (free, _) = run(&mut e, 1, &prompt, &greedy(24), None);
    let piece = stop_string_inside_the_8_to_15_chain(&e, &free);
    let params = SamplingParams { stop: vec![piece.clone()], ..greedy(24) };
    let one = assert_same(&mut e, &prompt, &params, None);
    assert_eq!(one.finish_reason, FinishReason::Stop);
    assert!(!one.text.contains(&piece));
    assert_mid_chain(one.ids.len() - 1, MAX_DECODE_CHAIN);
}

#[test]
fn a_stop_token_inside_a_chain_rolls_the_cache_back() {
    let mut e = engine();
    let prompt = e.encode_prompt("The three primary colours are").unwrap();
    let (free, _) = run(&mut e, 1, &prompt, &greedy(24), None);
    // A token inside the 4-7 or 8-15 chain that does not occur before, as a stop token
    // (like an end-of-turn token).
    let first_at = [5, 6, 9, 10, 11, 12, 13, 14]
        .into_iter()
        .find(|&i| !free.ids[..i].contains(&free.ids[i]))
        .expect("a token not seen before in the middle of a chain");
    let stop_id = free.ids[first_at];
    let params = SamplingParams { stop_token_ids: vec![stop_id], ..greedy(24) };
    let one = assert_same(&mut e, &prompt, &params, None);
    assert_eq!(one.finish_reason, FinishReason::Stop);
    assert_eq!(one.ids.len(), first_at + 1, "generation ends at the stop token");
    assert_mid_chain(first_at, MAX_DECODE_CHAIN);
}

#[test]
fn an_abort_inside_a_chain_rolls_the_cache_back() {
    let mut e = engine();
    let prompt = e.encode_prompt("A recipe for bread:").unwrap();
    // The callback says stop at the 6th token (index 5, inside the 4-7 chain).
    let one = assert_same(&mut e, &prompt, &greedy(24), Some(6));
    assert_eq!(one.finish_reason, FinishReason::Aborted);
    assert_eq!(one.ids.len(), 6);
    assert_mid_chain(5, MAX_DECODE_CHAIN);
}

#[test]
fn sampled_on_the_gpu_in_chains_equals_the_cpu_sampler_with_4_bytes_per_token() {
    let mut e = engine();
    let prompt = e.encode_prompt("Once upon a time").unwrap();
    let one = assert_same(&mut e, &prompt, &sampled(24), None);
    assert_eq!(one.finish_reason, FinishReason::Length);
    let (chained, _) = run(&mut e, MAX_DECODE_CHAIN, &prompt, &sampled(24), None);
    // The GPU path reads back one id per token; the CPU path a logits row per token.
    assert_eq!(chained.gpu.bytes_read_back, 4 * 24);
    assert_eq!(chained.decode_round_trips, 5, "chains of 1, 2, 4, 8 and the 8 left");
    assert!(one.gpu.bytes_read_back >= 24 * 4 * u64::from(e.model.config.vocab));
    // A different seed gives a different continuation (the draws matter), and a logit bias
    // that bans the first sampled token is honoured on both paths.
    let (other, _) = run(&mut e, MAX_DECODE_CHAIN, &prompt, &SamplingParams { seed: Some(8), ..sampled(24) }, None);
    assert_ne!(other.ids, one.ids);
    let ban = [(one.ids[0].to_string(), -100.0)].into_iter().collect();
    let banned = assert_same(&mut e, &prompt, &SamplingParams { logit_bias: ban, ..sampled(12) }, None);
    assert_ne!(banned.ids[0], one.ids[0]);
}

#[test]
fn sampled_stop_string_and_abort_inside_a_chain_equal_the_cpu_sampler() {
    let mut e = engine();
    let prompt = e.encode_prompt("Here is a list of fruits:").unwrap();
    let (free, _) = run(&mut e, 1, &prompt, &sampled(24), None);
    let piece = stop_string_inside_the_8_to_15_chain(&e, &free);
    let one = assert_same(&mut e, &prompt, &SamplingParams { stop: vec![piece.clone()], ..sampled(24) }, None);
    assert_eq!(one.finish_reason, FinishReason::Stop);
    assert_mid_chain(one.ids.len() - 1, MAX_DECODE_CHAIN);
    let aborted = assert_same(&mut e, &prompt, &sampled(24), Some(6));
    assert_eq!(aborted.finish_reason, FinishReason::Aborted);
    assert_eq!(aborted.ids.len(), 6);
}

// Structured output (src/structured): the mask depends on every token before it, so a
// constrained request decodes one token per round trip, and its ids still equal the CPU
// sampler's under the same mask. The fixture's schemas bound every string, array and number,
// so even these random weights finish; the browser tests validate the same schemas' output
// with an independent validator (ajv), here the JSON is parsed and its shape checked.

fn schema_format(name: &str) -> ResponseFormat {
    let schema = common::read_fixture_json("structured/schemas.json")[name].clone();
    assert!(schema.is_object(), "no schema {name}");
    serde_json::from_value(serde_json::json!({"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": true}}))
        .unwrap()
}

fn grammar_format(syntax: &str, definition: &str) -> ResponseFormat {
    serde_json::from_value(serde_json::json!({"type": "grammar", "grammar": {"syntax": syntax, "definition": definition}})).unwrap()
}

fn constrained(format: ResponseFormat, params: SamplingParams) -> SamplingParams {
    SamplingParams { response_format: Some(format), ..params }
}

#[test]
fn json_schema_output_parses_equals_the_cpu_sampler_and_takes_one_token_per_round_trip() {
    let mut e = engine();
    let prompt = e.encode_chat(&[hearth::chat::ChatMessage::user("Describe a person as JSON.")]).unwrap();
    for (name, params) in [("person", sampled(120)), ("numbers", greedy(60)), ("list", sampled(60))] {
        let params = constrained(schema_format(name), params);
        // GPU == CPU (and the caches after) once; the other schemas on the GPU path alone.
        let one = if name == "person" {
            assert_same(&mut e, &prompt, &params, None)
        } else {
            run(&mut e, MAX_DECODE_CHAIN, &prompt, &params, None).0
        };
        assert_eq!(one.finish_reason, FinishReason::Stop, "{name}: {:?}", one.text);
        let value: serde_json::Value = serde_json::from_str(&one.text).unwrap_or_else(|err| panic!("{name}: {err}: {:?}", one.text));
        let object = if name == "list" { value[0].clone() } else { value };
        let keys: Vec<&str> = object.as_object().unwrap().keys().map(String::as_str).collect();
        let expected: &[&str] = match name {
            "person" => &["name", "age", "tags", "address"],
            "numbers" => &["i", "x", "flag", "none"],
            _ => &["kind", "ok", "note"],
        };
        assert_eq!(keys, expected, "{name}: {}", one.text);
        // The last id is the end-of-generation token the completed grammar allowed alone.
        assert!(e.tokenizer.stop_ids().contains(one.ids.last().unwrap()));
        if name == "person" {
            let (chained, _) = run(&mut e, MAX_DECODE_CHAIN, &prompt, &params, None);
            assert_eq!(chained.decode_round_trips, chained.ids.len() - 1, "one decode step per round trip");
            let stats = chained.constraint.expect("constraint stats");
            assert_eq!(stats.masks, chained.ids.len(), "a mask per token");
        }
    }
    // Unconstrained, the same weights write no JSON: the mask did the work.
    let (free, _) = run(&mut e, 1, &prompt, &greedy(30), None);
    assert!(serde_json::from_str::<serde_json::Value>(&free.text).is_err(), "{:?}", free.text);
}

/// Without penalties or logprobs, the tokens a schema forces (keys, quotes, colons) are taken
/// without a draw and fed with the sampled token before them in one forward pass, on both
/// paths (the CPU sampler on read-back logits; on the GPU, the graphs' argmax under the mask
/// when greedy, the GPU sampler when sampled): the same ids, and fewer forward passes, round
/// trips and masks than tokens.
#[test]
fn forced_tokens_are_fed_in_batches_with_the_same_ids_on_both_paths() {
    let mut e = engine();
    let prompt = e.encode_chat(&[hearth::chat::ChatMessage::user("Describe a person as JSON.")]).unwrap();
    let no_penalties = SamplingParams { temperature: 0.8, top_k: 40, top_p: 0.95, seed: Some(7), max_tokens: 60, ..Default::default() };
    for (name, params) in [("numbers", greedy(60)), ("numbers", no_penalties)] {
        let params = constrained(schema_format(name), params);
        let one = assert_same(&mut e, &prompt, &params, None);
        assert_eq!(one.finish_reason, FinishReason::Stop, "{name}: {:?}", one.text);
        let value: serde_json::Value = serde_json::from_str(&one.text).unwrap_or_else(|err| panic!("{name}: {err}: {:?}", one.text));
        let keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["i", "x", "flag", "none"], "{}", one.text);
        let (chained, _) = run(&mut e, MAX_DECODE_CHAIN, &prompt, &params, None);
        let n = chained.ids.len();
        // Four keys of several tokens each are forced: well under one pass per token.
        assert!(chained.gpu.forward_passes < n as u64 - 4, "{} passes for {n} tokens", chained.gpu.forward_passes);
        assert!(chained.decode_round_trips < n - 5, "{} round trips for {n} tokens", chained.decode_round_trips);
        let masks = chained.constraint.expect("constraint stats").masks;
        assert!(masks < n - 4, "{masks} masks for {n} tokens");
        // Greedy: the masked argmax sends back one id per pass, never a logits row.
        if params.temperature == 0.0 {
            assert_eq!(chained.gpu.bytes_read_back, 4 * chained.gpu.forward_passes, "{name}");
        }
    }
}

#[test]
fn regex_and_lark_grammars_hold_and_bad_formats_are_invalid_arguments_naming_the_field() {
    let mut e = engine();
    let prompt = e.encode_prompt("Code:").unwrap();
    let rx = "[0-9]{3}-[a-z]{2,4}";
    let g = assert_same(&mut e, &prompt, &constrained(grammar_format("regex", rx), sampled(20)), None);
    assert!(regex::Regex::new(&format!("^{rx}$")).unwrap().is_match(&g.text), "{:?}", g.text);
    let lark = "start: \"id=\" NUM (\",\" NUM)? \";\"\nNUM: /[1-9][0-9]?/\n";
    let g = assert_same(&mut e, &prompt, &constrained(grammar_format("lark", lark), sampled(20)), None);
    assert!(regex::Regex::new(r"^id=[1-9][0-9]?(,[1-9][0-9]?)?;$").unwrap().is_match(&g.text), "{:?}", g.text);

    let bad = [
        (r#"{"type": "json_schema", "json_schema": {"schema": {"type": "strnig"}}}"#, "response_format.json_schema.schema"),
        (r#"{"type": "json_schema", "json_schema": {"schema": 5}}"#, "response_format.json_schema.schema"),
        (r##"{"type": "json_schema", "json_schema": {"schema": {"$ref": "#/$defs/missing"}}}"##, "response_format.json_schema.schema"),
        (
            r#"{"type": "grammar", "grammar": {"syntax": "lark", "definition": "start: missing_rule"}}"#,
            "response_format.grammar.definition",
        ),
        (r#"{"type": "grammar", "grammar": {"syntax": "regex", "definition": "([a-z]"}}"#, "response_format.grammar.definition"),
        (r#"{"type": "grammar", "grammar": {"syntax": "regex", "definition": ""}}"#, "response_format.grammar.definition"),
    ];
    for (json, field) in bad {
        let params = constrained(serde_json::from_str(json).unwrap(), greedy(8));
        match pollster::block_on(e.generate(&prompt, &params, &mut |_| true)) {
            Err(hearth::Error::InvalidArgument(m)) => assert!(m.starts_with(field), "{json}: {m}"),
            other => panic!("{json}: expected InvalidArgument, got {other:?}"),
        }
    }
    // The engine still serves requests after refusing those.
    assert_eq!(run(&mut e, MAX_DECODE_CHAIN, &prompt, &greedy(4), None).0.ids.len(), 4);
}
