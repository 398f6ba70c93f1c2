//! One launcher per shader family, 1:1 with `shaders/`: each owns its params struct
//! (declared with `wgsl_struct!`, checked field by field against the WGSL `struct Params` by
//! `layout`'s test), and builds `Dispatch`es — a pipeline, a bind group and how the
//! workgroup grid follows the batch's token count — once, at load time. Per forward pass the
//! model writes the step uniform (src/kernels/step.rs) and records the prepared dispatches
//! into one compute pass.

/// Declares a uniform struct that mirrors a WGSL struct field by field (`u32`/`f32`/`i32`
/// fields, padding spelled out as `_padN` fields like the WGSL), with a `FIELDS` list that
/// `kernels::layout`'s test compares with the shader source, so the two cannot drift.
macro_rules! wgsl_struct {
    ($(#[doc = $doc:literal])* $vis:vis struct $name:ident { $($fvis:vis $field:ident : $ty:ident),* $(,)? }) => {
        $(#[doc = $doc])*
        #[repr(C)]
        #[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
        $vis struct $name { $($fvis $field: $ty),* }
        impl $name {
            /// Every field's name and WGSL type, in order (for the layout check).
            #[allow(dead_code)]
            pub(crate) const FIELDS: &'static [(&'static str, &'static str)] = &[$((stringify!($field), stringify!($ty))),*];
        }
        const _: () = assert!(std::mem::size_of::<$name>() % 16 == 0, "uniform structs are whole 16-byte rows");
    };
}

pub mod argmax;
pub mod attention;
mod attention_split;
mod attention_tiled;
pub mod elementwise;
pub mod embed;
mod gemm;
pub mod kv;
#[cfg(test)]
mod layout;
pub mod matmul;
pub mod matmul_norm;
pub mod residual_norm;
pub mod rmsnorm;
pub mod rope_store;
pub mod sample;
pub mod step;
pub mod tensor;
#[cfg(test)]
mod wgsl_loop_vars;

use bytemuck::Pod;

use crate::error::Result;
use crate::gpu::{GpuContext, Kernel, PipelineCache};

/// Which rows of its activations a kernel processes in a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchRows {
    /// One row per token of the batch, at most this many (what the buffers must hold).
    PerToken(u32),
    /// A single row whatever the batch: the last token's, when only its logits are needed.
    One,
}

impl BatchRows {
    /// The most rows a buffer must hold.
    pub fn max_rows(self) -> u32 {
        match self {
            BatchRows::PerToken(n) => n,
            BatchRows::One => 1,
        }
    }

    /// Rows processed for a batch of `n_tokens`.
    pub fn rows(self, n_tokens: u32) -> u32 {
        match self {
            BatchRows::PerToken(_) => n_tokens,
            BatchRows::One => 1,
        }
    }
}

/// The workgroup grid of a dispatch for a batch of `n_tokens` tokens.
type Grid = Box<dyn Fn(u32) -> [u32; 3] + Send + Sync>;

/// A kernel launch with everything bound; only its grid depends on the batch.
pub struct Dispatch {
    pipeline: wgpu::ComputePipeline,
    bind_group: wgpu::BindGroup,
    grid: Grid,
    /// The op kind ("matmul q4_1", "rmsnorm", ...): what profiles add up by.
    kind: String,
    /// What it computes in the model ("blk.3.attn_q", ...), set by the graph; empty for
    /// dispatches built outside one.
    name: String,
}

impl Dispatch {
    /// Builds a dispatch of `kernel` whose bindings 0, 1, ... are `resources`, in order, with
    /// the same grid for every batch.
    pub async fn new(
        ctx: &GpuContext,
        cache: &PipelineCache,
        kernel: Kernel,
        resources: &[wgpu::BindingResource<'_>],
        workgroups: [u32; 3],
    ) -> Result<Dispatch> {
        Dispatch::per_batch(ctx, cache, kernel, resources, move |_| workgroups).await
    }

    /// Builds a dispatch whose grid is `grid(n_tokens)` for a batch of `n_tokens` (the kernel
    /// reads the same count from the step uniform).
    pub async fn per_batch(
        ctx: &GpuContext,
        cache: &PipelineCache,
        kernel: Kernel,
        resources: &[wgpu::BindingResource<'_>],
        grid: impl Fn(u32) -> [u32; 3] + Send + Sync + 'static,
    ) -> Result<Dispatch> {
        let pipeline = cache.get(ctx, kernel).await?;
        let entries: Vec<wgpu::BindGroupEntry> =
            resources.iter().enumerate().map(|(i, r)| wgpu::BindGroupEntry { binding: i as u32, resource: r.clone() }).collect();
        let bind_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        Ok(Dispatch { pipeline, bind_group, grid: Box::new(grid), kind: kernel.kind(), name: String::new() })
    }

    /// The same dispatch, named for profiles and GPU debuggers.
    pub fn named(mut self, name: impl Into<String>) -> Dispatch {
        self.name = name.into();
        self
    }

    pub fn kind(&self) -> &str {
        &self.kind
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The workgroup grid for a batch of `n_tokens`.
    pub fn grid(&self, n_tokens: u32) -> [u32; 3] {
        (self.grid)(n_tokens)
    }

    /// Whether a batch of `n_tokens` runs it: a dispatch may serve only some batch sizes (a
    /// matmul's window of tokens, src/kernels/matmul.rs), and records nothing for the others.
    pub fn runs(&self, n_tokens: u32) -> bool {
        let [x, y, z] = self.grid(n_tokens);
        x * y * z > 0
    }

    /// Records the dispatch for a batch of `n_tokens` (which the step uniform must hold).
    pub fn record(&self, pass: &mut wgpu::ComputePass<'_>, n_tokens: u32) {
        if !self.runs(n_tokens) {
            return;
        }
        let [x, y, z] = self.grid(n_tokens);
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        pass.dispatch_workgroups(x, y, z);
    }
}

impl From<Dispatch> for Vec<Dispatch> {
    fn from(d: Dispatch) -> Vec<Dispatch> {
        vec![d]
    }
}

/// A uniform buffer holding one params struct (created at load, never per token).
pub(crate) fn uniform<T: Pod>(ctx: &GpuContext, params: &T) -> wgpu::Buffer {
    ctx.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("params"),
        contents: bytemuck::bytes_of(params),
        usage: wgpu::BufferUsages::UNIFORM,
    })
}

/// Splits a workgroup count over x and y so neither exceeds WebGPU's 65,535 per dimension
/// (the kernels rebuild the index as `x + y * num_workgroups.x`).
pub(crate) fn split_groups(n: u32) -> (u32, u32) {
    const MAX: u32 = 65_535;
    if n <= MAX { (n.max(1), 1) } else { (MAX, n.div_ceil(MAX)) }
}
