//! The device's read bandwidth as a compute shader sees it, shared by `--bench bandwidth` and
//! `--bench kernels` (which sets its decode GEMVs against it in the same run): every byte of
//! a buffer loaded once as vec4<u32>, summed per thread, one word written per thread so the
//! loads cannot be dropped; REPS dispatches in one pass, wall time, median of 5 passes.
//!
//! Two access patterns, because the fastest one depends on the device:
//! - `Strided`: neighbouring threads read neighbouring 16-byte words (coalesced: what GPUs
//!   want);
//! - `Slices`: each thread reads one contiguous slice of its own (what CPU-like devices
//!   want: lavapipe runs a workgroup's threads as SIMD lanes of one CPU thread, and there the
//!   strided pattern reads 2-3x slower: 1.6-2.2 against 4.5-6.6 GB/s, 2-core VM);
//! - `TextureSlices`: the slices, from the same words in an rgba32uint texture laid out as the
//!   matmuls' weight mirrors are (src/gpu/weight_texture.rs), sampled (`texture_2d`):
//!   llvmpipe fetches texels with gathers, where a storage load is a loop over the SIMD lanes;
//! - `StorageTextureSlices`: the same texture bound as a read-only storage texture, as the
//!   mirrors and the KV cache's texels are read: llvmpipe compiles image loads inline, where a
//!   sampled fetch is a call (7.2-7.8 against 4.6-6.1 GB/s, 64 MiB, Zen 3 2-core VM).
//!
//! The device's ceiling is the fastest of them.

use std::time::Instant;

use hearth::gpu::{GpuContext, WEIGHT_TEXTURE_WIDTH};
use wgpu::util::DeviceExt;

/// What the read-reduce reads.
enum Source {
    Buffer(wgpu::Buffer),
    Texture(wgpu::TextureView),
}

impl Source {
    fn binding(&self) -> wgpu::BindingResource<'_> {
        match self {
            Source::Buffer(b) => b.as_entire_binding(),
            Source::Texture(v) => wgpu::BindingResource::TextureView(v),
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub enum Pattern {
    Strided,
    Slices,
    /// Slices read as four u32 loads per 16 bytes instead of one vec4 load: not a ceiling,
    /// a probe of what the width of a load costs (llvmpipe runs each load instruction as a
    /// loop over the SIMD lanes, whatever its width).
    SliceWords,
    TextureSlices,
    StorageTextureSlices,
}

impl Pattern {
    /// The patterns that make the device's ceiling.
    pub const ALL: [Pattern; 4] = [Pattern::Strided, Pattern::Slices, Pattern::TextureSlices, Pattern::StorageTextureSlices];

    pub fn name(self) -> &'static str {
        match self {
            Pattern::Strided => "strided (neighbouring threads, neighbouring words)",
            Pattern::Slices => "slices (a contiguous slice per thread)",
            Pattern::SliceWords => "slices read as u32 words (probe: 4 loads per 16 bytes)",
            Pattern::TextureSlices => "slices of a sampled rgba32uint texture (the weight mirrors' layout)",
            Pattern::StorageTextureSlices => "slices of the same as a read-only storage texture (as the matmuls bind it)",
        }
    }

    fn shader(self, workgroup: u32) -> String {
        // n.x: vec4s in the buffer, n.y: vec4s per thread (slices); every thread's loop count
        // is the same, so no lane idles while another finishes.
        let (element, read) = match self {
            Pattern::Strided => ("vec4<u32>", "for (var j = 0u; j < n.y; j++) { acc += src[gid.x + j * threads]; }"),
            Pattern::Slices => ("vec4<u32>", "for (var j = 0u; j < n.y; j++) { acc += src[gid.x * n.y + j]; }"),
            Pattern::SliceWords => (
                "u32",
                "for (var j = 0u; j < n.y; j++) { let i = 4u * (gid.x * n.y + j); \
                 acc += vec4<u32>(src[i], src[i + 1u], src[i + 2u], src[i + 3u]); }",
            ),
            Pattern::TextureSlices => (
                "",
                "for (var j = 0u; j < n.y; j++) { let i = gid.x * n.y + j; \
                 acc += textureLoad(src, vec2<u32>(i % TEXTURE_WIDTH, i / TEXTURE_WIDTH), 0); }",
            ),
            Pattern::StorageTextureSlices => (
                "",
                "for (var j = 0u; j < n.y; j++) { let i = gid.x * n.y + j; \
                 acc += textureLoad(src, vec2<u32>(i % TEXTURE_WIDTH, i / TEXTURE_WIDTH)); }",
            ),
        };
        let source = match self {
            Pattern::TextureSlices => {
                format!("@group(0) @binding(0) var src: texture_2d<u32>;\nconst TEXTURE_WIDTH: u32 = {WEIGHT_TEXTURE_WIDTH}u;")
            }
            Pattern::StorageTextureSlices => format!(
                "@group(0) @binding(0) var src: texture_storage_2d<rgba32uint, read>;\nconst TEXTURE_WIDTH: u32 = {WEIGHT_TEXTURE_WIDTH}u;"
            ),
            _ => format!("@group(0) @binding(0) var<storage, read> src: array<{element}>;"),
        };
        format!(
            "{source}
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
@group(0) @binding(2) var<uniform> n: vec4<u32>;

@compute @workgroup_size({workgroup})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {{
    let threads = groups.x * {workgroup}u;
    var acc = vec4<u32>(0u);
    {read}
    dst[gid.x] = acc.x ^ acc.y ^ acc.z ^ acc.w;
}}
"
        )
    }
}

/// Seconds per read of a `bytes`-byte buffer (median of 5 passes), or None where the buffer
/// is over the device's storage binding limit.
pub fn seconds_per_read(ctx: &GpuContext, pattern: Pattern, bytes: u64, workgroup: u32) -> Option<f64> {
    if bytes > ctx.max_storage_binding {
        return None;
    }
    // A shader the device refuses would time an empty pass: say so instead.
    let scope = ctx.device.push_error_scope(wgpu::ErrorFilter::Validation);
    let module = ctx.device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("read_reduce"),
        source: wgpu::ShaderSource::Wgsl(pattern.shader(workgroup).into()),
    });
    let pipeline = ctx.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some("read_reduce"),
        layout: None,
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    });
    let words: Vec<u32> = (0..bytes / 4).map(|i| (i as u32).wrapping_mul(2_654_435_761)).collect();
    // The texture: the words row after row, WEIGHT_TEXTURE_WIDTH texels a row.
    let texture_rows = (bytes / 16).div_ceil(u64::from(WEIGHT_TEXTURE_WIDTH));
    let src = match pattern {
        Pattern::TextureSlices | Pattern::StorageTextureSlices if texture_rows > u64::from(ctx.limits.max_texture_dimension_2d) => {
            return None;
        }
        Pattern::TextureSlices | Pattern::StorageTextureSlices => {
            let texture = ctx.device.create_texture_with_data(
                &ctx.queue,
                &wgpu::TextureDescriptor {
                    label: Some("src"),
                    size: wgpu::Extent3d { width: WEIGHT_TEXTURE_WIDTH, height: texture_rows as u32, depth_or_array_layers: 1 },
                    mip_level_count: 1,
                    sample_count: 1,
                    dimension: wgpu::TextureDimension::D2,
                    format: wgpu::TextureFormat::Rgba32Uint,
                    usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::STORAGE_BINDING,
                    view_formats: &[],
                },
                wgpu::util::TextureDataOrder::LayerMajor,
                bytemuck::cast_slice(&words),
            );
            Source::Texture(texture.create_view(&Default::default()))
        }
        _ => Source::Buffer(ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("src"),
            contents: bytemuck::cast_slice(&words),
            usage: wgpu::BufferUsages::STORAGE,
        })),
    };
    drop(words);
    // Enough threads to keep every core or SM busy, each reading 64 vec4s; the buffer is
    // read whole (its size a power of two, at least 1 MiB, divides evenly).
    let vec4s = (bytes / 16) as u32;
    let groups = (vec4s / 64).div_ceil(workgroup).clamp(1, 65_535);
    let per_thread = vec4s / (groups * workgroup);
    let dst = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("dst"),
        size: u64::from(groups * workgroup) * 4,
        usage: wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    });
    let n = ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("n"),
        contents: bytemuck::cast_slice(&[vec4s, per_thread, 0, 0]),
        usage: wgpu::BufferUsages::UNIFORM,
    });
    let bind = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &pipeline.get_bind_group_layout(0),
        entries: &[
            wgpu::BindGroupEntry { binding: 0, resource: src.binding() },
            wgpu::BindGroupEntry { binding: 1, resource: dst.as_entire_binding() },
            wgpu::BindGroupEntry { binding: 2, resource: n.as_entire_binding() },
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
    if let Some(e) = pollster::block_on(scope.pop()) {
        panic!("the {} read-reduce was refused by the device: {e}", pattern.name());
    }
    let mut v: Vec<f64> = (0..5).map(|_| pass()).collect();
    v.sort_by(f64::total_cmp);
    Some(v[2])
}
