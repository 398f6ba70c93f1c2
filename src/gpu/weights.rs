//! Weight matrices on the GPU: repacked to the format's GPU layout and split by rows
//! across several buffers when one would exceed the storage-binding limit (the 262k-row
//! Gemma embedding, or any large matrix on a 128 MiB phone limit).

use super::context::GpuContext;
use crate::error::{Error, Result};
use crate::quant::{DType, gpu_layout};

/// Rows `first_row .. first_row + rows` of a matrix, in one buffer.
pub struct WeightPart {
    pub buffer: wgpu::Buffer,
    pub first_row: u32,
    pub rows: u32,
}

/// A `[rows × cols]` matrix (ggml: `dims = [cols, rows]`) in `dtype`.
pub struct GpuMatrix {
    pub name: String,
    pub dtype: DType,
    pub rows: u32,
    pub cols: u32,
    pub parts: Vec<WeightPart>,
}

impl GpuMatrix {
    /// Uploads a matrix from its GGUF bytes (whole rows in GGUF block layout).
    pub fn upload(ctx: &GpuContext, name: &str, dtype: DType, rows: u32, cols: u32, gguf_bytes: &[u8]) -> Result<GpuMatrix> {
        let row_bytes = dtype.bytes_for(u64::from(cols)).ok_or_else(|| {
            Error::InvalidArgument(format!("{name}: rows of {cols} elements are not whole {dtype} blocks"))
        })? as usize;
        if row_bytes * rows as usize != gguf_bytes.len() {
            return Err(Error::InvalidArgument(format!(
                "{name}: {} bytes for {rows} rows of {row_bytes} bytes",
                gguf_bytes.len()
            )));
        }
        let gpu_row_bytes = gpu_layout::gpu_bytes(dtype, row_bytes).max(1);
        // Rows per part: as many as fit in one binding, and a whole number of words.
        let rows_per_part = (ctx.max_storage_binding / gpu_row_bytes as u64).clamp(1, u64::from(rows.max(1))) as u32;
        let mut parts = Vec::new();
        let mut first_row = 0;
        let mut staging = Vec::new();
        while first_row < rows {
            let n = rows_per_part.min(rows - first_row);
            let src = &gguf_bytes[first_row as usize * row_bytes..(first_row + n) as usize * row_bytes];
            staging.clear();
            gpu_layout::repack_into(dtype, src, &mut staging)?;
            gpu_layout::finish_words(&mut staging);
            let buffer = ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(name),
                size: staging.len() as u64,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            ctx.queue.write_buffer(&buffer, 0, &staging);
            parts.push(WeightPart { buffer, first_row, rows: n });
            first_row += n;
        }
        Ok(GpuMatrix { name: name.to_string(), dtype, rows, cols, parts })
    }
}
