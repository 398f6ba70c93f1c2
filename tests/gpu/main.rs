//! The kernels on the GPU (lavapipe in CI), each against its f64 or CPU reference: one test
//! binary, so one link of wgpu, naga and the rest instead of one per kernel (the CI budget).

#[path = "../common/mod.rs"]
mod common;

mod argmax;
mod attention;
mod elementwise;
mod embed;
mod logprobs;
mod matmul;
mod residual_norm;
mod rmsnorm;
mod rope_store;
mod sample;
