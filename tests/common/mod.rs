//! Shared helpers for the integration tests.
#![allow(dead_code)]

pub mod gguf_writer;
pub mod json_reply;
pub mod kernels;
pub mod model_checks;
pub mod quant_blocks;

use std::path::PathBuf;

/// The three real models that `scripts/fetch-models.sh` puts in `models/`.
pub const SMOLLM2: &str = "smollm2-135m-instruct-q4_1.gguf";
pub const QWEN25: &str = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf";
pub const GEMMA3: &str = "gemma-3-270m-q4_k_m.gguf";
pub const ALL_MODELS: [&str; 3] = [SMOLLM2, QWEN25, GEMMA3];
/// Random weights with SmolLM2's tokenizer (scripts/make-tiny-chat-model.py): mechanics, fast.
#[allow(dead_code)]
pub const TINY_CHAT: &str = "tiny-chat-random.gguf";

/// `models/` at the repo root, or `$HEARTH_MODELS_DIR`.
pub fn models_dir() -> PathBuf {
    std::env::var_os("HEARTH_MODELS_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models"))
}

/// Path of a model file. A missing model is a failure, never a skip: the tests that use
/// real models are the ones that matter most.
pub fn model_path(name: &str) -> PathBuf {
    let path = models_dir().join(name);
    assert!(path.is_file(), "{} is missing: run scripts/fetch-models.sh first", path.display());
    path
}

/// A committed fixture under `tests/fixtures/`.
pub fn fixture_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rel)
}

pub fn read_fixture_json(rel: &str) -> serde_json::Value {
    let path = fixture_path(rel);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (regenerate with the scripts in scripts/fixtures/)", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Opens the GPU for a test. No adapter is a failure, never a skip: CI installs Mesa's
/// lavapipe (a Vulkan device on the CPU) so there is always one.
pub fn gpu_with(options: hearth::gpu::GpuOptions) -> hearth::gpu::GpuContext {
    pollster::block_on(hearth::gpu::GpuContext::new(options))
        .unwrap_or_else(|e| panic!("{e}: install a Vulkan driver (Debian: mesa-vulkan-drivers for lavapipe) — scripts/setup.sh does"))
}

pub fn gpu() -> hearth::gpu::GpuContext {
    gpu_with(Default::default())
}

/// Decodes a hex string from a fixture.
pub fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex")).collect()
}

/// xorshift64*: seeded test data that is the same on every machine.
pub struct Rng(pub u64);
impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in [-1, 1).
    pub fn signed_unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}
