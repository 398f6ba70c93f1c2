//! Launcher for shaders/matmul.wgsl: `y[t, :] = W · x[t, :]` for a quantised `W`, with the
//! prologue that saves the dispatch before it (the RMSNorm of its input, src/kernels/matmul_norm.rs)
//! and the epilogues that save the dispatches after it: a bias, the residual add, the gated
//! FFN activation of a [gate; up] matrix. Batches go through the register-tiled GEMM
//! (shaders/gemm.wgsl, src/kernels/gemm.rs) where the tuning asks for it.

use super::gemm::GemmTile;
use super::matmul_norm::Norm;
use super::tensor::Tensor;
use super::{BatchRows, Dispatch, split_groups, uniform};
use crate::error::{Error, Result};
use crate::gpu::{
    ElementwiseOp, GpuContext, GpuMatrix, Kernel, MatmulEpilogue, PipelineCache, RowStack, Tuning, WEIGHT_TEXTURE_WIDTH, WeightPart,
};
use crate::quant::DType;
use crate::quant::chunk_group::ChunkGroup;
use crate::quant::raw_chunks::has_raw_chunks;
use crate::quant::shader::{MatrixFormats, has_i8_chunks};

wgsl_struct! {
    /// Mirrors `struct Params` in shaders/matmul_bindings.wgsl (matmul.wgsl and gemm.wgsl).
    pub(crate) struct Params {
        rows: u32,
        cols: u32,
        one_row: u32,
        x_stride: u32,
        y_stride: u32,
        y_row_offset: u32,
        glu_rows: u32,
        eps: f32,
        seg0_word: u32,
        seg1_row: u32,
        seg1_word: u32,
        seg2_row: u32,
        seg2_word: u32,
        x_rows: u32,
        x_row0: u32,
        t_begin: u32,
    }
}

/// Dispatches computing `y = x · Wᵀ` for the batch's rows of `x` (`w.cols` wide) into `y`
/// (`w.rows` wide): one per part of a split matrix. `rows` says how many rows a batch has
/// (the token count comes from `step`) and picks the tile: at most one row is the decode
/// kernel, more the prefill one. `BatchRows::One` reads the batch's last row of `x` (or `x`'s
/// only row) into `y`'s first.
pub async fn matmul(
    ctx: &GpuContext,
    cache: &PipelineCache,
    w: &GpuMatrix,
    x: &Tensor,
    y: &Tensor,
    step: &wgpu::Buffer,
    rows: BatchRows,
) -> Result<Vec<Dispatch>> {
    // All of y's columns, and only those: a wider y is a mistake here.
    y.expect(&format!("matmul {}", w.name), "output", rows.max_rows(), w.rows)?;
    matmul_with(ctx, cache, w, x, y, step, rows, Fusion::default()).await
}

/// What a matmul does besides the product: the norm of its input (`MatmulNorm`), what it
/// does with its outputs (`MatmulEpilogue`), and where they go.
#[derive(Clone, Copy, Default)]
pub struct Fusion<'a> {
    /// Normalise each token's row of `x` as it is loaded (then `x` is the residual stream).
    pub norm: Option<Norm<'a>>,
    /// `[out_col + outputs]` f32 added to each output (indexed by output column).
    pub bias: Option<&'a wgpu::Buffer>,
    /// `y += W·x` instead of `y = W·x`.
    pub accumulate: bool,
    /// `W` is [gate; up] (each half `w.rows / 2` rows): `y = act(gate·x) * (up·x)`,
    /// `w.rows / 2` outputs. Needs `w` in one part, so both halves of a row are in one buffer.
    pub glu: Option<ElementwiseOp>,
    /// The first column of `y` written: `y` may be wider than the outputs (the Q, K and V
    /// projections filling one `qkv` row when they cannot be one matrix).
    pub out_col: u32,
}

/// `matmul` with a norm prologue and epilogues, on a matrix or a stack of them (see
/// `MatmulWeights`).
#[allow(clippy::too_many_arguments)]
pub async fn matmul_with(
    ctx: &GpuContext,
    cache: &PipelineCache,
    w: &impl MatmulWeights,
    x: &Tensor,
    y: &Tensor,
    step: &wgpu::Buffer,
    rows: BatchRows,
    fusion: Fusion<'_>,
) -> Result<Vec<Dispatch>> {
    let (name, cols, bound) = (w.name(), w.cols(), w.bound());
    let n_tokens = rows.max_rows();
    if cols % 32 != 0 {
        return Err(Error::InvalidArgument(format!("{name}: {cols} columns is not a multiple of 32")));
    }
    let kernel_name = format!("matmul {name}");
    let total_rows: u32 = bound.iter().map(|b| b.rows).sum();
    let outputs = match fusion.glu {
        None => total_rows,
        Some(_) if total_rows % 2 != 0 || bound.len() != 1 => {
            return Err(Error::InvalidArgument(format!(
                "{kernel_name}: a GLU epilogue needs [gate; up] in one buffer (an even row count, one part), not {total_rows} rows in {} parts",
                bound.len()
            )));
        }
        Some(_) => total_rows / 2,
    };
    x.expect(&kernel_name, "input", n_tokens, cols)?;
    if let Some(n) = &fusion.norm {
        n.check(&kernel_name, x, cols)?;
    }
    if y.width < fusion.out_col + outputs {
        return Err(Error::InvalidArgument(format!(
            "{kernel_name}: output `{}` is {} wide, needs columns {} .. {}",
            y.name,
            y.width,
            fusion.out_col,
            fusion.out_col + outputs
        )));
    }
    y.expect(&kernel_name, "output", n_tokens, y.width)?;
    if let Some(b) = fusion.bias {
        let need = u64::from(fusion.out_col + outputs) * 4;
        if b.size() < need {
            return Err(Error::InvalidArgument(format!("{kernel_name}: a {}-byte bias for outputs up to column {}", b.size(), need / 4)));
        }
    }
    let halves = if fusion.glu.is_some() { 2 } else { 1 };
    let epilogue = MatmulEpilogue { bias: fusion.bias.is_some(), accumulate: fusion.accumulate, glu: fusion.glu };
    let norm = Norm::kernel(fusion.norm.as_ref());
    let gemm = ctx.tuning.matmul_gemm && n_tokens > 1;
    // The tile of the matmul kernel (the GEMM has its own, below).
    let mut tile = Tile::for_batch(&ctx.tuning, n_tokens)?;
    if fusion.glu.is_some() {
        // Each thread takes the gate and up rows of its outputs: at least 2 weight rows.
        tile.rows_per_thread = tile.rows_per_thread.max(2);
    }
    let mut windows = None;
    if !gemm && fusion.norm.is_none() {
        // Rows too wide for a uniform window of a workgroup's tokens (Qwen2.5's ffn_down: 4,864
        // columns, 3 rows to lavapipe's 64 KiB binding, where the tile has 4 tokens) take
        // fewer tokens per workgroup rather than x from storage where the tuning asks
        // (`Tuning::matmul_x_windows_shrink_tokens`: lavapipe without AVX-512, where a storage
        // load costs ~12x a uniform one, more than the lost reuse of the weights).
        loop {
            windows = XWindows::plan(ctx, x, rows, tile.tokens_per_group);
            if windows.is_some()
                || tile.tokens_per_group == 1
                || !ctx.tuning.matmul_x_windows_shrink_tokens
                || XWindows::plan(ctx, x, rows, 1).is_none()
            {
                break;
            }
            tile.tokens_per_group /= 2;
        }
    }
    let mut out = Vec::new();
    for b in &bound {
        // The cap only where rows are summed by subgroup shuffles (native GPUs), where it was
        // measured: without subgroups (browsers through wgpu) each of a thread's rows costs
        // another workgroup-memory tree of 2 + log2(lanes) barriers.
        let max_groups = if subgroup_reduce(ctx, tile.threads_per_row) { ctx.tuning.matmul_decode_max_workgroups } else { 0 };
        let tile =
            tile.balanced(b.rows / halves, halves, ctx.tuning.matmul_decode_balance_threads).capped(b.rows / halves, halves, max_groups);
        let formats: Vec<DType> = b.segments.iter().map(|s| s.2).collect();
        let formats = MatrixFormats::of(&formats)
            .ok_or_else(|| Error::InvalidArgument(format!("{kernel_name}: {} formats in one buffer", formats.len())))?;
        // The weights from their texture mirror (`Tuning::matmul_w_texture`), where the device
        // can hold one; the GEMM (GPUs) keeps the buffer. The mirror's readers take every
        // segment to start on a texel (a multiple of 16 bytes: RowStack places them so, a
        // matrix of its own starts at 0), which lets whole-texel blocks be read a texel at a
        // time (src/gpu/pipelines.rs, matmul_w_binding).
        let on_texels = b.segments.iter().all(|&(_, offset, _)| offset % 16 == 0);
        let w_texels = if ctx.tuning.matmul_w_texture && !gemm && on_texels { b.part.texture_mirror(ctx) } else { None };
        if w_texels.is_none() && b.part.buffer_released() {
            return Err(Error::InvalidArgument(format!(
                "{kernel_name}: weights kept only in a texture, at segment offsets {:?} that are not all on its 16-byte texels",
                b.segments.iter().map(|s| s.1).collect::<Vec<_>>()
            )));
        }
        // The kernel, and the outputs and tokens one of its workgroups computes.
        let (kernel, rows_per_group, tokens_per_group) = if gemm {
            let dp4a = ctx.tuning.matmul_gemm_dp4a && ctx.features.packed_dot && has_i8_chunks(formats.as_slice());
            let tile = GemmTile::from_tuning(&ctx.tuning, fusion.glu.is_some(), norm, dp4a, &ctx.limits)?;
            (tile.kernel(formats, norm, epilogue), tile.tile_rows / halves, tile.tile_tokens)
        } else {
            let kernel = Kernel::Matmul {
                formats,
                workgroup_size: tile.workgroup_size,
                threads_per_row: tile.threads_per_row,
                rows_per_thread: tile.rows_per_thread,
                rows_interleaved: tile.rows_interleaved,
                tokens_per_group: tile.tokens_per_group,
                subgroup_reduce: subgroup_reduce(ctx, tile.threads_per_row),
                norm,
                epilogue,
                x_uniform_vec4s: windows.map_or(0, |w| w.rows * cols / 4),
                w_texture_width: if w_texels.is_some() { WEIGHT_TEXTURE_WIDTH } else { 0 },
                // Decode with a row per thread (lavapipe's tuning) reads blocks a group at a
                // time from the texture, where the format's blocks are not whole texels.
                chunk_group: match formats.as_slice() {
                    &[dtype] if w_texels.is_some() && tile.tokens_per_group == 1 && tile.threads_per_row == 1 => {
                        ChunkGroup::for_rows(dtype, cols)
                    }
                    _ => None,
                },
                // Decode and batches alike, so that every logits row of a model rounds the same
                // way (src/quant/raw_chunks.rs).
                raw_chunks: ctx.tuning.matmul_raw_chunks && has_raw_chunks(formats.as_slice()),
            };
            (kernel, tile.workgroup_size / tile.threads_per_row * (tile.rows_per_thread / halves), tile.tokens_per_group)
        };
        let part_outputs = b.rows / halves;
        // Where segments 1 and 2 start (rows, words), where the pipeline has them.
        let seg = |i: usize| b.segments.get(i).map_or((0, 0), |&(row, offset, _)| (row, (offset / 4) as u32));
        let params = Params {
            rows: part_outputs,
            cols,
            one_row: u32::from(rows == BatchRows::One),
            x_stride: cols,
            y_stride: y.width,
            y_row_offset: fusion.out_col + b.first_row,
            glu_rows: if halves == 2 { outputs } else { 0 },
            eps: fusion.norm.map_or(0.0, |n| n.eps),
            seg0_word: seg(0).1,
            seg1_row: seg(1).0,
            seg1_word: seg(1).1,
            seg2_row: seg(2).0,
            seg2_word: seg(2).1,
            x_rows: x.rows,
            ..Default::default()
        };
        let (gx, gy) = split_groups(part_outputs.div_ceil(rows_per_group));
        let w_binding = || match &w_texels {
            Some(view) => wgpu::BindingResource::TextureView(view),
            None => b.part.buffer.as_entire_binding(),
        };
        match windows {
            None => {
                let u = uniform(ctx, &params);
                let resources: Vec<_> = [w_binding(), x.binding()].into_iter().chain(bindings_after_x(y, &u, step, &fusion)).collect();
                let grid = move |n: u32| [gx, gy, rows.rows(n).div_ceil(tokens_per_group)];
                out.push(Dispatch::per_batch(ctx, cache, kernel, &resources, grid).await?);
            }
            Some(windows) => {
                // A dispatch per window of x's rows, computing that window's tokens (none past
                // the batch: its grid is then empty and nothing is recorded).
                for w in 0..windows.count {
                    let (t_begin, x_row0) = windows.window(w, x.rows);
                    let u = uniform(ctx, &Params { x_row0, t_begin, ..params });
                    let x_window = wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: &x.buffer,
                        offset: u64::from(x_row0) * u64::from(cols) * 4,
                        size: std::num::NonZeroU64::new(u64::from(windows.rows) * u64::from(cols) * 4),
                    });
                    let resources: Vec<_> = [w_binding(), x_window].into_iter().chain(bindings_after_x(y, &u, step, &fusion)).collect();
                    let rows_in_window = windows.rows;
                    let grid = move |n: u32| {
                        let tokens = rows.rows(n).min(t_begin + rows_in_window).saturating_sub(t_begin);
                        [gx, gy, tokens.div_ceil(tokens_per_group)]
                    };
                    out.push(Dispatch::per_batch(ctx, cache, kernel, &resources, grid).await?);
                }
            }
        }
    }
    Ok(out)
}

/// Bindings 2 .. of a matmul: y, its parameters, the step, then the bias and the norm
/// prologue's where it has them.
fn bindings_after_x<'a>(
    y: &'a Tensor,
    params: &'a wgpu::Buffer,
    step: &'a wgpu::Buffer,
    fusion: &'a Fusion<'a>,
) -> Vec<wgpu::BindingResource<'a>> {
    let mut r = vec![y.binding(), params.as_entire_binding(), step.as_entire_binding()];
    r.extend(fusion.bias.map(|b| b.as_entire_binding()));
    if let Some(n) = &fusion.norm {
        r.extend(n.resources());
    }
    r
}

/// What a matmul reads: a matrix (a dispatch per part, where it is split across bindings),
/// or a stack of matrices (src/gpu/stack.rs) as if they were one: one dispatch whatever
/// their formats where they share a buffer, else as many as their parts.
pub trait MatmulWeights {
    fn name(&self) -> &str;
    fn cols(&self) -> u32;
    /// The buffers one dispatch each reads, in row order.
    fn bound(&self) -> Vec<Bound<'_>>;
}

impl MatmulWeights for GpuMatrix {
    fn name(&self) -> &str {
        &self.name
    }
    fn cols(&self) -> u32 {
        self.cols
    }
    fn bound(&self) -> Vec<Bound<'_>> {
        let segments = |p: &WeightPart| vec![(0, p.offset, self.dtype)];
        self.parts.iter().map(|p| Bound { part: p, segments: segments(p), rows: p.rows, first_row: p.first_row }).collect()
    }
}

impl MatmulWeights for RowStack {
    fn name(&self) -> &str {
        &self.runs[0].1.name
    }
    fn cols(&self) -> u32 {
        self.runs[0].1.cols
    }
    fn bound(&self) -> Vec<Bound<'_>> {
        if self.shared {
            let segments = self.runs.iter().map(|(row, m)| (*row, m.parts[0].offset, m.dtype)).collect();
            // The stack's matrices share the first one's buffer (and its texture mirror).
            return vec![Bound { part: &self.runs[0].1.parts[0], segments, rows: self.rows(), first_row: 0 }];
        }
        let mut out = Vec::new();
        for (row, m) in &self.runs {
            for mut b in m.bound() {
                b.first_row += row; // the run's rows start there in the stack (and in y)
                out.push(b);
            }
        }
        out
    }
}

/// The weights one dispatch reads: rows `first_row ..` of a matrix (`rows` of them) in one
/// part's buffer, as row segments (first row among these, byte offset in the buffer, format).
pub struct Bound<'a> {
    part: &'a WeightPart,
    segments: Vec<(u32, u64, DType)>,
    rows: u32,
    first_row: u32,
}

/// Whether a row's `threads_per_row` lanes are summed with subgroup shuffles: where the
/// tuning allows it and the device has subgroups that always hold a whole row's lanes (its
/// smallest subgroup at least as large; both are powers of two, so rows never straddle one).
fn subgroup_reduce(ctx: &GpuContext, threads_per_row: u32) -> bool {
    ctx.tuning.matmul_subgroup_reduce && ctx.features.subgroups && threads_per_row > 1 && threads_per_row <= ctx.info.subgroup_min_size
}

/// x bound as uniform windows of its rows (`Tuning::matmul_x_uniform`: on lavapipe without
/// AVX-512 a uniform load is an AVX2 gather, a storage load a loop over the lanes): window w
/// serves tokens `w * rows ..` (at most `rows` of them) and binds x from row
/// `min(w * rows, x.rows - rows)`, so every window lies inside x; a dispatch each. A decode
/// GEMV has one window: its only row.
#[derive(Clone, Copy)]
struct XWindows {
    rows: u32,
    count: u32,
}

impl XWindows {
    /// The windows for a matmul reading `x` in batches of `batch` (tokens per workgroup
    /// `tokens_per_group`), or None to bind x whole as storage: the tuning does not ask, x
    /// cannot be a uniform, a window would hold no workgroup's tokens, or (a batch's last row
    /// of an x holding several) the row read is only known when the batch is.
    fn plan(ctx: &GpuContext, x: &Tensor, batch: BatchRows, tokens_per_group: u32) -> Option<XWindows> {
        let row_bytes = u64::from(x.width) * 4;
        let max = ctx.limits.max_uniform_buffer_binding_size;
        if !ctx.tuning.matmul_x_uniform || !x.buffer.usage().contains(wgpu::BufferUsages::UNIFORM) || row_bytes > max {
            return None;
        }
        match batch {
            BatchRows::PerToken(1) => Some(XWindows { rows: 1, count: 1 }),
            BatchRows::One if x.rows == 1 => Some(XWindows { rows: 1, count: 1 }),
            BatchRows::One => None,
            BatchRows::PerToken(n) => {
                // Windows start on rows, so each row's offset must meet the binding alignment.
                if row_bytes % u64::from(ctx.limits.min_uniform_buffer_offset_alignment) != 0 {
                    return None;
                }
                let fit = (max / row_bytes) as u32 / tokens_per_group * tokens_per_group;
                let rows = fit.min(x.rows);
                (rows > 0).then(|| XWindows { rows, count: n.div_ceil(rows) })
            }
        }
    }

    /// Window w's first token and the row of x its binding starts at.
    fn window(self, w: u32, x_rows: u32) -> (u32, u32) {
        let t_begin = w * self.rows;
        (t_begin, t_begin.min(x_rows - self.rows))
    }
}

/// The work of one thread and one workgroup (the shader's generated constants).
#[derive(Clone, Copy, Debug)]
struct Tile {
    workgroup_size: u32,
    threads_per_row: u32,
    rows_per_thread: u32,
    rows_interleaved: bool,
    tokens_per_group: u32,
}

impl Tile {
    /// The device's tile for decode (1 token) or prefill, with tokens per workgroup a power
    /// of two no larger than the batch needs (few shader variants; a batch of 3 uses 4).
    fn for_batch(t: &Tuning, n_tokens: u32) -> Result<Tile> {
        let pow2 = |v: u32, max: u32| v.is_power_of_two() && v <= max;
        // 256 threads is WebGPU's default limit per workgroup.
        let workgroup = |v: u32| (16..=256).contains(&v) && v.is_power_of_two();
        if !workgroup(t.matmul_decode_workgroup_size)
            || !workgroup(t.matmul_prefill_workgroup_size)
            || !pow2(t.matmul_decode_threads_per_row, t.matmul_decode_workgroup_size)
            || !pow2(t.matmul_prefill_threads_per_row, t.matmul_prefill_workgroup_size)
            || !pow2(t.matmul_decode_rows_per_thread, 16)
            || !pow2(t.matmul_prefill_rows_per_thread, 16)
            || !pow2(t.matmul_prefill_tokens, 32)
        {
            return Err(Error::InvalidArgument(format!(
                "matmul tuning {t:?}: workgroups of 16 to 256 threads, and powers of two for the rest (at most a workgroup of threads per row, 16 rows, 32 tokens)"
            )));
        }
        Ok(if n_tokens <= 1 {
            Tile {
                workgroup_size: t.matmul_decode_workgroup_size,
                threads_per_row: t.matmul_decode_threads_per_row,
                rows_per_thread: t.matmul_decode_rows_per_thread,
                rows_interleaved: t.matmul_decode_rows_interleaved,
                tokens_per_group: 1,
            }
        } else {
            Tile {
                workgroup_size: t.matmul_prefill_workgroup_size,
                threads_per_row: t.matmul_prefill_threads_per_row,
                rows_per_thread: t.matmul_prefill_rows_per_thread,
                rows_interleaved: false,
                tokens_per_group: n_tokens.next_power_of_two().min(t.matmul_prefill_tokens),
            }
        })
    }

    /// This tile with the rows per thread (within `BALANCE_RANGE` of its own) that spread a
    /// decode GEMV of `outputs` outputs (each `halves` weight rows: 2 with a GLU epilogue, whose
    /// threads then take an even number) most evenly over `threads` CPU threads
    /// (`Tuning::matmul_decode_balance_threads`; 0 leaves the tile as it is, as do batches and
    /// rows that are not interleaved). A thread's time for a workgroup is modelled as
    /// rows + `PER_THREAD_OVERHEAD_ROWS`, and the GEMV's as that times the rounds of workgroups
    /// the busiest CPU thread runs; ties go to the rows closest to the tile's own, then to more.
    fn balanced(&self, outputs: u32, halves: u32, threads: u32) -> Tile {
        if threads == 0 || !self.rows_interleaved || self.tokens_per_group != 1 {
            return *self;
        }
        let threads_per_group = self.workgroup_size / self.threads_per_row;
        let cost = |rows: u32| {
            let groups = outputs.div_ceil(threads_per_group * (rows / halves));
            u64::from(groups.div_ceil(threads)) * u64::from(rows + PER_THREAD_OVERHEAD_ROWS)
        };
        let own = self.rows_per_thread;
        let rows_per_thread = (own.saturating_sub(BALANCE_RANGE).max(halves)..=own + BALANCE_RANGE)
            .filter(|r| r % halves == 0)
            .min_by_key(|&r| (cost(r), r.abs_diff(own), u32::MAX - r))
            .unwrap_or(own);
        Tile { rows_per_thread, ..*self }
    }

    /// This tile with its rows per thread doubled (up to `MAX_ROWS_PER_THREAD`) until a decode
    /// GEMV of `outputs` outputs (each `halves` weight rows) takes at most `max_groups`
    /// workgroups (`Tuning::matmul_decode_max_workgroups` where subgroups sum the rows; 0,
    /// batches and interleaved rows leave the tile as it is).
    fn capped(&self, outputs: u32, halves: u32, max_groups: u32) -> Tile {
        if max_groups == 0 || self.rows_interleaved || self.tokens_per_group != 1 {
            return *self;
        }
        let threads_per_group = self.workgroup_size / self.threads_per_row;
        let mut rows_per_thread = self.rows_per_thread;
        while rows_per_thread < MAX_ROWS_PER_THREAD && outputs.div_ceil(threads_per_group * (rows_per_thread / halves)) > max_groups {
            rows_per_thread *= 2;
        }
        Tile { rows_per_thread, ..*self }
    }
}

/// The most rows `Tile::capped` gives a decode thread (as many as the tunings may name).
const MAX_ROWS_PER_THREAD: u32 = 16;

/// How far `Tile::balanced` moves a decode thread's rows from the tuning's.
const BALANCE_RANGE: u32 = 4;

/// What a decode GEMV thread does besides its rows (the activations it loads each chunk, its
/// rows' offsets, the epilogue), in rows' worth of time: fitted to lavapipe's CPU time a
/// SmolLM2 pass at 8 and 16 rows a thread (77-84 against 67-76 ms, `Tuning::lavapipe`).
const PER_THREAD_OVERHEAD_ROWS: u32 = 2;
