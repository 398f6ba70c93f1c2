//! Sampler tests through the public API: the PRNG against numpy's PCG64, empirical draw
//! frequencies against hand-computed softmax probabilities, and a streamed generation with
//! stop strings. (Unit tests for each piece live next to the code in src/sample/.)

use crate::common;

use hearth::sample::{Pcg64, Sampler, SamplingParams, StopChecker, StopReason};

#[test]
fn pcg64_matches_numpy_bit_for_bit() {
    let fixture = common::read_fixture_json("sample/pcg64.json");
    let cases = fixture["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for case in cases {
        let state: u128 = case["state"].as_str().unwrap().parse().unwrap();
        let inc: u128 = case["inc"].as_str().unwrap().parse().unwrap();
        let want_raw: Vec<u64> = case["raw"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
        let want_f64: Vec<u64> = case["random_f64_bits"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
        assert_eq!(want_raw.len(), 16);

        let mut rng = Pcg64::from_state(state, inc);
        let raw: Vec<u64> = (0..want_raw.len()).map(|_| rng.next_u64()).collect();
        assert_eq!(raw, want_raw, "state {state} inc {inc}");
        let mut rng = Pcg64::from_state(state, inc);
        let floats: Vec<u64> = (0..want_f64.len()).map(|_| rng.next_f64().to_bits()).collect();
        assert_eq!(floats, want_f64, "state {state} inc {inc}");
    }
}

const DRAWS: usize = 20_000;
/// Probabilities of the test distribution, by token id.
const P: [f64; 5] = [0.4, 0.25, 0.2, 0.1, 0.05];

/// Draws `DRAWS` tokens from logits ln(P) and checks each token's count against the expected
/// probabilities `q`: within 4 standard deviations of the binomial count N·q (a false alarm
/// has probability about 6e-5 per token for a fair sampler; the seed is fixed, so the test is
/// deterministic), and exactly 0 where q is 0.
fn assert_frequencies(params: SamplingParams, history: &[u32], q: &[f64]) {
    let logits: Vec<f32> = P.iter().map(|p| p.ln() as f32).collect();
    let mut sampler = Sampler::new(params.clone()).unwrap();
    let mut counts = [0usize; P.len()];
    for _ in 0..DRAWS {
        counts[sampler.sample(&logits, history).unwrap() as usize] += 1;
    }
    let total: f64 = q.iter().sum();
    for (id, (&count, &q)) in counts.iter().zip(q).enumerate() {
        let q = q / total;
        let mean = DRAWS as f64 * q;
        let sigma = (DRAWS as f64 * q * (1.0 - q)).sqrt();
        assert!(
            (count as f64 - mean).abs() <= 4.0 * sigma,
            "{params:?}: token {id} drawn {count} times, expected {mean:.0} ± {:.0} (counts {counts:?})",
            4.0 * sigma
        );
    }
}

fn at(temperature: f32, seed: u64) -> SamplingParams {
    SamplingParams { temperature, seed: Some(seed), ..SamplingParams::default() }
}

#[test]
fn frequencies_match_softmax_at_temperature_1() {
    assert_frequencies(at(1.0, 11), &[], &P);
}

#[test]
fn frequencies_match_softmax_at_temperature_2() {
    // p^(1/T): the temperature flattens the distribution.
    let q: Vec<f64> = P.iter().map(|p| p.sqrt()).collect();
    assert_frequencies(at(2.0, 12), &[], &q);
}

#[test]
fn frequencies_after_top_p_and_a_low_temperature() {
    // top-p 0.7 keeps {0.4, 0.25, 0.2} (cumulative 0.4, 0.65, 0.85); T = 0.5 squares them.
    let q = [0.16, 0.0625, 0.04, 0.0, 0.0];
    assert_frequencies(SamplingParams { top_p: 0.7, ..at(0.5, 13) }, &[], &q);
}

#[test]
fn frequencies_after_top_k_and_min_p() {
    // top-k 4 drops 0.05; min-p 0.3 drops p < 0.12, i.e. 0.1; the rest is renormalized.
    let q = [0.4, 0.25, 0.2, 0.0, 0.0];
    assert_frequencies(SamplingParams { top_k: 4, min_p: 0.3, ..at(1.0, 14) }, &[], &q);
}

#[test]
fn frequencies_after_a_presence_penalty() {
    // Token 0 was seen: its logit drops by 1, so its weight is 0.4 / e.
    let q = [0.4 / std::f64::consts::E, 0.25, 0.2, 0.1, 0.05];
    assert_frequencies(SamplingParams { presence_penalty: 1.0, ..at(1.0, 15) }, &[0], &q);
}

#[test]
fn streamed_generation_stops_at_a_stop_string_across_tokens() {
    // A toy "model": token i decodes to PIECES[i]; the logits always favour the next token of
    // a fixed script, so greedy decoding walks the script.
    const PIECES: [&str; 6] = ["Hello", ",", " wor", "ld", "<", "|end|>"];
    let params: SamplingParams = serde_json::from_str(r#"{"stop": "<|end|>", "max_tokens": 20}"#).unwrap();
    let mut sampler = Sampler::new(params.clone()).unwrap();
    let mut stop = StopChecker::from_params(&params);
    let mut history = Vec::new();
    let mut out = String::new();
    let mut reason = None;
    for step in 0..params.max_tokens as usize {
        let mut logits = [0.0f32; PIECES.len()];
        logits[step % PIECES.len()] = 5.0;
        let id = sampler.sample(&logits, &history).unwrap();
        history.push(id);
        let s = stop.push(id, PIECES[id as usize]);
        out.push_str(&s.emit);
        if s.stop.is_some() {
            reason = s.stop;
            break;
        }
    }
    assert_eq!(out, "Hello, world");
    assert_eq!(reason, Some(StopReason::String(0)));
    assert_eq!(history.len(), 6);
}
