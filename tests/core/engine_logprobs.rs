//! `logprobs` / `top_logprobs` through the engine: every generated token reports the
//! log-softmax of the raw logits row it was drawn from. The reference is computed here, in
//! f64, from the logits rows read back by feeding the same tokens one by one through
//! `Model::forward`; the GPU sampler's path (decode chains of up to 16 steps) and the CPU
//! sampler's path (one round trip per token) must both match it within 1e-4, and each other
//! in ids and in the order of the alternatives. On the tiny random-weight chat model
//! (mechanics), SmolLM2 and Gemma 3 (the largest vocabulary, 262,144 tokens).

use crate::common;

use hearth::Error;
use hearth::engine::{Emitted, Engine, Generation, TokenLogprob};
use hearth::model::{Logits, ModelOptions};
use hearth::sample::SamplingParams;

const TOLERANCE: f64 = 1e-4;

fn load(name: &str) -> Engine {
    let ctx = common::gpu();
    let mut file = hearth::gguf::GgufFile::open(common::model_path(name)).unwrap();
    pollster::block_on(Engine::load(&ctx, &mut file, ModelOptions { n_ctx: Some(512), ..Default::default() })).unwrap()
}

/// Generates on the GPU sampler path (chains of up to 16) or the CPU one (logits read back,
/// one token per round trip); also returns the logprobs as streamed to the callback.
fn generate(e: &mut Engine, gpu: bool, prompt: &[u32], params: &SamplingParams) -> (Generation, Vec<TokenLogprob>) {
    e.gpu_sampling = gpu;
    e.decode_chain = if gpu { 16 } else { 1 };
    let mut streamed = Vec::new();
    let g = pollster::block_on(e.generate_with(prompt, params, &mut |t: Emitted<'_>| {
        if let Some(lp) = t.logprobs {
            streamed.push(lp.clone());
        }
        true
    }))
    .unwrap();
    (g, streamed)
}

/// f64 log-softmax of each row the generated tokens were drawn from: the prompt's last row,
/// then the row after each generated token, read back from the model.
fn reference_rows(e: &mut Engine, prompt: &[u32], ids: &[u32]) -> Vec<Vec<f64>> {
    e.model.reset();
    let mut rows = Vec::new();
    let mut feed = prompt.to_vec();
    for &id in ids {
        let logits = pollster::block_on(e.model.forward(&feed, Logits::Last, true)).unwrap().logits.unwrap();
        let max = logits.iter().map(|&l| f64::from(l)).fold(f64::NEG_INFINITY, f64::max);
        let log_norm = max + logits.iter().map(|&l| (f64::from(l) - max).exp()).sum::<f64>().ln();
        rows.push(logits.iter().map(|&l| f64::from(l) - log_norm).collect());
        feed = vec![id];
    }
    e.model.reset();
    rows
}

/// Checks one generation's reported logprobs against the reference rows.
fn check_against_reference(what: &str, g: &Generation, rows: &[Vec<f64>], top_n: usize) {
    let lps = g.logprobs.as_ref().expect("logprobs were asked for");
    assert_eq!(lps.len(), g.ids.len(), "{what}: one entry per token (no stop token here)");
    for (i, (lp, row)) in lps.iter().zip(rows).enumerate() {
        assert_eq!(lp.id, g.ids[i], "{what}: token {i}");
        assert!(
            (f64::from(lp.logprob) - row[lp.id as usize]).abs() < TOLERANCE,
            "{what}: token {i}: {} vs {}",
            lp.logprob,
            row[lp.id as usize]
        );
        // The top list: the row's best ids, ties by lower id (the reference's own sort).
        let mut order: Vec<u32> = (0..row.len() as u32).collect();
        order.sort_by(|&a, &b| row[b as usize].total_cmp(&row[a as usize]).then(a.cmp(&b)));
        let top: Vec<u32> = lp.top_logprobs.iter().map(|t| t.id).collect();
        assert_eq!(top, order[..top_n], "{what}: token {i} top ids");
        for t in &lp.top_logprobs {
            assert!((f64::from(t.logprob) - row[t.id as usize]).abs() < TOLERANCE, "{what}: token {i} alternative {}", t.id);
        }
        assert!(lp.top_logprobs.windows(2).all(|w| w[0].logprob >= w[1].logprob), "{what}: sorted");
    }
}

/// The GPU and CPU paths agree: same ids, same alternatives in the same order, values within
/// the tolerance; the streamed entries are the returned ones.
fn check_paths_agree(what: &str, gpu: &(Generation, Vec<TokenLogprob>), cpu: &(Generation, Vec<TokenLogprob>)) {
    assert_eq!(gpu.0.ids, cpu.0.ids, "{what}: ids");
    let (a, b) = (gpu.0.logprobs.as_ref().unwrap(), cpu.0.logprobs.as_ref().unwrap());
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert_eq!((x.id, &x.token, &x.bytes), (y.id, &y.token, &y.bytes), "{what}");
        assert!((x.logprob - y.logprob).abs() < TOLERANCE as f32, "{what}: {} vs {}", x.logprob, y.logprob);
        let ids = |l: &TokenLogprob| l.top_logprobs.iter().map(|t| t.id).collect::<Vec<_>>();
        assert_eq!(ids(x), ids(y), "{what}: alternatives");
    }
    assert_eq!(&gpu.1, a, "{what}: streamed = returned (GPU)");
    assert_eq!(&cpu.1, b, "{what}: streamed = returned (CPU)");
}

fn with_logprobs(top_logprobs: u32, params: SamplingParams) -> SamplingParams {
    SamplingParams { logprobs: true, top_logprobs, ..params }
}

fn sampled(max_tokens: u32) -> SamplingParams {
    SamplingParams { temperature: 0.9, top_k: 40, top_p: 0.95, repetition_penalty: 1.1, seed: Some(5), max_tokens, ..Default::default() }
}

fn check_model(name: &str, prompt: &str, tokens: u32) {
    let mut e = load(name);
    let prompt = e.encode_prompt(prompt).unwrap();
    for (what, params, top) in
        [("greedy", SamplingParams { max_tokens: tokens, ..Default::default() }, 5), ("sampled", sampled(tokens), 20)]
    {
        let params = with_logprobs(top, params);
        let gpu = generate(&mut e, true, &prompt, &params);
        let cpu = generate(&mut e, false, &prompt, &params);
        let what = format!("{name} {what}");
        check_paths_agree(&what, &gpu, &cpu);
        let rows = reference_rows(&mut e, &prompt, &gpu.0.ids);
        check_against_reference(&format!("{what} (GPU)"), &gpu.0, &rows, top as usize);
        check_against_reference(&format!("{what} (CPU)"), &cpu.0, &rows, top as usize);
        // Each alternative's text is its token's.
        let first = &gpu.0.logprobs.as_ref().unwrap()[0];
        assert_eq!(first.bytes, e.tokenizer.decode_token_bytes(first.id).unwrap());
    }
}

#[test]
fn tiny_chat_model_gpu_and_cpu_paths_equal_the_reference() {
    // 40 tokens: chains of 1, 2, 4, 8, 16 and a partial one.
    check_model(common::TINY_CHAT, "The quick brown fox", 40);
}

#[test]
fn smollm2_gpu_and_cpu_paths_equal_the_reference() {
    check_model(common::SMOLLM2, "def fibonacci(n):", 6);
}

#[test]
fn gemma3_with_its_262k_vocabulary_gpu_and_cpu_paths_equal_the_reference() {
    check_model(common::GEMMA3, "The history of bread", 3);
}

#[test]
fn a_stop_token_reports_no_logprobs_and_bad_requests_are_refused() {
    let mut e = load(common::TINY_CHAT);
    let prompt = e.encode_prompt("Once upon a time").unwrap();
    let plain = generate(&mut e, true, &prompt, &with_logprobs(0, SamplingParams { max_tokens: 8, ..Default::default() })).0;
    // Stop on the fourth token: three tokens are output, with three entries.
    let stop = plain.ids[3];
    let first_stop = plain.ids.iter().position(|&id| id == stop).unwrap();
    let params = with_logprobs(2, SamplingParams { max_tokens: 8, stop_token_ids: vec![stop], ..Default::default() });
    for gpu in [true, false] {
        let (g, streamed) = generate(&mut e, gpu, &prompt, &params);
        assert_eq!(g.ids.len(), first_stop + 1, "the stop token ends it");
        assert_eq!(g.logprobs.as_ref().unwrap().len(), first_stop, "no entry for the stop token");
        assert_eq!(&streamed, g.logprobs.as_ref().unwrap());
    }
    // Not asked: none.
    assert!(generate(&mut e, true, &prompt, &SamplingParams { max_tokens: 2, ..Default::default() }).0.logprobs.is_none());
    let mut refused = |params: SamplingParams| match pollster::block_on(e.generate(&prompt, &params, &mut |_| true)) {
        Err(Error::InvalidArgument(m)) => m,
        other => panic!("expected InvalidArgument, got {other:?}"),
    };
    let m = refused(with_logprobs(21, SamplingParams::default()));
    assert!(m.contains("`top_logprobs` is 21") && m.contains("0 ..= 20"), "{m}");
    let m = refused(SamplingParams { top_logprobs: 2, ..Default::default() });
    assert!(m.contains("`top_logprobs`") && m.contains("`logprobs` is false"), "{m}");
}
