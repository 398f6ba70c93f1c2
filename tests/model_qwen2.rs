//! Qwen2.5-Coder-0.5B-Instruct Q4_K_M (qwen2 architecture: Q/K/V biases, NeoX RoPE with
//! rope_theta 1e6, untied output) on the GPU against the exact f32 numpy reference (logits,
//! argmax) and llama.cpp (greedy continuations, perplexity).
//! Fixtures: tests/fixtures/qwen2/, made by scripts/fixtures/family_fixtures.py.

mod common;

use common::model_checks::{check_greedy, check_logits, check_perplexity, load};
use hearth::gpu::GpuOptions;

const LOGITS: &str = "qwen2/logits_qwen2.5-coder-0.5b-instruct-q4_k_m.json";

/// Tolerance: as for SmolLM2 (tests/model_llama.rs): both sides compute in f32 from the same
/// dequantised weights; the numpy reference agrees with llama.cpp run on the same weights
/// dequantised to F32 (f32 KV cache) to 2e-5, and a wrong detail (a missing bias, llama-style
/// RoPE pairs, the wrong rope_theta) moves logits by ~1 or more.
const TOLERANCE: f32 = 1e-3;

fn model(options: GpuOptions) -> (hearth::gpu::GpuContext, hearth::model::Model) {
    let ctx = common::gpu_with(options);
    let model = load(&ctx, &common::model_path(common::QWEN25), 512);
    (ctx, model)
}

#[test]
fn logits_match_numpy_reference() {
    let (_ctx, mut model) = model(GpuOptions::default());
    check_logits(&mut model, LOGITS, TOLERANCE);
}

/// A phone-like 128 MiB binding limit: the untied 151,936 × 896 Q8_0 output matrix (147 MiB
/// in the GPU layout) is split in two bindings, and the results do not change.
#[test]
fn logits_match_with_a_128_mib_binding_limit() {
    let (_ctx, mut model) = model(GpuOptions { max_storage_binding: Some(128 << 20), ..Default::default() });
    assert_eq!(model.split_matrices(), [("output.weight".to_string(), 2)]);
    check_logits(&mut model, LOGITS, TOLERANCE);
}

#[test]
fn greedy_continuations_match_llama_cpp() {
    let (_ctx, mut model) = model(GpuOptions::default());
    check_greedy(&mut model, "qwen2/greedy_qwen2.5-coder-0.5b-instruct-q4_k_m.json");
}

#[test]
fn perplexity_within_one_percent_of_llama_cpp() {
    let (_ctx, mut model) = model(GpuOptions::default());
    check_perplexity(&mut model, "qwen2/perplexity_qwen2.5-coder-0.5b-instruct-q4_k_m.json");
}
