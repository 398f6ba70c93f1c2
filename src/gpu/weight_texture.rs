//! Weights mirrored into a texture, for the matmuls that read them through texel fetches
//! (`Tuning::matmul_w_texture`). Why: llvmpipe (Mesa 22.3) compiles a storage-buffer load
//! into a loop over the SIMD lanes, which without AVX-512 costs ~5 ns per u32 per thread,
//! but fetches texels (its rasteriser's hot path) with AVX2 gathers: on a Zen 3 host 32 MiB
//! read as rgba32uint texels ran at 7.2 GB/s against 1.0 GB/s as storage vec4s
//! (`cargo bench --bench bandwidth`). The kernels bind the mirror as a read-only storage
//! texture (`texture_storage_2d<rgba32uint, read>`), not a sampled one: llvmpipe compiles
//! image loads by another path than sampled fetches (a texel-fetch function called per fetch,
//! ~45% of a GEMV's samples under perf), and the read-reduce ran at 7.2-7.8 against 4.6-6.1
//! GB/s, the decode GEMVs in 13% (SmolLM2, Q4_1) to 28% (Q4_K at Qwen2.5's shapes) less CPU
//! time (`cargo bench --bench kernels`, 2026-11-27).
//!
//! Layout: the buffer's bytes in order, 16 to an rgba32uint texel, WEIGHT_TEXTURE_WIDTH texels
//! to a texture row, so word i of the buffer is component i % 4 of texel i / 4, at
//! (texel % width, texel / width): the kernels index it exactly as they index the buffer
//! (shaders/quant/common.wgsl's w_word, src/gpu/pipelines.rs's matmul_w_binding).

use super::context::GpuContext;

/// Texels per texture row: 64 KiB rows, a multiple of the 256 bytes a buffer-to-texture copy
/// needs per row; 16,384 rows (lavapipe's limit) then hold 1 GiB.
pub const WEIGHT_TEXTURE_WIDTH: u32 = 4096;

const TEXEL_BYTES: u64 = 16;

/// A texture holding `buffer`'s bytes (the copy is queued now, so after every write queued
/// before), or None where the device's 2D textures are too small for it or the buffer cannot be
/// copied from.
pub(super) fn mirror_in_texture(ctx: &GpuContext, buffer: &wgpu::Buffer) -> Option<wgpu::TextureView> {
    let bytes = buffer.size();
    let width = u64::from(WEIGHT_TEXTURE_WIDTH);
    let height = bytes.div_ceil(TEXEL_BYTES).div_ceil(width);
    let max = u64::from(ctx.limits.max_texture_dimension_2d);
    if width > max || height > max || height == 0 || !buffer.usage().contains(wgpu::BufferUsages::COPY_SRC) {
        return None;
    }
    let texture = ctx.device.create_texture(&wgpu::TextureDescriptor {
        label: Some("weight texels"),
        size: wgpu::Extent3d { width: WEIGHT_TEXTURE_WIDTH, height: height as u32, depth_or_array_layers: 1 },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: wgpu::TextureFormat::Rgba32Uint,
        usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::STORAGE_BINDING | wgpu::TextureUsages::COPY_DST,
        view_formats: &[],
    });
    let mut encoder = ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("weight texels") });
    // Copies `texels` texels (at most a row, or whole rows) from `from` at byte `offset` to
    // texel index `at`.
    let copy = |encoder: &mut wgpu::CommandEncoder, from: &wgpu::Buffer, offset: u64, at: u64, texels: u64| {
        let rows = texels.div_ceil(width);
        let (x, y) = ((at % width) as u32, (at / width) as u32);
        encoder.copy_buffer_to_texture(
            wgpu::TexelCopyBufferInfo {
                buffer: from,
                layout: wgpu::TexelCopyBufferLayout {
                    offset,
                    bytes_per_row: (rows > 1).then_some(WEIGHT_TEXTURE_WIDTH * TEXEL_BYTES as u32),
                    rows_per_image: None,
                },
            },
            wgpu::TexelCopyTextureInfo {
                texture: &texture,
                mip_level: 0,
                origin: wgpu::Origin3d { x, y, z: 0 },
                aspect: wgpu::TextureAspect::All,
            },
            wgpu::Extent3d { width: texels.min(width) as u32, height: rows as u32, depth_or_array_layers: 1 },
        );
    };
    let whole_texels = bytes / TEXEL_BYTES;
    let whole_rows = whole_texels / width;
    if whole_rows > 0 {
        copy(&mut encoder, buffer, 0, 0, whole_rows * width);
    }
    let rest = whole_texels % width;
    if rest > 0 {
        copy(&mut encoder, buffer, whole_rows * width * TEXEL_BYTES, whole_rows * width, rest);
    }
    // A last texel of 1-3 words (buffers are whole words): through a zeroed 16-byte buffer.
    let tail = bytes % TEXEL_BYTES;
    if tail > 0 {
        let staging = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("weight texels tail"),
            size: TEXEL_BYTES,
            usage: wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        encoder.copy_buffer_to_buffer(buffer, bytes - tail, &staging, 0, tail);
        copy(&mut encoder, &staging, 0, whole_texels, 1);
    }
    ctx.queue.submit([encoder.finish()]);
    Some(texture.create_view(&Default::default()))
}
