//! What one load instruction costs a compute shader, by where it reads from (`cargo bench
//! --bench bandwidth` prints both tables). Why: on CPU-like devices the count and kind of
//! loads, not bytes, set the matmuls' speed (README "Speed"), and the kinds differ by an order
//! of magnitude on some CPUs. llvmpipe (Mesa 22.3) compiles a storage-buffer load into a loop
//! over the SIMD lanes, each lane checking its bounds and inserting its value into the vector
//! (an insert at a variable position, which x86 without AVX-512 does through memory), but a
//! uniform-buffer load whose offset is not a constant into one AVX2 gather.
//!
//! - `per_lane_load_ns`: a workgroup of 16 threads (the CPU tuning's) runs a loop of LOOP
//!   dependent vec4 loads from a 16 KiB buffer, from a storage or a uniform binding, every lane
//!   at the same index (the matmuls' activations) or at one of its own (their weights);
//! - `stream_in_windows`: a 32 MiB buffer read once through 64 KiB windows (the most a uniform
//!   binding holds on lavapipe), one dispatch per window at a dynamic offset, each thread a
//!   contiguous slice of its window, through a storage or a uniform binding.

use std::time::Instant;

use hearth::gpu::GpuContext;
use wgpu::util::DeviceExt;

const WG: u32 = 16;
const LOOP: u32 = 1024;
const WINDOW: u64 = 64 << 10;

#[derive(Clone, Copy)]
pub enum Source {
    Storage,
    Uniform,
}

impl Source {
    pub const ALL: [Source; 2] = [Source::Storage, Source::Uniform];

    pub fn name(self) -> &'static str {
        match self {
            Source::Storage => "storage",
            Source::Uniform => "uniform",
        }
    }

    fn declare(self, element: &str, len: u32) -> String {
        match self {
            Source::Storage => format!("@group(0) @binding(0) var<storage, read> a: array<{element}>;"),
            Source::Uniform => format!("@group(0) @binding(0) var<uniform> a: array<{element}, {len}>;"),
        }
    }

    fn binding_type(self) -> wgpu::BufferBindingType {
        match self {
            Source::Storage => wgpu::BufferBindingType::Storage { read_only: true },
            Source::Uniform => wgpu::BufferBindingType::Uniform,
        }
    }
}

/// One pass of `dispatches` dispatches, wall time; the median of 5 after a warm-up.
fn median_pass(ctx: &GpuContext, record: &dyn Fn(&mut wgpu::ComputePass)) -> f64 {
    let pass = || {
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            record(&mut pass);
        }
        let t = Instant::now();
        ctx.queue.submit([encoder.finish()]);
        ctx.device.poll(wgpu::PollType::wait_indefinitely()).unwrap();
        t.elapsed().as_secs_f64()
    };
    pass();
    let mut v: Vec<f64> = (0..5).map(|_| pass()).collect();
    v.sort_by(f64::total_cmp);
    v[2]
}

/// A pipeline whose binding 0 is `source` (with a dynamic offset when `dynamic`) and binding
/// 1 a read-write storage buffer.
fn pipeline(ctx: &GpuContext, code: String, source: Source, dynamic: bool) -> (wgpu::ComputePipeline, wgpu::BindGroupLayout) {
    let entry = |binding, ty, has_dynamic_offset| wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer { ty, has_dynamic_offset, min_binding_size: None },
        count: None,
    };
    let layout = ctx.device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("load_costs"),
        entries: &[entry(0, source.binding_type(), dynamic), entry(1, wgpu::BufferBindingType::Storage { read_only: false }, false)],
    });
    let pipeline_layout = ctx.device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some("load_costs"),
        bind_group_layouts: &[Some(&layout)],
        immediate_size: 0,
    });
    let module = ctx
        .device
        .create_shader_module(wgpu::ShaderModuleDescriptor { label: Some("load_costs"), source: wgpu::ShaderSource::Wgsl(code.into()) });
    let pipeline = ctx.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some("load_costs"),
        layout: Some(&pipeline_layout),
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    });
    (pipeline, layout)
}

fn storage_out(ctx: &GpuContext, words: u32) -> wgpu::Buffer {
    ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("out"),
        size: u64::from(words) * 4,
        usage: wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    })
}

/// Nanoseconds per vec4 load per thread: `per_lane` = every thread at an index of its own
/// (else all at the same one), from a 16 KiB buffer that stays in cache.
pub fn per_lane_load_ns(ctx: &GpuContext, source: Source, per_lane: bool) -> f64 {
    let index = if per_lane { "(j + lid * 61u) & 1023u" } else { "j" };
    // The multiply keeps every load live and each one waiting on the last sum.
    let code = format!(
        "{}
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@compute @workgroup_size({WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {{
    var acc = vec4<f32>(0.0);
    for (var j = 0u; j < {LOOP}u; j++) {{ acc = acc * 0.999 + a[{index}]; }}
    out[gid.x] = acc.x + acc.y + acc.z + acc.w;
}}
",
        source.declare("vec4<f32>", 1024)
    );
    let (pipeline, layout) = pipeline(ctx, code, source, false);
    let values: Vec<f32> = (0..4096).map(|i| i as f32 * 1e-3).collect();
    let usage = match source {
        Source::Storage => wgpu::BufferUsages::STORAGE,
        Source::Uniform => wgpu::BufferUsages::UNIFORM,
    };
    let input = ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("in"),
        contents: bytemuck::cast_slice(&values),
        usage,
    });
    let groups = 2048u32;
    let out = storage_out(ctx, groups * WG);
    let bind = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &layout,
        entries: &[
            wgpu::BindGroupEntry { binding: 0, resource: input.as_entire_binding() },
            wgpu::BindGroupEntry { binding: 1, resource: out.as_entire_binding() },
        ],
    });
    let seconds = median_pass(ctx, &|pass| {
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind, &[]);
        pass.dispatch_workgroups(groups, 1, 1);
    });
    seconds * 1e9 / f64::from(groups * WG * LOOP)
}

/// GB/s reading 32 MiB once in 64 KiB windows (a dispatch each), or None where the device's
/// uniform bindings hold less than a window.
pub fn stream_in_windows(ctx: &GpuContext, source: Source) -> Option<f64> {
    if matches!(source, Source::Uniform) && ctx.limits.max_uniform_buffer_binding_size < WINDOW {
        return None;
    }
    let bytes = 32u64 << 20;
    let words: Vec<u32> = (0..bytes / 4).map(|i| (i as u32).wrapping_mul(2_654_435_761)).collect();
    let input = ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("in"),
        contents: bytemuck::cast_slice(&words),
        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::STORAGE,
    });
    // 64 threads a window, each reading 1 KiB (64 vec4s) of it.
    let groups = 4u32;
    let vec4s = (WINDOW / 16) as u32;
    let per_thread = vec4s / (groups * WG);
    let code = format!(
        "{}
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@compute @workgroup_size({WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {{
    var acc = vec4<u32>(0u);
    for (var j = 0u; j < {per_thread}u; j++) {{ acc += a[gid.x * {per_thread}u + j]; }}
    out[gid.x] = acc.x ^ acc.y ^ acc.z ^ acc.w;
}}
",
        source.declare("vec4<u32>", vec4s)
    );
    let (pipeline, layout) = pipeline(ctx, code, source, true);
    let out = storage_out(ctx, groups * WG);
    let bind = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &layout,
        entries: &[
            wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: &input,
                    offset: 0,
                    size: std::num::NonZeroU64::new(WINDOW),
                }),
            },
            wgpu::BindGroupEntry { binding: 1, resource: out.as_entire_binding() },
        ],
    });
    let windows = (bytes / WINDOW) as u32;
    let seconds = median_pass(ctx, &|pass| {
        pass.set_pipeline(&pipeline);
        for w in 0..windows {
            pass.set_bind_group(0, &bind, &[w * WINDOW as u32]);
            pass.dispatch_workgroups(groups, 1, 1);
        }
    });
    Some(bytes as f64 / seconds / 1e9)
}
