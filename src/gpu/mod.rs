//! GPU plumbing shared by every kernel: the device, weight upload, pipelines, readback.

mod context;
mod pipelines;
mod readback;
mod tuning;
mod unroll;
mod weights;

pub use context::{GpuContext, GpuFeatures, GpuOptions};
pub use pipelines::{ElementwiseOp, Kernel, MatmulEpilogue, PipelineCache};
pub use tuning::Tuning;
pub use weights::{GpuMatrix, WeightPart};
