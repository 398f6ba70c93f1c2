//! `Sampler`: picks the next token from one row of logits.
//!
//! Order of operations, as llama.cpp's default chain: logit bias and allowed-token mask →
//! penalties → (greedy if temperature is 0)
//! → top-k → top-p → min-p → temperature → softmax → seeded draw. top-p and min-p therefore
//! judge probabilities at temperature 1, and the temperature only reshapes what they kept.
//!
//! Cost per call for a vocabulary of n: one copy and one scan of the logits, O(n) selection
//! instead of a full sort (top-k, and top-p grows a sorted prefix only as far as it needs),
//! and no allocation once the reused buffers have grown to n.

use std::cmp::Ordering;

use super::params::SamplingParams;
use super::rng::{Pcg64, entropy_seed};
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Candidate {
    pub(crate) id: u32,
    pub(crate) logit: f32,
}

/// Most likely first; equal logits rank the lower id first, so every selection is
/// deterministic (and greedy ties go to the lowest id).
fn by_rank(a: &Candidate, b: &Candidate) -> Ordering {
    b.logit.total_cmp(&a.logit).then(a.id.cmp(&b.id))
}

/// First prefix size top-p sorts; grown 4x until it holds the requested mass.
const TOP_P_FIRST_PREFIX: usize = 256;

#[derive(Debug, Clone)]
pub struct Sampler {
    params: SamplingParams,
    rng: Pcg64,
    /// The caller's logits after penalties (the input slice stays untouched).
    logits: Vec<f32>,
    /// Tokens still in the running; after `sample` it holds the final kept set.
    pub(crate) cands: Vec<Candidate>,
    /// Softmax weights of `cands`, parallel to it.
    weights: Vec<f64>,
    /// Sorted copy of the penalty window, to count occurrences without a hash map.
    window: Vec<u32>,
    /// `params.logit_bias` parsed once: (token id, bias), sorted by id.
    bias: Vec<(u32, f32)>,
}

impl Sampler {
    /// Validates `params` and seeds the generator (`seed: None` draws a fresh seed).
    pub fn new(params: SamplingParams) -> Result<Self> {
        params.validate()?;
        let bias = params.logit_bias_ids()?;
        let rng = Pcg64::from_seed(params.seed.unwrap_or_else(entropy_seed));
        Ok(Sampler { params, rng, logits: Vec::new(), cands: Vec::new(), weights: Vec::new(), window: Vec::new(), bias })
    }

    pub fn params(&self) -> &SamplingParams {
        &self.params
    }

    /// The uniform in [0, 1) that the next non-greedy `sample` would draw, taken from the
    /// generator now; `None` for greedy parameters (temperature 0), which draw nothing.
    /// `sample` takes its uniforms from the same place, so a caller that samples elsewhere
    /// (the GPU sampler, several chained steps at once) can pre-draw one per step and stay
    /// on the exact sequence a CPU `Sampler` with this seed would follow.
    pub fn next_uniform(&mut self) -> Option<f64> {
        (self.params.temperature != 0.0).then(|| self.uniform())
    }

    /// The one place the generator is advanced: one `next_f64` per non-greedy sample.
    fn uniform(&mut self) -> f64 {
        self.rng.next_f64()
    }

    /// The next token id. `history` is the token sequence so far (whatever the caller wants
    /// penalized: the generated tokens, or prompt and generated); only its last
    /// `penalty_last_n` tokens matter.
    ///
    /// Errors: empty logits, a NaN or +inf logit (a broken forward pass), every logit -inf,
    /// a history id outside the vocabulary. A -inf logit is a mask: that token is never drawn.
    pub fn sample(&mut self, logits: &[f32], history: &[u32]) -> Result<u32> {
        self.sample_masked(logits, history, None)
    }

    /// `sample` restricted to the tokens allowed by `mask` (for structured output): bit
    /// `id % 32` of word `id / 32` set means allowed; a token whose bit is clear is treated as
    /// a -inf logit. The mask needs at least `ceil(vocab / 32)` words; bits past the
    /// vocabulary are ignored. A mask that allows nothing is the "every logit is -inf" error.
    pub fn sample_masked(&mut self, logits: &[f32], history: &[u32], mask: Option<&[u32]>) -> Result<u32> {
        if logits.is_empty() || u32::try_from(logits.len()).is_err() {
            return Err(Error::InvalidArgument(format!("sampler: {} logits, expected between 1 and {}", logits.len(), u32::MAX)));
        }
        self.logits.clear();
        self.logits.extend_from_slice(logits);
        if let Some(id) = self.logits.iter().position(|l| l.is_nan() || *l == f32::INFINITY) {
            return Err(bad_logit(id, self.logits[id], "in the model output"));
        }
        self.apply_bias()?;
        if let Some(mask) = mask {
            self.apply_mask(mask)?;
        }
        self.apply_penalties(history)?;

        if self.params.temperature == 0.0 {
            return self.greedy();
        }
        self.cands.clear();
        self.cands.extend(
            self.logits.iter().enumerate().filter(|(_, l)| **l > f32::NEG_INFINITY).map(|(id, &logit)| Candidate { id: id as u32, logit }),
        );
        if self.cands.is_empty() {
            return Err(all_masked());
        }
        let mut sorted = self.top_k();
        if self.params.top_p < 1.0 {
            self.top_p(&mut sorted);
        }
        if self.params.min_p > 0.0 {
            self.min_p();
        }
        Ok(self.draw())
    }

    /// Adds `logit_bias`. A finite logit stays finite (|bias| <= 100 is below half an ulp of
    /// f32::MAX), so there is nothing to check after.
    fn apply_bias(&mut self) -> Result<()> {
        let vocab = self.logits.len();
        for &(id, bias) in &self.bias {
            let logit = self.logits.get_mut(id as usize).ok_or_else(|| {
                Error::InvalidArgument(format!("sampler: logit_bias token id {id} is outside the vocabulary of {vocab} logits"))
            })?;
            *logit += bias;
        }
        Ok(())
    }

    fn apply_mask(&mut self, mask: &[u32]) -> Result<()> {
        let words = self.logits.len().div_ceil(32);
        if mask.len() < words {
            return Err(Error::InvalidArgument(format!(
                "sampler: the allowed-token mask has {} words, a vocabulary of {} needs {words}",
                mask.len(),
                self.logits.len()
            )));
        }
        for (id, logit) in self.logits.iter_mut().enumerate() {
            if mask[id / 32] & (1 << (id % 32)) == 0 {
                *logit = f32::NEG_INFINITY;
            }
        }
        Ok(())
    }

    /// Repetition penalty (divide positive, multiply non-positive logits), then OpenAI's
    /// `logit -= count * frequency_penalty + presence_penalty`, for every token in the window.
    fn apply_penalties(&mut self, history: &[u32]) -> Result<()> {
        let p = &self.params;
        let n = (p.penalty_last_n as usize).min(history.len());
        if n == 0 || p.penalties_neutral() {
            return Ok(());
        }
        self.window.clear();
        self.window.extend_from_slice(&history[history.len() - n..]);
        self.window.sort_unstable();
        let vocab = self.logits.len();
        for run in self.window.chunk_by(|a, b| a == b) {
            let id = run[0] as usize;
            let logit = self.logits.get_mut(id).ok_or_else(|| {
                Error::InvalidArgument(format!("sampler: history token id {id} is outside the vocabulary of {vocab} logits"))
            })?;
            if *logit > 0.0 {
                *logit /= p.repetition_penalty;
            } else {
                *logit *= p.repetition_penalty;
            }
            *logit -= run.len() as f32 * p.frequency_penalty + p.presence_penalty;
            if logit.is_nan() || *logit == f32::INFINITY {
                return Err(bad_logit(id, *logit, "after the penalties"));
            }
        }
        Ok(())
    }

    /// Argmax; the strict `>` keeps the first (lowest) id among equal maxima.
    fn greedy(&self) -> Result<u32> {
        let (mut best_id, mut best) = (None, f32::NEG_INFINITY);
        for (id, &l) in self.logits.iter().enumerate() {
            if l > best {
                (best_id, best) = (Some(id as u32), l);
            }
        }
        best_id.ok_or_else(all_masked)
    }

    /// Keeps the `top_k` best candidates, sorted best first. Returns whether `cands` is sorted.
    fn top_k(&mut self) -> bool {
        let k = self.params.top_k as usize;
        if k == 0 || k >= self.cands.len() {
            return false;
        }
        self.cands.select_nth_unstable_by(k - 1, by_rank);
        self.cands.truncate(k);
        self.cands.sort_unstable_by(by_rank);
        true
    }

    /// Keeps the smallest best-first prefix whose probability mass is >= top_p. Sorting all
    /// of a 262k vocabulary would dominate the call, so only a prefix is selected and sorted,
    /// grown 4x until it holds the mass (a peaked distribution needs one small round).
    fn top_p(&mut self, sorted: &mut bool) {
        let max = max_logit(&self.cands);
        let total: f64 = self.cands.iter().map(|c| weight(c.logit, max, 1.0)).sum();
        let target = f64::from(self.params.top_p) * total;
        let n = self.cands.len();
        let mut m = if *sorted { n } else { n.min(TOP_P_FIRST_PREFIX) };
        loop {
            if !*sorted {
                if m < n {
                    self.cands.select_nth_unstable_by(m - 1, by_rank);
                }
                self.cands[..m].sort_unstable_by(by_rank);
                *sorted = m == n;
            }
            let mut mass = 0.0;
            for i in 0..m {
                mass += weight(self.cands[i].logit, max, 1.0);
                if mass >= target {
                    self.cands.truncate(i + 1);
                    *sorted = true;
                    return;
                }
            }
            if m == n {
                return; // rounding left the full mass a hair under target: keep everything
            }
            m = (m * 4).min(n);
        }
    }

    /// Drops candidates with probability < min_p * (top probability), i.e. with
    /// logit < max + ln(min_p). `retain` keeps the order, so sortedness is preserved.
    fn min_p(&mut self) {
        let max = f64::from(max_logit(&self.cands));
        let threshold = max + f64::from(self.params.min_p).ln();
        self.cands.retain(|c| f64::from(c.logit) >= threshold);
    }

    /// Softmax at the temperature over the kept candidates, then one uniform draw walked
    /// along the cumulative weights (in the candidates' deterministic order).
    fn draw(&mut self) -> u32 {
        let max = max_logit(&self.cands);
        let t = self.params.temperature;
        self.weights.clear();
        self.weights.extend(self.cands.iter().map(|c| weight(c.logit, max, t)));
        let total: f64 = self.weights.iter().sum();
        let u = self.uniform() * total;
        let mut cum = 0.0;
        let mut last_possible = self.cands[0].id;
        for (c, &w) in self.cands.iter().zip(&self.weights) {
            if w > 0.0 {
                cum += w;
                last_possible = c.id;
                if u < cum {
                    return c.id;
                }
            }
        }
        last_possible // u landed past the rounded sum
    }
}

/// exp((logit - max) / t): the max candidate weighs exactly 1, so a sum is >= 1. The exp is
/// f32 (cheaper over 262k tokens, and 1e-7 relative error is far below sampling noise); the
/// callers sum in f64.
fn weight(logit: f32, max: f32, t: f32) -> f64 {
    f64::from(((logit - max) / t).exp())
}

fn max_logit(cands: &[Candidate]) -> f32 {
    cands.iter().map(|c| c.logit).fold(f32::NEG_INFINITY, f32::max)
}

pub(crate) fn bad_logit(id: usize, value: f32, when: &str) -> Error {
    Error::InvalidArgument(format!("sampler: logit of token {id} is {value} {when}"))
}

pub(crate) fn all_masked() -> Error {
    Error::InvalidArgument("sampler: every logit is -inf, no token can be drawn".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sampler(params: SamplingParams) -> Sampler {
        Sampler::new(params).unwrap()
    }

    fn at_temperature(temperature: f32) -> SamplingParams {
        SamplingParams { temperature, seed: Some(1), ..SamplingParams::default() }
    }

    /// Logits whose softmax is exactly `probs` (up to f32 rounding of the logs).
    fn ln(probs: &[f64]) -> Vec<f32> {
        probs.iter().map(|p| p.ln() as f32).collect()
    }

    /// Probabilities by id: 1 is the most likely, then 3, 4, 2, 0.
    const P: [f64; 5] = [0.05, 0.5, 0.1, 0.2, 0.15];

    /// The ids left after the filters, sorted.
    fn kept(params: SamplingParams) -> Vec<u32> {
        let mut s = sampler(params);
        let id = s.sample(&ln(&P), &[]).unwrap();
        let mut ids: Vec<u32> = s.cands.iter().map(|c| c.id).collect();
        ids.sort_unstable();
        assert!(ids.contains(&id), "drew {id} outside the kept set {ids:?}");
        ids
    }

    fn invalid(result: Result<u32>, needle: &str) {
        match result {
            Err(Error::InvalidArgument(msg)) => assert!(msg.contains(needle), "{msg}"),
            other => panic!("expected InvalidArgument containing {needle:?}, got {other:?}"),
        }
    }

    #[test]
    fn greedy_is_argmax() {
        let mut s = sampler(SamplingParams::default());
        assert_eq!(s.sample(&[0.1, 2.0, -1.0, 1.5], &[]).unwrap(), 1);
        assert_eq!(s.sample(&[-3.0, -2.0, -2.5], &[]).unwrap(), 1);
        assert_eq!(s.sample(&[7.0], &[]).unwrap(), 0);
    }

    #[test]
    fn greedy_ties_go_to_the_lowest_id() {
        let mut s = sampler(SamplingParams::default());
        assert_eq!(s.sample(&[1.0, 3.0, 3.0, 2.0], &[]).unwrap(), 1);
        assert_eq!(s.sample(&[f32::NEG_INFINITY, 5.0, 5.0], &[]).unwrap(), 1);
        assert_eq!(s.sample(&[0.0; 10], &[]).unwrap(), 0);
    }

    #[test]
    fn top_k_1_equals_greedy() {
        let mut rng = Pcg64::from_seed(5);
        let mut greedy = sampler(SamplingParams::default());
        for seed in 0..50 {
            let mut s = sampler(SamplingParams { top_k: 1, seed: Some(seed), ..at_temperature(1.5) });
            let logits: Vec<f32> = (0..1000).map(|_| (rng.next_f64() * 20.0 - 10.0) as f32).collect();
            assert_eq!(s.sample(&logits, &[]).unwrap(), greedy.sample(&logits, &[]).unwrap());
            // A tie for the top: both pick the lower id.
            assert_eq!(s.sample(&[1.0, 4.0, 0.0, 4.0], &[]).unwrap(), 1);
        }
    }

    #[test]
    fn top_k_keeps_the_k_most_likely() {
        assert_eq!(kept(SamplingParams { top_k: 3, ..at_temperature(1.0) }), [1, 3, 4]);
        assert_eq!(kept(SamplingParams { top_k: 5, ..at_temperature(1.0) }), [0, 1, 2, 3, 4]);
        assert_eq!(kept(SamplingParams { top_k: 99, ..at_temperature(1.0) }), [0, 1, 2, 3, 4]);
    }

    #[test]
    fn top_p_keeps_the_smallest_set_with_enough_mass() {
        // Sorted masses: 0.5, 0.7, 0.85, 0.95, 1.0.
        let top_p = |top_p| kept(SamplingParams { top_p, ..at_temperature(1.0) });
        assert_eq!(top_p(0.3), [1]);
        assert_eq!(top_p(0.65), [1, 3]);
        assert_eq!(top_p(0.71), [1, 3, 4]);
        assert_eq!(top_p(0.9), [1, 2, 3, 4]);
        assert_eq!(top_p(0.96), [0, 1, 2, 3, 4]);
    }

    #[test]
    fn top_p_grows_its_sorted_prefix_over_a_large_vocabulary() {
        // 10,000 equal logits: mass 0.5 needs exactly 5,000 tokens (several growth rounds),
        // and the tie order makes them ids 0..5000.
        let mut s = sampler(SamplingParams { top_p: 0.5, ..at_temperature(1.0) });
        s.sample(&[0.25; 10_000], &[]).unwrap();
        let mut ids: Vec<u32> = s.cands.iter().map(|c| c.id).collect();
        ids.sort_unstable();
        assert_eq!(ids, (0..5000).collect::<Vec<u32>>());
    }

    #[test]
    fn min_p_drops_tokens_below_a_fraction_of_the_best() {
        // Ratios to the best: id1 1.0, id3 0.4, id4 0.3, id2 0.2, id0 0.1.
        let min_p = |min_p| kept(SamplingParams { min_p, ..at_temperature(1.0) });
        assert_eq!(min_p(0.25), [1, 3, 4]);
        assert_eq!(min_p(0.35), [1, 3]);
        assert_eq!(min_p(1.0), [1]);
        assert_eq!(min_p(0.09), [0, 1, 2, 3, 4]);
    }

    #[test]
    fn filters_apply_in_llama_cpp_order() {
        // top-k renormalizes before top-p: of {0.5, 0.2}, 0.5 alone is 0.714 >= 0.65.
        assert_eq!(kept(SamplingParams { top_k: 2, top_p: 0.65, ..at_temperature(1.0) }), [1]);
        // top-p and min-p judge temperature-1 probabilities: a high temperature keeps the set.
        assert_eq!(kept(SamplingParams { top_p: 0.65, ..at_temperature(5.0) }), [1, 3]);
        assert_eq!(kept(SamplingParams { min_p: 0.35, ..at_temperature(5.0) }), [1, 3]);
        // min-p after top-p: top-p 0.9 keeps {1,3,4,2}, min-p 0.25 then drops id 2.
        assert_eq!(kept(SamplingParams { top_p: 0.9, min_p: 0.25, ..at_temperature(1.0) }), [1, 3, 4]);
    }

    #[test]
    fn tiny_temperature_is_greedy() {
        // Gaps of 0.05 at T = 1e-3 give the runner-up a weight of e^-50.
        let logits = [1.0, 1.1, 0.9, 1.05];
        let mut s = sampler(at_temperature(1e-3));
        assert!((0..1000).all(|_| s.sample(&logits, &[]).unwrap() == 1));
    }

    #[test]
    fn repetition_penalty_divides_positive_and_multiplies_negative_logits() {
        let rep = |logits: &[f32], history: &[u32]| {
            sampler(SamplingParams { repetition_penalty: 1.5, ..SamplingParams::default() }).sample(logits, history).unwrap()
        };
        assert_eq!(rep(&[2.0, 1.5, -1.0], &[]), 0);
        assert_eq!(rep(&[2.0, 1.5, -1.0], &[0]), 1); // 2 / 1.5 = 1.33 < 1.5
        assert_eq!(rep(&[2.0, 1.3, -1.0], &[0]), 0); // 1.33 > 1.3
        assert_eq!(rep(&[-1.0, -1.2], &[0]), 1); // -1 * 1.5 = -1.5 < -1.2 (dividing would give -0.67)
    }

    #[test]
    fn presence_and_frequency_penalties_follow_openai() {
        let pen = |presence_penalty, frequency_penalty, history: &[u32]| {
            let p = SamplingParams { presence_penalty, frequency_penalty, ..SamplingParams::default() };
            sampler(p).sample(&[1.0, 0.8, 0.0], history).unwrap()
        };
        assert_eq!(pen(0.3, 0.0, &[0]), 1); // 1.0 - 0.3 = 0.7 < 0.8
        assert_eq!(pen(0.1, 0.0, &[0, 0, 0]), 0); // presence counts once: 0.9 > 0.8
        assert_eq!(pen(0.0, 0.1, &[0]), 0); // 0.9 > 0.8
        assert_eq!(pen(0.0, 0.1, &[0, 0, 0]), 1); // 1.0 - 3 * 0.1 = 0.7 < 0.8
        assert_eq!(pen(-1.5, 0.0, &[2]), 2); // a negative penalty favours: 0.0 + 1.5 > 1.0
    }

    #[test]
    fn penalized_logits_are_exactly_as_computed_by_hand() {
        // token 0: 2 / 2 - (2 * 0.25 + 0.5) = 0;  token 1: unseen, 1;
        // token 2: -1 * 2 - (0.25 + 0.5) = -2.75;  token 3: 0 * 2 - (3 * 0.25 + 0.5) = -1.25.
        let p = SamplingParams { repetition_penalty: 2.0, frequency_penalty: 0.25, presence_penalty: 0.5, ..at_temperature(1.0) };
        let mut s = sampler(p);
        s.sample(&[2.0, 1.0, -1.0, 0.0], &[3, 0, 2, 3, 0, 3]).unwrap();
        let logits: Vec<f32> = s.cands.iter().map(|c| c.logit).collect();
        assert_eq!(logits, [0.0, 1.0, -2.75, -1.25]);
    }

    #[test]
    fn penalties_look_only_at_the_last_n_tokens() {
        let pen = |penalty_last_n| {
            let p = SamplingParams { presence_penalty: 0.5, penalty_last_n, ..SamplingParams::default() };
            sampler(p).sample(&[1.0, 0.8, 0.5], &[0, 2, 2]).unwrap()
        };
        assert_eq!(pen(2), 0); // window [2, 2]: token 0 is not penalized
        assert_eq!(pen(3), 1); // window [0, 2, 2]: 1.0 - 0.5 < 0.8
        assert_eq!(pen(100), 1);
        assert_eq!(pen(0), 0); // disabled
    }

    #[test]
    fn same_seed_same_sequence_different_seed_different_sequence() {
        let logits = [0.0f32; 8];
        let draws = |seed| {
            let mut s = sampler(SamplingParams { seed: Some(seed), ..at_temperature(1.0) });
            (0..200).map(|_| s.sample(&logits, &[]).unwrap()).collect::<Vec<_>>()
        };
        assert_eq!(draws(42), draws(42));
        assert_ne!(draws(42), draws(43));
        // Uniform over 8 tokens: every token shows up in 200 draws.
        let d = draws(42);
        assert!((0..8).all(|t| d.contains(&t)));
    }

    #[test]
    fn bad_logits_are_errors() {
        for t in [0.0, 1.0] {
            let mut s = sampler(at_temperature(t));
            invalid(s.sample(&[0.0, f32::NAN], &[]), "token 1 is NaN");
            invalid(s.sample(&[f32::INFINITY, 0.0], &[]), "token 0 is inf");
            invalid(s.sample(&[], &[]), "0 logits");
            invalid(s.sample(&[f32::NEG_INFINITY; 3], &[]), "every logit is -inf");
        }
    }

    #[test]
    fn negative_infinity_masks_a_token() {
        let mut s = sampler(at_temperature(1.0));
        let logits = [f32::NEG_INFINITY, 0.0, f32::NEG_INFINITY, 0.0];
        for _ in 0..200 {
            let id = s.sample(&logits, &[]).unwrap();
            assert!(id == 1 || id == 3);
        }
    }

    #[test]
    fn bad_history_and_overflowing_penalties_are_errors() {
        let mut s = sampler(SamplingParams { presence_penalty: 0.5, ..SamplingParams::default() });
        invalid(s.sample(&[0.0; 4], &[1, 10]), "history token id 10");
        let mut s = sampler(SamplingParams { repetition_penalty: 0.5, ..SamplingParams::default() });
        invalid(s.sample(&[3e38, 0.0], &[0]), "after the penalties");
    }

    #[test]
    fn invalid_params_are_rejected_by_new() {
        let p = SamplingParams { top_p: 1.5, ..SamplingParams::default() };
        assert!(matches!(Sampler::new(p), Err(Error::InvalidArgument(m)) if m.contains("top_p")));
    }

    #[test]
    fn next_uniform_is_the_draw_sample_would_make() {
        let logits = ln(&P);
        for seed in 0..50 {
            let params = SamplingParams { seed: Some(seed), ..at_temperature(1.0) };
            // The raw generator's sequence.
            let mut rng = Pcg64::from_seed(seed);
            let mut s = sampler(params.clone());
            assert_eq!(s.next_uniform(), Some(rng.next_f64()));
            // After one pre-drawn uniform, `sample` consumes the second: it picks what the
            // second `sample` of an untouched sampler picks.
            let mut plain = sampler(params);
            plain.sample(&logits, &[]).unwrap();
            assert_eq!(s.sample(&logits, &[]).unwrap(), plain.sample(&logits, &[]).unwrap(), "seed {seed}");
            assert_eq!(s.next_uniform(), plain.next_uniform());
        }
        // Greedy draws nothing.
        let mut g = sampler(SamplingParams { seed: Some(3), ..SamplingParams::default() });
        assert_eq!(g.next_uniform(), None);
        assert_eq!(g.rng.next_f64(), Pcg64::from_seed(3).next_f64());
    }

    fn biased(pairs: &[(&str, f32)], params: SamplingParams) -> Sampler {
        let logit_bias = pairs.iter().map(|&(k, b)| (k.to_string(), b)).collect();
        sampler(SamplingParams { logit_bias, ..params })
    }

    #[test]
    fn logit_bias_is_added_before_the_penalties() {
        assert_eq!(biased(&[("2", 1.5)], SamplingParams::default()).sample(&[1.0, 2.0, 0.6], &[]).unwrap(), 2);
        assert_eq!(biased(&[("1", -100.0)], SamplingParams::default()).sample(&[1.0, 2.0, 0.6], &[]).unwrap(), 0);
        // Bias first: (1 + 1) / 2 = 1.0 < 1.2. Penalty first would give 1 / 2 + 1 = 1.5 > 1.2.
        let rep = SamplingParams { repetition_penalty: 2.0, ..SamplingParams::default() };
        assert_eq!(biased(&[("0", 1.0)], rep).sample(&[1.0, 1.2], &[0]).unwrap(), 1);
        // A -inf logit stays masked whatever its bias.
        let mut s = biased(&[("0", 100.0)], at_temperature(1.0));
        assert!((0..100).all(|_| s.sample(&[f32::NEG_INFINITY, 0.0, 0.0], &[]).unwrap() != 0));
        invalid(
            biased(&[("5", 1.0)], SamplingParams::default()).sample(&[0.0; 5], &[]),
            "logit_bias token id 5 is outside the vocabulary of 5",
        );
        assert!(matches!(Sampler::new(SamplingParams { logit_bias: [("x".to_string(), 1.0)].into(), ..SamplingParams::default() }),
            Err(Error::InvalidArgument(m)) if m.contains("logit_bias")));
    }

    #[test]
    fn the_mask_allows_only_its_tokens() {
        // 40 tokens: words [bits 0..32), [32..40); allow 3, 33 and 39 only.
        let mask = [1u32 << 3, (1 << 1) | (1 << 7)];
        let logits: Vec<f32> = (0..40).map(|i| i as f32 * 0.01).collect();
        assert_eq!(sampler(SamplingParams::default()).sample_masked(&logits, &[], Some(&mask)).unwrap(), 39);
        let mut s = sampler(at_temperature(5.0));
        let mut seen = [false; 40];
        for _ in 0..300 {
            seen[s.sample_masked(&logits, &[], Some(&mask)).unwrap() as usize] = true;
        }
        let drawn: Vec<usize> = (0..40).filter(|&i| seen[i]).collect();
        assert_eq!(drawn, [3, 33, 39]);
        // Bits past the vocabulary are ignored; a mask allowing nothing is the -inf error.
        assert_eq!(sampler(SamplingParams::default()).sample_masked(&logits, &[], Some(&[1 << 3, u32::MAX << 8])).unwrap(), 3);
        invalid(s.sample_masked(&logits, &[], Some(&[0, 0])), "every logit is -inf");
        invalid(s.sample_masked(&logits, &[], Some(&[u32::MAX])), "mask has 1 words, a vocabulary of 40 needs 2");
        // No mask: plain `sample`.
        assert_eq!(sampler(SamplingParams::default()).sample_masked(&logits, &[], None).unwrap(), 39);
    }

    #[test]
    fn top_k_over_a_262k_vocabulary_matches_a_full_sort() {
        let mut rng = Pcg64::from_seed(9);
        let logits: Vec<f32> = (0..262_144).map(|_| (rng.next_f64() * 30.0) as f32).collect();
        let mut order: Vec<u32> = (0..262_144).collect();
        order.sort_by(|&a, &b| logits[b as usize].total_cmp(&logits[a as usize]).then(a.cmp(&b)));
        let mut s = sampler(SamplingParams { top_k: 40, ..at_temperature(1.0) });
        s.sample(&logits, &[]).unwrap();
        let ids: Vec<u32> = s.cands.iter().map(|c| c.id).collect();
        assert_eq!(ids, order[..40]);
        // The buffers are reused: a second call does not grow them.
        let cap = s.cands.capacity();
        s.sample(&logits, &[]).unwrap();
        assert_eq!(s.cands.capacity(), cap);
    }
}
