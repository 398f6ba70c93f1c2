//! Matrices of one width stacked by rows: a layer's Q, K and V, or its FFN gate and up, which
//! one matmul computes side by side. Each run of consecutive rows in one format is a
//! `GpuMatrix`; where all of them fit one storage binding they share one buffer, and a matmul
//! reads the whole stack in one dispatch whatever the formats (Q4_K_M files give V another
//! format than Q and K). Over the binding limit each run is a matrix of its own, one
//! dispatch each (or more, if it is split too).

use super::context::GpuContext;
use super::weights::GpuMatrix;
use crate::error::Result;
use crate::quant::DType;
use crate::quant::shader::{MAX_SEGMENTS, MatrixFormats};

/// Where a run may start in the shared buffer: a multiple of 16 bytes, a texel of the buffer's
/// texture mirror. The matmuls read the mirror only where every run starts on a texel
/// (src/kernels/matmul.rs), and their readers fetch the blocks of whole texels (Q4_K, Q5_K, Q3_K,
/// Q6_K) a texel at a time and the small formats' blocks a group at a time from there
/// (src/gpu/pipelines.rs, matmul_w_binding; src/quant/chunk_group.rs).
const RUN_ALIGN: u64 = 16;

pub struct RowStack {
    /// (first row in the stack, matrix) per run of one format, in row order.
    pub runs: Vec<(u32, GpuMatrix)>,
    /// All runs in one buffer, one part each (see `GpuMatrix::parts`).
    pub shared: bool,
}

impl RowStack {
    /// The (zeroed) buffers for runs of `(name, format, rows)` of `cols` columns each: one
    /// buffer when they fit one binding together (and are at most MAX_SEGMENTS runs), else
    /// one matrix per run.
    pub fn allocate(ctx: &GpuContext, runs: &[(String, DType, u32)], cols: u32) -> Result<RowStack> {
        let mut sizes = Vec::with_capacity(runs.len());
        for (name, dtype, rows) in runs {
            sizes.push(u64::from(*rows) * GpuMatrix::gpu_row_bytes_of(name, *dtype, cols)?);
        }
        let total = Self::stacked_bytes(&sizes);
        let mut out = Vec::with_capacity(runs.len());
        let mut first_row = 0;
        if Self::fits(ctx.max_storage_binding, &sizes) {
            let buffer = ctx.create_buffer(&wgpu::BufferDescriptor {
                label: Some(&runs[0].0),
                size: total,
                // COPY_SRC: the texture mirror some matmuls read (`WeightPart::texture_mirror`).
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            });
            let mut offset = 0;
            for ((name, dtype, rows), size) in runs.iter().zip(&sizes) {
                let first = out.first().map(|(_, m): &(u32, GpuMatrix)| &m.parts[0]);
                let m = GpuMatrix::in_buffer(name, *dtype, *rows, cols, buffer.clone(), offset, first);
                out.push((first_row, m));
                (first_row, offset) = (first_row + rows, (offset + size).next_multiple_of(RUN_ALIGN));
            }
            return Ok(RowStack { runs: out, shared: true });
        }
        for (name, dtype, rows) in runs {
            out.push((first_row, GpuMatrix::allocate(ctx, name, *dtype, *rows, cols)?));
            first_row += rows;
        }
        Ok(RowStack { runs: out, shared: false })
    }

    /// Whether runs of `sizes` bytes share one buffer under a `max_binding`-byte limit (pure,
    /// for the load plan).
    pub fn fits(max_binding: u64, sizes: &[u64]) -> bool {
        sizes.len() <= MAX_SEGMENTS && Self::stacked_bytes(sizes) <= max_binding
    }

    /// The bytes of one buffer holding runs of `sizes` bytes, each starting at a multiple of
    /// RUN_ALIGN (pure, for the load plan).
    pub fn stacked_bytes(sizes: &[u64]) -> u64 {
        let end_of_runs = sizes.iter().fold(0, |offset: u64, size| offset.next_multiple_of(RUN_ALIGN) + size);
        end_of_runs.next_multiple_of(4)
    }

    /// The formats of the runs, in row order.
    pub fn formats(&self) -> MatrixFormats {
        let list: Vec<DType> = self.runs.iter().map(|(_, m)| m.dtype).collect();
        MatrixFormats::of(&list).expect("1 to MAX_SEGMENTS runs")
    }

    pub fn rows(&self) -> u32 {
        self.runs.iter().map(|(_, m)| m.rows).sum()
    }

    pub fn matrices(&self) -> impl Iterator<Item = &GpuMatrix> {
        self.runs.iter().map(|(_, m)| m)
    }
}
