//! The GPU device: adapter selection, the limits we ask for, and the optional features we
//! use when the adapter has them. Everything must also work without any optional feature
//! (SwiftShader in headless Chromium has no shader-f16).

use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};

/// Options for opening the GPU.
#[derive(Clone, Debug, Default)]
pub struct GpuOptions {
    /// Pretend the device cannot bind more than this many bytes per storage buffer, to test
    /// the paths that split large tensors (phones often have 128 MiB).
    pub max_storage_binding: Option<u64>,
    /// Kernel shapes to use instead of the ones chosen for the device (tests use this to
    /// run every variant on whatever device they have).
    pub tuning: Option<Tuning>,
}

/// Kernel shapes chosen for the device at hand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tuning {
    /// Threads per workgroup in shaders/matmul.wgsl (16 or 64). CPU-like devices run a
    /// workgroup on one core: small ones waste less past the last row and spread better.
    pub matmul_workgroup_size: u32,
    /// Threads that share one matrix row in shaders/matmul.wgsl (a power of two, at most
    /// the workgroup size). CPU-like devices (lavapipe, SwiftShader) run a workgroup as SIMD
    /// lanes and pay per workgroup, so one row per thread is fastest; GPUs want neighbouring
    /// threads on neighbouring bytes.
    pub matmul_threads_per_row: u32,
    /// Rows each thread computes in a single-token matmul (decode).
    pub matmul_decode_rows_per_thread: u32,
    /// Rows each thread computes in a batched matmul (prefill).
    pub matmul_prefill_rows_per_thread: u32,
    /// The most tokens one matmul workgroup computes (a power of two).
    pub matmul_prefill_tokens: u32,
    /// shaders/attention.wgsl: a thread per query (`per_query`, no barriers) rather than a
    /// workgroup per query (`main`), for heads of up to 64 dims (see
    /// `kernels::attention::PER_QUERY_MAX_HEAD_DIM`).
    pub attention_thread_per_query: bool,
    /// shaders/rope_store.wgsl: a workgroup per (token, head), its threads sharing the head's
    /// elements (`per_head`), rather than a thread per (token, head) walking all of them
    /// (`main`). Measured on an H200 (Gemma 3's heads of 256 with q/k norms): a thread per
    /// head took 175 µs per decode dispatch, 3.2 of the 8 ms a token's dispatches took.
    pub rope_store_workgroup_per_head: bool,
}

impl Tuning {
    /// CPU-like devices: measured with `cargo bench --bench kernels` on lavapipe (2 cores,
    /// SmolLM2 shapes). There every storage-buffer load is a per-lane gather, so each thread
    /// keeps a tile of several rows (× tokens) in registers to reuse every activation it
    /// loads: 8 rows for decode (matmuls + lm_head 43 ms CPU per token, against 51 with 4
    /// rows and 64 with 2), 16 rows × 2 tokens for prefill (3.7 s CPU for the matmuls of a
    /// 128-token prompt, against 4.1 s with 8 × 2, 4.8 s with 8 × 4 and 5.3 s with 8 × 1),
    /// in workgroups of 16 (less padding past the last row: SmolLM2's q, o and down 20-25%
    /// faster than with 64). GPUs keep the shapes that suit them (no GPU measurement here):
    /// 16 threads per row, one row per thread, 8 tokens, workgroups of 64.
    pub fn for_device(info: &wgpu::AdapterInfo) -> Tuning {
        // Browsers report little about the adapter: a software one shows as a fallback
        // adapter (device type Cpu) or by name.
        let name = info.name.to_lowercase();
        let cpu = info.device_type == wgpu::DeviceType::Cpu || ["swiftshader", "llvmpipe", "lavapipe"].iter().any(|n| name.contains(n));
        if cpu { Tuning::CPU } else { Tuning::GPU }
    }

    pub const CPU: Tuning = Tuning {
        matmul_workgroup_size: 16,
        matmul_threads_per_row: 1,
        matmul_decode_rows_per_thread: 8,
        matmul_prefill_rows_per_thread: 16,
        matmul_prefill_tokens: 2,
        attention_thread_per_query: true,
        rope_store_workgroup_per_head: false,
    };

    pub const GPU: Tuning = Tuning {
        matmul_workgroup_size: 64,
        matmul_threads_per_row: 16,
        matmul_decode_rows_per_thread: 1,
        matmul_prefill_rows_per_thread: 1,
        matmul_prefill_tokens: 8,
        attention_thread_per_query: false,
        rope_store_workgroup_per_head: true,
    };
}

/// Optional capabilities, decided once from the adapter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GpuFeatures {
    pub shader_f16: bool,
    pub subgroups: bool,
    pub timestamps: bool,
}

/// The first GPU error that no error scope caught, and whether the device was lost. The
/// device reports these from callbacks; Hearth turns them into `Error`s at the next
/// readback instead of letting wgpu's default handler panic.
#[derive(Default)]
struct GpuFaults {
    uncaptured: Option<String>,
    lost: Option<String>,
}

#[derive(Clone)]
pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    pub features: GpuFeatures,
    /// The largest storage-buffer binding a kernel may use (the device limit, or less
    /// when `GpuOptions::max_storage_binding` asks for less).
    pub max_storage_binding: u64,
    pub limits: wgpu::Limits,
    pub tuning: Tuning,
    faults: Arc<Mutex<GpuFaults>>,
    /// Set on a model's handle (`scoped`): the buffers made through it, destroyed together.
    owned: Option<Arc<OwnedBuffers>>,
}

/// The buffers of one owner (a model and everything built for it), destroyed when the last
/// handle to them goes. Why: wgpu's WebGPU backend does not destroy a GPUBuffer when the Rust
/// side drops it, so its memory waits for the JS garbage collector, which GPU memory does not
/// prompt; switching models could then run out of GPU memory with the old model unreachable
/// but not freed (seen in tests/browser/soak.test.js). Natively wgpu frees on drop anyway.
#[derive(Default)]
struct OwnedBuffers(Mutex<Vec<wgpu::Buffer>>);

impl Drop for OwnedBuffers {
    fn drop(&mut self) {
        for buffer in self.0.get_mut().unwrap_or_else(|p| p.into_inner()).drain(..) {
            buffer.destroy();
        }
    }
}

impl GpuContext {
    /// Opens the first high-performance adapter (natively Vulkan/Metal/DX12; WebGPU in
    /// the browser) with the adapter's own buffer limits.
    pub async fn new(options: GpuOptions) -> Result<GpuContext> {
        // Every compiled-in backend (WGPU_BACKEND and friends can narrow it).
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let mut adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            })
            .await;
        if adapter.is_err() {
            // Some browsers (and headless setups) offer only a software fallback adapter.
            adapter = instance.request_adapter(&wgpu::RequestAdapterOptions { force_fallback_adapter: true, ..Default::default() }).await;
        }
        let adapter = adapter.map_err(|e| Error::NoGpu { reason: format!("no GPU adapter: {e}") })?;
        Self::from_adapter(adapter, options).await
    }

    pub async fn from_adapter(adapter: wgpu::Adapter, options: GpuOptions) -> Result<GpuContext> {
        let info = adapter.get_info();
        let available = adapter.features();
        let mut wanted = wgpu::Features::empty();
        let features = GpuFeatures {
            shader_f16: available.contains(wgpu::Features::SHADER_F16),
            subgroups: available.contains(wgpu::Features::SUBGROUP),
            timestamps: available.contains(wgpu::Features::TIMESTAMP_QUERY),
        };
        for (on, f) in [
            (features.shader_f16, wgpu::Features::SHADER_F16),
            (features.subgroups, wgpu::Features::SUBGROUP),
            (features.timestamps, wgpu::Features::TIMESTAMP_QUERY),
        ] {
            if on {
                wanted |= f;
            }
        }
        // Ask for what the adapter offers: model weights need big buffers and bindings.
        let adapter_limits = adapter.limits();
        let limits = wgpu::Limits {
            max_storage_buffer_binding_size: adapter_limits.max_storage_buffer_binding_size,
            max_buffer_size: adapter_limits.max_buffer_size,
            max_storage_buffers_per_shader_stage: adapter_limits.max_storage_buffers_per_shader_stage.min(10),
            max_compute_workgroup_storage_size: adapter_limits.max_compute_workgroup_storage_size,
            max_compute_invocations_per_workgroup: adapter_limits.max_compute_invocations_per_workgroup,
            max_compute_workgroup_size_x: adapter_limits.max_compute_workgroup_size_x,
            max_compute_workgroups_per_dimension: adapter_limits.max_compute_workgroups_per_dimension,
            ..wgpu::Limits::downlevel_defaults()
        };
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("hearth"),
                required_features: wanted,
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|e| Error::NoGpu { reason: format!("the adapter refused a device: {e}") })?;
        let device_binding = limits.max_storage_buffer_binding_size.min(limits.max_buffer_size);
        let max_storage_binding = options.max_storage_binding.map_or(device_binding, |m| m.min(device_binding));
        let tuning = options.tuning.unwrap_or_else(|| Tuning::for_device(&info));
        let faults = Arc::new(Mutex::new(GpuFaults::default()));
        let f = faults.clone();
        device.on_uncaptured_error(Arc::new(move |e| {
            let mut f = f.lock().unwrap_or_else(|p| p.into_inner());
            f.uncaptured.get_or_insert_with(|| e.to_string());
        }));
        let f = faults.clone();
        device.set_device_lost_callback(move |reason, message| {
            let mut f = f.lock().unwrap_or_else(|p| p.into_inner());
            f.lost.get_or_insert_with(|| format!("{reason:?}: {message}"));
        });
        Ok(GpuContext { device, queue, info, features, max_storage_binding, limits, tuning, faults, owned: None })
    }

    /// A handle on the same device for one owner (a model): every buffer made through it
    /// (`create_buffer`, `create_buffer_init`, the f32 helpers) is destroyed when the last
    /// clone of the handle is dropped.
    pub fn scoped(&self) -> GpuContext {
        GpuContext { owned: Some(Arc::default()), ..self.clone() }
    }

    /// A buffer that lives as long as this handle's owner (or until dropped, unscoped).
    pub fn create_buffer(&self, desc: &wgpu::BufferDescriptor) -> wgpu::Buffer {
        self.keep(self.device.create_buffer(desc))
    }

    /// `create_buffer` with initial contents.
    pub fn create_buffer_init(&self, desc: &wgpu::util::BufferInitDescriptor) -> wgpu::Buffer {
        use wgpu::util::DeviceExt;
        self.keep(self.device.create_buffer_init(desc))
    }

    fn keep(&self, buffer: wgpu::Buffer) -> wgpu::Buffer {
        if let Some(owned) = &self.owned {
            owned.0.lock().unwrap_or_else(|p| p.into_inner()).push(buffer.clone());
        }
        buffer
    }

    /// Whether the device reported itself lost. In browsers that report comes a moment after
    /// the loss, so a failure just before it (a readback that could not map) is checked again.
    pub fn device_lost(&self) -> bool {
        self.faults.lock().unwrap_or_else(|p| p.into_inner()).lost.is_some()
    }

    /// An error for a lost device or an earlier uncaught GPU error, if there was one.
    pub fn check_faults(&self) -> Result<()> {
        let f = self.faults.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(reason) = &f.lost {
            return Err(Error::DeviceLost { reason: reason.clone() });
        }
        if let Some(e) = &f.uncaptured {
            return Err(Error::Gpu(e.clone()));
        }
        Ok(())
    }

    /// Runs `allocate` (which creates buffers) and turns a GPU out-of-memory error during
    /// it into `Error::OutOfMemory` naming `what`.
    pub async fn catch_out_of_memory<T>(&self, what: &str, allocate: impl FnOnce() -> Result<T>) -> Result<T> {
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let out = allocate();
        if let Some(e) = scope.pop().await {
            return Err(Error::OutOfMemory { what: what.to_string(), reason: e.to_string() });
        }
        out
    }

    /// "llvmpipe (Vulkan)", "NVIDIA H100 (Vulkan)", ...
    pub fn describe(&self) -> String {
        format!("{} ({:?})", self.info.name, self.info.backend)
    }
}
