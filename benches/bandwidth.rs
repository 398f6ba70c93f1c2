//! The device's read bandwidth as a compute shader sees it: a read-reduce over a large
//! buffer (every byte loaded once as vec4<u32>, summed per thread, one word written per
//! thread so the loads cannot be dropped). Decode is a stream of weights, so this is the
//! ceiling the decode GEMVs (`cargo bench --bench kernels`, its "weight GB/s" column) are
//! measured against, on the same device and in the same way (REPS dispatches in one pass,
//! wall time, median of 5 passes).
//!
//!     cargo bench --bench bandwidth [-- --mib 16,64,256 --workgroup 256]

use std::time::Instant;

use hearth::gpu::GpuContext;
use wgpu::util::DeviceExt;

const SHADER: &str = r#"
@group(0) @binding(0) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let threads = groups.x * WG;
    let n = arrayLength(&src);
    var acc = vec4<u32>(0u);
    // Neighbouring threads read neighbouring 16-byte words (coalesced on GPUs); the loop
    // count differs by at most one between threads.
    for (var i = gid.x; i < n; i += threads) {
        acc += src[i];
    }
    dst[gid.x] = acc.x ^ acc.y ^ acc.z ^ acc.w;
}
"#;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let sizes: Vec<u64> =
        arg("--mib").unwrap_or_else(|| "16,64,256".into()).split(',').map(|v| v.parse().expect("--mib: whole numbers")).collect();
    let workgroup: u32 = arg("--workgroup").map(|v| v.parse().expect("--workgroup: a whole number")).unwrap_or(256);
    let ctx = pollster::block_on(GpuContext::new(Default::default())).expect("a GPU adapter");
    println!("device: {}; read-reduce, workgroups of {workgroup}", ctx.describe());
    let module = ctx.device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("read_reduce"),
        source: wgpu::ShaderSource::Wgsl(SHADER.replace("WG", &format!("{workgroup}u")).into()),
    });
    let pipeline = ctx.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some("read_reduce"),
        layout: None,
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    });
    println!("\n| buffer MiB | µs per read | GB/s |");
    println!("|---:|---:|---:|");
    for mib in sizes {
        let bytes = mib << 20;
        if bytes > ctx.max_storage_binding {
            println!("| {mib} | (over the device's {} MiB binding limit) | |", ctx.max_storage_binding >> 20);
            continue;
        }
        let words: Vec<u32> = (0..bytes / 4).map(|i| (i as u32).wrapping_mul(2_654_435_761)).collect();
        let src = ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("src"),
            contents: bytemuck::cast_slice(&words),
            usage: wgpu::BufferUsages::STORAGE,
        });
        drop(words);
        // Enough threads to keep every core or SM busy, each reading many vec4s.
        let groups = ((bytes / 16 / 64) as u32).div_ceil(workgroup).clamp(1, 65_535);
        let dst = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("dst"),
            size: u64::from(groups * workgroup) * 4,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        let bind = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: src.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: dst.as_entire_binding() },
            ],
        });
        // About 1 GB read per pass, at least 2 reads.
        let reps = (1_u64 << 30).div_ceil(bytes).max(2) as u32;
        let pass = || {
            let mut encoder = ctx.device.create_command_encoder(&Default::default());
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                pass.set_pipeline(&pipeline);
                pass.set_bind_group(0, &bind, &[]);
                for _ in 0..reps {
                    pass.dispatch_workgroups(groups, 1, 1);
                }
            }
            let t = Instant::now();
            ctx.queue.submit([encoder.finish()]);
            ctx.device.poll(wgpu::PollType::wait_indefinitely()).unwrap();
            t.elapsed().as_secs_f64() / f64::from(reps)
        };
        pass(); // compile, page in
        let mut v: Vec<f64> = (0..5).map(|_| pass()).collect();
        v.sort_by(f64::total_cmp);
        println!("| {mib} | {:.1} | {:.1} |", v[2] * 1e6, bytes as f64 / v[2] / 1e9);
    }
}
