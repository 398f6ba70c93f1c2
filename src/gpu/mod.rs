//! GPU plumbing shared by every kernel: the device, weight upload, pipelines, readback.

mod context;
mod pipelines;
mod readback;
mod weights;

pub use context::{GpuContext, GpuFeatures, GpuOptions, Tuning};
pub use pipelines::{ElementwiseOp, Kernel, MatmulEpilogue, PipelineCache};
pub use weights::{GpuMatrix, WeightPart};
