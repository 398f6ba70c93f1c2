//! Compute pipelines, compiled once per typed spec and cached. A spec names a kernel
//! family and what it is specialised for (the weight format), so a typo is a compile
//! error and an invalid shader is an `Error::Gpu` from the first test that builds it.

use std::cell::RefCell;
use std::collections::HashMap;

use super::context::GpuContext;
use super::matmul_fusion::{MatmulEpilogue, MatmulNorm};
use super::unroll::{SPEED_LIMITS, UnrollLimits, unroll_loops_within};
use crate::error::{Error, Result};
use crate::kernels::attention::PER_QUERY_ROLLED_MAX_HEAD_DIM;
use crate::kernels::kv::KvFormat;
use crate::quant::chunk_group::{ChunkGroup, chunk_group_wgsl};
use crate::quant::raw_chunks::raw_chunk_wgsl;
use crate::quant::shader::MatrixFormats;
use crate::quant::{self, DType};

/// Every compute pipeline Hearth builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// Quantised matrix × activations (shaders/matmul.wgsl) for weights in these formats (row
    /// segments of one matrix, one dispatch: src/quant/shader.rs's matrix_wgsl),
    /// with this many threads per workgroup, threads sharing a row (a power of two up to
    /// the workgroup), rows per thread and tokens per workgroup (1 for decode).
    /// `subgroup_reduce`: a row's lanes summed by subgroup shuffles (shaders/matmul_subgroup.wgsl)
    /// rather than through workgroup memory; only where the device has subgroups. `norm`: the
    /// input's RMSNorm prologue, `epilogue`: what happens to each output (src/gpu/matmul_fusion.rs).
    Matmul {
        formats: MatrixFormats,
        workgroup_size: u32,
        threads_per_row: u32,
        rows_per_thread: u32,
        /// A thread's rows every (workgroup / threads_per_row)-th rather than consecutive
        /// (`Tuning::matmul_decode_rows_interleaved`).
        rows_interleaved: bool,
        tokens_per_group: u32,
        subgroup_reduce: bool,
        norm: MatmulNorm,
        epilogue: MatmulEpilogue,
        /// 0: x is a storage array; else x is a uniform array of this many vec4s, the one row
        /// a decode GEMV reads (`Tuning::matmul_x_uniform`).
        x_uniform_vec4s: u32,
        /// 0: w is a storage array; else w is read from an rgba32uint texture this many texels
        /// wide that mirrors the weights' buffer (`Tuning::matmul_w_texture`), every segment
        /// of the matrix starting on a texel.
        w_texture_width: u32,
        /// From the texture, consecutive blocks of a row fetched a group at a time
        /// (src/quant/chunk_group.rs); None: a block at a time.
        chunk_group: Option<ChunkGroup>,
        /// The blocks read raw, each row's dot scaled once a chunk (src/quant/raw_chunks.rs,
        /// `Tuning::matmul_raw_chunks`): only for a matrix of one format that has raw readers.
        raw_chunks: bool,
    },
    /// Register-tiled batched matrix × activations (shaders/gemm.wgsl) for weights in these
    /// formats: tiles of weight rows × tokens per workgroup, and per thread.
    Gemm {
        formats: MatrixFormats,
        tile_rows: u32,
        tile_tokens: u32,
        thread_rows: u32,
        thread_tokens: u32,
        /// Thread groups splitting the columns (Tuning::matmul_gemm_k_split).
        k_split: u32,
        /// On 8-bit integers (shaders/gemm_dp4a.wgsl) rather than f32 (shaders/gemm.wgsl).
        dp4a: bool,
        norm: MatmulNorm,
        epilogue: MatmulEpilogue,
    },
    /// Embedding row gather (shaders/embed.wgsl) from a matrix in this format.
    Embed(DType),
    RmsNorm,
    /// Post-norm residual add fused with the next norm (shaders/residual_norm.wgsl).
    ResidualNorm,
    /// Per-head q/k norm, RoPE and the KV-cache append (shaders/rope_store.wgsl) for a cache
    /// of this precision and store.
    /// `per_head_workgroup`: a workgroup per (token, head) sharing the head's elements (GPUs)
    /// instead of a thread per (token, head) (CPU-like devices).
    RopeStore {
        kv: KvFormat,
        per_head_workgroup: bool,
    },
    /// Attention (shaders/attention.wgsl) for heads of this size, with a workgroup per
    /// query (GPUs) or a thread per query (CPU-like devices), over a cache of this precision
    /// and store.
    /// `query_ranges` > 0: that many threads per query, each a range of its keys
    /// (shaders/attention_per_range.wgsl; decode on CPU-like devices); and `group` > 1 with
    /// them or a thread per query: a thread's range, or all its keys, for that many queries
    /// sharing a kv head (shaders/attention_kv_group.wgsl).
    Attention {
        head_dim: u32,
        thread_per_query: bool,
        query_ranges: u32,
        group: u32,
        kv: KvFormat,
    },
    /// Tiled attention for batches (shaders/attention_tiled.wgsl): `lanes` threads per query,
    /// `block_keys` keys and values staged per step, over a cache of this precision.
    AttentionTiled {
        head_dim: u32,
        kv: KvFormat,
        lanes: u32,
        block_keys: u32,
    },
    /// Split-K attention's first pass (shaders/attention_split.wgsl): partial softmaxes of
    /// key ranges, for heads of this size over a cache of this precision.
    AttentionSplit {
        head_dim: u32,
        kv: KvFormat,
    },
    /// Split-K attention's merge of the partials (shaders/attention_split_merge.wgsl).
    AttentionSplitMerge {
        head_dim: u32,
    },
    Elementwise(ElementwiseOp),
    /// Greedy pick, first pass: each workgroup's best of its span (shaders/argmax.wgsl), in
    /// workgroups of this many threads reading `per_thread` values each.
    Argmax {
        workgroup_size: u32,
        per_thread: u32,
    },
    /// Greedy pick, second pass: the best of the first pass's (shaders/argmax_merge.wgsl).
    ArgmaxMerge {
        workgroup_size: u32,
    },
    /// Full sampling of one logits row (shaders/sample.wgsl).
    Sample,
}

/// The entry points of shaders/elementwise.wgsl.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ElementwiseOp {
    SwiGlu,
    GeGluTanh,
}

impl ElementwiseOp {
    pub(super) fn entry_point(self) -> &'static str {
        match self {
            ElementwiseOp::SwiGlu => "swiglu",
            ElementwiseOp::GeGluTanh => "geglu_tanh",
        }
    }
}

impl Kernel {
    fn label(self) -> String {
        match self {
            Kernel::Matmul {
                formats,
                workgroup_size,
                threads_per_row,
                rows_per_thread,
                rows_interleaved,
                tokens_per_group,
                subgroup_reduce,
                norm,
                epilogue,
                x_uniform_vec4s,
                w_texture_width,
                chunk_group,
                raw_chunks,
            } => {
                let sg = if subgroup_reduce { "_sg" } else { "" };
                let xu = if x_uniform_vec4s > 0 { format!("_xu{x_uniform_vec4s}") } else { String::new() };
                let wt = if w_texture_width > 0 { format!("_wt{w_texture_width}") } else { String::new() };
                let group = chunk_group.map_or(String::new(), ChunkGroup::label);
                let ri = if rows_interleaved { "i" } else { "" };
                let raw = if raw_chunks { "_raw" } else { "" };
                format!(
                    "matmul_{formats}_w{workgroup_size}_t{threads_per_row}_r{rows_per_thread}{ri}_n{tokens_per_group}{sg}{xu}{wt}{group}{raw}{}{}",
                    norm.label(),
                    epilogue.label()
                )
            }
            Kernel::Gemm { formats, tile_rows, tile_tokens, thread_rows, thread_tokens, k_split, dp4a, norm, epilogue } => {
                format!(
                    "gemm{}_{formats}_{tile_rows}x{tile_tokens}_{thread_rows}x{thread_tokens}_k{k_split}{}{}",
                    if dp4a { "_dp4a" } else { "" },
                    norm.label(),
                    epilogue.label()
                )
            }
            Kernel::Embed(d) => format!("embed_{d}"),
            Kernel::Attention { head_dim, thread_per_query, query_ranges, group, kv } => {
                let layout = if query_ranges > 0 && group > 1 {
                    format!("per_range{query_ranges}_group{group}")
                } else if query_ranges > 0 {
                    format!("per_range{query_ranges}")
                } else if thread_per_query && group > 1 {
                    format!("per_query_group{group}")
                } else if thread_per_query {
                    "per_query".into()
                } else {
                    "per_workgroup".into()
                };
                format!("attention_d{head_dim}_{layout}_{}", kv.label())
            }
            Kernel::AttentionTiled { head_dim, kv, lanes, block_keys } => {
                format!("attention_tiled_d{head_dim}_{}_l{lanes}_k{block_keys}", kv.label())
            }
            Kernel::AttentionSplit { head_dim, kv } => format!("attention_split_d{head_dim}_{}", kv.label()),
            Kernel::AttentionSplitMerge { head_dim } => format!("attention_split_merge_d{head_dim}"),
            Kernel::RopeStore { kv, per_head_workgroup } => {
                format!("rope_store_{}{}", kv.label(), if per_head_workgroup { "_wg" } else { "" })
            }
            Kernel::Elementwise(op) => op.entry_point().to_string(),
            Kernel::Argmax { workgroup_size, per_thread } => format!("argmax_w{workgroup_size}_p{per_thread}"),
            Kernel::ArgmaxMerge { workgroup_size } => format!("argmax_merge_w{workgroup_size}"),
            other => format!("{other:?}").to_lowercase(),
        }
    }

    /// The op kind profiles group by: the kernel family, and the weight format of matmuls
    /// and embeddings (their cost depends on it).
    pub fn kind(self) -> String {
        match self {
            Kernel::Matmul { formats, .. } | Kernel::Gemm { formats, .. } => format!("matmul {formats}"),
            Kernel::Embed(d) => format!("embed {d}"),
            // The split pass is attention's work; the merge is the cost of splitting.
            Kernel::Attention { .. } | Kernel::AttentionTiled { .. } | Kernel::AttentionSplit { .. } => "attention".into(),
            Kernel::AttentionSplitMerge { .. } => "attention merge".into(),
            Kernel::RopeStore { .. } => "rope_store".into(),
            Kernel::ResidualNorm => "residual_norm".into(),
            Kernel::Elementwise(op) => op.entry_point().to_string(),
            Kernel::Argmax { .. } | Kernel::ArgmaxMerge { .. } => "argmax".into(),
            other => format!("{other:?}").to_lowercase(),
        }
    }

    fn entry_point(self) -> &'static str {
        match self {
            Kernel::Elementwise(op) => op.entry_point(),
            Kernel::Attention { query_ranges: 1.., group: 2.., .. } => "per_range_group",
            Kernel::Attention { query_ranges: 1.., .. } => "per_range",
            Kernel::Attention { thread_per_query: true, group: 2.., .. } => "per_query_group",
            Kernel::Attention { thread_per_query: true, .. } => "per_query",
            Kernel::RopeStore { per_head_workgroup: true, .. } => "per_head",
            _ => "main",
        }
    }

    /// Whether the kernel reads the per-step uniform (shaders/step.wgsl).
    fn reads_step(self) -> bool {
        matches!(
            self,
            Kernel::Matmul { .. }
                | Kernel::Gemm { .. }
                | Kernel::RmsNorm
                | Kernel::ResidualNorm
                | Kernel::RopeStore { .. }
                | Kernel::Attention { .. }
                | Kernel::AttentionTiled { .. }
                | Kernel::AttentionSplit { .. }
                | Kernel::AttentionSplitMerge { .. }
                | Kernel::Elementwise(_)
                | Kernel::Argmax { .. }
        )
    }

    /// The assembled WGSL: the step uniform's struct and the format's snippet (where used)
    /// in front of the kernel body.
    /// `unroll`: the limits within which the device's tuning asks for this kernel's loops
    /// unrolled (`Tuning::unroll_loops`, `unroll_max_bytes`, `unroll_gemm_max_bytes`; see
    /// `Kernel::unroll_max_bytes`), or None.
    pub fn source(self, unroll: Option<UnrollLimits>) -> String {
        let step = if self.reads_step() { include_str!("../../shaders/step.wgsl") } else { "" };
        let source = step.to_string() + &self.body();
        if let Some(limits) = self.must_unroll() {
            unroll_loops_within(&source, limits)
        } else if let Some(limits) = unroll {
            unroll_loops_within(&source, limits)
        } else {
            source
        }
    }

    /// Kernels whose constant loops are unrolled on every device because they are only right
    /// (or only fast) unrolled: a thread-per-query attention for heads past
    /// `attention::PER_QUERY_ROLLED_MAX_HEAD_DIM`, whose per-key row walks would otherwise
    /// count towards llvmpipe's 65,535 loop iterations per invocation (every loop but the key
    /// loop then runs once per invocation: the query's load, its output, the ranges' merge).
    fn must_unroll(self) -> Option<UnrollLimits> {
        match self {
            Kernel::Attention { head_dim, thread_per_query: true, .. } if head_dim > PER_QUERY_ROLLED_MAX_HEAD_DIM => {
                // Up to a walk over a 256-dim head's 64 quads, each a few lines.
                Some(UnrollLimits { max_trips: 64, max_expanded_bytes: 64 * 1024 })
            }
            // The kv-group kernel's loops over its queries and their rows index private
            // arrays; left as loops, lavapipe ran it 4x slower than a query a lane.
            Kernel::Attention { group: 2.., .. } => Some(UnrollLimits { max_trips: 64, max_expanded_bytes: 64 * 1024 }),
            _ => None,
        }
    }

    /// How long an unrolled loop of this kernel may become where the tuning unrolls loops
    /// (src/gpu/unroll.rs), 0 for none: the matmuls, whose inner loops index private arrays,
    /// which SwiftShader's JIT would otherwise run as per-lane memory gathers, and NVIDIA's
    /// Vulkan compiler kept in memory too (`Tuning::unroll_max_bytes`); the GEMM (GPUs only)
    /// by a limit of its own (`Tuning::unroll_gemm_max_bytes`). (Attention and the embedding
    /// gained too little on SwiftShader for their longer compile.)
    fn unroll_max_bytes(self, t: &super::Tuning) -> u32 {
        match self {
            Kernel::Matmul { .. } => t.unroll_max_bytes,
            Kernel::Gemm { .. } => t.unroll_gemm_max_bytes,
            _ => 0,
        }
    }

    fn body(self) -> String {
        match self {
            Kernel::Matmul {
                formats,
                workgroup_size,
                threads_per_row,
                rows_per_thread,
                rows_interleaved,
                tokens_per_group,
                subgroup_reduce,
                norm,
                epilogue,
                x_uniform_vec4s,
                w_texture_width,
                chunk_group,
                raw_chunks,
            } => {
                let raw = raw_chunks.then(|| formats.as_slice()[0]);
                let reduce = if subgroup_reduce {
                    include_str!("../../shaders/matmul_subgroup.wgsl")
                } else {
                    // Never called; shaders without subgroups must not name subgroup builtins.
                    "fn row_sum_in_subgroup(v: f32) -> f32 { return v; }\n"
                };
                format!(
                    "const WG: u32 = {workgroup_size}u;\nconst THREADS_PER_ROW: u32 = {threads_per_row}u;\n\
                     const ROWS_PER_THREAD: u32 = {rows_per_thread}u;\nconst ROWS_INTERLEAVED: bool = {rows_interleaved};\n\
                     const TOKENS_PER_GROUP: u32 = {tokens_per_group}u;\n\
                     const SUBGROUP_REDUCE: bool = {subgroup_reduce};\n"
                ) + reduce
                    + &epilogue.wgsl()
                    + include_str!("../../shaders/activation.wgsl")
                    + &quant::shader::matrix_wgsl(formats)
                    + &matmul_w_binding(w_texture_width)
                    + &raw_chunk_wgsl(raw)
                    + &chunk_group_wgsl(chunk_group, raw_chunks)
                    + &matmul_x_binding(x_uniform_vec4s)
                    + include_str!("../../shaders/matmul_bindings.wgsl")
                    + &norm.wgsl(5 + epilogue.bindings(), workgroup_size, tokens_per_group, threads_per_row > 1)
                    + include_str!("../../shaders/matmul.wgsl")
            }
            Kernel::Gemm { formats, tile_rows, tile_tokens, thread_rows, thread_tokens, k_split, dp4a, norm, epilogue } => {
                let workgroup_size = (tile_rows / thread_rows) * (tile_tokens / thread_tokens) * k_split;
                let red_len = ((k_split - 1) * tile_rows * tile_tokens).max(1);
                let body = if dp4a { include_str!("../../shaders/gemm_dp4a.wgsl") } else { include_str!("../../shaders/gemm.wgsl") };
                format!(
                    "const TILE_ROWS: u32 = {tile_rows}u;\nconst TILE_TOKENS: u32 = {tile_tokens}u;\n\
                     const THREAD_ROWS: u32 = {thread_rows}u;\nconst THREAD_TOKENS: u32 = {thread_tokens}u;\n\
                     const K_SPLIT: u32 = {k_split}u;\nconst RED_LEN: u32 = {red_len}u;\n"
                ) + &epilogue.wgsl()
                    + include_str!("../../shaders/activation.wgsl")
                    + &quant::shader::matrix_wgsl(formats)
                    + &matmul_w_binding(0)
                    + &matmul_x_binding(0)
                    + include_str!("../../shaders/matmul_bindings.wgsl")
                    + &norm.wgsl(5 + epilogue.bindings(), workgroup_size, tile_tokens, true)
                    + include_str!("../../shaders/gemm_common.wgsl")
                    + body
            }
            Kernel::Embed(d) => quant::shader::wgsl(d) + &matmul_w_binding(0) + include_str!("../../shaders/embed.wgsl"),
            Kernel::RmsNorm => include_str!("../../shaders/rmsnorm.wgsl").into(),
            Kernel::ResidualNorm => include_str!("../../shaders/residual_norm.wgsl").into(),
            Kernel::RopeStore { kv, .. } => kv.writer_wgsl(5) + include_str!("../../shaders/rope_store.wgsl"),
            Kernel::Attention { head_dim, kv, query_ranges, group, .. } => {
                let source = format!("const HEAD_DIM: u32 = {head_dim}u;\n")
                    + &kv.reader_wgsl(1, true)
                    + include_str!("../../shaders/attention_common.wgsl")
                    + include_str!("../../shaders/attention.wgsl");
                // The kv-group module holds both its entry points (a thread per unit: RANGES 1).
                let ranges =
                    format!("const RANGES: u32 = {}u;\n", query_ranges.max(1)) + include_str!("../../shaders/attention_ranges.wgsl");
                if group > 1 {
                    source + &ranges + &format!("const GROUP: u32 = {group}u;\n") + include_str!("../../shaders/attention_kv_group.wgsl")
                } else if query_ranges > 0 {
                    source + &ranges + include_str!("../../shaders/attention_per_range.wgsl")
                } else {
                    source
                }
            }
            Kernel::AttentionTiled { head_dim, kv, lanes, block_keys } => {
                let partial = if lanes > 1 { 64 * block_keys } else { 1 };
                format!(
                    "const HEAD_DIM: u32 = {head_dim}u;\nconst LANES: u32 = {lanes}u;\nconst BLOCK_KEYS: u32 = {block_keys}u;\n\
                     const PARTIAL_LEN: u32 = {partial}u;\n"
                ) + &kv.reader_wgsl(1, false)
                    + include_str!("../../shaders/attention_common.wgsl")
                    + include_str!("../../shaders/attention_tiled.wgsl")
            }
            Kernel::AttentionSplit { head_dim, kv } => {
                format!("const HEAD_DIM: u32 = {head_dim}u;\n")
                    + &kv.reader_wgsl(1, true)
                    + include_str!("../../shaders/attention_split_range.wgsl")
                    + include_str!("../../shaders/attention_split.wgsl")
            }
            Kernel::AttentionSplitMerge { head_dim } => {
                format!("const HEAD_DIM: u32 = {head_dim}u;\n")
                    + include_str!("../../shaders/attention_split_range.wgsl")
                    + include_str!("../../shaders/attention_split_merge.wgsl")
            }
            Kernel::Elementwise(_) => {
                include_str!("../../shaders/activation.wgsl").to_string() + include_str!("../../shaders/elementwise.wgsl")
            }
            Kernel::Argmax { workgroup_size, per_thread } => {
                format!("const WG: u32 = {workgroup_size}u;\nconst PER_THREAD: u32 = {per_thread}u;\n")
                    + include_str!("../../shaders/argmax_common.wgsl")
                    + include_str!("../../shaders/argmax.wgsl")
            }
            Kernel::ArgmaxMerge { workgroup_size } => {
                format!("const WG: u32 = {workgroup_size}u;\n")
                    + include_str!("../../shaders/argmax_common.wgsl")
                    + include_str!("../../shaders/argmax_merge.wgsl")
            }
            Kernel::Sample => include_str!("../../shaders/sample.wgsl").to_string() + include_str!("../../shaders/sample_list.wgsl"),
        }
    }
}

/// The matmuls' input binding (shaders/matmul_bindings.wgsl): a storage array, or with
/// `uniform_vec4s` > 0 a uniform array of that many vec4s (`Tuning::matmul_x_uniform`).
fn matmul_x_binding(uniform_vec4s: u32) -> String {
    if uniform_vec4s > 0 {
        format!("@group(0) @binding(1) var<uniform> x: array<vec4<f32>, {uniform_vec4s}>;\n")
    } else {
        "@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;\n".to_string()
    }
}

/// The weights' binding (binding 0 of the matmuls and the embedding) and its readers, which
/// the quant snippets call (shaders/quant/common.wgsl): `w_word(i)`, word i of the weights,
/// `w_quad(i)`, words i .. i + 3, `w_oct(i)`, words i .. i + 7, and `w_word_quad(i)` and
/// `w_word_oct(i)`, word i and the 4 or 8 after it. A storage array, or with `texture_width` > 0 an
/// rgba32uint texture of that many texels per row holding the same words in order
/// (`Tuning::matmul_w_texture`, src/gpu/weight_texture.rs; bound as a read-only storage
/// texture, which llvmpipe reads faster than a sampled one), where a quad is two texel fetches
/// and a shuffle rather than four, an oct three rather than eight, a word and a quad two, a
/// word and an oct three.
///
/// Then the readers of words whose alignment the snippets know, every segment of a matrix
/// starting on a texel of the mirror (src/kernels/matmul.rs takes the texture only then):
/// `w_quad_at_texel(i)` and `w_oct_at_texel(i)` for an i that is a multiple of 4 (a block of
/// Q4_K, Q5_K, Q3_K or Q6_K, whose blocks are whole texels), one and two fetches rather than two
/// and three; `w_six_at_even(i)`, words i .. i + 5 for an even i (Q5_0 and Q5_1 blocks of 6
/// words), two fetches rather than three (or four separate reads). Why: llvmpipe's texel
/// fetches took ~half of a decode GEMV's time (perf, 2026-11-27), and a K-quant chunk read
/// 6 to 23 texels for its 16-24 bytes of weights.
fn matmul_w_binding(texture_width: u32) -> String {
    if texture_width > 0 {
        format!(
            "@group(0) @binding(0) var w_texels: texture_storage_2d<rgba32uint, read>;
fn w_texel(t: u32) -> vec4<u32> {{
    return textureLoad(w_texels, vec2<u32>(t % {texture_width}u, t / {texture_width}u));
}}
fn w_word(i: u32) -> u32 {{
    return w_texel(i >> 2u)[i & 3u];
}}
// Words o .. o + 3 of the texels a, b.
fn words_from(a: vec4<u32>, b: vec4<u32>, o: u32) -> vec4<u32> {{
    return select(select(select(vec4<u32>(a.w, b.xyz), vec4<u32>(a.zw, b.xy), o == 2u), vec4<u32>(a.yzw, b.x), o == 1u), a, o == 0u);
}}
fn w_quad(i: u32) -> vec4<u32> {{
    return words_from(w_texel(i >> 2u), w_texel((i >> 2u) + 1u), i & 3u);
}}
fn w_oct(i: u32) -> array<vec4<u32>, 2> {{
    let b = w_texel((i >> 2u) + 1u);
    return array<vec4<u32>, 2>(words_from(w_texel(i >> 2u), b, i & 3u), words_from(b, w_texel((i >> 2u) + 2u), i & 3u));
}}
// Words o + 1 .. o + 4 of the texels a, b (b itself when o = 3).
fn words_after(a: vec4<u32>, b: vec4<u32>, o: u32) -> vec4<u32> {{
    return select(words_from(a, b, o + 1u), b, o == 3u);
}}
fn w_word_quad(i: u32) -> WordQuad {{
    let a = w_texel(i >> 2u);
    let b = w_texel((i >> 2u) + 1u);
    return WordQuad(a[i & 3u], words_after(a, b, i & 3u));
}}
fn w_word_oct(i: u32) -> WordOct {{
    let a = w_texel(i >> 2u);
    let b = w_texel((i >> 2u) + 1u);
    let c = w_texel((i >> 2u) + 2u);
    return WordOct(a[i & 3u], array<vec4<u32>, 2>(words_after(a, b, i & 3u), words_after(b, c, i & 3u)));
}}
fn w_quad_at_texel(i: u32) -> vec4<u32> {{
    return w_texel(i >> 2u);
}}
fn w_oct_at_texel(i: u32) -> array<vec4<u32>, 2> {{
    return array<vec4<u32>, 2>(w_texel(i >> 2u), w_texel((i >> 2u) + 1u));
}}
fn w_six_at_even(i: u32) -> array<vec4<u32>, 2> {{
    let a = w_texel(i >> 2u);
    let b = w_texel((i >> 2u) + 1u);
    let mid = (i & 2u) != 0u;
    return array<vec4<u32>, 2>(select(a, vec4<u32>(a.zw, b.xy), mid), vec4<u32>(select(b.xy, b.zw, mid), 0u, 0u));
}}
"
        )
    } else {
        "@group(0) @binding(0) var<storage, read> w: array<u32>;
fn w_word(i: u32) -> u32 {
    return w[i];
}
fn w_quad(i: u32) -> vec4<u32> {
    return vec4<u32>(w[i], w[i + 1u], w[i + 2u], w[i + 3u]);
}
fn w_oct(i: u32) -> array<vec4<u32>, 2> {
    return array<vec4<u32>, 2>(w_quad(i), w_quad(i + 4u));
}
fn w_word_quad(i: u32) -> WordQuad {
    return WordQuad(w[i], w_quad(i + 1u));
}
fn w_word_oct(i: u32) -> WordOct {
    return WordOct(w[i], w_oct(i + 1u));
}
fn w_quad_at_texel(i: u32) -> vec4<u32> {
    return w_quad(i);
}
fn w_oct_at_texel(i: u32) -> array<vec4<u32>, 2> {
    return w_oct(i);
}
fn w_six_at_even(i: u32) -> array<vec4<u32>, 2> {
    return array<vec4<u32>, 2>(w_quad(i), vec4<u32>(w[i + 4u], w[i + 5u], 0u, 0u));
}
"
        .to_string()
    }
}

#[derive(Default)]
pub struct PipelineCache {
    pipelines: RefCell<HashMap<Kernel, wgpu::ComputePipeline>>,
}

impl PipelineCache {
    /// The labels of the kernels compiled so far (tests check which variant ran).
    pub fn labels(&self) -> Vec<String> {
        self.pipelines.borrow().keys().map(|k| k.label()).collect()
    }

    /// The pipeline for `kernel`, compiling it on first use.
    pub async fn get(&self, ctx: &GpuContext, kernel: Kernel) -> Result<wgpu::ComputePipeline> {
        if let Some(p) = self.pipelines.borrow().get(&kernel) {
            return Ok(p.clone());
        }
        let label = kernel.label();
        let scope = ctx.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let t = &ctx.tuning;
        let max_bytes = kernel.unroll_max_bytes(t);
        let unroll = (t.unroll_loops && max_bytes > 0).then_some(UnrollLimits { max_expanded_bytes: i64::from(max_bytes), ..SPEED_LIMITS });
        let source = kernel.source(unroll);
        // HEARTH_DUMP_WGSL=dir writes each shader as compiled (assembled, maybe unrolled) to
        // dir/<label>.wgsl: what a profile of the device's compiled code has to be read against.
        if let Some(dir) = std::env::var_os("HEARTH_DUMP_WGSL") {
            let _ = std::fs::write(std::path::Path::new(&dir).join(format!("{label}.wgsl")), &source);
        }
        let module = ctx
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor { label: Some(&label), source: wgpu::ShaderSource::Wgsl(source.into()) });
        let pipeline = ctx.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(&label),
            layout: None,
            module: &module,
            entry_point: Some(kernel.entry_point()),
            compilation_options: Default::default(),
            cache: None,
        });
        if let Some(e) = scope.pop().await {
            return Err(Error::Gpu(format!("building kernel {label}: {e}")));
        }
        self.pipelines.borrow_mut().insert(kernel, pipeline.clone());
        Ok(pipeline)
    }
}
