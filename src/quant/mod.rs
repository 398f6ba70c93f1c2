//! Tensor formats: the `DType` registry and, one file per block family, the byte layout
//! of each block with a CPU reference dequantiser (the ground truth the GPU kernels are
//! tested against).

mod dtype;
pub mod gpu_layout;
pub mod shader;

pub use dtype::{DType, QK_K, ggml_type_name};
