//! The models against their references: SmolLM2, Qwen2.5 and Gemma 3 (real files, against
//! numpy and llama.cpp) and the tiny synthetic and family models (numpy, transformers,
//! llama.cpp). One test binary, so one link (the CI budget); each real model is loaded once
//! and shared by its tests.

#[path = "../common/mod.rs"]
mod common;

mod model_gemma3;
mod model_llama;
mod model_qwen2;
mod model_tiny;
