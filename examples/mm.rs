use hearth::gpu::*;
use hearth::quant::DType;
use wgpu::util::DeviceExt;
fn main() {
    let ctx = pollster::block_on(GpuContext::new(Default::default())).unwrap();
    let cache = PipelineCache::default();
    for (dtype, rows, cols, n) in [
        (DType::Q8_0, 49152u32, 576u32, 1u32),
        (DType::Q4_1, 1536, 576, 1),
        (DType::Q4_1, 576, 1536, 1),
        (DType::Q4_1, 1536, 576, 128),
        (DType::Q8_0, 49152, 576, 64),
    ] {
        let bytes = vec![0x11u8; (rows as usize * cols as usize / 32) * dtype.block_bytes()];
        let w = GpuMatrix::upload(&ctx, "w", dtype, rows, cols, &bytes).unwrap();
        let x = ctx.f32_buffer("x", (n * cols) as usize);
        let y = ctx.f32_buffer("y", (n * rows) as usize);
        let step = ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: None,
            contents: bytemuck::bytes_of(&hearth::kernels::step::Step::new(0, n)),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let rows_arg = hearth::kernels::BatchRows::PerToken(n);
        let d = pollster::block_on(hearth::kernels::matmul::matmul(&ctx, &cache, &w, &x, &y, &step, rows_arg)).unwrap();
        let run = |k: usize| {
            let t = std::time::Instant::now();
            for _ in 0..k {
                let mut enc = ctx.device.create_command_encoder(&Default::default());
                {
                    let mut pass = enc.begin_compute_pass(&Default::default());
                    for x in &d {
                        x.record(&mut pass, n);
                    }
                }
                ctx.queue.submit([enc.finish()]);
                ctx.device.poll(wgpu::PollType::wait_indefinitely()).unwrap();
            }
            t.elapsed() / k as u32
        };
        run(1);
        println!("{dtype} {rows}x{cols} n={n}: {:?}", run(5));
    }
}
