//! `Tensor`: an f32 activation on the GPU with its shape, `rows × width` (a row per token,
//! `width` values each: a hidden state, the heads of q, a logits row). Launchers take
//! tensors and check them here, in one place, so a wrong buffer is an error naming both
//! shapes at graph build instead of garbage or a GPU validation failure at run time.

use crate::error::{Error, Result};
use crate::gpu::GpuContext;

#[derive(Clone, Debug)]
pub struct Tensor {
    pub name: String,
    pub buffer: wgpu::Buffer,
    /// Rows the buffer holds (the largest batch, for per-token activations).
    pub rows: u32,
    /// f32 values per row.
    pub width: u32,
}

impl Tensor {
    /// A zeroed tensor, refused with a clear error (instead of a GPU validation failure when
    /// it is bound) if it exceeds the device's storage-binding limit.
    pub fn new(ctx: &GpuContext, name: &str, rows: u32, width: u32) -> Result<Tensor> {
        let bytes = u64::from(width) * u64::from(rows) * 4;
        if bytes > ctx.max_storage_binding {
            return Err(Error::InvalidArgument(format!(
                "the `{name}` activations of a {rows}-token batch take {bytes} bytes, over this device's \
                 storage-binding limit of {} bytes",
                ctx.max_storage_binding
            )));
        }
        Ok(Tensor { name: name.into(), buffer: ctx.f32_buffer(name, width as usize * rows as usize), rows, width })
    }

    /// Ok if this tensor has rows of `width` values and at least `rows` of them; else an
    /// error naming the kernel, the role, both shapes.
    pub fn expect(&self, kernel: &str, role: &str, rows: u32, width: u32) -> Result<()> {
        if self.width == width && self.rows >= rows {
            return Ok(());
        }
        Err(Error::InvalidArgument(format!(
            "{kernel}: {role} `{}` is [{} × {}], needs [{rows} × {width}] (at least {rows} rows of {width})",
            self.name, self.rows, self.width
        )))
    }

    pub fn binding(&self) -> wgpu::BindingResource<'_> {
        self.buffer.as_entire_binding()
    }
}
