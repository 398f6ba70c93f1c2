//! Token sampling on the CPU, over one row of logits read back from the GPU.
//!
//! - [`SamplingParams`]: the request (OpenAI-style JSON through serde), validated up front.
//! - [`Sampler`]: penalties, greedy or top-k/top-p/min-p/temperature and a seeded draw.
//! - [`StopChecker`]: stop strings and stop tokens over streamed text.
//! - [`logprobs`]: a token's log-probability and the top alternatives (OpenAI `logprobs`).
//! - [`Pcg64`]: the seeded generator, bit-identical on native and wasm32.

mod logprobs;
mod params;
mod rng;
mod sampler;
mod stop;

pub use logprobs::{TokenLogprobs, logprobs};
pub use params::{MAX_TOP_LOGPROBS, SamplingParams};
pub use rng::{Pcg64, entropy_seed};
pub use sampler::Sampler;
pub(crate) use sampler::{all_masked, bad_logit};
pub use stop::{Step, StopChecker, StopReason};

/// Index of the largest value (the first one among equal maxima; 0 for an empty slice).
/// NaN never wins. The GPU's argmax kernel follows the same rule.
pub fn argmax(values: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] || values[best].is_nan() && !v.is_nan() {
            best = i;
        }
    }
    best as u32
}
