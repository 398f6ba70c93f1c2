//! The checks every model family's test file runs against its fixtures (made by
//! scripts/fixtures/llama_fixtures.py and family_fixtures.py from llama.cpp and the exact f32
//! numpy reference): logits and argmax, greedy continuations, perplexity.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use hearth::gguf::GgufFile;
use hearth::gpu::GpuContext;
use hearth::model::{Logits, Model, ModelOptions};
use serde_json::Value;

pub fn load(ctx: &GpuContext, path: &Path, n_ctx: u32) -> Model {
    load_with(ctx, path, ModelOptions { n_ctx: Some(n_ctx), ..Default::default() })
}

pub fn load_with(ctx: &GpuContext, path: &Path, options: ModelOptions) -> Model {
    let mut file = GgufFile::open(path).unwrap();
    pollster::block_on(Model::load(ctx, &mut file, options)).unwrap()
}

/// One model per test binary, loaded on first use and shared by its tests (they take turns:
/// each check starts from `model.reset()`). Loading a real model costs more than most checks.
pub fn shared<T>(cell: &'static OnceLock<Mutex<T>>, init: impl FnOnce() -> T) -> MutexGuard<'static, T> {
    cell.get_or_init(|| Mutex::new(init())).lock().unwrap_or_else(PoisonError::into_inner)
}

pub fn ids_of(v: &Value) -> Vec<u32> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()
}

/// Last-position logits within `tolerance` of the f32 numpy reference (top-64 and 64 random
/// ids, and the mean), and the reference's argmax at every prompt position. Returns the worst
/// logit difference seen. The caller states why its tolerance is what it is.
pub fn check_logits(model: &mut Model, fixture: &str, tolerance: f32) -> f32 {
    check_logits_up_to(model, fixture, tolerance, usize::MAX)
}

/// `check_logits` on the fixture's prompts of at most `max_tokens` tokens.
pub fn check_logits_up_to(model: &mut Model, fixture: &str, tolerance: f32, max_tokens: usize) -> f32 {
    let fx = super::read_fixture_json(fixture);
    let vocab = model.config.vocab as usize;
    let mut worst = 0f32;
    let prompts = fx["prompts"].as_array().unwrap().iter().filter(|p| p["ids"].as_array().unwrap().len() <= max_tokens);
    for prompt in prompts {
        let ids = ids_of(&prompt["ids"]);
        let text: String = prompt["text"].as_str().unwrap().chars().take(40).collect();
        model.reset();
        let out = pollster::block_on(model.forward(&ids, Logits::All, true)).unwrap();
        let logits = out.logits.unwrap();
        assert_eq!(logits.len(), ids.len() * vocab);
        let want_argmax = ids_of(&prompt["argmax"]);
        for (pos, row) in logits.chunks(vocab).enumerate() {
            let got = hearth::sample::argmax(row);
            assert_eq!(got, want_argmax[pos], "{fixture} {text:?}: argmax at position {pos}");
        }
        assert_eq!(out.argmax, *want_argmax.last().unwrap(), "GPU argmax kernel");
        let last = &logits[logits.len() - vocab..];
        let last_fx = &prompt["last"];
        for pair in last_fx["top"].as_array().unwrap().iter().chain(last_fx["random"].as_array().unwrap()) {
            let (id, want) = (pair[0].as_u64().unwrap() as usize, pair[1].as_f64().unwrap() as f32);
            let diff = (last[id] - want).abs();
            worst = worst.max(diff);
            assert!(diff <= tolerance, "{fixture} {text:?}: logit[{id}] = {}, reference {want}", last[id]);
        }
        let mean = last.iter().map(|&x| f64::from(x)).sum::<f64>() / vocab as f64;
        assert!((mean - last_fx["mean"].as_f64().unwrap()).abs() < f64::from(tolerance), "mean logit {mean}");
    }
    eprintln!("{fixture}: worst last-position logit difference {worst:.2e} (tolerance {tolerance:.0e})");
    worst
}

/// Greedy continuations (32 tokens) against llama.cpp's. llama.cpp quantises activations
/// to 8 bits inside its matmuls, so where its own top-2 margin is small an exact f32 engine
/// may pick the other token. A divergence is accepted when llama.cpp's margin there is
/// < 0.1 (the rule), or when Hearth's token is the one the exact f32 numpy
/// reference picks on the same path (llama.cpp's approximation is what differs). Either
/// way Hearth's whole continuation must equal the f32 reference's own greedy path, except
/// after a step where that reference's margin is < 1e-3 (a tie in f32).
///
/// Only the named `cases`, and only their first `n_tokens` steps: a prefix of a greedy path is
/// checked by the same rules, and each decode step on lavapipe costs a full forward pass.
pub fn check_greedy(model: &mut Model, fixture: &str, cases: &[&str], n_tokens: usize) {
    let fx = super::read_fixture_json(fixture);
    let mut report = Vec::new();
    let all = fx["cases"].as_array().unwrap();
    for wanted in cases {
        assert!(all.iter().any(|c| c["name"] == *wanted), "{fixture}: no case {wanted:?}");
    }
    for case in all.iter().filter(|c| cases.contains(&c["name"].as_str().unwrap())) {
        let name = case["name"].as_str().unwrap();
        let prompt = ids_of(&case["prompt_ids"]);
        let n = case["generated_ids"].as_array().unwrap().len().min(n_tokens);
        model.reset();
        let mut got = vec![pollster::block_on(model.forward(&prompt, Logits::Last, false)).unwrap().argmax];
        while got.len() < n {
            let next = pollster::block_on(model.forward(&[*got.last().unwrap()], Logits::Last, false)).unwrap().argmax;
            got.push(next);
        }

        let llama = ids_of(&case["generated_ids"]);
        if let Some(i) = (0..n).find(|&i| got[i] != llama[i]) {
            let margin = case["top2_margin"][i].as_f64().unwrap();
            let reference_here = case["reference_argmax_on_this_path"][i].as_u64().unwrap() as u32;
            assert!(
                margin < 0.1 || got[i] == reference_here,
                "{name}: step {i}: Hearth {} vs llama.cpp {} (margin {margin:.3}), f32 reference {reference_here}",
                got[i],
                llama[i]
            );
            report.push(format!("{name}: diverges from llama.cpp at step {i} (llama.cpp margin {margin:.3})"));
        }

        let reference = ids_of(&case["reference_generated_ids"]);
        let ref_margin = |i: usize| case["reference_top2_margin"][i].as_f64().unwrap();
        if let Some(i) = (0..n).find(|&i| got[i] != reference[i]) {
            assert!(
                ref_margin(i) < 1e-3,
                "{name}: step {i}: Hearth {} vs f32 reference {} (margin {})",
                got[i],
                reference[i],
                ref_margin(i)
            );
            report.push(format!("{name}: diverges from the f32 reference at a tie, step {i}"));
        }
    }
    eprintln!("{fixture}: greedy divergences ({} of {} cases, {n_tokens} tokens): {report:#?}", report.len(), cases.len());
}

/// Perplexity on the fixture's windows of the committed text, with llama.cpp's tokens: within 1% of
/// llama.cpp's, and within 0.01% of the exact f32 numpy reference's (Hearth computes in f32
/// from the same dequantised weights; llama.cpp's 8-bit activations are what the 1% allows).
/// Perplexity on the first `n_windows` windows of the fixture (each window's llama.cpp and
/// numpy sums are in the fixture, so fewer windows than it holds keep the check exact while
/// costing less lavapipe time).
pub fn check_perplexity(model: &mut Model, fixture: &str, n_windows: usize) {
    let fx = super::read_fixture_json(fixture);
    let windows = &fx["windows"].as_array().unwrap()[..n_windows];
    let window = fx["window"].as_u64().unwrap() as usize;
    let tokens: usize = windows.iter().map(|w| w["tokens"].as_u64().unwrap() as usize).sum();
    let sum = |key: &str| windows.iter().map(|w| w[key].as_f64().unwrap()).sum::<f64>();
    let predicted = windows.iter().map(|w| w["predicted"].as_u64().unwrap()).sum::<u64>();
    // The tokens are llama.cpp's (the tokenizer tests check Hearth produces the same ids).
    let ids = &ids_of(&fx["token_ids"])[..tokens];
    let p = pollster::block_on(hearth::engine::perplexity(model, ids, window)).unwrap();
    assert_eq!(p.predicted as u64, predicted);
    let llama = (sum("nll_sum") / predicted as f64).exp();
    let reference = (sum("reference_nll_sum") / predicted as f64).exp();
    eprintln!("{fixture}: perplexity Hearth {:.4}, llama.cpp {llama:.4}, f32 reference {reference:.4}", p.ppl);
    assert!((p.ppl / llama - 1.0).abs() < 0.01, "Hearth {} vs llama.cpp {llama}", p.ppl);
    // The reference keeps keys and values in f32; Hearth's cache holds them in f16, which
    // issue 13 allows to move perplexity by less than 0.1% (measured: Qwen2.5's first window
    // 4.1e-4, SmolLM2's whole text 3e-5).
    assert!((p.ppl / reference - 1.0).abs() < 1e-3, "Hearth {} vs f32 reference {reference}: more than the f16 cache's 0.1%", p.ppl);
}
