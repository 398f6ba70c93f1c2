//! GGUF reader: header, metadata and tensor infos.
//!
//! The parser works on a byte *prefix* (`GgufHeader::parse`), so a browser can parse the
//! header while the file is still downloading and learn how many more bytes it needs.
//! Natively, `GgufFile` reads a file on disk the same way.

#[cfg(not(target_arch = "wasm32"))]
mod file;
mod header;
mod metadata;
mod reader;
pub mod split;
mod tensor;
mod value;

#[cfg(not(target_arch = "wasm32"))]
pub use file::GgufFile;
pub use header::{GgufHeader, Parsed};
pub use metadata::Metadata;
pub use reader::MAX_HEADER_BYTES;
pub use tensor::TensorInfo;
pub use value::{MetaArray, MetaValue, ValueType};
