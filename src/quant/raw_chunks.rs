//! Raw chunks (shaders/quant/common.wgsl): the matmul GEMVs and batches of shaders/matmul.wgsl
//! reading a block's small integers and its (d, m) rather than dequantised values, so that a
//! row's dot with a chunk of 32 activations is scaled once, `d * dot(q, x) + m * sum(x)`.
//!
//! Why: on lavapipe a weight cost ~7 instructions (texel words to bytes, to floats, the
//! dequantising multiply-add, the dot's multiply-add) and the decode GEMVs ran at ~20% of the
//! texture read-reduce; raw, the dequantising multiply-add goes, and the values are masked in
//! place rather than shifted down (the activations carry the inverse powers of two,
//! `RAW_X_SCALE`). Only for matrices of one format with one scale (and minimum) per 32 values:
//! Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K and Q5_K; mixed matrices and the K-quants with a scale
//! per 16 values (Q2_K, Q3_K, Q6_K) keep the dequantising readers.
//!
//! Rounding differs from the dequantised path's (products summed, then scaled), so a model
//! must compute every logits row with the same kind: `Tuning::matmul_raw_chunks` applies to
//! the GEMVs and the batched matmuls alike (not to the GEMM, which no tuning runs with it).

use super::DType;

/// Whether a matrix of these formats has raw readers.
pub fn has_raw_chunks(formats: &[DType]) -> bool {
    matches!(formats, [DType::Q4_0 | DType::Q4_1 | DType::Q5_0 | DType::Q5_1 | DType::Q8_0 | DType::Q4_K | DType::Q5_K])
}

/// The WGSL shaders/matmul.wgsl reads raw chunks through (after the formats' snippets):
/// `RAW_CHUNKS`, `RAW_SUMS` (the format has an offset or minimum, m != 0),
/// `RAW_X_SCALE` (the factors for activations 4k .. 4k + 3 that undo the values' places) and
/// `load_weight_chunk_raw(seg, word, c)`. `raw`: the matrix's one format, or None (the
/// constants off, the reader the dequantising one).
pub fn raw_chunk_wgsl(raw: Option<DType>) -> String {
    let Some(dtype) = raw else {
        return "const RAW_CHUNKS: bool = false;\nconst RAW_SUMS: bool = false;\n\
                const RAW_X_SCALE: vec4<f32> = vec4<f32>(1.0);\n\
                fn load_weight_chunk_raw(seg: u32, word: u32, c: u32) { load_weight_chunk(seg, word, c); }\n"
            .to_string();
    };
    assert!(has_raw_chunks(&[dtype]), "{dtype} has no raw reader");
    let (f, u) = (dtype.name().to_lowercase(), dtype.name().to_uppercase());
    // Q8_0's signed bytes are shifted down (sign extension) and have no minimum.
    let (sums, scale) = if dtype == DType::Q8_0 { ("false", "vec4<f32>(1.0)") } else { ("true", "BYTE_PLACES") };
    format!(
        "const RAW_CHUNKS: bool = true;\nconst RAW_SUMS: bool = {sums};\nconst RAW_X_SCALE: vec4<f32> = {scale};\n\
         fn load_weight_chunk_raw(seg: u32, word: u32, c: u32) {{\n\
         \x20   load_chunk_raw_{f}(word + (c / CHUNKS_PER_BLOCK_{u}) * BLOCK_WORDS_{u}, c % CHUNKS_PER_BLOCK_{u});\n\
         }}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_single_formats_of_one_block_per_chunk_are_raw() {
        assert!(has_raw_chunks(&[DType::Q4_1]));
        assert!(has_raw_chunks(&[DType::Q8_0]));
        assert!(has_raw_chunks(&[DType::Q4_K]));
        assert!(!has_raw_chunks(&[DType::Q6_K]));
        assert!(!has_raw_chunks(&[DType::F32]));
        assert!(!has_raw_chunks(&[DType::Q5_0, DType::Q8_0]));
    }
}
