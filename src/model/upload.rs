//! Fills the weight buffers that `ModelWeights::declare` allocated, from the file's bytes
//! as they arrive in file order (a download in the browser, a file read in chunks
//! natively). At most one row of a matrix (or one small norm vector) is held back between
//! chunks, so the memory used is the chunk size, not the model size.

use crate::error::{Error, Result};
use crate::gguf::TensorInfo;
use crate::gpu::{GpuContext, GpuMatrix};
use crate::quant::{self, DType};

/// Bytes queued with `write_buffer` before the queue is flushed (natively wgpu stages the
/// writes in host memory until the next submit; flushing keeps that bounded).
const FLUSH_EVERY: u64 = 64 << 20;

enum Target {
    /// Rows `first_row ..` of a matrix (more than one tensor when they are concatenated at
    /// load, like the FFN's gate and up).
    Matrix { m: GpuMatrix, first_row: u32 },
    /// A small vector (norm weights, biases), dequantised to f32 once all of it is here.
    /// `offset`: where in `buffer` it goes, in bytes (biases concatenated like their matrices).
    Vector { buffer: wgpu::Buffer, dtype: DType, offset: u64 },
    /// RoPE's per-pair factors: `buffer` gets `inv_freq[i] / factor[i]` (model/rope.rs).
    RopeFactors { buffer: wgpu::Buffer, dtype: DType, inv_freq: Vec<f32> },
}

struct Upload {
    name: String,
    start: u64,
    n_bytes: u64,
    received: u64,
    target: Target,
    /// A matrix's incomplete row, or all of a vector received so far.
    carry: Vec<u8>,
}

impl Upload {
    fn end(&self) -> u64 {
        self.start + self.n_bytes
    }
    fn done(&self) -> bool {
        self.received == self.n_bytes
    }
}

#[derive(Default)]
pub struct TensorUploads {
    uploads: Vec<Upload>,
    /// `uploads` is sorted by start once the first bytes arrive.
    sorted: bool,
    /// Uploads before this index are complete.
    next: usize,
    scratch: Vec<u8>,
    uploaded: u64,
    since_flush: u64,
}

impl TensorUploads {
    pub(crate) fn add_matrix(&mut self, info: &TensorInfo, m: GpuMatrix) {
        self.add_matrix_rows(info, m, 0);
    }

    /// The tensor `info` fills the rows of `m` from `first_row` on.
    pub(crate) fn add_matrix_rows(&mut self, info: &TensorInfo, m: GpuMatrix, first_row: u32) {
        self.add(info, Target::Matrix { m, first_row });
    }

    pub(crate) fn add_vector(&mut self, info: &TensorInfo, buffer: wgpu::Buffer) {
        self.add_vector_at(info, buffer, 0);
    }

    /// The vector `info` fills `buffer` from byte `offset` on.
    pub(crate) fn add_vector_at(&mut self, info: &TensorInfo, buffer: wgpu::Buffer, offset: u64) {
        self.add(info, Target::Vector { buffer, dtype: info.dtype, offset });
    }

    /// The factors `info` divide `inv_freq` by, the quotients filling `buffer`.
    pub(crate) fn add_rope_factors(&mut self, info: &TensorInfo, buffer: wgpu::Buffer, inv_freq: Vec<f32>) {
        self.add(info, Target::RopeFactors { buffer, dtype: info.dtype, inv_freq });
    }

    fn add(&mut self, info: &TensorInfo, target: Target) {
        self.uploads.push(Upload {
            name: info.name.clone(),
            start: info.start,
            n_bytes: info.n_bytes,
            received: 0,
            target,
            carry: Vec::new(),
        });
        self.sorted = false;
    }

    /// Bytes of tensor data the model needs, and how many of them reached the GPU.
    pub fn total_bytes(&self) -> u64 {
        self.uploads.iter().map(|u| u.n_bytes).sum()
    }
    pub fn uploaded_bytes(&self) -> u64 {
        self.uploaded
    }

    /// The first tensor whose bytes have not all arrived.
    pub fn first_incomplete(&self) -> Option<&str> {
        self.uploads.iter().find(|u| !u.done()).map(|u| u.name.as_str())
    }

    /// Takes `bytes`, the file's bytes starting at absolute `offset`. Calls must come in
    /// file order without gaps (the caller, `ModelStream`, guarantees it).
    pub fn push(&mut self, ctx: &GpuContext, offset: u64, bytes: &[u8]) -> Result<()> {
        if !self.sorted {
            self.uploads.sort_by_key(|u| u.start);
            self.sorted = true;
        }
        let chunk_end = offset + bytes.len() as u64;
        let mut i = self.next;
        while i < self.uploads.len() && self.uploads[i].start < chunk_end {
            let u = &mut self.uploads[i];
            let (lo, hi) = (u.start.max(offset), u.end().min(chunk_end));
            if lo < hi && lo == u.start + u.received {
                let piece = &bytes[(lo - offset) as usize..(hi - offset) as usize];
                feed(ctx, u, piece, &mut self.scratch)?;
                self.uploaded += piece.len() as u64;
                self.since_flush += piece.len() as u64;
            }
            i += 1;
        }
        while self.next < self.uploads.len() && self.uploads[self.next].done() {
            self.next += 1;
        }
        if self.since_flush >= FLUSH_EVERY {
            ctx.queue.submit([]);
            self.since_flush = 0;
        }
        Ok(())
    }
}

/// Hands the next `piece` of one tensor's bytes to its GPU buffer.
fn feed(ctx: &GpuContext, u: &mut Upload, mut piece: &[u8], scratch: &mut Vec<u8>) -> Result<()> {
    u.received += piece.len() as u64;
    match &u.target {
        Target::Vector { buffer, dtype, offset } => {
            u.carry.extend_from_slice(piece);
            if u.done() {
                let values = quant::dequantize_to_vec(*dtype, &u.carry)?;
                ctx.queue.write_buffer(buffer, *offset, bytemuck::cast_slice(&values));
                u.carry = Vec::new();
            }
        }
        Target::RopeFactors { buffer, dtype, inv_freq } => {
            u.carry.extend_from_slice(piece);
            if u.done() {
                let factors = quant::dequantize_to_vec(*dtype, &u.carry)?;
                let freqs = super::rope::apply_factors(&u.name, inv_freq, &factors)?;
                ctx.queue.write_buffer(buffer, 0, bytemuck::cast_slice(&freqs));
                u.carry = Vec::new();
            }
        }
        Target::Matrix { m, first_row } => {
            let row_bytes = m.row_bytes();
            // Rows already written: everything received before this piece, minus the carry.
            let before = u.received - piece.len() as u64 - u.carry.len() as u64;
            let mut row = u32::try_from(before / row_bytes as u64)
                .ok()
                .and_then(|r| r.checked_add(*first_row))
                .ok_or_else(|| Error::InvalidArgument(format!("{}: row index overflow", u.name)))?;
            if !u.carry.is_empty() {
                let take = (row_bytes - u.carry.len()).min(piece.len());
                u.carry.extend_from_slice(&piece[..take]);
                piece = &piece[take..];
                if u.carry.len() == row_bytes {
                    m.write_rows(ctx, row, &u.carry, scratch)?;
                    u.carry.clear();
                    row += 1;
                }
            }
            let whole = piece.len() / row_bytes * row_bytes;
            if whole > 0 {
                m.write_rows(ctx, row, &piece[..whole], scratch)?;
            }
            u.carry.extend_from_slice(&piece[whole..]);
        }
    }
    Ok(())
}
