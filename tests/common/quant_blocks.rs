//! Weight matrices for the GPU tests, made of real blocks of each format (from the quant
//! fixtures, which were written by the `gguf` Python package), so every scale, offset and
//! bit pattern a real file can hold is exercised.

use hearth::quant::DType;

/// Real blocks of `dtype` from its fixture. Float formats: 32 elements count as a "block"
/// so rows can be assembled the same way.
pub fn fixture_blocks(dtype: DType) -> Vec<Vec<u8>> {
    let fx = super::read_fixture_json(&format!("quant/{}.json", dtype.name()));
    let bytes = super::hex_bytes(fx["bytes_hex"].as_str().unwrap());
    bytes.chunks_exact(row_unit(dtype) / dtype.block_size() * dtype.block_bytes()).map(<[u8]>::to_vec).collect()
}

/// The smallest whole number of elements a row can grow by: a block, or 32 floats.
pub fn row_unit(dtype: DType) -> usize {
    dtype.block_size().max(32)
}

/// A `rows × cols` matrix in GGUF layout made of fixture blocks, each row starting at a
/// different block. `cols` must be a multiple of `row_unit(dtype)`.
pub fn tiled_matrix(dtype: DType, rows: usize, cols: usize) -> Vec<u8> {
    let blocks = fixture_blocks(dtype);
    let per_row = cols / row_unit(dtype);
    let mut out = Vec::new();
    for r in 0..rows {
        for b in 0..per_row {
            out.extend_from_slice(&blocks[(r * 7 + b * 3) % blocks.len()]);
        }
    }
    out
}
