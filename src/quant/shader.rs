//! The WGSL snippet of each format (shaders/quant/<format>.wgsl), assembled in front of a
//! kernel body. Every snippet defines the same names (BLOCK_SIZE, BLOCK_WORDS,
//! CHUNKS_PER_BLOCK, load_chunk) so one kernel body serves every format.

use super::DType;

const COMMON: &str = include_str!("../../shaders/quant/common.wgsl");
const K_SCALE_MIN: &str = include_str!("../../shaders/quant/k_scale_min.wgsl");

fn snippet(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => include_str!("../../shaders/quant/f32.wgsl"),
        DType::F16 => include_str!("../../shaders/quant/f16.wgsl"),
        DType::BF16 => include_str!("../../shaders/quant/bf16.wgsl"),
        DType::Q4_0 => include_str!("../../shaders/quant/q4_0.wgsl"),
        DType::Q4_1 => include_str!("../../shaders/quant/q4_1.wgsl"),
        DType::Q5_0 => include_str!("../../shaders/quant/q5_0.wgsl"),
        DType::Q5_1 => include_str!("../../shaders/quant/q5_1.wgsl"),
        DType::Q8_0 => include_str!("../../shaders/quant/q8_0.wgsl"),
        DType::Q2_K => include_str!("../../shaders/quant/q2_k.wgsl"),
        DType::Q3_K => include_str!("../../shaders/quant/q3_k.wgsl"),
        DType::Q4_K => include_str!("../../shaders/quant/q4_k.wgsl"),
        DType::Q5_K => include_str!("../../shaders/quant/q5_k.wgsl"),
        DType::Q6_K => include_str!("../../shaders/quant/q6_k.wgsl"),
    }
}

/// The WGSL that gives a kernel body `load_chunk` for `dtype`.
pub fn wgsl(dtype: DType) -> String {
    let mut out = String::from(COMMON);
    if matches!(dtype, DType::Q4_K | DType::Q5_K) {
        out.push_str(K_SCALE_MIN);
    }
    out.push_str(snippet(dtype));
    out
}
