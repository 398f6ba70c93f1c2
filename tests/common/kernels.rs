//! Running single kernels in the GPU tests: submit prepared dispatches, make the per-step
//! uniform, read results back.

use hearth::gpu::GpuContext;
use hearth::kernels::Dispatch;
use hearth::kernels::kv::KvStore;
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

/// `data` rounded to f16 (to nearest, ties to even) and packed two per u32, element 2i in
/// the low half of word i: the KV cache's layout (src/model/kv_cache.rs).
pub fn f16_pairs(data: &[f32]) -> Vec<u32> {
    assert!(data.len() % 2 == 0, "f16 pairs need an even count");
    data.chunks_exact(2)
        .map(|p| u32::from(half::f16::from_f32(p[0]).to_bits()) | (u32::from(half::f16::from_f32(p[1]).to_bits()) << 16))
        .collect()
}

/// The f16 values of packed words, widened (exactly) to f32.
pub fn unpack_f16_pairs(words: &[u32]) -> Vec<f32> {
    words.iter().flat_map(|&w| [w as u16, (w >> 16) as u16].map(|b| half::f16::from_bits(b).to_f32())).collect()
}

/// `data` as the f16 values a cache holds (rounded to nearest, ties to even), widened back.
pub fn round_f16(data: &[f32]) -> Vec<f32> {
    data.iter().map(|&v| half::f16::from_f32(v).to_f32()).collect()
}

/// Whether `stored` is an f16 rounding of `x` that WGSL allows: the conversion may pick
/// either f16 neighbour of a value it cannot represent (WGSL's rule for conversions to a
/// lower precision), so both the nearest one and the one on the other side of `x` pass.
pub fn is_f16_rounding_of(stored: f32, x: f32) -> bool {
    let nearest = half::f16::from_f32(x);
    if nearest.to_f32() == x || stored == nearest.to_f32() {
        return stored == nearest.to_f32();
    }
    // The neighbour on the other side of x: one bit pattern towards it (sign-magnitude).
    let towards_zero = (nearest.to_f32() > x) == (x >= 0.0);
    let bits = if towards_zero { nearest.to_bits() - 1 } else { nearest.to_bits() + 1 };
    stored == half::f16::from_bits(bits).to_f32()
}

/// A storage buffer holding u32 words (a packed f16 cache).
pub fn words_buffer(ctx: &GpuContext, label: &str, words: &[u32]) -> wgpu::Buffer {
    ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some(label),
        contents: bytemuck::cast_slice(words),
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
    })
}

/// A KV cache store holding `words` (rows of `kv_dim` elements in the cache's precision): a
/// storage buffer, or with `texels` an f16 texture of kv_dim / 8 texels a row
/// (`KvStore::Texels`).
pub fn kv_store(ctx: &GpuContext, label: &str, words: &[u32], kv_dim: u32, texels: bool) -> KvStore {
    if !texels {
        return KvStore::Buffer(words_buffer(ctx, label, words));
    }
    let row_words = kv_dim as usize / 2;
    assert_eq!(words.len() % row_words, 0, "{label}: whole rows");
    let rows = (words.len() / row_words) as u32;
    let store = KvStore::texels(ctx, label, kv_dim, rows).expect("a texel cache of this size");
    let KvStore::Texels { texture, .. } = &store else { unreachable!() };
    ctx.queue.write_texture(
        texture.as_image_copy(),
        bytemuck::cast_slice(words),
        wgpu::TexelCopyBufferLayout { offset: 0, bytes_per_row: Some(kv_dim / 8 * 16), rows_per_image: None },
        texture.size(),
    );
    store
}

/// The words of a KV cache store, rows in order (what `kv_store` was given).
pub fn read_kv_store(ctx: &GpuContext, store: &KvStore) -> Vec<u32> {
    let texture = match store {
        KvStore::Buffer(b) => return read_u32(ctx, b, (b.size() / 4) as usize),
        KvStore::Texels { texture, .. } => texture,
    };
    // Copies out of a texture take rows of a multiple of 256 bytes.
    let row_bytes = texture.width() * 16;
    let padded = row_bytes.div_ceil(256) * 256;
    let staging = ctx.f32_buffer("kv texels", (padded * texture.height() / 4) as usize);
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    encoder.copy_texture_to_buffer(
        texture.as_image_copy(),
        wgpu::TexelCopyBufferInfo {
            buffer: &staging,
            layout: wgpu::TexelCopyBufferLayout { offset: 0, bytes_per_row: Some(padded), rows_per_image: None },
        },
        texture.size(),
    );
    ctx.queue.submit([encoder.finish()]);
    let all = read_u32(ctx, &staging, (padded * texture.height() / 4) as usize);
    all.chunks(padded as usize / 4).flat_map(|row| row[..row_bytes as usize / 4].to_vec()).collect()
}
