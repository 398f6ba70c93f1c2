//! Structured output: a token mask every step, so the reply is guaranteed to match a JSON
//! schema, a Lark grammar or a regex.
//!
//! The masks come from `llguidance` (the engine llama.cpp, vLLM and SGLang use): its Earley
//! parser with a lexer over the model's own vocabulary (a token trie built here from Hearth's
//! tokenizer). The generation loop asks a [`Constraint`] for the allowed tokens before each
//! step, hands the mask to the sampler (GPU or CPU) and feeds back the sampled token.
//!
//! - [`ResponseFormat`]: the request's `response_format` (OpenAI's JSON shapes, plus Hearth's
//!   `grammar` extension), validated when compiled.
//! - [`Grammars`]: the per-tokenizer part (trie, lexer slices), built once per model.
//! - [`Constraint`]: one request's matcher, with the time its masks took.

mod constraint;
mod format;
mod vocab;

pub use constraint::{Constraint, ConstraintStats, Grammars};
pub use format::{GrammarFormat, GrammarSyntax, JsonSchemaFormat, ResponseFormat};
