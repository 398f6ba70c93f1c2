//! Hearth: small open language models (GGUF) on the GPU through WebGPU/wgpu,
//! in the browser (wasm32) and natively. This file is the module tree and re-exports only.

pub mod chat;
pub mod engine;
pub mod error;
pub mod gguf;
pub mod gpu;
#[cfg(target_arch = "wasm32")]
mod heap;
pub mod inspect;
pub mod kernels;
pub mod model;
pub mod quant;
pub mod sample;
pub mod structured;
pub mod tokenizer;
pub mod tools;
#[cfg(target_arch = "wasm32")]
pub mod wasm;
pub mod wire;

pub use error::{Error, Result};
