//! Perplexity over a token sequence, the way llama.cpp's `perplexity` tool and the
//! reference script measure it: non-overlapping windows of `window` tokens, each from an
//! empty cache, predicting every token but the first of each window.

use crate::error::{Error, Result};
use crate::model::{Logits, Model};

/// Tokens fed per forward pass: bounds the logits held at once (`CHUNK × vocab` floats).
const CHUNK: usize = 64;

#[derive(Clone, Debug, serde::Serialize)]
pub struct Perplexity {
    pub tokens: usize,
    pub predicted: usize,
    pub nll_sum: f64,
    pub ppl: f64,
}

pub async fn perplexity(model: &mut Model, ids: &[u32], window: usize) -> Result<Perplexity> {
    if window < 2 || window > model.n_ctx() as usize {
        return Err(Error::InvalidArgument(format!(
            "perplexity window {window} must be between 2 and the context length {}",
            model.n_ctx()
        )));
    }
    let vocab = model.config.vocab as usize;
    let (mut predicted, mut nll_sum) = (0usize, 0f64);
    for win in ids.chunks(window).filter(|w| w.len() >= 2) {
        model.reset();
        for (c, chunk) in win.chunks(CHUNK).enumerate() {
            let logits = model.forward(chunk, Logits::All, true).await?.logits.expect("asked for logits");
            for (i, row) in logits.chunks(vocab).enumerate() {
                let pos = c * CHUNK + i;
                if let Some(&target) = win.get(pos + 1) {
                    nll_sum += log_sum_exp(row) - f64::from(row[target as usize]);
                    predicted += 1;
                }
            }
        }
    }
    if predicted == 0 {
        return Err(Error::InvalidArgument("perplexity needs at least 2 tokens".into()));
    }
    Ok(Perplexity { tokens: ids.len(), predicted, nll_sum, ppl: (nll_sum / predicted as f64).exp() })
}

fn log_sum_exp(row: &[f32]) -> f64 {
    let max = row.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x)) as f64;
    max + row.iter().map(|&x| (f64::from(x) - max).exp()).sum::<f64>().ln()
}
