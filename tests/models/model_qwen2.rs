//! Qwen2.5-Coder-0.5B-Instruct Q4_K_M (qwen2 architecture: Q/K/V biases, NeoX RoPE with
//! rope_theta 1e6, untied output; Q4_K, Q6_K, Q5_0 and Q8_0 weights) on the GPU against the
//! exact f32 numpy reference (logits, argmax) and llama.cpp (greedy continuations,
//! perplexity). Fixtures: tests/fixtures/qwen2/, made by scripts/fixtures/family_fixtures.py.
//! The model is loaded once and shared by the tests, with its KV cache in textures (see
//! `engine`); binding splits are checked on tiny
//! synthetic models (tests/models/model_tiny.rs) and in the browser (tests/browser/families.test.js).

use crate::common;

use std::sync::{Mutex, MutexGuard, OnceLock};

use common::json_reply;
use common::model_checks::{check_greedy, check_logits_up_to, check_perplexity, load, shared};
use hearth::engine::Engine;

/// Tolerance: as for SmolLM2 (tests/models/model_llama.rs): both sides compute in f32 from the same
/// dequantised weights with an f16 KV cache, whose roundings make the exact result jumpy by
/// ~1e-3 (see there); with an f32 cache the numpy reference agreed with llama.cpp run on the
/// same weights dequantised to F32 to 2e-5. A wrong detail (a missing bias, llama-style RoPE
/// pairs, the wrong rope_theta) moves logits by ~1 or more.
const TOLERANCE: f32 = 1e-2;

/// The fixture's prompts of up to 20 tokens (four of its six: 45 positions in all; the chat
/// prompt with special tokens, 30, is left to the greedy check's ChatML prompt and to SmolLM2's
/// logits, for the CI budget: every position runs the 152k-row lm_head on lavapipe).
const MAX_PROMPT_TOKENS: usize = 20;

/// The model, in an engine (for the structured-output reply), loaded once for every test.
fn engine() -> MutexGuard<'static, Engine> {
    static ENGINE: OnceLock<Mutex<Engine>> = OnceLock::new();
    shared(&ENGINE, || {
        let path = common::model_path(common::QWEN25);
        // The KV cache in textures whatever this host's default (`Tuning::kv_texels`: lavapipe
        // takes it on hosts without AVX-512), so that the texel cache meets llama.cpp's
        // fixtures on every machine; the other families run the device's default.
        let mut ctx = common::gpu();
        ctx.tuning.kv_texels = true;
        let model = load(&ctx, &path, 512);
        assert!(model.kv_cache_in_texels());
        json_reply::engine(model, &path, None)
    })
}

#[test]
fn logits_match_numpy_reference() {
    check_logits_up_to(&mut engine().model, "qwen2/logits_qwen2.5-coder-0.5b-instruct-q4_k_m.json", TOLERANCE, MAX_PROMPT_TOKENS);
}

#[test]
fn greedy_continuations_match_llama_cpp() {
    check_greedy(&mut engine().model, "qwen2/greedy_qwen2.5-coder-0.5b-instruct-q4_k_m.json", &["code", "chatml_fact"], 16);
}

/// Perplexity on the first 64-token window of the committed text, within 1% of llama.cpp's
/// (short for the CI budget; the every-token-logits path it exercises is checked on two
/// windows of 128 for SmolLM2 and one of 128 for Gemma 3).
#[test]
fn perplexity_within_one_percent_of_llama_cpp() {
    check_perplexity(&mut engine().model, "qwen2/perplexity_qwen2.5-coder-0.5b-instruct-q4_k_m.json", 1);
}

/// Structured output on the real model: a greedy `json_schema` reply that parses and keeps
/// every rule of the schema (tests/common/json_reply.rs).
#[test]
fn json_schema_reply_follows_the_schema() {
    json_reply::check_compact_reply(&mut engine(), "qwen2.5");
}
