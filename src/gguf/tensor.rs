//! A tensor's description from the GGUF header: name, shape, format and where its bytes lie.

use crate::quant::DType;

#[derive(Clone, Debug, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    /// ggml order: `dims[0]` is the innermost (contiguous, row) dimension.
    pub dims: Vec<u64>,
    pub dtype: DType,
    /// Absolute byte offset of the tensor's data in the file.
    pub start: u64,
    pub n_elements: u64,
    pub n_bytes: u64,
}

impl TensorInfo {
    /// One past the last byte of this tensor's data.
    pub fn end(&self) -> u64 {
        self.start + self.n_bytes
    }

    /// Elements per row (`dims[0]`) and number of rows (the product of the other dims).
    pub fn rows_cols(&self) -> (u64, u64) {
        let cols = self.dims.first().copied().unwrap_or(1);
        let rows = self.n_elements.checked_div(cols).unwrap_or(0);
        (rows, cols)
    }
}
