//! How the KV cache stores its elements, shared by the kernels that write it
//! (shaders/rope_store.wgsl) and read it (shaders/attention.wgsl): each gets the matching
//! snippet from shaders/kv/ prepended, which defines the cache's element types and how to
//! convert them, so one kernel body serves both precisions.

/// The element type of the key/value cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum KvPrecision {
    /// f16 packed two per u32: half the memory and half the bytes attention reads of f32,
    /// with no need for the optional shader-f16 feature (llama.cpp's default cache is f16 too).
    #[default]
    F16,
    /// f32: exact, for comparisons with an exact reference (tests/models/model_tiny.rs).
    F32,
}

impl KvPrecision {
    /// Bytes one cached element takes.
    pub const fn bytes(self) -> u64 {
        match self {
            KvPrecision::F16 => 2,
            KvPrecision::F32 => 4,
        }
    }

    /// The WGSL snippet defining `KvPair`, `KvQuad`, `kv_pack` and `kv_unpack4`.
    pub(crate) fn wgsl(self) -> &'static str {
        match self {
            KvPrecision::F16 => include_str!("../../shaders/kv/f16.wgsl"),
            KvPrecision::F32 => include_str!("../../shaders/kv/f32.wgsl"),
        }
    }
}
