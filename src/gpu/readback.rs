//! Copying results back to the CPU. Per token only the sampled id comes back; whole
//! activations are read back in tests and when logits are asked for.

use super::context::GpuContext;
use crate::error::{Error, Result};

impl GpuContext {
    /// A storage buffer of `len` f32s, zero-initialised, usable as kernel input and output.
    pub fn f32_buffer(&self, label: &str, len: usize) -> wgpu::Buffer {
        self.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: (len.max(1) * 4) as u64,
            // UNIFORM too: the CPU tuning's decode GEMVs bind their input row as a uniform
            // (`Tuning::matmul_x_uniform`).
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        })
    }

    /// A storage buffer holding `data`.
    pub fn f32_buffer_from(&self, label: &str, data: &[f32]) -> wgpu::Buffer {
        let buffer = self.f32_buffer(label, data.len());
        self.queue.write_buffer(&buffer, 0, bytemuck::cast_slice(data));
        buffer
    }

    /// Reads `len` f32s from the start of `buffer` (waits for the GPU).
    pub async fn read_f32(&self, buffer: &wgpu::Buffer, len: usize) -> Result<Vec<f32>> {
        let bytes = self.read_bytes(buffer, (len * 4) as u64).await?;
        Ok(bytemuck::pod_collect_to_vec(&bytes))
    }

    pub async fn read_bytes(&self, buffer: &wgpu::Buffer, size: u64) -> Result<Vec<u8>> {
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder = self.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(buffer, 0, &staging, 0, size);
        self.queue.submit([encoder.finish()]);
        let bytes = self.map_read(&staging).await;
        // A one-off staging buffer: freed now (on the web a dropped buffer waits for GC).
        staging.destroy();
        bytes
    }

    /// `map_read` of the first `bytes` bytes only (a multiple of 4, at most the buffer's size).
    pub async fn map_read_prefix(&self, staging: &wgpu::Buffer, bytes: u64) -> Result<Vec<u8>> {
        if bytes == 0 {
            return Ok(Vec::new());
        }
        let (tx, rx) = futures_channel::oneshot::channel();
        staging.map_async(wgpu::MapMode::Read, ..bytes, move |r| {
            let _ = tx.send(r);
        });
        #[cfg(not(target_arch = "wasm32"))]
        self.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| Error::Gpu(format!("waiting for the GPU: {e}")))?;
        let mapped = rx.await.map_err(|_| Error::Gpu("the GPU dropped a readback".into()));
        self.check_faults()?;
        mapped?.map_err(|e| Error::Gpu(format!("mapping a readback buffer: {e}")))?;
        let data = staging.get_mapped_range(..bytes).map_err(|e| Error::Gpu(format!("reading a mapped buffer: {e}")))?.to_vec();
        staging.unmap();
        Ok(data)
    }

    /// Maps a MAP_READ buffer after the work writing it was submitted, copies its
    /// contents out and unmaps it again (so a staging buffer can be reused every token).
    pub async fn map_read(&self, staging: &wgpu::Buffer) -> Result<Vec<u8>> {
        self.map_read_prefix(staging, staging.size()).await
    }
}
