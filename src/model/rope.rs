//! RoPE's per-pair inverse frequencies of the global layers, where a file scales them with
//! per-pair factors (llama.cpp's "rope factors", each pair turning by pos · inv_freq[i] /
//! factor[i]):
//! - Llama 3.x's `rope_freqs`: llama3 scaling, which the converter turns into factors from
//!   rope_scaling's factor, low/high frequency factors and original context (1 for short
//!   wavelengths, `factor` for long ones, smoothed between);
//! - Phi-3's LongRoPE `rope_factors_long` and `rope_factors_short`: the long ones when the
//!   context a model is loaded with exceeds `rope.scaling.original_context_length`, as llama.cpp
//!   chooses (transformers chooses by the sequence's length, so the two agree on any sequence
//!   when the context is at most that length).
//!
//! The quotient is taken once, at load, into the buffer RoPE reads.

use super::config::ModelConfig;
use crate::error::{Error, Result};
use crate::gguf::GgufHeader;
use crate::kernels::rope_store::inv_freq;

pub const FREQS: &str = "rope_freqs.weight";
pub const FACTORS_LONG: &str = "rope_factors_long.weight";
pub const FACTORS_SHORT: &str = "rope_factors_short.weight";

/// The tensor of factors a load with a context of `n_ctx` tokens uses, if the file has one.
pub fn factors_tensor(header: &GgufHeader, cfg: &ModelConfig, n_ctx: u32) -> Option<&'static str> {
    if header.tensor(FREQS).is_some() {
        return Some(FREQS);
    }
    let name = if n_ctx > cfg.rope_orig_ctx { FACTORS_LONG } else { FACTORS_SHORT };
    header.tensor(name).is_some().then_some(name)
}

/// The global layers' inverse frequencies without factors.
pub fn base_inv_freq(cfg: &ModelConfig) -> Vec<f32> {
    inv_freq(cfg.n_rot, cfg.rope_base, cfg.rope_freq_scale)
}

/// `inv_freq[i] / factors[i]`. A factor that is not a finite number above 0 (a zero would turn
/// every pair by an infinite angle) is refused, naming the tensor.
pub fn apply_factors(tensor: &str, inv_freq: &[f32], factors: &[f32]) -> Result<Vec<f32>> {
    if factors.len() != inv_freq.len() {
        return Err(Error::InvalidArgument(format!("tensor `{tensor}` has {} factors for {} RoPE pairs", factors.len(), inv_freq.len())));
    }
    if let Some((i, f)) = factors.iter().enumerate().find(|(_, f)| !(f.is_finite() && **f > 0.0)) {
        return Err(Error::InvalidArgument(format!("tensor `{tensor}`: factor {i} is {f}, RoPE factors must be finite and above 0")));
    }
    Ok(inv_freq.iter().zip(factors).map(|(w, f)| w / f).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factors_divide_the_frequencies_and_bad_ones_are_refused() {
        assert_eq!(apply_factors("t", &[1.0, 0.5], &[1.0, 8.0]).unwrap(), [1.0, 0.0625]);
        for bad in [0.0, -1.0, f32::NAN, f32::INFINITY] {
            let err = apply_factors("rope_freqs.weight", &[1.0, 0.5], &[1.0, bad]).unwrap_err();
            assert!(err.to_string().contains("rope_freqs.weight") && err.to_string().contains("factor 1"), "{err}");
        }
        assert!(apply_factors("t", &[1.0, 0.5], &[1.0]).is_err());
    }
}
