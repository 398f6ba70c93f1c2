//! Log-probabilities of a sampled token and of the most likely alternatives, from one row of
//! logits: the CPU path, and the reference the GPU sampler's (shaders/sample.wgsl) is tested
//! against.
//!
//! Which distribution: the log-softmax of the *raw model logits*, before `logit_bias`, the
//! allowed-token mask, the penalties, the temperature and the top-k/top-p/min-p filters. That
//! is what OpenAI reports (its logprobs do not move with temperature or bias), and it is the
//! model's own judgement of the text whatever the sampler was told, so a caller can score
//! text, compare runs with different settings, or see how sure the model was.
//!
//! The log-sum-exp is computed in f64 (max subtracted first), so values are exact to f32
//! rounding; ties in the top list rank the lower id first, as the sampler's ranks do.

use std::cmp::Ordering;

use crate::{Error, Result};

/// One generated token's log-probability and the `top_logprobs` best tokens at its step,
/// as token ids (the engine adds their text).
#[derive(Clone, Debug, PartialEq)]
pub struct TokenLogprobs {
    pub id: u32,
    pub logprob: f32,
    /// (id, logprob), most likely first; equal logits rank the lower id first.
    pub top: Vec<(u32, f32)>,
}

/// `logits`' log-softmax at `chosen`, and its `top_n` most likely entries.
///
/// Errors: an empty row, `chosen` outside it, a NaN or +inf logit (a broken forward pass: the
/// sampler refuses the same row).
pub fn logprobs(logits: &[f32], chosen: u32, top_n: usize) -> Result<TokenLogprobs> {
    let Some(&chosen_logit) = logits.get(chosen as usize) else {
        return Err(Error::InvalidArgument(format!("logprobs: token {chosen} is outside a row of {} logits", logits.len())));
    };
    if let Some(id) = logits.iter().position(|l| l.is_nan() || *l == f32::INFINITY) {
        return Err(super::bad_logit(id, logits[id], "in the model output"));
    }
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let max = f64::from(max);
    let sum: f64 = logits.iter().map(|&l| (f64::from(l) - max).exp()).sum();
    let log_norm = max + sum.ln();
    let logprob = |l: f32| (f64::from(l) - log_norm) as f32;

    let mut ranked: Vec<u32> = (0..logits.len() as u32).collect();
    let by_rank = |a: &u32, b: &u32| -> Ordering { logits[*b as usize].total_cmp(&logits[*a as usize]).then(a.cmp(b)) };
    let n = top_n.min(ranked.len());
    if n > 0 && n < ranked.len() {
        ranked.select_nth_unstable_by(n - 1, by_rank);
    }
    ranked.truncate(n);
    ranked.sort_unstable_by(by_rank);
    let top = ranked.into_iter().map(|id| (id, logprob(logits[id as usize]))).collect();
    Ok(TokenLogprobs { id: chosen, logprob: logprob(chosen_logit), top })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equals_a_log_softmax_worked_by_hand() {
        // softmax([ln 1, ln 2, ln 3, ln 4]) = [0.1, 0.2, 0.3, 0.4].
        let logits: Vec<f32> = [1.0f64, 2.0, 3.0, 4.0].iter().map(|x| x.ln() as f32).collect();
        let lp = logprobs(&logits, 1, 2).unwrap();
        assert_eq!(lp.id, 1);
        assert!((lp.logprob - 0.2f64.ln() as f32).abs() < 1e-6, "{}", lp.logprob);
        assert_eq!(lp.top.iter().map(|t| t.0).collect::<Vec<_>>(), [3, 2]);
        assert!((lp.top[0].1 - 0.4f64.ln() as f32).abs() < 1e-6);
        assert!((lp.top[1].1 - 0.3f64.ln() as f32).abs() < 1e-6);
    }

    #[test]
    fn ties_rank_the_lower_id_first_and_top_n_is_capped_by_the_row() {
        let lp = logprobs(&[0.5, 2.0, 0.5, 2.0, -1.0], 4, 10).unwrap();
        assert_eq!(lp.top.iter().map(|t| t.0).collect::<Vec<_>>(), [1, 3, 0, 2, 4]);
        assert_eq!(lp.top[0].1, lp.top[1].1);
        assert!(logprobs(&[0.0; 3], 0, 0).unwrap().top.is_empty());
        // Uniform row: every logprob is -ln(n).
        let lp = logprobs(&[7.0; 8], 5, 1).unwrap();
        assert!((lp.logprob + 8f32.ln()).abs() < 1e-6);
        assert_eq!(lp.top, [(0, lp.logprob)]);
    }

    #[test]
    fn masked_tokens_have_minus_infinity() {
        let lp = logprobs(&[f32::NEG_INFINITY, 0.0, 0.0], 0, 3).unwrap();
        assert_eq!(lp.logprob, f32::NEG_INFINITY);
        assert_eq!(lp.top[2], (0, f32::NEG_INFINITY));
        assert!((lp.top[0].1 + 2f32.ln()).abs() < 1e-6);
    }

    #[test]
    fn bad_rows_are_errors() {
        let err = |r: Result<TokenLogprobs>| match r {
            Err(Error::InvalidArgument(m)) => m,
            other => panic!("expected InvalidArgument, got {other:?}"),
        };
        assert!(err(logprobs(&[0.0, 1.0], 2, 0)).contains("token 2 is outside a row of 2"));
        assert!(err(logprobs(&[0.0, f32::NAN], 0, 0)).contains("token 1 is NaN"));
        assert!(err(logprobs(&[], 0, 0)).contains("outside a row of 0"));
    }
}
