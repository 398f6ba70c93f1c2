//! What a model's GPU work has cost since load: counters every forward pass and decode chain
//! adds to, reported by `hearth bench`/`hearth profile`, each generation's usage and the
//! package's `engine.stats()`. Per-token figures are differences of two snapshots divided by
//! the tokens between them.

use serde::Serialize;

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct GpuStats {
    /// Forward passes run: one per prompt batch and one per decode step, chained or not.
    pub forward_passes: u64,
    /// Tokens those passes took in (prompt tokens and fed-back generated tokens).
    pub tokens: u64,
    /// Submissions the CPU waited for: GPU round trips.
    pub round_trips: u64,
    /// Bytes copied back from the GPU (token ids, and logits when asked for).
    pub bytes_read_back: u64,
    /// Dispatches recorded.
    pub dispatches: u64,
    /// Host (CPU) time spent recording, copying inputs and submitting, in seconds: the
    /// per-token overhead that a real GPU waits on for a small model.
    pub encode_seconds: f64,
    /// Forward graphs built after load (0 for any number of prompts and chat turns; the
    /// every-token-logits graph of perplexity is built once, on first use).
    pub graphs_built: u64,
}

impl GpuStats {
    /// The work done between `earlier` and `self`.
    pub fn since(&self, earlier: &GpuStats) -> GpuStats {
        GpuStats {
            forward_passes: self.forward_passes - earlier.forward_passes,
            tokens: self.tokens - earlier.tokens,
            round_trips: self.round_trips - earlier.round_trips,
            bytes_read_back: self.bytes_read_back - earlier.bytes_read_back,
            dispatches: self.dispatches - earlier.dispatches,
            encode_seconds: self.encode_seconds - earlier.encode_seconds,
            graphs_built: self.graphs_built - earlier.graphs_built,
        }
    }
}

/// One dispatch of a profiled forward pass and its GPU time.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DispatchTime {
    /// What it computes ("blk.3.attn_q").
    pub name: String,
    /// Its op kind ("matmul q4_1").
    pub kind: String,
    pub gpu_seconds: f64,
}
