//! How the KV cache stores its elements, shared by the kernels that write it
//! (shaders/rope_store.wgsl) and read it (shaders/attention*.wgsl): each gets the matching
//! snippet from shaders/kv/ prepended, which defines the cache's element types and how to
//! convert them, and the bindings and accessors generated here for where the cache lives (a
//! storage buffer, or an rgba32uint texture: `KvStore`), so one kernel body serves both
//! precisions and both stores.

use crate::error::{Error, Result};
use crate::gpu::GpuContext;

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

/// f16 elements per rgba32uint texel of a texture cache.
pub const KV_TEXEL_ELEMENTS: u32 = 8;

/// Where one layer's keys (or values) live: `[n_ctx × kv_dim]` elements in position order.
pub enum KvStore {
    /// A storage buffer (any device, either precision).
    Buffer(wgpu::Buffer),
    /// An rgba32uint texture of f16 elements, 8 to a texel: row `pos` holds position pos's
    /// kv_dim elements (kv_dim / 8 texels wide, n_ctx rows). Why (`Tuning::kv_texels`): llvmpipe
    /// turns every storage-buffer load into a loop over the SIMD lanes, but fetches texels
    /// with AVX2 gathers, and attention over a long context is bound by its cache loads.
    /// Attention binds it as a read-only storage texture, as the weight mirrors are
    /// (src/gpu/weight_texture.rs says why): SmolLM2's decode attention took 28% (512 keys) to
    /// 38% (2,048) less CPU time than through sampled fetches (2026-11-27).
    Texels { texture: wgpu::Texture, view: wgpu::TextureView },
}

impl KvStore {
    /// The store the tuning asks for: textures (`Tuning::kv_texels`) for an f16 cache whose
    /// heads fill whole texels, where the device's textures are large enough; else a buffer.
    /// The two take the same bytes (n_ctx × kv_dim × 2 in f16), which the load plan counts.
    pub fn for_tuning(ctx: &GpuContext, label: &str, precision: KvPrecision, head_dim: u32, kv_dim: u32, n_ctx: u32) -> KvStore {
        let texels = ctx.tuning.kv_texels && precision == KvPrecision::F16 && head_dim % KV_TEXEL_ELEMENTS == 0;
        texels
            .then(|| KvStore::texels(ctx, label, kv_dim, n_ctx))
            .flatten()
            .unwrap_or_else(|| KvStore::Buffer(ctx.f32_buffer(label, (KvStore::buffer_bytes(precision, kv_dim, n_ctx) / 4) as usize)))
    }

    /// Bytes of a buffer store: `n_ctx × kv_dim` elements of `precision` in whole 4-byte words.
    /// The one sizing rule, shared with the load plan's fit checks (`KvCache::layer_buffer_bytes`).
    pub fn buffer_bytes(precision: KvPrecision, kv_dim: u32, n_ctx: u32) -> u64 {
        (u64::from(n_ctx) * u64::from(kv_dim) * precision.bytes()).div_ceil(4) * 4
    }

    /// A texture cache of `n_ctx` positions of `kv_dim` f16 elements (a multiple of 8), or
    /// None where the device's 2D textures are too small for it.
    pub fn texels(ctx: &GpuContext, label: &str, kv_dim: u32, n_ctx: u32) -> Option<KvStore> {
        let width = kv_dim / KV_TEXEL_ELEMENTS;
        let max = ctx.limits.max_texture_dimension_2d;
        if kv_dim % KV_TEXEL_ELEMENTS != 0 || width == 0 || width > max || n_ctx == 0 || n_ctx > max {
            return None;
        }
        let texture = ctx.device.create_texture(&wgpu::TextureDescriptor {
            label: Some(label),
            size: wgpu::Extent3d { width, height: n_ctx, depth_or_array_layers: 1 },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::Rgba32Uint,
            // COPY_*: tests fill and read it.
            usage: wgpu::TextureUsages::STORAGE_BINDING
                | wgpu::TextureUsages::TEXTURE_BINDING
                | wgpu::TextureUsages::COPY_DST
                | wgpu::TextureUsages::COPY_SRC,
            view_formats: &[],
        });
        let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
        Some(KvStore::Texels { texture, view })
    }

    pub fn binding(&self) -> wgpu::BindingResource<'_> {
        match self {
            KvStore::Buffer(b) => b.as_entire_binding(),
            KvStore::Texels { view, .. } => wgpu::BindingResource::TextureView(view),
        }
    }

    /// Bytes on the GPU (a texture's are its texels: n_ctx × kv_dim × 2, as a buffer's).
    pub fn bytes(&self) -> u64 {
        match self {
            KvStore::Buffer(b) => b.size(),
            KvStore::Texels { texture, .. } => u64::from(texture.width()) * u64::from(texture.height()) * 16,
        }
    }

    pub fn is_texels(&self) -> bool {
        matches!(self, KvStore::Texels { .. })
    }

    /// Checks that this store holds `n_ctx` positions of `kv_dim` elements of `precision`
    /// (`what` names the kernel for the error).
    pub(crate) fn expect(&self, what: &str, precision: KvPrecision, kv_dim: u32, n_ctx: u32) -> Result<()> {
        match self {
            KvStore::Buffer(b) => {
                let need = u64::from(n_ctx) * u64::from(kv_dim) * precision.bytes();
                if b.size() < need {
                    return Err(Error::InvalidArgument(format!("{what}: a cache buffer of {} bytes, {need} needed", b.size())));
                }
            }
            KvStore::Texels { texture, .. } => {
                let (w, h) = (texture.width(), texture.height());
                if precision != KvPrecision::F16 || kv_dim % KV_TEXEL_ELEMENTS != 0 || w != kv_dim / KV_TEXEL_ELEMENTS || h < n_ctx {
                    return Err(Error::InvalidArgument(format!(
                        "{what}: a {w} x {h} texel cache for {n_ctx} positions of {kv_dim} {precision:?} elements \
                         (texel caches hold f16, kv_dim / 8 texels a position)"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// What the kernels need to know of a cache to be compiled for it: its precision and store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KvFormat {
    pub precision: KvPrecision,
    pub texels: bool,
}

impl KvFormat {
    pub(crate) fn of(precision: KvPrecision, store: &KvStore) -> KvFormat {
        KvFormat { precision, texels: store.is_texels() }
    }

    /// For kernel labels: F16, F32 or F16Texels.
    pub(crate) fn label(self) -> String {
        format!("{:?}{}", self.precision, if self.texels { "Texels" } else { "" })
    }

    /// The precision's snippet and the attention kernels' read side, keys at binding
    /// `binding` and values at the next (the kernels define V4, quads per head):
    /// `k_quad(j, c, row_quads)` is quad c (elements 4c .. 4c + 3) of position j's row, rows
    /// being `row_quads` quads long (a buffer's stride; a texture has a row per position);
    /// `key_dot(qv, j, kv_base, row_quads)` is q · key j of the head starting at quad kv_base,
    /// and `add_value(acc, j, kv_base, row_quads, correction, e)` sets acc to
    /// acc × correction + e × value j; `v_quad` likewise; `key_row(j, kv_base, row_quads)` and
    /// `value_row` return a whole row unpacked (and `KV_DOT_IN_PAIRS` says in which order
    /// key_dot sums, for kernels that score such rows). The row walks are one loop each, over quads or (a
    /// texture) texels: llvmpipe unrolls such a loop, and its 65,535-iteration limit per
    /// invocation (`attention::PER_QUERY_ROLLED_MAX_HEAD_DIM`) then counts keys, not quads (past
    /// 64 dims the thread-per-query kernels unroll them in the source); a loop over texels with
    /// one over their quads inside was not unrolled and went wrong past ~1,000 keys.
    ///
    /// With `shared_q` (kernels with `var<workgroup> q_shared: array<vec4<f32>, 64>`, the
    /// scaled query), also `key_dot_shared(j, kv_base, row_quads)`: q_shared · key j, one loop
    /// over the row's quads or texels (a texture's score takes half the fetches of a quad
    /// loop).
    pub(crate) fn reader_wgsl(self, binding: u32, shared_q: bool) -> String {
        let next = binding + 1;
        let key_dot_shared = match (shared_q, self.texels) {
            (false, _) => "",
            (true, true) => {
                "fn key_dot_shared(j: u32, kv_base: u32, row_quads: u32) -> f32 {
    var dot4 = vec4<f32>(0.0);
    for (var c = 0u; c < V4 / 2u; c++) {
        let t = textureLoad(k_texels, vec2<u32>((kv_base >> 1u) + c, j));
        dot4 += q_shared[2u * c] * kv_unpack4(t.xy) + q_shared[2u * c + 1u] * kv_unpack4(t.zw);
    }
    return (dot4.x + dot4.y) + (dot4.z + dot4.w);
}
"
            }
            (true, false) => {
                "fn key_dot_shared(j: u32, kv_base: u32, row_quads: u32) -> f32 {
    let kb = j * row_quads + kv_base;
    var dot4 = vec4<f32>(0.0);
    for (var d = 0u; d < V4; d++) {
        dot4 += q_shared[d] * kv_unpack4(k_cache[kb + d]);
    }
    return (dot4.x + dot4.y) + (dot4.z + dot4.w);
}
"
            }
        };
        let access = if self.texels {
            format!(
                "@group(0) @binding({binding}) var k_texels: texture_storage_2d<rgba32uint, read>;
@group(0) @binding({next}) var v_texels: texture_storage_2d<rgba32uint, read>;
fn k_quad(j: u32, c: u32, row_quads: u32) -> KvQuad {{
    let t = textureLoad(k_texels, vec2<u32>(c >> 1u, j));
    return select(t.zw, t.xy, (c & 1u) == 0u);
}}
fn v_quad(j: u32, c: u32, row_quads: u32) -> KvQuad {{
    let t = textureLoad(v_texels, vec2<u32>(c >> 1u, j));
    return select(t.zw, t.xy, (c & 1u) == 0u);
}}
// Whole texels: heads start on one (kv_base even; head_dim a multiple of 8).
fn key_dot(qv: ptr<function, array<vec4<f32>, V4>>, j: u32, kv_base: u32, row_quads: u32) -> f32 {{
    var dot4 = vec4<f32>(0.0);
    for (var c = 0u; c < V4 / 2u; c++) {{
        let t = textureLoad(k_texels, vec2<u32>((kv_base >> 1u) + c, j));
        dot4 += (*qv)[2u * c] * kv_unpack4(t.xy) + (*qv)[2u * c + 1u] * kv_unpack4(t.zw);
    }}
    return (dot4.x + dot4.y) + (dot4.z + dot4.w);
}}
fn add_value(acc: ptr<function, array<vec4<f32>, V4>>, j: u32, kv_base: u32, row_quads: u32, correction: f32, e: f32) {{
    for (var c = 0u; c < V4 / 2u; c++) {{
        let t = textureLoad(v_texels, vec2<u32>((kv_base >> 1u) + c, j));
        (*acc)[2u * c] = (*acc)[2u * c] * correction + e * kv_unpack4(t.xy);
        (*acc)[2u * c + 1u] = (*acc)[2u * c + 1u] * correction + e * kv_unpack4(t.zw);
    }}
}}
// A whole key or value row, unpacked (shaders/attention_kv_group.wgsl), and the order key_dot
// sums a score in: a texel's two quads at a time.
const KV_DOT_IN_PAIRS: bool = true;
fn texel_row(texels: texture_storage_2d<rgba32uint, read>, j: u32, kv_base: u32) -> array<vec4<f32>, V4> {{
    var row: array<vec4<f32>, V4>;
    for (var c = 0u; c < V4 / 2u; c++) {{
        let t = textureLoad(texels, vec2<u32>((kv_base >> 1u) + c, j));
        row[2u * c] = kv_unpack4(t.xy);
        row[2u * c + 1u] = kv_unpack4(t.zw);
    }}
    return row;
}}
fn key_row(j: u32, kv_base: u32, row_quads: u32) -> array<vec4<f32>, V4> {{
    return texel_row(k_texels, j, kv_base);
}}
fn value_row(j: u32, kv_base: u32, row_quads: u32) -> array<vec4<f32>, V4> {{
    return texel_row(v_texels, j, kv_base);
}}
"
            )
        } else {
            format!(
                "@group(0) @binding({binding}) var<storage, read> k_cache: array<KvQuad>;
@group(0) @binding({next}) var<storage, read> v_cache: array<KvQuad>;
fn k_quad(j: u32, c: u32, row_quads: u32) -> KvQuad {{
    return k_cache[j * row_quads + c];
}}
fn v_quad(j: u32, c: u32, row_quads: u32) -> KvQuad {{
    return v_cache[j * row_quads + c];
}}
fn key_dot(qv: ptr<function, array<vec4<f32>, V4>>, j: u32, kv_base: u32, row_quads: u32) -> f32 {{
    let kb = j * row_quads + kv_base;
    var dot4 = vec4<f32>(0.0);
    for (var d = 0u; d < V4; d++) {{
        dot4 += (*qv)[d] * kv_unpack4(k_cache[kb + d]);
    }}
    return (dot4.x + dot4.y) + (dot4.z + dot4.w);
}}
fn add_value(acc: ptr<function, array<vec4<f32>, V4>>, j: u32, kv_base: u32, row_quads: u32, correction: f32, e: f32) {{
    let kb = j * row_quads + kv_base;
    for (var d = 0u; d < V4; d++) {{
        (*acc)[d] = (*acc)[d] * correction + e * kv_unpack4(v_cache[kb + d]);
    }}
}}
const KV_DOT_IN_PAIRS: bool = false;
fn key_row(j: u32, kv_base: u32, row_quads: u32) -> array<vec4<f32>, V4> {{
    var row: array<vec4<f32>, V4>;
    for (var d = 0u; d < V4; d++) {{
        row[d] = kv_unpack4(k_cache[j * row_quads + kv_base + d]);
    }}
    return row;
}}
fn value_row(j: u32, kv_base: u32, row_quads: u32) -> array<vec4<f32>, V4> {{
    var row: array<vec4<f32>, V4>;
    for (var d = 0u; d < V4; d++) {{
        row[d] = kv_unpack4(v_cache[j * row_quads + kv_base + d]);
    }}
    return row;
}}
"
            )
        };
        self.precision.wgsl().to_string() + &access + key_dot_shared
    }

    /// The precision's snippet and rope_store's write side, keys at binding `binding` and
    /// values at the next: `k_store(pos, c, row_pairs, w)` writes the KV_STORE_PAIRS pairs `w`
    /// as pairs c .. of position pos's row (rows of `row_pairs` pairs in a buffer; c a
    /// multiple of KV_STORE_PAIRS: a whole texel of a texture); `v_store` likewise.
    pub(crate) fn writer_wgsl(self, binding: u32) -> String {
        let next = binding + 1;
        let access = if self.texels {
            format!(
                "@group(0) @binding({binding}) var k_texels: texture_storage_2d<rgba32uint, write>;
@group(0) @binding({next}) var v_texels: texture_storage_2d<rgba32uint, write>;
const KV_STORE_PAIRS: u32 = 4u;
fn k_store(pos: u32, c: u32, row_pairs: u32, w: array<KvPair, 4>) {{
    textureStore(k_texels, vec2<u32>(c >> 2u, pos), vec4<u32>(w[0], w[1], w[2], w[3]));
}}
fn v_store(pos: u32, c: u32, row_pairs: u32, w: array<KvPair, 4>) {{
    textureStore(v_texels, vec2<u32>(c >> 2u, pos), vec4<u32>(w[0], w[1], w[2], w[3]));
}}
"
            )
        } else {
            format!(
                "@group(0) @binding({binding}) var<storage, read_write> k_cache: array<KvPair>;
@group(0) @binding({next}) var<storage, read_write> v_cache: array<KvPair>;
const KV_STORE_PAIRS: u32 = 1u;
fn k_store(pos: u32, c: u32, row_pairs: u32, w: array<KvPair, 1>) {{
    k_cache[pos * row_pairs + c] = w[0];
}}
fn v_store(pos: u32, c: u32, row_pairs: u32, w: array<KvPair, 1>) {{
    v_cache[pos * row_pairs + c] = w[0];
}}
"
            )
        };
        self.precision.wgsl().to_string() + &access
    }
}
