//! Opening WebGPU, planning and loading a model, and the engine's figures, across the wasm
//! boundary: the options the package passes in and what comes back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::inspect::ModelSummary;
use crate::model::GpuStats;

/// `WasmEngine.create`'s options.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(default, deny_unknown_fields)]
pub struct CreateOptions {
    /// Caps the storage-buffer binding size asked of the GPU (default: the adapter's limit).
    #[cfg_attr(test, ts(optional))]
    pub max_storage_binding_bytes: Option<u64>,
    /// Kernel shapes to change from the ones chosen for the adapter, as `key=value` pairs
    /// separated by commas (the fields of `hearth::gpu::Tuning`, as `hearth --tune`): to sweep
    /// shapes in a browser without a rebuild, or to force a path in tests.
    #[cfg_attr(test, ts(optional))]
    pub tune: Option<String>,
}

/// The options of a load and of a plan that reach the core (`beginLoad`, `plan`, ...).
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(default, deny_unknown_fields)]
pub struct ContextOptions {
    /// Tokens the KV cache holds; default: the model's, at most 8192 (less where the KV cache
    /// would pass 256 MiB).
    #[cfg_attr(test, ts(optional))]
    pub context_length: Option<u32>,
}

/// The GPU the engine runs on (`adapterInfo`).
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct AdapterInfo {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    /// The optional features Hearth uses that this GPU has (shader-f16, subgroups, ...).
    pub features: Vec<String>,
    /// The binding size asked for and granted (tensors larger than this are split).
    pub max_storage_buffer_binding_size: u64,
    pub max_buffer_size: u64,
}

/// What a header read from the file's first bytes gives: `need_bytes` while they end inside
/// the header (fetch at least that many), else the answer.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(untagged)]
pub enum HeaderRead<T> {
    NeedMore { need_bytes: u64 },
    Complete(T),
}

/// A shard's place in a sharded model (a file that is not split: count 1, number 0).
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ShardPlace {
    /// Where the shard's tensor data starts.
    pub data_offset: u64,
    pub split_count: u32,
    pub split_no: u32,
}

/// The loaded model (`finishLoad`; the package's `ModelInfo`): its summary as `hearth inspect
/// --json` gives it, and what this load made of it.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct LoadedModel {
    #[serde(flatten)]
    #[cfg_attr(test, ts(flatten))]
    pub summary: ModelSummary,
    /// The context length in use (may be smaller than the model's).
    pub n_ctx: u32,
    pub kv_cache_bytes: u64,
    /// Matrices larger than the GPU's storage-binding limit, with the parts each was split into.
    pub split_tensors: BTreeMap<String, usize>,
}

/// The engine's memory and GPU figures (`stats`).
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct EngineStats {
    /// Bytes of wasm linear memory (it only grows, so this is also the peak so far).
    pub wasm_memory_bytes: u64,
    /// Heap bytes allocated and not freed (src/heap.rs): the figure a leak shows in.
    pub wasm_heap_live_bytes: u64,
    /// The loaded model's GPU work since load, or null without a model.
    pub gpu: Option<GpuStats>,
}
