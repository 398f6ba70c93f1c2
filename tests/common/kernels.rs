//! Running single kernels in the GPU tests: submit prepared dispatches, make the per-step
//! uniform, read results back.

use hearth::gpu::GpuContext;
use hearth::kernels::Dispatch;
use hearth::kernels::step::Step;
use hearth::kernels::tensor::Tensor;
use wgpu::util::DeviceExt;

/// Records `dispatches` for a batch of `n_tokens` (the count in their step uniform) into one
/// compute pass, submits it and waits for the GPU.
pub fn submit(ctx: &GpuContext, n_tokens: u32, dispatches: &[Dispatch]) {
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        dispatches.iter().for_each(|d| d.record(&mut pass, n_tokens));
    }
    ctx.queue.submit([encoder.finish()]);
    ctx.device.poll(wgpu::PollType::wait_indefinitely()).expect("GPU wait");
}

/// The step uniform (position of the batch's first token, tokens in the batch).
pub fn step_buffer(ctx: &GpuContext, pos0: u32, n_tokens: u32) -> wgpu::Buffer {
    ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("step"),
        contents: bytemuck::bytes_of(&Step::new(pos0, n_tokens)),
        usage: wgpu::BufferUsages::UNIFORM,
    })
}

pub fn read_f32(ctx: &GpuContext, buffer: &wgpu::Buffer, len: usize) -> Vec<f32> {
    pollster::block_on(ctx.read_f32(buffer, len)).expect("readback")
}

/// A storage buffer of u32s (token ids, argmax output).
pub fn u32_buffer(ctx: &GpuContext, data: &[u32]) -> wgpu::Buffer {
    ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("u32s"),
        contents: bytemuck::cast_slice(data),
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
    })
}

pub fn read_u32(ctx: &GpuContext, buffer: &wgpu::Buffer, len: usize) -> Vec<u32> {
    let bytes = pollster::block_on(ctx.read_bytes(buffer, (len * 4) as u64)).expect("readback");
    bytemuck::pod_collect_to_vec(&bytes)
}

/// A `rows × width` activation tensor holding `data`. Made directly, not by `Tensor::new`,
/// so that tests with an artificially small binding limit (to split weights) can still
/// have larger activations.
pub fn tensor(ctx: &GpuContext, name: &str, rows: usize, width: usize, data: &[f32]) -> Tensor {
    assert_eq!(data.len(), rows * width, "{name}");
    Tensor { name: name.into(), buffer: ctx.f32_buffer_from(name, data), rows: rows as u32, width: width as u32 }
}

/// A `rows × width` activation tensor of zeros.
pub fn zeros(ctx: &GpuContext, name: &str, rows: usize, width: usize) -> Tensor {
    tensor(ctx, name, rows, width, &vec![0.0; rows * width])
}

/// All of a tensor's values.
pub fn read_tensor(ctx: &GpuContext, t: &Tensor) -> Vec<f32> {
    read_f32(ctx, &t.buffer, (t.rows * t.width) as usize)
}
