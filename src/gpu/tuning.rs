//! Kernel shapes (`Tuning`): chosen from the adapter, forced by tests to run every variant on
//! any device, and overridable field by field (`hearth --tune key=value,...`) so that one run
//! on a lent GPU can sweep shapes without a rebuild.

/// Kernel shapes chosen for the device at hand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tuning {
    /// Threads per workgroup in shaders/matmul.wgsl for one token (decode) and for batches
    /// (prefill), 16 to 256. CPU-like devices run a workgroup on one core: small ones waste
    /// less past the last row and spread better.
    pub matmul_decode_workgroup_size: u32,
    pub matmul_prefill_workgroup_size: u32,
    /// Threads that share one matrix row in shaders/matmul.wgsl, for decode and prefill (a
    /// power of two, at most the workgroup size). CPU-like devices (lavapipe, SwiftShader)
    /// run a workgroup as SIMD lanes and pay per workgroup, so one row per thread is
    /// fastest; GPUs want neighbouring threads on neighbouring bytes.
    pub matmul_decode_threads_per_row: u32,
    pub matmul_prefill_threads_per_row: u32,
    /// Rows each thread computes in a single-token matmul (decode).
    pub matmul_decode_rows_per_thread: u32,
    /// Which rows those are: consecutive ones (false), or every (workgroup / threads per row)-th
    /// row, so that the threads' k-th rows are neighbours (true). Why: lavapipe runs 8 threads
    /// as the SIMD lanes of one CPU thread, and with 16 consecutive rows each those lanes walk
    /// 128 rows at once (perf put the time just after the texel loads, waiting on memory: likely
    /// more streams than the CPU's prefetchers follow); interleaved, each step of the row loop
    /// reads 8 neighbouring rows. On a Zen 3 host without AVX-512 (2026-11-28, `cargo bench
    /// --bench kernels -- --tokens 1 --only matmul`, CPU ms a pass, three alternating runs):
    /// SmolLM2's decode GEMVs 46-55 against 54-61, Q5_0 at Qwen2.5's shapes 191-194 against
    /// 238-255; Q4_K, and batches, no faster. A probe with every thread's rows inside 8 rows
    /// (wrong values, all in L1) took 44-47 against 62-65: the caches' share was ~30%.
    pub matmul_decode_rows_interleaved: bool,
    /// 0, or the CPU threads that run a decode GEMV's workgroups (lavapipe's: one per host
    /// CPU, or `LP_NUM_THREADS`): then a GEMV with interleaved rows takes, within 4 of
    /// `matmul_decode_rows_per_thread`, the rows per thread that split its workgroups most
    /// evenly over those threads (src/kernels/matmul.rs, `Tile::balanced`). Why: a workgroup
    /// runs on one thread, and one whose rows lie past the matrix's end costs as much as a full
    /// one (lavapipe runs a uniform branch's body under a mask rather than skip it), so
    /// SmolLM2's 576-row o and down projections in three 256-row workgroups kept one of two
    /// threads busy for two workgroups' time while the other idled half of it. In two of 288
    /// rows (18 rows a thread), on a Zen 3 host with 2 CPUs (2026-11-28, `cargo bench --bench
    /// kernels -- --tokens 1 --only matmul`, medians of five alternated runs, wall µs): o 204
    /// -> 143, down 328 -> 262.
    pub matmul_decode_balance_threads: u32,
    /// 0, or the most workgroups a decode GEMV should take (GPUs): a matrix that would need
    /// more at `matmul_decode_rows_per_thread` takes twice the rows per thread, and again, up
    /// to 16 (src/kernels/matmul.rs, `Tile::capped`). Why: the output heads of large
    /// vocabularies (Gemma 3's 262,144 rows of 640 columns: 32,768 workgroups of 8 rows) spent
    /// their time starting and finishing workgroups that each read 5 KB of weights; on an H200
    /// (2026-11-28, `hearth profile`) that head took 1.94 ms of a 3.9 ms decode step. Only
    /// where subgroups sum a row's lanes (`matmul_subgroup_reduce`), as there: without them
    /// (browsers) every extra row a thread costs a workgroup-memory reduction, not measured.
    pub matmul_decode_max_workgroups: u32,
    /// Rows each thread computes in a batched matmul (prefill).
    pub matmul_prefill_rows_per_thread: u32,
    /// The most tokens one matmul workgroup computes (a power of two).
    pub matmul_prefill_tokens: u32,
    /// shaders/attention.wgsl: a thread per query (`per_query`, no barriers) rather than a
    /// workgroup per query (`main`), for heads of up to `attention_per_query_max_head_dim`
    /// dims.
    pub attention_thread_per_query: bool,
    /// The largest head that `attention_thread_per_query` (and `attention_query_ranges`)
    /// serve; larger heads take `main`. Past 64 dims the thread-per-query kernels have their
    /// row walks unrolled in the source (`kernels::attention::PER_QUERY_ROLLED_MAX_HEAD_DIM`).
    /// 256 on lavapipe: Gemma 3's heads of 256 dims there (2-core Zen 3 VM, 2026-11-27,
    /// `cargo bench --bench kernels -- --only attention --heads 4 --kv-heads 1 --head-dim 256`,
    /// µs a layer, two runs each, `main` -> thread per query): decode at 512 keys 3,446-3,675 ->
    /// 528-734, at 2,048 keys 13,250-13,345 -> 1,516-1,553; `hearth profile --context 1000`:
    /// a 16-token prefill's attention 1,150 -> 193 ms, a decode token's 80 -> 16 ms. 64 on
    /// SwiftShader, where the unrolled 256-dim kernels were slower (`hearth profile --context
    /// 500`, natively on its ICD: prefill attention 1,271 -> 2,106 ms, decode 81 -> 181 ms).
    pub attention_per_query_max_head_dim: u32,
    /// With `attention_thread_per_query`, batches of up to `kernels::attention::SPLIT_MAX_TOKENS`
    /// tokens (decode) take this many threads per query, each walking a range of its keys,
    /// merged through workgroup memory in the same dispatch (`per_range`,
    /// shaders/attention_per_range.wgsl); 0: a thread walks all of a query's keys. A power of
    /// two up to 64. Why: with a thread per query a decode step is n_heads threads in one
    /// workgroup, one core walking every key in series. Measured on lavapipe (2-core VM
    /// without AVX-512, 2026-11-27, `cargo bench --bench kernels -- --tokens 1 --only attention
    /// --ctx N`, SmolLM2's 9 heads of 64, µs per layer, three runs each): 16 lanes against
    /// none, 512 keys 1,400-1,530 against 2,570-2,900, 2,048 keys 5,390-5,880 against
    /// 10,040-10,460; 32 keys 240-320 against 215-370 (short contexts keep a thread per query:
    /// at least 16 keys a range); 8 lanes were slower at 512 keys (1,680-2,240). `hearth
    /// profile --context 1000`: SmolLM2's decode attention 158-179 -> 90-98 ms a token.
    /// SwiftShader too (measured there: see `Tuning::SWIFTSHADER`).
    pub attention_query_ranges: u32,
    /// With `attention_thread_per_query`, a thread walks its keys (with `attention_query_ranges`,
    /// a lane its key range) for every query head of one kv head (`per_query_group`,
    /// `per_range_group`, shaders/attention_kv_group.wgsl) rather than for one query:
    /// each key and value is fetched and unpacked once for the group (3 heads in SmolLM2, 7 in
    /// Qwen2.5) instead of once per head. Where the group's rows fit the workgroup memory and
    /// heads of at most 64 dims (the lane holds the group's q and output rows). On for lavapipe
    /// and SwiftShader. Measured 2026-11-28 (2-core Zen 5 VM; `cargo bench --bench kernels --
    /// --tokens 1 --only attention --ctx N --tune attention_group_queries=B`, a layer's wall /
    /// CPU µs, off -> on): lavapipe, SmolLM2's heads (9 on 3), 256 keys 64 / 92 -> 62 / 70, 1,024
    /// keys 187 / 237 -> 108 / 137, 4,096 keys 487 / 865 -> 379 / 475; Qwen2.5's (14 on 2),
    /// 4,096 keys 692 / 1,291 -> 512 / 654 (wall gains less than CPU: SmolLM2's 3 kv heads are 3
    /// workgroups for 2 threads). In the models, `hearth profile --context N` (decode attention,
    /// ms a token): SmolLM2 at 4,000 keys 14.4 -> 11.7-12.1, Qwen2.5 at 2,000 keys 9.0 -> 5.8;
    /// a 128-token prefill after 1,000 tokens (attention ms, the prefill's GPU ms): SmolLM2
    /// 357-364 -> 153-159, 1,149-1,153 -> 903-934; Qwen2.5 461 -> 239, 3,083 -> 2,752.
    /// SwiftShader natively (its ICD, SmolLM2's heads): 256 keys 1,049 -> 611 µs a layer,
    /// 1,024 keys 3,651 -> 1,337; `hearth profile --context 256 --prompt-tokens 16` there:
    /// prefill attention 402 -> 272 ms, decode 36.7 -> 29.3 ms a token.
    pub attention_group_queries: bool,
    /// The KV cache in rgba32uint textures of f16 texels, written by texel stores and read by
    /// texel fetches (`kernels::kv::KvStore::Texels`), rather than in storage buffers, where
    /// the cache is f16 and heads are a multiple of 8 dims. Why: the same llvmpipe storage
    /// loads as `matmul_x_uniform`'s, and attention over a long context is bound by its
    /// cache loads (an f32 cache, twice the bytes, was 1.7x slower). Measured on lavapipe (2-core
    /// Zen 3 VM without AVX-512, 2026-11-27, `cargo bench --bench kernels -- --tokens 1 --only
    /// attention --ctx N`, SmolLM2's heads, µs a layer, two or three runs each): 32 keys 224-236
    /// -> 144-148, 512 keys 1,533-1,668 -> 586-715, 2,048 keys 5,246-6,038 -> 1,429-1,473;
    /// `hearth profile --context 1000` decode attention SmolLM2 87 -> 22 ms a token, Qwen2.5 98
    /// -> 36, Gemma 3 (a workgroup per query, heads of 256) 122 -> 83. On by default where
    /// `matmul_w_texture` is (lavapipe); elsewhere not measured.
    pub kv_texels: bool,
    /// shaders/rope_store.wgsl: a workgroup per (token, head), its threads sharing the head's
    /// elements (`per_head`), rather than a thread per (token, head) walking all of them
    /// (`main`). Measured on an H200 (Gemma 3's heads of 256 with q/k norms): a thread per
    /// head took 175 µs per decode dispatch, 3.2 of the 8 ms a token's dispatches took.
    pub rope_store_workgroup_per_head: bool,
    /// Split-K ("flash-decoding") attention for batches of up to
    /// `kernels::attention::SPLIT_MAX_TOKENS` tokens (decode): each query's visible keys are
    /// cut into at most this many ranges, one workgroup each, and a second dispatch merges
    /// their partial softmaxes (shaders/attention_split*.wgsl). 0: no split, one workgroup
    /// or thread per query walks all its keys. Why: a decode step with a workgroup per query
    /// is n_heads workgroups (9 for SmolLM2 on a 132-SM H200, where attention took 24-36% of
    /// a token's GPU time); split, n_heads × this many.
    pub attention_split_max: u32,
    /// The fewest keys in one split range (at least 1), so that short contexts are cut into
    /// fewer, longer ranges rather than many ranges of a few keys each.
    pub attention_split_min_keys: u32,
    /// Batches that split-K attention does not take (prefill) through the tiled kernel
    /// (shaders/attention_tiled.wgsl): a workgroup per head and run of 16-64 queries stages
    /// blocks of keys and values once for all of them, instead of a workgroup per query
    /// re-reading every key (`main` in shaders/attention.wgsl). Not with
    /// `attention_thread_per_query`, which CPU-like devices keep. Off everywhere: on an H100
    /// (2026-11-26, bench/device/2026-11-26-h100-gemm-split-tiled-attention.jsonl) it made
    /// prefill slower, 128-token prompts SmolLM2 6,041 -> 4,642 tok/s, Qwen2.5 2,133 -> 1,964,
    /// Gemma 3 6,737 -> 5,209, 1,000-token prompts 5,813 -> 3,465, 2,203 -> 1,850, 6,925 ->
    /// 4,468 (`hearth profile`: SmolLM2's 30 attention dispatches 7.6 ms of a 128-token
    /// prefill against 1.2 ms): with a thread per query it has 18-36 workgroups of 64 threads
    /// for a 128-token prompt where `main` has 1,152, so a large GPU idles. Kept as a tested
    /// variant for the next attempt (more threads per query), selectable with `--tune`.
    pub attention_tiled: bool,
    /// Batched matmuls (prefill) through the register-tiled GEMM (shaders/gemm.wgsl): a
    /// workgroup stages a tile of dequantised weights and of activations in workgroup memory
    /// per 32 columns, each thread computes several rows × tokens from them. Why: the matmul
    /// kernel re-reads every activation once per few rows (Qwen2.5's Q5_0/Q4_K matrices took
    /// 110-165 ms of a 128-token prefill on an H200).
    pub matmul_gemm: bool,
    /// Weight rows per GEMM workgroup (a power of two; with the tokens, at most 128 in all:
    /// both tiles take 128 bytes per row or token of WebGPU's 16 KiB workgroup memory).
    pub matmul_gemm_tile_rows: u32,
    /// Tokens per GEMM workgroup (a power of two).
    pub matmul_gemm_tile_tokens: u32,
    /// Weight rows per GEMM thread (a power of two up to the tile's; 2 or more with a GLU).
    pub matmul_gemm_thread_rows: u32,
    /// Tokens per GEMM thread (a power of two up to the tile's). The workgroup has
    /// (tile rows / thread rows) × (tile tokens / thread tokens) threads, at most 256.
    pub matmul_gemm_thread_tokens: u32,
    /// Groups of threads per GEMM workgroup that split the columns (K) between them: each
    /// group takes every `k_split`-th 32-column step of the same output tile, and the groups'
    /// sums are added in workgroup memory before the epilogue. Why: a small model's prefill
    /// matrices have few output tiles (SmolLM2's o projection at 128 tokens: 36 workgroups of
    /// 64 × 32), far too few for a large GPU; splitting K multiplies the threads in flight
    /// without more dispatches or a partial-sum buffer. 1: no split; 1 to 16, an upper bound:
    /// fewer groups where the device's threads or workgroup memory per workgroup cannot hold
    /// them (kernels::gemm::GemmTile).
    pub matmul_gemm_k_split: u32,
    /// The GEMM on 8-bit integers (shaders/gemm_dp4a.wgsl: activations quantised to q8 per
    /// 32 columns, dot4I8Packed on the weights' own small integers) where the device has
    /// WGSL's packed_4x8_integer_dot_product and every format of the matrix has an integer
    /// reader (every integer format, the K-quants too); float matrices keep the f32 GEMM. Off in every
    /// tuning: on an H100 (native Vulkan, where naga emits SPIR-V's SDot; 2026-11-26,
    /// bench/device/2026-11-26-h100-dp4a-tiles.jsonl, 128-token prefill) it was no faster,
    /// Gemma 3 6,806 -> 6,887 tok/s, Qwen2.5 2,501 -> 2,476, SmolLM2 (all Q4_1) 6,454 ->
    /// 5,827: there the GEMM waits on staging and barriers, not arithmetic. Left for devices
    /// where the f32 dots are the cost (untested: none was at hand).
    pub matmul_gemm_dp4a: bool,
    /// shaders/matmul.wgsl sums a row's lanes (`matmul_decode_threads_per_row` /
    /// `matmul_prefill_threads_per_row`) with subgroup shuffles instead of a workgroup-memory
    /// tree, where the device has subgroups (`GpuFeatures::subgroups`: native Vulkan, Metal,
    /// D3D12; not wgpu's browser backend) of at least that many invocations. Saves the tree's
    /// barriers: 2 + log2(lanes) per output, 7 with the GPU tuning's 32 decode lanes. No
    /// effect with one thread per row (the CPU tuning).
    pub matmul_subgroup_reduce: bool,
    /// The RMSNorm in front of the attention, the FFN and the output head as the prologue of
    /// the matmul that reads it (shaders/matmul_norm.wgsl), rather than a dispatch of its own
    /// (shaders/rmsnorm.wgsl, residual_norm.wgsl) into a normalised copy. Saves two
    /// dispatches per layer (~12 µs each on an H100, where a decode step is bound by
    /// dispatches); but every workgroup recomputes its rows' norm and each activation load
    /// takes a norm weight load, which on lavapipe (a dispatch costs little there, loads set
    /// the speed) made SmolLM2 12-15% slower (decode 16.5-17.6 -> 14.6-15.4 tok/s, prefill
    /// 49-52 -> 41-44, 2026-11-26). Measured again after x became a uniform there
    /// (2026-11-28, a probe binding the norm's vectors as uniforms too, so the prologue's
    /// loads were all uniform ones): SmolLM2's decode matmuls took 3-5 ms a token more, about
    /// what its 60 norm dispatches cost (4.0-5.6 ms, `hearth profile`), and Gemma 3's prefill
    /// fell from 43-56 to 32-37 tok/s (every thread of a prefill workgroup renormalises its
    /// four tokens' rows): a dispatch costs ~70-100 µs there (`hearth profile`, small kernels
    /// timed alone), but each activation's extra gathered loads cost about as much.
    pub matmul_norm_prologue: bool,
    /// The matmuls read their activations from a uniform binding instead of a storage one:
    /// a decode GEMV its one row (where it fits a binding: 16,384 values on lavapipe), a batch
    /// windows of rows, a dispatch per window (src/kernels/matmul.rs, XWindows; not the GEMM,
    /// not with the norm prologue). Why: llvmpipe (Mesa
    /// 22.3) turns every storage-buffer load into a loop over the SIMD lanes whose inserts at a
    /// variable position x86 does through memory unless it has AVX-512, but a uniform load
    /// into one AVX2 gather; on a Zen 3 host without AVX-512 a vec4 load cost 14.3 ns from
    /// storage against 1.2 ns from a uniform binding (`cargo bench --bench bandwidth`,
    /// 2026-11-27). On by default for lavapipe (`Tuning::lavapipe`): a 2026-11-26 measurement
    /// on an AVX-512 host found this change alone no faster, but with the rest of the lavapipe
    /// tuning it helps there too (a Zen 5 host, 2026-11-28: SmolLM2 decode 35.8 -> 37.2 tok/s,
    /// prefill 131 -> 144).
    pub matmul_x_uniform: bool,
    /// With `matmul_x_uniform`, a batched matmul whose rows are too wide for a uniform window
    /// of its workgroups' tokens (Qwen2.5's ffn_down: 4,864 columns, 3 rows to lavapipe's
    /// 64 KiB binding, against a tile of 4 tokens) takes fewer tokens a workgroup (true), or
    /// reads x from storage with the whole tile (false). True but on lavapipe hosts with
    /// AVX-512: without it a storage load cost ~12x a uniform one (see `matmul_x_uniform`);
    /// with it (a 2-core Zen 5 VM, 2026-11-28, `hearth bench --prompt-tokens 128`, three
    /// alternations, true -> false) Qwen2.5 prefilled 42.2 -> 49.8 tok/s; SmolLM2's and Gemma
    /// 3's windows hold the whole tile, so they do not change.
    pub matmul_x_windows_shrink_tokens: bool,
    /// The matmuls (not the GEMM) read their weights from an rgba32uint texture mirroring the
    /// weights' buffer (src/gpu/weight_texture.rs) instead of the storage buffer. Why: the same
    /// llvmpipe storage loads as above, where a texel fetch is AVX2 gathers: on a Zen 3 host
    /// 32 MiB streamed at 7.2 GB/s as texels against 1.0 GB/s as storage vec4s (2026-11-27).
    /// Costs a second copy of the weights in memory. On by default where `matmul_x_uniform` is
    /// (lavapipe; with AVX-512 too: a Zen 5 host decoded SmolLM2 at 37.2 tok/s with it, 16.1
    /// without, 2026-11-28).
    pub matmul_w_texture: bool,
    /// The matmuls (not the GEMM) read the blocks of Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K and
    /// Q5_K matrices raw, scaling each row's dot once a chunk of 32 values
    /// (src/quant/raw_chunks.rs), decode and batches alike. On for lavapipe, where a weight's instructions set much of a GEMV's speed: on a
    /// 2-core Zen 5 host (2026-11-28, `hearth bench --prompt-tokens 128 --gen-tokens 64`,
    /// medians of three alternated runs, off -> on) SmolLM2 decoded 37.1 -> 41.6 tok/s and
    /// prefilled 138.5 -> 151.3, Qwen2.5 15.1 -> 16.4 and 40.7 -> 43.3. On for SwiftShader
    /// too: natively on Chromium's SwiftShader ICD (the same host, `hearth bench
    /// --prompt-tokens 16 --gen-tokens 16`, off -> on, two alternations for SmolLM2, one for the
    /// others) SmolLM2 decoded 4.9-5.0 -> 6.4 tok/s and prefilled 12.2-12.5 -> 14.1, Qwen2.5
    /// 1.10 -> 1.25 and 3.26 -> 3.50, Gemma 3 (mostly Q4_K, which had no raw reader yet) 2.17 ->
    /// 2.09 and 9.39 -> 9.77; `hearth profile`: SmolLM2's Q4_1 GEMVs 139-158 -> 98-101 ms a
    /// decode token. Q4_K and Q5_K read raw too (later the same day; binaries before and after,
    /// alternated, medians of 3): on lavapipe Gemma 3 decoded 28.8 -> 30.2 tok/s and prefilled
    /// 127 -> 142, Qwen2.5 17.2 -> 17.7 and 44.1 -> 45.7; on SwiftShader (two alternations)
    /// Gemma 3 2.19-2.23 -> 2.33-2.37 and 9.0-9.4 -> 10.4. GPUs are bound by memory and
    /// dispatches there: off.
    pub matmul_raw_chunks: bool,
    /// Unroll the short constant-bound loops of the matmul shaders in their source
    /// (src/gpu/unroll.rs). SwiftShader's JIT does not unroll: natively on Chromium's
    /// SwiftShader, SmolLM2's Q4_1 matmuls for a 16-token prefill took 2.1 s of GPU time
    /// unrolled against 17.7-21.5 s before, decode 0.27-0.35 s a token against 1.0-2.4
    /// (2 shared cores, so ranges). On lavapipe without AVX-512 too (2026-11-27, Zen 3, with
    /// the weights from textures and the input from uniforms; `hearth bench`, 16-token prompts,
    /// medians of 3): SmolLM2 prefilled 20-24 -> 34-36 tok/s unrolled and decoded 7.5-7.8 ->
    /// 8.3-9.9, Qwen2.5 5.9 -> 8.8 and 2.4 -> 2.9, Gemma 3 16.6 -> 22.5 and 4.3 -> 4.3: llvmpipe
    /// does not unroll loops this large itself, and their private arrays then live in memory.
    /// On GPUs too: NVIDIA's Vulkan compiler did not unroll them either. On an H200 (2026-11-28,
    /// native Vulkan, `hearth profile`, decode step's GPU time) SmolLM2 2.76 -> 1.91 ms,
    /// Qwen2.5 4.41 -> 2.14, Gemma 3 3.89 -> 1.77 (its Q8_0 output head 1.94 -> 0.20 ms), and
    /// `hearth bench` decode 320 -> 467, 210 -> 419, 235 -> 476 tok/s (README "Speed").
    /// On lavapipe with AVX-512 too (a Zen 5 host, 2026-11-28, unrolling alone on the CPU
    /// tuning): SmolLM2 decode 14.9 -> 16.7 tok/s, prefill 70.5 -> 102.9.
    pub unroll_loops: bool,
    /// With `unroll_loops`, the longest text one unrolled loop may become (bytes of WGSL;
    /// src/gpu/unroll.rs, `UnrollLimits`): loops that would grow longer stay loops. 6 KiB
    /// (`unroll::SPEED_LIMITS`) keeps SwiftShader's compile times down; larger also unrolls the
    /// matmuls' row loops around their unrolled inner loops, which on an H200 (2026-11-28,
    /// 64 KiB against 6) changed neither `hearth profile`'s GPU times nor the decode speed.
    pub unroll_max_bytes: u32,
    /// With `unroll_loops`, the longest text one unrolled loop of the prefill GEMM may become
    /// (shaders/gemm.wgsl: its thread tile's rows and tokens, and the format snippets' chunk
    /// loops that the GEMVs' unrolling moved from memory into registers on an H200), 0: its
    /// loops stay loops. 64 KiB for GPUs: on an H200 (native Vulkan, 2026-11-28,
    /// bench/device/2026-11-28-h200-gemm-unroll-sweep.jsonl, `hearth profile`, 128-token
    /// prefill's GPU time, 16 × 16 tiles) unrolled within 6 KiB SmolLM2 took 19.3 -> 6.9 ms,
    /// Qwen2.5 53.8 -> 16.7, Gemma 3 18.5 -> 7.3 (`hearth bench` prefill 6,417 -> 17,590 tok/s,
    /// 2,362 -> 7,406, 6,697 -> 16,236), and within 64 KiB 5-6% less again in each of three
    /// sweeps (with 32 × 16 tiles, bench/device/2026-11-28-h200-gemm-steps.jsonl: 6.45 -> 6.12,
    /// 14.37 -> 13.55, 6.45 -> 6.14 ms), where the GEMVs at 64 KiB decoded SmolLM2 4-9% slower
    /// (hence a limit of its own). 0 where no GEMM runs (lavapipe, SwiftShader).
    pub unroll_gemm_max_bytes: u32,
    /// Sample on the GPU (shaders/sample.wgsl: only the id comes back, decode chains of
    /// several tokens per round trip) rather than on the CPU from read-back logits. Off for
    /// SwiftShader: its JIT takes ~3 s to compile the sampler (natively, the tiny chat model's
    /// 8 sampled tokens took 4.9 s against 1.7 s on the CPU, 2026-11-26), and where the "GPU"
    /// is the CPU reading the logits back is a copy in memory, a millisecond against a
    /// token's hundreds. Greedy decoding (the graphs' argmax) does not depend on it.
    pub sample_on_gpu: bool,
    /// Greedy picks (shaders/argmax.wgsl): threads per workgroup (a power of two up to 256)
    /// and values each thread reads (1 to 4,096). GPUs want many workgroups of many threads; CPU-like
    /// devices pay for every workgroup and every barrier of the workgroup's reduction tree.
    pub argmax_workgroup_size: u32,
    pub argmax_per_thread: u32,
}

impl Tuning {
    /// CPU-like devices: measured with `cargo bench --bench kernels` on lavapipe (2 cores,
    /// SmolLM2 shapes). There every storage-buffer load is a per-lane gather, so each thread
    /// keeps a tile of several rows (× tokens) in registers to reuse every activation it
    /// loads: 8 rows for decode (matmuls + lm_head 43 ms CPU per token, against 51 with 4
    /// rows and 64 with 2), 16 rows × 4 tokens for prefill (`hearth bench`, 128-token prompts,
    /// median of 3, 2026-11-26: SmolLM2 56 tok/s against 36-50 with 16 × 2, Qwen2.5 15-16
    /// against 12-13 and 7.9 with 16 × 8; Gemma 3's 256-token perplexity 16-17 s against 19;
    /// earlier, with SmolLM2's shapes alone, 16 × 2 had beaten 8 × 2, 8 × 4 and 8 × 1),
    /// in workgroups of 16 (less padding past the last row: SmolLM2's q, o and down 20-25%
    /// faster than with 64). GPUs: measured on an H100 (native Vulkan, 2026-11-26,
    /// bench/device/2026-11-26-h100-tunes.jsonl): decode GEMVs in workgroups of 256 with 32
    /// threads per row (8 rows per workgroup) decode 3-16% faster than 64 × 16 (SmolLM2 196 ->
    /// 202 tok/s, Qwen2.5 153 -> 177, Gemma 3 177 -> 202), while the same shapes slow the
    /// batched prefill by 12-30%, which keeps 64 × 16 with one row and 8 tokens per thread.
    pub fn for_device(info: &wgpu::AdapterInfo) -> Tuning {
        // Browsers report little about the adapter: a software one shows as a fallback
        // adapter (device type Cpu) or by name.
        let name = info.name.to_lowercase();
        if ["llvmpipe", "lavapipe"].iter().any(|n| name.contains(n)) {
            // lavapipe runs natively and compiles for this very CPU.
            Tuning { matmul_x_windows_shrink_tokens: !host_has_avx512(), ..Tuning::lavapipe(lavapipe_threads()) }
        } else if info.device_type == wgpu::DeviceType::Cpu || name.contains("swiftshader") {
            // Chromium reports its SwiftShader adapter with no name, as a CPU device.
            Tuning::SWIFTSHADER
        } else {
            Tuning::GPU
        }
    }

    /// lavapipe: the CPU tuning with its slow storage loads avoided (see `matmul_x_uniform`):
    /// the input from uniforms, the weights and the KV cache in textures, the loops unrolled
    /// (see `unroll_loops`), on every host. Until 2026-11-28 only hosts without AVX-512 took
    /// this; on a 2-core Zen 5 VM with AVX-512 (`hearth bench --prompt-tokens 128
    /// --gen-tokens 64`, medians of 2-3 alternated runs, the CPU tuning against this one)
    /// SmolLM2 decoded 14.9 -> 41.8 tok/s and prefilled 70.5 -> 136.0, Qwen2.5 4.9 -> 15.7 and
    /// 11.1 -> 38.3, Gemma 3 8.4 -> 24.8 and 36.4 -> 130.8; each part left out in turn
    /// (SmolLM2): the weights from storage 37.2 -> 16.1 tok/s, 8 rows a thread not interleaved
    /// 28.3, x from storage 35.8, the cache in buffers 37.6 (within noise). And 8 key ranges a query
    /// rather than 16: with the cache in textures a key costs less and the merge more
    /// (2026-11-27, Zen 3 without AVX-512, `cargo bench --bench kernels -- --tokens 1 --only
    /// attention --ctx N`, CPU µs a layer over four runs, 8 against 16 ranges: 32 keys 120-150
    /// against 130-150, 512 keys 580 against 710-740, 2,048 keys 1,670-1,800 against
    /// 1,810-1,970; wall time, noisier, medians ~460 against ~490 and ~975 against ~1,400).
    /// `hearth profile --context 1000` could not tell them apart on that VM (SmolLM2's decode
    /// attention 19-35 against 18-26 ms a token over four alternations, its matmuls moving
    /// 55-107 ms between the same runs).
    /// There a decode GEMV thread takes 16 rows rather than 8: what it does per chunk besides
    /// its rows (the activations into its private array, the loop) and per thread (the rows'
    /// offsets, the epilogue) then serves twice the rows (2026-11-27, same VM, `cargo bench
    /// --bench kernels -- --tokens 1 --only matmul --tune matmul_decode_rows_per_thread=N`, CPU
    /// ms a SmolLM2 pass over three runs: 2 rows 116-124, 4 rows 100-104, 8 rows 77-84, 16 rows
    /// 67-76, 32 rows (the 16-row limit lifted for the probe) 68-73; `hearth
    /// bench`, decode in chains, alternated, 8 against 16 rows: SmolLM2 10.2-13.3 against
    /// 12.4-12.9 tok/s over four runs, Qwen2.5 3.9-4.1 against 4.1-4.2 and Gemma 3 6.9-8.2
    /// against 8.0-8.2 over three).
    pub const fn lavapipe(threads: u32) -> Tuning {
        Tuning {
            matmul_decode_balance_threads: threads,
            matmul_decode_max_workgroups: 0,
            matmul_decode_rows_per_thread: 16,
            matmul_decode_rows_interleaved: true,
            matmul_x_uniform: true,
            matmul_w_texture: true,
            matmul_raw_chunks: true,
            unroll_loops: true,
            unroll_max_bytes: super::unroll::SPEED_LIMITS.max_expanded_bytes as u32,
            unroll_gemm_max_bytes: 0,
            kv_texels: true,
            attention_query_ranges: 8,
            attention_group_queries: true,
            ..Tuning::CPU
        }
    }

    pub const CPU: Tuning = Tuning {
        matmul_decode_workgroup_size: 16,
        matmul_prefill_workgroup_size: 16,
        matmul_decode_threads_per_row: 1,
        matmul_prefill_threads_per_row: 1,
        matmul_decode_rows_per_thread: 8,
        matmul_decode_rows_interleaved: false,
        matmul_decode_balance_threads: 0,
        matmul_decode_max_workgroups: 0,
        matmul_prefill_rows_per_thread: 16,
        matmul_prefill_tokens: 4,
        attention_thread_per_query: true,
        attention_per_query_max_head_dim: 256,
        attention_query_ranges: 16,
        attention_group_queries: false,
        kv_texels: false,
        rope_store_workgroup_per_head: false,
        attention_split_max: 0,
        attention_split_min_keys: 64,
        attention_tiled: false,
        matmul_gemm: false,
        matmul_gemm_tile_rows: 64,
        matmul_gemm_tile_tokens: 32,
        matmul_gemm_thread_rows: 4,
        matmul_gemm_thread_tokens: 4,
        matmul_gemm_k_split: 1,
        matmul_gemm_dp4a: false,
        matmul_subgroup_reduce: true,
        matmul_norm_prologue: false,
        matmul_x_uniform: false,
        matmul_x_windows_shrink_tokens: true,
        matmul_w_texture: false,
        matmul_raw_chunks: false,
        unroll_loops: false,
        unroll_max_bytes: super::unroll::SPEED_LIMITS.max_expanded_bytes as u32,
        unroll_gemm_max_bytes: 0,
        sample_on_gpu: true,
        argmax_workgroup_size: 16,
        argmax_per_thread: 256,
    };

    /// SwiftShader (Chromium's WebGPU without a usable GPU, and the browser tests): the CPU
    /// tuning with the loops unrolled and a prefill tile of 8 rows × 4 tokens per thread
    /// instead of 16 × 4 (16 × 2 when this was measured).
    /// Measured natively with Chromium's SwiftShader (Subzero JIT, 2 shared cores, `hearth
    /// profile`, SmolLM2, 16-token prefill, all loops unrolled): the matmuls took ~2-3 s of
    /// GPU time against ~5 s with 16 × 2 (8 × 8, 4 × 8 and 4 × 4 were within the noise of
    /// 8 × 4; 16 × 2's 32 accumulators and 16 weight rows likely spill in Subzero).
    /// It samples on the CPU (see `sample_on_gpu`) and splits decode attention into 16 key
    /// ranges a query as lavapipe does (`attention_query_ranges`; measured natively there,
    /// 2026-11-27, `cargo bench --bench kernels -- --tokens 1 --only attention --ctx N`,
    /// SmolLM2's heads, wall µs a layer, two runs each, none -> 16: 64 keys 919-1,354 ->
    /// 810-1,043, 512 keys 6,832-8,772 -> 3,384-4,464, 2,048 keys 31,047-31,689 ->
    /// 14,702-17,191). It keeps the KV cache in buffers: in textures (`kv_texels`) its
    /// attention was no faster there (`hearth profile --context 500`: 219 against 219 ms a
    /// decode token), nor were the matmuls from textures and uniforms (`hearth bench`, 32 + 16
    /// tokens: 6.2 / 2.1 against 6.4 / 2.2 tok/s).
    /// Heads past 64 dims (Gemma 3's) keep the workgroup kernel (`attention_per_query_max_head_dim`).
    /// It reads raw blocks, as lavapipe does (measured there too: see `matmul_raw_chunks`), and
    /// walks a kv head's queries together (measured there too: see `attention_group_queries`).
    pub const SWIFTSHADER: Tuning = Tuning {
        matmul_prefill_rows_per_thread: 8,
        matmul_prefill_tokens: 4,
        unroll_loops: true,
        matmul_raw_chunks: true,
        sample_on_gpu: false,
        attention_per_query_max_head_dim: 64,
        attention_group_queries: true,
        ..Tuning::CPU
    };

    /// GPUs. The GEMM's tile (prefill): 32 rows × 16 tokens, 2 × 2 per thread, the columns
    /// split between 2 thread groups, its loops unrolled (`unroll_gemm_max_bytes`). With the loops
    /// unrolled the tiles were measured again on an H200 (2026-11-28,
    /// bench/device/2026-11-28-h200-gemm-unroll-sweep.jsonl, `hearth profile`, GPU ms of a
    /// 128-token prefill, SmolLM2 / Qwen2.5 / Gemma 3): 16 × 16 tiles 6.9 / 16.7 / 7.3, 32 × 16
    /// 6.4 / 14.2 / 6.4, 32 × 32 with 4 × 2 a thread 7.1 / 14.3 / 6.4, 32 × 32 with 4 × 4 and
    /// 64 × 32 with 4 × 4 7.0-7.9 / 15.3-15.6 / 7.0-7.2, 64 × 64 (no split) and 8 × 4 a thread
    /// 9.3-12.5 / 20.8-25.3 / 9.3-11.0, 4 column groups 7.8 / 18.0 / 7.9. A probe that staged 2 or
    /// 4 chunks of 32 columns between each pair of barriers rather than 1 (not kept;
    /// bench/device/2026-11-28-h200-gemm-steps.jsonl) was slower: 8.7 / 20.2 / 8.6 ms with 2,
    /// 11.4 / 26.4 / 11.3 with 4, 7.2-7.7 / 15.6-17.6 / 6.8-7.8 with 64 KiB unrolling, one
    /// column group or 32-token tiles. Measured before on an H100 (native Vulkan, 2026-11-26,
    /// bench/device/2026-11-26-h100-gemm-tiles.jsonl and -gemm-split-tiled-attention.jsonl,
    /// 128-token prefill, `hearth --tune`): the earlier 64 × 32 tiles of 4 × 4 left most of
    /// the GPU idle (SmolLM2's matrices make 36-60 workgroups), and 16 × 16 with 2 × 2
    /// prefilled 2.1-2.3× faster (SmolLM2 1,924 -> 4,434 tok/s, Qwen2.5 900 -> 1,864, Gemma 3
    /// 2,363 -> 5,027; 32 × 32 and 32 × 16 tiles within 15% of it, 64 × 16 slower); splitting
    /// the columns between 2 groups added 13-30% more (SmolLM2 3,634 -> 4,712, Qwen2.5 1,726 ->
    /// 2,130, Gemma 3 4,211 -> 5,163; 4 groups 4,642 / 1,964 / 5,209). Tiled attention stays
    /// off: it was slower there (see `attention_tiled`). The loops unrolled in the source and
    /// decode GEMVs capped at 1,024 workgroups: measured on an H200 (2026-11-28, see
    /// `unroll_loops` and `matmul_decode_max_workgroups`).
    pub const GPU: Tuning = Tuning {
        matmul_decode_workgroup_size: 256,
        matmul_prefill_workgroup_size: 64,
        matmul_decode_threads_per_row: 32,
        matmul_prefill_threads_per_row: 16,
        matmul_decode_rows_per_thread: 1,
        matmul_decode_rows_interleaved: false,
        matmul_decode_balance_threads: 0,
        matmul_decode_max_workgroups: 1024,
        matmul_prefill_rows_per_thread: 1,
        matmul_prefill_tokens: 8,
        attention_thread_per_query: false,
        attention_per_query_max_head_dim: 256,
        attention_query_ranges: 0,
        attention_group_queries: false,
        kv_texels: false,
        rope_store_workgroup_per_head: true,
        attention_split_max: 32,
        attention_split_min_keys: 16,
        attention_tiled: false,
        matmul_gemm: true,
        matmul_gemm_tile_rows: 32,
        matmul_gemm_tile_tokens: 16,
        matmul_gemm_thread_rows: 2,
        matmul_gemm_thread_tokens: 2,
        matmul_gemm_k_split: 2,
        matmul_gemm_dp4a: false,
        matmul_subgroup_reduce: true,
        matmul_norm_prologue: true,
        matmul_x_uniform: false,
        matmul_x_windows_shrink_tokens: true,
        matmul_w_texture: false,
        matmul_raw_chunks: false,
        unroll_loops: true,
        unroll_max_bytes: super::unroll::SPEED_LIMITS.max_expanded_bytes as u32,
        unroll_gemm_max_bytes: 64 * 1024,
        sample_on_gpu: true,
        argmax_workgroup_size: 256,
        argmax_per_thread: 8,
    };
}

impl Tuning {
    /// This tuning with the fields named in `spec` replaced: `key=value` pairs separated by
    /// commas, keys as the field names (`matmul_decode_workgroup_size=128,attention_thread_per_query=false`).
    /// The kernels check their own invariants (powers of two, limits) when they are built.
    pub fn with_overrides(mut self, spec: &str) -> std::result::Result<Tuning, String> {
        for pair in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, value) = pair.split_once('=').ok_or_else(|| format!("tuning override `{pair}`: expected key=value"))?;
            let number = || value.parse::<u32>().map_err(|_| format!("tuning override `{key}`: `{value}` is not a whole number"));
            let flag = || value.parse::<bool>().map_err(|_| format!("tuning override `{key}`: `{value}` is not true or false"));
            match key {
                "matmul_decode_workgroup_size" => self.matmul_decode_workgroup_size = number()?,
                "matmul_prefill_workgroup_size" => self.matmul_prefill_workgroup_size = number()?,
                "matmul_decode_threads_per_row" => self.matmul_decode_threads_per_row = number()?,
                "matmul_prefill_threads_per_row" => self.matmul_prefill_threads_per_row = number()?,
                "matmul_decode_rows_per_thread" => self.matmul_decode_rows_per_thread = number()?,
                "matmul_decode_rows_interleaved" => self.matmul_decode_rows_interleaved = flag()?,
                "matmul_decode_balance_threads" => self.matmul_decode_balance_threads = number()?,
                "matmul_decode_max_workgroups" => self.matmul_decode_max_workgroups = number()?,
                "matmul_prefill_rows_per_thread" => self.matmul_prefill_rows_per_thread = number()?,
                "matmul_prefill_tokens" => self.matmul_prefill_tokens = number()?,
                "attention_thread_per_query" => self.attention_thread_per_query = flag()?,
                "attention_query_ranges" => self.attention_query_ranges = number()?,
                "attention_group_queries" => self.attention_group_queries = flag()?,
                "attention_per_query_max_head_dim" => self.attention_per_query_max_head_dim = number()?,
                "kv_texels" => self.kv_texels = flag()?,
                "rope_store_workgroup_per_head" => self.rope_store_workgroup_per_head = flag()?,
                "attention_split_max" => self.attention_split_max = number()?,
                "attention_split_min_keys" => self.attention_split_min_keys = number()?,
                "attention_tiled" => self.attention_tiled = flag()?,
                "matmul_gemm" => self.matmul_gemm = flag()?,
                "matmul_gemm_tile_rows" => self.matmul_gemm_tile_rows = number()?,
                "matmul_gemm_tile_tokens" => self.matmul_gemm_tile_tokens = number()?,
                "matmul_gemm_thread_rows" => self.matmul_gemm_thread_rows = number()?,
                "matmul_gemm_thread_tokens" => self.matmul_gemm_thread_tokens = number()?,
                "matmul_gemm_k_split" => self.matmul_gemm_k_split = number()?,
                "matmul_gemm_dp4a" => self.matmul_gemm_dp4a = flag()?,
                "matmul_subgroup_reduce" => self.matmul_subgroup_reduce = flag()?,
                "matmul_norm_prologue" => self.matmul_norm_prologue = flag()?,
                "matmul_x_uniform" => self.matmul_x_uniform = flag()?,
                "matmul_x_windows_shrink_tokens" => self.matmul_x_windows_shrink_tokens = flag()?,
                "matmul_w_texture" => self.matmul_w_texture = flag()?,
                "matmul_raw_chunks" => self.matmul_raw_chunks = flag()?,
                "unroll_loops" => self.unroll_loops = flag()?,
                "unroll_max_bytes" => self.unroll_max_bytes = number()?,
                "unroll_gemm_max_bytes" => self.unroll_gemm_max_bytes = number()?,
                "sample_on_gpu" => self.sample_on_gpu = flag()?,
                "argmax_workgroup_size" => self.argmax_workgroup_size = number()?,
                "argmax_per_thread" => self.argmax_per_thread = number()?,
                _ => return Err(format!("tuning override: unknown key `{key}` (the fields of hearth::gpu::Tuning)")),
            }
        }
        Ok(self)
    }
}

/// Whether this CPU has AVX-512 (where lavapipe's storage loads cost less: see
/// `matmul_x_windows_shrink_tokens`).
fn host_has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The threads lavapipe runs a dispatch's workgroups on: `LP_NUM_THREADS` where set, else one
/// per CPU this process may use (as llvmpipe counts them), at least 1.
fn lavapipe_threads() -> u32 {
    let set = std::env::var("LP_NUM_THREADS").ok().and_then(|v| v.trim().parse::<u32>().ok());
    let cpus = || std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    set.unwrap_or_else(cpus).max(1)
}

#[cfg(test)]
mod tests {
    use super::Tuning;

    #[test]
    fn each_kind_of_device_gets_its_tuning() {
        let info =
            |name: &str, device_type| wgpu::AdapterInfo { name: name.into(), ..wgpu::AdapterInfo::new(device_type, wgpu::Backend::Vulkan) };
        let lavapipe = Tuning::for_device(&info("llvmpipe (LLVM 15.0.6, 256 bits)", wgpu::DeviceType::Cpu));
        assert_eq!(
            lavapipe,
            Tuning { matmul_x_windows_shrink_tokens: !super::host_has_avx512(), ..Tuning::lavapipe(super::lavapipe_threads()) }
        );
        assert!(Tuning::lavapipe(2).kv_texels && Tuning::lavapipe(2).matmul_w_texture);
        assert_eq!(Tuning::lavapipe(2).matmul_decode_balance_threads, 2);
        assert_eq!(Tuning::for_device(&info("SwiftShader Device (Subzero)", wgpu::DeviceType::Cpu)), Tuning::SWIFTSHADER);
        // Chromium's adapter as the browser tests see it.
        assert_eq!(Tuning::for_device(&info("", wgpu::DeviceType::Cpu)), Tuning::SWIFTSHADER);
        assert_eq!(Tuning::for_device(&info("NVIDIA H100 80GB HBM3", wgpu::DeviceType::DiscreteGpu)), Tuning::GPU);
    }

    #[test]
    fn overrides_replace_only_the_named_fields() {
        let t = Tuning::GPU.with_overrides("matmul_prefill_workgroup_size=256, attention_thread_per_query=true").unwrap();
        assert_eq!(t.matmul_prefill_workgroup_size, 256);
        assert!(t.attention_thread_per_query);
        assert_eq!(t.matmul_decode_workgroup_size, Tuning::GPU.matmul_decode_workgroup_size);
    }

    #[test]
    fn overrides_name_what_is_wrong() {
        assert!(Tuning::CPU.with_overrides("nonsense=1").unwrap_err().contains("nonsense"));
        assert!(Tuning::CPU.with_overrides("matmul_decode_workgroup_size=big").unwrap_err().contains("big"));
        assert!(Tuning::CPU.with_overrides("attention_thread_per_query").unwrap_err().contains("key=value"));
    }
}
