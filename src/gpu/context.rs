//! The GPU device: adapter selection, the limits we ask for, and the optional features we
//! use when the adapter has them. Everything must also work without any optional feature
//! (SwiftShader in headless Chromium has no shader-f16).

use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::gpu::Tuning;

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

/// Optional capabilities, decided once from the adapter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GpuFeatures {
    pub shader_f16: bool,
    pub subgroups: bool,
    pub timestamps: bool,
    /// WGSL's `packed_4x8_integer_dot_product` language feature (dot4I8Packed, pack4xI8):
    /// always natively (naga lowers it to SPIR-V's SDot or to plain integer code), in
    /// browsers where `navigator.gpu.wgslLanguageFeatures` lists it.
    pub packed_dot: bool,
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
        let packed_dot = instance.wgsl_language_features().contains(wgpu::WgslLanguageFeatures::Packed4x8IntegerDotProduct);
        Self::from_adapter(adapter, options, packed_dot).await
    }

    /// `packed_dot`: the instance offers WGSL's packed_4x8_integer_dot_product (an instance
    /// fact, not the adapter's).
    pub async fn from_adapter(adapter: wgpu::Adapter, options: GpuOptions, packed_dot: bool) -> Result<GpuContext> {
        let info = adapter.get_info();
        let available = adapter.features();
        let mut wanted = wgpu::Features::empty();
        let features = GpuFeatures {
            shader_f16: available.contains(wgpu::Features::SHADER_F16),
            subgroups: available.contains(wgpu::Features::SUBGROUP),
            timestamps: available.contains(wgpu::Features::TIMESTAMP_QUERY),
            packed_dot,
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
            max_uniform_buffer_binding_size: adapter_limits.max_uniform_buffer_binding_size,
            max_buffer_size: adapter_limits.max_buffer_size,
            // Weight mirrors in textures (src/gpu/weight_texture.rs) are 4,096 texels wide.
            max_texture_dimension_2d: adapter_limits.max_texture_dimension_2d,
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
