//! Weight matrices on the GPU: repacked to the format's GPU layout and split by rows
//! across several buffers when one would exceed the storage-binding limit (the 262k-row
//! Gemma embedding, or any large matrix on a 128 MiB phone limit).
//!
//! A matrix is allocated first and filled by whole rows afterwards, so its bytes can
//! stream in (from a download, or a file read in chunks) without ever being held whole.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use super::context::GpuContext;
use super::weight_texture::mirror_in_texture;
use crate::error::{Error, Result};
use crate::quant::{DType, gpu_layout};

/// Rows `first_row .. first_row + rows` of a matrix, in one buffer from byte `offset` on
/// (0 but for the matrices of a `RowStack` that share one buffer).
#[derive(Clone)]
pub struct WeightPart {
    pub buffer: wgpu::Buffer,
    pub first_row: u32,
    pub rows: u32,
    pub offset: u64,
    /// The buffer's words in a texture, made on first use (`texture_mirror`).
    texels: Arc<OnceLock<Option<wgpu::TextureView>>>,
    /// Free the buffer once the mirror holds its words (`release_buffer_once_mirrored`).
    release_once_mirrored: Arc<AtomicBool>,
}

impl WeightPart {
    fn new(buffer: wgpu::Buffer, first_row: u32, rows: u32, offset: u64) -> WeightPart {
        WeightPart { buffer, first_row, rows, offset, texels: Arc::default(), release_once_mirrored: Arc::default() }
    }

    /// The whole buffer's words in an rgba32uint texture (src/gpu/weight_texture.rs), copied
    /// on the GPU the first time a kernel asks, so after the weights were written (kernels are
    /// built once a model is loaded); None where the device's textures cannot hold it.
    pub fn texture_mirror(&self, ctx: &GpuContext) -> Option<wgpu::TextureView> {
        self.texels
            .get_or_init(|| {
                let view = mirror_in_texture(ctx, &self.buffer);
                if view.is_some() && self.release_once_mirrored.load(Ordering::Relaxed) {
                    self.buffer.destroy();
                    // wgpu frees it once the copy has run: wait for that, so that a model's
                    // load never holds more than one matrix twice (native only: a browser
                    // cannot wait, and its tunings do not mirror).
                    #[cfg(not(target_arch = "wasm32"))]
                    let _ = ctx.device.poll(wgpu::PollType::wait_indefinitely());
                }
                view
            })
            .clone()
    }

    /// Frees the buffer as soon as its texture mirror exists (now, if it does): for weights
    /// that nothing but the matmuls reading the mirror will bind again, which the caller
    /// vouches for (src/model/weights.rs, `release_buffers_behind_mirrors`). Without it the
    /// weights would sit in memory twice.
    pub fn release_buffer_once_mirrored(&self) {
        self.release_once_mirrored.store(true, Ordering::Relaxed);
        if matches!(self.texels.get(), Some(Some(_))) {
            self.buffer.destroy();
        }
    }

    /// Whether the buffer was freed for its mirror (`release_buffer_once_mirrored`).
    pub fn buffer_released(&self) -> bool {
        self.release_once_mirrored.load(Ordering::Relaxed) && matches!(self.texels.get(), Some(Some(_)))
    }
}

/// A `[rows × cols]` matrix (ggml: `dims = [cols, rows]`) in `dtype`.
#[derive(Clone)]
pub struct GpuMatrix {
    pub name: String,
    pub dtype: DType,
    pub rows: u32,
    pub cols: u32,
    pub parts: Vec<WeightPart>,
}

impl GpuMatrix {
    /// Creates the (zeroed) buffers of a matrix; fill them with [`GpuMatrix::write_rows`].
    pub fn allocate(ctx: &GpuContext, name: &str, dtype: DType, rows: u32, cols: u32) -> Result<GpuMatrix> {
        let mut parts = Vec::new();
        for (first_row, n, size) in Self::part_sizes(name, dtype, rows, cols, ctx.max_storage_binding)? {
            let buffer = ctx.create_buffer(&wgpu::BufferDescriptor {
                label: Some(name),
                size,
                // COPY_SRC: the texture mirror some matmuls read (`WeightPart::texture_mirror`).
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            });
            parts.push(WeightPart::new(buffer, first_row, n, 0));
        }
        Ok(GpuMatrix { name: name.to_string(), dtype, rows, cols, parts })
    }

    /// The buffers `allocate` makes for a matrix under a `max_binding`-byte storage-binding
    /// limit, as (first row, rows, bytes): as many whole rows per part as fit one binding (at
    /// least one, so a single row over the limit gives a part over it). Pure, so a load can be
    /// planned from the header before anything is allocated.
    pub fn part_sizes(name: &str, dtype: DType, rows: u32, cols: u32, max_binding: u64) -> Result<Vec<(u32, u32, u64)>> {
        let gpu_row_bytes = Self::gpu_row_bytes_of(name, dtype, cols)?;
        let rows_per_part = (max_binding / gpu_row_bytes).clamp(1, u64::from(rows.max(1))) as u32;
        let mut parts = Vec::new();
        let mut first_row = 0;
        while first_row < rows {
            let n = rows_per_part.min(rows - first_row);
            parts.push((first_row, n, (u64::from(n) * gpu_row_bytes).next_multiple_of(4)));
            first_row += n;
        }
        Ok(parts)
    }

    /// Allocates a matrix and uploads all of it from its GGUF bytes.
    pub fn upload(ctx: &GpuContext, name: &str, dtype: DType, rows: u32, cols: u32, gguf_bytes: &[u8]) -> Result<GpuMatrix> {
        let m = Self::allocate(ctx, name, dtype, rows, cols)?;
        if m.row_bytes() * rows as usize != gguf_bytes.len() {
            return Err(Error::InvalidArgument(format!("{name}: {} bytes for {rows} rows of {} bytes", gguf_bytes.len(), m.row_bytes())));
        }
        m.write_rows(ctx, 0, gguf_bytes, &mut Vec::new())?;
        Ok(m)
    }

    /// Bytes of one row in the GGUF layout.
    pub fn row_bytes(&self) -> usize {
        self.dtype.bytes_for(u64::from(self.cols)).expect("checked by allocate") as usize
    }

    /// A matrix in one part at byte `offset` of `buffer` (a buffer several matrices share),
    /// which must hold it. `beside`: a part of another matrix in the same buffer, whose texture
    /// mirror (of the whole buffer) and buffer release this part shares.
    pub(super) fn in_buffer(
        name: &str,
        dtype: DType,
        rows: u32,
        cols: u32,
        buffer: wgpu::Buffer,
        offset: u64,
        beside: Option<&WeightPart>,
    ) -> GpuMatrix {
        debug_assert!(offset + u64::from(rows) * Self::gpu_row_bytes_of(name, dtype, cols).unwrap_or(0) <= buffer.size());
        let mut part = WeightPart::new(buffer, 0, rows, offset);
        if let Some(other) = beside {
            (part.texels, part.release_once_mirrored) = (other.texels.clone(), other.release_once_mirrored.clone());
        }
        GpuMatrix { name: name.to_string(), dtype, rows, cols, parts: vec![part] }
    }

    /// Bytes of one row in the GPU layout. Rows of whole blocks are whole words for every
    /// quantised format; F16/BF16 rows need an even number of columns, which matmul's
    /// multiple-of-32 rule gives (checked here so a part never splits a word).
    pub(super) fn gpu_row_bytes_of(name: &str, dtype: DType, cols: u32) -> Result<u64> {
        let row_bytes = dtype
            .bytes_for(u64::from(cols))
            .ok_or_else(|| Error::InvalidArgument(format!("{name}: rows of {cols} elements are not whole {dtype} blocks")))?;
        let gpu = gpu_layout::gpu_bytes(dtype, row_bytes as usize) as u64;
        if gpu % 4 != 0 || gpu == 0 {
            return Err(Error::InvalidArgument(format!("{name}: rows of {cols} {dtype} elements are not whole 4-byte words")));
        }
        Ok(gpu)
    }

    /// Writes whole rows `first_row ..` from their GGUF bytes, repacking on the way
    /// (`scratch` is reused between calls to avoid an allocation per chunk).
    pub fn write_rows(&self, ctx: &GpuContext, first_row: u32, gguf_rows: &[u8], scratch: &mut Vec<u8>) -> Result<()> {
        let row_bytes = self.row_bytes();
        if gguf_rows.len() % row_bytes != 0 {
            return Err(Error::InvalidArgument(format!("{}: {} bytes are not whole rows of {row_bytes}", self.name, gguf_rows.len())));
        }
        let n_rows = (gguf_rows.len() / row_bytes) as u32;
        if u64::from(first_row) + u64::from(n_rows) > u64::from(self.rows) {
            return Err(Error::InvalidArgument(format!("{}: rows {first_row}+{n_rows} past its {} rows", self.name, self.rows)));
        }
        let gpu_row_bytes = Self::gpu_row_bytes_of(&self.name, self.dtype, self.cols)?;
        let end_row = first_row + n_rows;
        for part in &self.parts {
            let (lo, hi) = (first_row.max(part.first_row), end_row.min(part.first_row + part.rows));
            if lo >= hi {
                continue;
            }
            let src = &gguf_rows[(lo - first_row) as usize * row_bytes..(hi - first_row) as usize * row_bytes];
            scratch.clear();
            gpu_layout::repack_into(self.dtype, src, scratch)?;
            let offset = part.offset + u64::from(lo - part.first_row) * gpu_row_bytes;
            ctx.queue.write_buffer(&part.buffer, offset, scratch);
        }
        Ok(())
    }

    /// Bytes this matrix takes on the GPU (its rows, not a buffer it shares).
    pub fn gpu_bytes(&self) -> u64 {
        let row_bytes = Self::gpu_row_bytes_of(&self.name, self.dtype, self.cols).expect("checked by allocate");
        self.parts.iter().map(|p| u64::from(p.rows) * row_bytes).sum()
    }
}
