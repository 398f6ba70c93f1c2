//! GPU plumbing shared by every kernel: the device, weight upload, pipelines, readback.

mod context;
mod matmul_fusion;
mod pipelines;
mod readback;
mod stack;
mod tuning;
mod unroll;
mod weight_texture;
mod weights;

pub use context::{GpuContext, GpuFeatures, GpuOptions};
pub use matmul_fusion::{MatmulEpilogue, MatmulNorm};
pub use pipelines::{ElementwiseOp, Kernel, PipelineCache};
pub use stack::RowStack;
pub use tuning::Tuning;
pub use weight_texture::WEIGHT_TEXTURE_WIDTH;
pub use weights::{GpuMatrix, WeightPart};
