//! The library's parts on files and the tiny chat model: GGUF reading, corrupted files, splits,
//! chat templates, tokenizers, quant formats, the CPU sampler, plans, limits, streaming loads,
//! the engine's decode chains and logprobs. One test binary, so one link of wgpu, naga and the
//! rest instead of one per file (the CI budget).

#[path = "../common/mod.rs"]
mod common;

mod chat_template;
mod engine_context;
mod engine_decode_chain;
mod engine_logprobs;
mod fuzz_corpus;
mod gguf_corrupt;
mod gguf_reader;
mod gguf_split;
mod model_limits;
mod model_plan;
mod model_stream;
mod model_unsupported;
mod quant_dequantize;
mod sampler;
mod tokenizer_gguf;
