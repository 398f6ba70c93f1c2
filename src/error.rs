//! The one error type of the crate. Every failure names what is wrong (file, field, byte
//! offset, limit) so a user can act on it; `wasm.rs` maps each variant to a typed JS error.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes do not start with the GGUF magic.
    #[error("not a GGUF file: expected magic \"GGUF\" at byte 0, found {found}")]
    NotGguf { found: String },

    #[error("unsupported GGUF version {version} (Hearth reads versions 2 and 3)")]
    UnsupportedGgufVersion { version: u32 },

    /// The file ends before a structure it declares.
    #[error("truncated GGUF: {what} at byte offset {offset} needs {needed} bytes, but the file is {file_len} bytes long")]
    Truncated { what: String, offset: u64, needed: u64, file_len: u64 },

    /// A value in the header is impossible (bad type tag, overflow, misaligned offset, ...).
    #[error("corrupt GGUF at byte offset {offset}: {reason}")]
    Corrupt { offset: u64, reason: String },

    /// The header would need more memory than we are willing to give it.
    #[error("GGUF header field {what} at byte offset {offset} claims {claimed} bytes, over the limit of {limit}")]
    TooLarge { what: String, offset: u64, claimed: u64, limit: u64 },

    #[error("tensor `{tensor}` has tensor type {type_id} ({type_name}), which Hearth does not support")]
    UnsupportedTensorType { tensor: String, type_id: u32, type_name: &'static str },

    #[error("metadata key `{key}` is missing")]
    MissingMetadata { key: String },

    #[error("metadata key `{key}` is {found}, expected {expected}")]
    MetadataType { key: String, expected: &'static str, found: String },

    /// A hyper-parameter outside what any model can have (NaN, zero, negative, inconsistent).
    #[error("metadata key `{key}` is {value}, but must be {expected}")]
    MetadataValue { key: String, value: String, expected: String },

    #[error("tensor `{name}` is not in the model")]
    MissingTensor { name: String },

    #[error("unsupported model architecture `{arch}` (supported: {supported})")]
    UnsupportedModel { arch: String, supported: String },

    /// No usable GPU: no WebGPU in this browser, no adapter, or the device was refused.
    #[error("no GPU: {reason}")]
    NoGpu { reason: String },

    /// The GPU could not allocate what the model needs.
    #[error("out of GPU memory allocating {what}: {reason}")]
    OutOfMemory { what: String, reason: String },

    /// The GPU device went away (driver reset, tab in the background too long, ...).
    #[error("the GPU device was lost: {reason}")]
    DeviceLost { reason: String },

    /// The GPU reported an error (validation, internal).
    #[error("GPU error: {0}")]
    Gpu(String),

    #[error("tokenizer: {0}")]
    Tokenizer(String),

    #[error("chat template: {0}")]
    ChatTemplate(String),

    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// The model does not fit this device at the requested context; found from the header,
    /// before any weight is allocated (or downloaded, in a browser). `largest_context` is the
    /// longest context that would fit, if any does.
    #[error("the model does not fit this GPU: {reason}{}", fit_hint(*.largest_context))]
    DoesNotFit { reason: String, largest_context: Option<u32> },

    /// A request's prompt plus the tokens it may generate exceed the context length.
    #[error(
        "the prompt has {prompt_tokens} tokens and max_tokens is {max_tokens}: {} tokens, over the context length of {context_length}",
        *.prompt_tokens as u64 + u64::from(*.max_tokens)
    )]
    ContextWindowExceeded { prompt_tokens: usize, max_tokens: u32, context_length: u32 },

    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

fn fit_hint(largest_context: Option<u32>) -> String {
    match largest_context {
        Some(n) => format!("; the largest context that fits is {n} tokens"),
        None => "; no context length fits".into(),
    }
}

impl Error {
    pub(crate) fn corrupt(offset: u64, reason: impl Into<String>) -> Self {
        Error::Corrupt { offset, reason: reason.into() }
    }
}

/// The kinds of failure a page tells apart: the JS error class each `Error` becomes in the
/// browser (www/src/errors.ts has one class per kind; its table over this enum is checked by
/// tsc, the TypeScript union being generated from here: see `crate::wire`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum ErrorKind {
    HearthError,
    ModelFormatError,
    UnsupportedModelError,
    WebGPUUnavailableError,
    OutOfMemoryError,
    ModelTooLargeError,
    DeviceLostError,
    InvalidArgumentError,
    ContextWindowExceededError,
}

impl ErrorKind {
    /// The JS class name (the variant's name).
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::HearthError => "HearthError",
            ErrorKind::ModelFormatError => "ModelFormatError",
            ErrorKind::UnsupportedModelError => "UnsupportedModelError",
            ErrorKind::WebGPUUnavailableError => "WebGPUUnavailableError",
            ErrorKind::OutOfMemoryError => "OutOfMemoryError",
            ErrorKind::ModelTooLargeError => "ModelTooLargeError",
            ErrorKind::DeviceLostError => "DeviceLostError",
            ErrorKind::InvalidArgumentError => "InvalidArgumentError",
            ErrorKind::ContextWindowExceededError => "ContextWindowExceededError",
        }
    }
}

impl Error {
    /// Which kind of failure this is, for a page.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NotGguf { .. }
            | Error::UnsupportedGgufVersion { .. }
            | Error::Truncated { .. }
            | Error::Corrupt { .. }
            | Error::TooLarge { .. }
            | Error::MissingMetadata { .. }
            | Error::MetadataType { .. }
            | Error::MetadataValue { .. }
            | Error::MissingTensor { .. }
            | Error::Tokenizer(_) => ErrorKind::ModelFormatError,
            Error::UnsupportedModel { .. } | Error::UnsupportedTensorType { .. } => ErrorKind::UnsupportedModelError,
            Error::NoGpu { .. } => ErrorKind::WebGPUUnavailableError,
            Error::OutOfMemory { .. } => ErrorKind::OutOfMemoryError,
            Error::DeviceLost { .. } => ErrorKind::DeviceLostError,
            Error::InvalidArgument(_) => ErrorKind::InvalidArgumentError,
            Error::DoesNotFit { .. } => ErrorKind::ModelTooLargeError,
            Error::ContextWindowExceeded { .. } => ErrorKind::ContextWindowExceededError,
            _ => ErrorKind::HearthError,
        }
    }
}
