//! What one decode step must read from memory, from the GGUF header alone: every weight it uses
//! (a whole matrix per projection, one row of the token embedding unless it is also the output
//! head) and the keys and values of the context, against what Hearth's kernels read: the same
//! weights in their GPU layout (blocks padded to whole words, src/quant/gpu_layout.rs; norm and
//! bias vectors as f32) and the same f16 cache. Decode streams every weight once per token, so
//! this ratio bounds how close to the device's bandwidth a token can get (issue "Kernels at the
//! hardware's limit": ≤ 1.1×). Activations (a few KB per dispatch) and re-reads that caches
//! serve are left out of both sides.

use serde::Serialize;

use super::config::ModelConfig;
use crate::gguf::GgufHeader;
use crate::quant::gpu_layout::gpu_bytes;

/// Bytes one decode step reads with `n_past` tokens in the context (`hearth profile`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DecodeTraffic {
    /// The context the figures are for.
    pub n_past: u32,
    /// The weights as the GGUF stores them: the least any runtime reads.
    pub weights_minimum: u64,
    /// The same weights in Hearth's GPU layout.
    pub weights_read: u64,
    /// Keys and values of every layer up to `n_past` (each sliding-window layer its window),
    /// f16: the same for the minimum and for Hearth.
    pub kv_read: u64,
}

impl DecodeTraffic {
    /// Hearth's bytes over the minimum.
    pub fn ratio(&self) -> f64 {
        (self.weights_read + self.kv_read) as f64 / (self.weights_minimum + self.kv_read).max(1) as f64
    }
}

/// The traffic of one decode step of the model `header` describes at `n_past` tokens.
pub fn decode_traffic(header: &GgufHeader, cfg: &ModelConfig, n_past: u32) -> DecodeTraffic {
    let tied = header.tensor("output.weight").is_none();
    let (mut weights_minimum, mut weights_read) = (0, 0);
    for t in &header.tensors {
        let (minimum, read) = if t.dims.len() == 1 {
            // Vectors (norms, biases) are uploaded as f32 whatever the file holds.
            (t.n_bytes, t.n_elements * 4)
        } else {
            (t.n_bytes, gpu_bytes(t.dtype, t.n_bytes as usize) as u64)
        };
        let rows = t.dims.get(1).copied().unwrap_or(1).max(1);
        // The embedding gives one row per token, unless it is also the output head.
        let (minimum, read) = if t.name == "token_embd.weight" && !tied { (minimum / rows, read / rows) } else { (minimum, read) };
        weights_minimum += minimum;
        weights_read += read;
    }
    let kv_read = (0..cfg.n_layers)
        .map(|layer| {
            let window = cfg.layer_attention(layer).window;
            let keys = if window > 0 { n_past.min(window) } else { n_past };
            2 * u64::from(keys) * u64::from(cfg.kv_dim()) * 2
        })
        .sum();
    DecodeTraffic { n_past, weights_minimum, weights_read, kv_read }
}
