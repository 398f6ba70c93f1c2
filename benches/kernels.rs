//! Per-kernel timings at a real model's shapes (SmolLM2-135M by default), for decode (1
//! token) and prefill (128 tokens), on whatever device wgpu picks. Each kernel's dispatch is
//! recorded REPS times into one compute pass, as the model records its graph, so the time
//! includes the device's per-dispatch cost. The last column multiplies by how often the
//! kernel runs per forward pass, to show where a token's time goes.
//!
//!     cargo bench --bench kernels [-- --d 576 --ff 1536 --heads 9 --kv-heads 3 --head-dim 64
//!                                     --vocab 49152 --layers 30 --ctx 256 --format Q4_1 --head-format Q8_0
//!                                     --tokens 1,128 --only matmul --ceiling no --reps 200
//!                                     --wg 16 --rows-decode 4 --rows-prefill 8 --tokens-prefill 2
//!                                     --attention-per-query 1
//!                                     --tune attention_split_max=32,matmul_decode_workgroup_size=64]
//! (the last two lines override the device's Tuning, to compare kernel shapes; `--tune`
//! takes `hearth --tune`'s key=value list of `Tuning` fields).
//!
//! For decode it ends with the GEMVs' weight bytes over their time in one line, set against
//! the device's read ceiling measured in the same run (benches/support/read_reduce.rs). Each
//! layer has its own copy of the matmuls' weights, timed in turn, so that like a model's they
//! come from memory rather than the caches.

#[path = "support/read_reduce.rs"]
#[allow(dead_code)] // its probe pattern is the bandwidth bench's
mod read_reduce;

use std::time::Instant;

use hearth::gpu::{ElementwiseOp, GpuContext, GpuMatrix, PipelineCache};
use hearth::kernels::argmax::{ArgmaxRow, argmax};
use hearth::kernels::attention::{AttentionShape, attention};
use hearth::kernels::embed::embed;
use hearth::kernels::kv::{KvPrecision, KvStore};
use hearth::kernels::matmul::{Fusion, matmul_with};
use hearth::kernels::matmul_norm::Norm;
use hearth::kernels::rmsnorm::{Rows, rmsnorm};
use hearth::kernels::rope_store::{RopeStoreShape, RopeStyle, inv_freq, rope_store};
use hearth::kernels::step::Step;
use hearth::kernels::tensor::Tensor;
use hearth::kernels::{BatchRows, Dispatch};
use hearth::quant::DType;
use wgpu::util::DeviceExt;

struct Shape {
    d: u32,
    ff: u32,
    heads: u32,
    kv_heads: u32,
    head_dim: u32,
    vocab: u32,
    layers: u32,
    ctx: u32,
    format: DType,
    head_format: DType,
    /// Batch sizes to time (1: decode, 128: prefill).
    tokens: Vec<u32>,
    /// Only kernels whose name contains this.
    only: String,
    tuning: Vec<(String, u32)>,
    /// `Tuning::with_overrides` spec, applied after `tuning`.
    tune: String,
    /// Measure the read-reduce ceiling after the decode GEMVs (`--ceiling no`: not, so that a
    /// profile of the run holds the kernels alone).
    ceiling: bool,
    /// Calls of each kernel per timed pass for one token (`--reps`; a profile wants more).
    decode_reps: u32,
}

fn parse_args() -> Shape {
    let mut s = Shape {
        d: 576,
        ff: 1536,
        heads: 9,
        kv_heads: 3,
        head_dim: 64,
        vocab: 49152,
        layers: 30,
        ctx: 256,
        format: DType::Q4_1,
        head_format: DType::Q8_0,
        tokens: vec![1, 128],
        only: String::new(),
        tuning: Vec::new(),
        tune: String::new(),
        ceiling: true,
        decode_reps: 200,
    };
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let dtype = |name: &str| {
        DType::ALL.into_iter().find(|d| d.name().eq_ignore_ascii_case(name)).unwrap_or_else(|| panic!("unknown format {name}"))
    };
    for pair in args.chunks(2) {
        let value = pair.get(1).map(String::as_str).unwrap_or_else(|| panic!("{} needs a value", pair[0]));
        let n = || value.parse::<u32>().unwrap_or_else(|_| panic!("{}: not a number: {value}", pair[0]));
        match pair[0].as_str() {
            "--d" => s.d = n(),
            "--ff" => s.ff = n(),
            "--heads" => s.heads = n(),
            "--kv-heads" => s.kv_heads = n(),
            "--head-dim" => s.head_dim = n(),
            "--vocab" => s.vocab = n(),
            "--layers" => s.layers = n(),
            "--ctx" => s.ctx = n(),
            "--format" => s.format = dtype(value),
            "--head-format" => s.head_format = dtype(value),
            "--tokens" => s.tokens = value.split(',').map(|t| t.parse().expect("--tokens 1,128")).collect(),
            "--only" => s.only = value.to_string(),
            "--tune" => s.tune = value.to_string(),
            "--ceiling" => s.ceiling = value != "no",
            "--reps" => s.decode_reps = n(),
            "--wg" | "--rows-decode" | "--rows-prefill" | "--tokens-prefill" | "--attention-per-query" => {
                s.tuning.push((pair[0].clone(), n()))
            }
            other => panic!("unknown option {other}"),
        }
    }
    s
}

/// CPU seconds used by this process so far, all threads (lavapipe runs its shaders on
/// threads of this process): the process CPU clock, exact to the nanosecond where the OS keeps
/// one (/proc/self/stat's ticks are 10 ms, too coarse for a kernel's few hundred µs); NaN
/// where there is none. On a shared, busy machine, or a VM whose idle CPUs take tens of µs to
/// wake for each dispatch, this measures the work done, which wall time does not.
fn cpu_seconds() -> f64 {
    #[cfg(unix)]
    {
        let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: clock_gettime writes one timespec through a valid pointer.
        if unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) } == 0 {
            return t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9;
        }
    }
    f64::NAN
}

/// (wall, CPU) seconds per call of a kernel, whose `calls` are its dispatches for one call
/// (one per layer's copy of its weights, recorded in turn): wall is the median of 5 passes of
/// `reps` calls, CPU the total over those passes.
fn time(ctx: &GpuContext, calls: &[Vec<Dispatch>], n_tokens: u32, reps: u32) -> (f64, f64) {
    let pass = || {
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            for i in 0..reps as usize {
                calls[i % calls.len()].iter().for_each(|d| d.record(&mut pass, n_tokens));
            }
        }
        let t = Instant::now();
        ctx.queue.submit([encoder.finish()]);
        ctx.device.poll(wgpu::PollType::wait_indefinitely()).unwrap();
        t.elapsed().as_secs_f64() / f64::from(reps)
    };
    pass(); // compile, page in
    let cpu0 = cpu_seconds();
    let mut v: Vec<f64> = (0..5).map(|_| pass()).collect();
    let cpu = (cpu_seconds() - cpu0) / f64::from(5 * reps);
    v.sort_by(f64::total_cmp);
    (v[2], cpu)
}

/// The next value of a xorshift32 generator (the bench's inputs: any fixed noise will do).
fn xorshift(x: &mut u32) -> u32 {
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    *x
}

fn random_matrix(ctx: &GpuContext, name: &str, dtype: DType, rows: u32, cols: u32) -> GpuMatrix {
    // Any bytes are valid blocks except non-finite float scales: use small random bytes.
    let n = dtype.bytes_for(u64::from(rows) * u64::from(cols)).unwrap() as usize;
    let mut x = 0x9e37_79b9_u32;
    let bytes: Vec<u8> = (0..n).map(|_| (xorshift(&mut x) & 0x3b) as u8).collect(); // keeps f16/bf16 halves finite and small
    GpuMatrix::upload(ctx, name, dtype, rows, cols, &bytes).unwrap()
}

fn main() {
    let s = parse_args();
    let mut ctx = pollster::block_on(GpuContext::new(Default::default())).expect("a GPU adapter");
    for (option, v) in &s.tuning {
        let t = &mut ctx.tuning;
        match option.as_str() {
            "--wg" => (t.matmul_decode_workgroup_size, t.matmul_prefill_workgroup_size) = (*v, *v),
            "--rows-decode" => t.matmul_decode_rows_per_thread = *v,
            "--rows-prefill" => t.matmul_prefill_rows_per_thread = *v,
            "--tokens-prefill" => t.matmul_prefill_tokens = *v,
            _ => t.attention_thread_per_query = *v != 0,
        }
    }
    ctx.tuning = ctx.tuning.with_overrides(&s.tune).unwrap_or_else(|e| panic!("--tune: {e}"));
    let p = PipelineCache::default();
    println!(
        "device: {}; {:?}; model shape d={} ff={} heads={}/{} head_dim={} vocab={} layers={} ctx={} {}/{}",
        ctx.describe(),
        ctx.tuning,
        s.d,
        s.ff,
        s.heads,
        s.kv_heads,
        s.head_dim,
        s.vocab,
        s.layers,
        s.ctx,
        s.format,
        s.head_format
    );
    let (q_dim, kv_dim) = (s.heads * s.head_dim, s.kv_heads * s.head_dim);
    // The model's matrices as the loader concatenates them: [q; k; v] and [gate; up].
    // A copy per layer, as a model has, timed in turn: one layer's matrices would be read from
    // the caches (SmolLM2's gate/up is 1.1 MB), a model's 30 layers (66 MB) from memory.
    let per_layer = |name: &str, rows: u32, cols: u32| -> Vec<GpuMatrix> {
        (0..s.layers).map(|_| random_matrix(&ctx, name, s.format, rows, cols)).collect()
    };
    let w_qkv = per_layer("w_qkv", q_dim + 2 * kv_dim, s.d);
    let wo = per_layer("wo", s.d, q_dim);
    let w_gate_up = per_layer("w_gate_up", 2 * s.ff, s.d);
    let w_down = per_layer("w_down", s.d, s.ff);
    let head = random_matrix(&ctx, "lm_head", s.head_format, s.vocab, s.d);
    let freqs = ctx.f32_buffer_from("inv_freq", &inv_freq(s.head_dim, 10_000.0, 1.0));
    let norm_w = ctx.f32_buffer_from("norm", &vec![1.0; s.d as usize]);
    // f16 caches, two values per 4-byte word, in buffers or textures as the tuning says
    // (src/model/kv_cache.rs).
    let kv_store = |name: &str| KvStore::for_tuning(&ctx, name, KvPrecision::F16, s.head_dim, kv_dim, s.ctx);
    let (k_cache, v_cache) = (kv_store("k_cache"), kv_store("v_cache"));

    println!("\n| pass | kernel | µs per call | CPU µs per call | calls per pass | ms per pass | weight GB/s |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    let mut totals = Vec::new();
    let mut gemv_line = None;
    for &n in &s.tokens {
        let nu = n as usize;
        // Activations of every width the model has, for n tokens.
        let t = |name: &str, width: u32| Tensor::new(&ctx, name, n, width).unwrap();
        let x = t("x", s.d);
        let (qkv, q, att) = (t("qkv", q_dim + 2 * kv_dim), t("q", q_dim), t("att", q_dim));
        let gate = t("gate", s.ff);
        let logits = Tensor::new(&ctx, "logits", 1, s.vocab).unwrap();
        let ids = ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: None,
            contents: bytemuck::cast_slice(&vec![7u32; nu]),
            usage: wgpu::BufferUsages::STORAGE,
        });
        let id_out = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size: 4,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        // Zeros: no mask (as in a decode without a grammar).
        let argmax_mask = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size: u64::from(hearth::kernels::argmax::mask_words(s.vocab)) * 4,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        // The step uniform: decode at the end of the cache, prefill from its start.
        let pos0 = if n == 1 { s.ctx - 1 } else { 0 };
        let step = ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: None,
            contents: bytemuck::bytes_of(&Step::new(pos0, n)),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let shape = AttentionShape {
            n_heads: s.heads,
            n_kv_heads: s.kv_heads,
            head_dim: s.head_dim,
            window: 0,
            scale: 0.125,
            kv: KvPrecision::F16,
        };
        let b =
            |f: std::pin::Pin<Box<dyn std::future::Future<Output = hearth::Result<Dispatch>> + '_>>| vec![pollster::block_on(f).unwrap()];
        let bv =
            |f: std::pin::Pin<Box<dyn std::future::Future<Output = hearth::Result<Vec<Dispatch>>> + '_>>| pollster::block_on(f).unwrap();
        let l = s.layers;
        let batch = BatchRows::PerToken(n);
        let rope_shape = RopeStoreShape {
            n_heads: s.heads,
            n_kv_heads: s.kv_heads,
            head_dim: s.head_dim,
            n_rot: s.head_dim,
            style: RopeStyle::Normal,
            mscale: 1.0,
            n_ctx: s.ctx,
            kv: KvPrecision::F16,
        };
        let residual = Fusion { accumulate: true, ..Default::default() };
        // The input norms as the model runs them: the prologues of the matmuls that read the
        // residual stream (`Tuning::matmul_norm_prologue`), or rmsnorm dispatches of their own
        // into a normalised copy (CPU-like devices), timed as kernels of their own.
        let prologue = ctx.tuning.matmul_norm_prologue;
        let norm = prologue.then_some(Norm { weight: &norm_w, eps: 1e-5, post: None });
        let (xn, xn_last) = if prologue { (x.clone(), x.clone()) } else { (t("xn", s.d), Tensor::new(&ctx, "xn_last", 1, s.d).unwrap()) };
        let normed = Fusion { norm, ..Default::default() };
        let glu = Fusion { norm, glu: Some(ElementwiseOp::SwiGlu), ..Default::default() };
        let norm_rows = |tokens| Rows { n: s.d, per_token: 1, tokens };
        let rmsnorm_into = |out, tokens| b(Box::pin(rmsnorm(&ctx, &p, &x, &norm_w, out, &step, norm_rows(tokens), 1e-5)));
        let (qkv_name, gate_up_name, head_name) = if prologue {
            ("matmul norm + qkv", "matmul norm + gate_up + swiglu", "norm + lm_head (1 row)")
        } else {
            ("matmul qkv", "matmul gate_up + swiglu", "lm_head (1 row)")
        };
        // One call's dispatches of each layer's copy of a matrix.
        let each_layer = |ws: &[GpuMatrix], input: &Tensor, out: &Tensor, fusion: Fusion| -> Vec<Vec<Dispatch>> {
            ws.iter().map(|w| bv(Box::pin(matmul_with(&ctx, &p, w, input, out, &step, batch, fusion)))).collect()
        };
        // (name, dispatches of a call (a list per layer's weights, timed in turn), calls per
        // forward pass, weight bytes read per call)
        let mut kernels: Vec<(&str, Vec<Vec<Dispatch>>, u32, u64)> = vec![
            ("embed", vec![bv(Box::pin(embed(&ctx, &p, &head, &ids, &x, n, 1.0)))], 1, 0),
            (qkv_name, each_layer(&w_qkv, &xn, &qkv, normed), l, bytes(&w_qkv[0])),
            ("rope_store", vec![b(Box::pin(rope_store(&ctx, &p, &qkv, None, &freqs, &q, &k_cache, &v_cache, &step, rope_shape)))], l, 0),
            ("attention", vec![bv(Box::pin(attention(&ctx, &p, &q, &k_cache, &v_cache, &att, &step, shape, n)))], l, 0),
            ("matmul o + residual", each_layer(&wo, &att, &x, residual), l, bytes(&wo[0])),
            (gate_up_name, each_layer(&w_gate_up, &xn, &gate, glu), l, bytes(&w_gate_up[0])),
            ("matmul down + residual", each_layer(&w_down, &gate, &x, residual), l, bytes(&w_down[0])),
            (
                head_name,
                vec![bv(Box::pin(matmul_with(&ctx, &p, &head, &xn_last, &logits, &step, BatchRows::One, normed)))],
                1,
                bytes(&head),
            ),
            ("argmax", vec![bv(Box::pin(argmax(&ctx, &p, &logits, ArgmaxRow::At(0), &id_out, &step, &argmax_mask)))], 1, 0),
        ];
        if !prologue {
            kernels.insert(1, ("rmsnorm (attention and FFN inputs)", vec![rmsnorm_into(&xn, batch)], 2 * l, 0));
            kernels
                .insert(kernels.len() - 2, ("rmsnorm (the last token, output head)", vec![rmsnorm_into(&xn_last, BatchRows::One)], 1, 0));
        }
        let mut total = 0.0;
        // Decode's matmuls: weight bytes and seconds per forward pass.
        let (mut gemv_bytes, mut gemv_seconds) = (0.0, 0.0);
        for (name, ds, calls, wbytes) in kernels.iter().filter(|k| k.0.contains(&s.only)) {
            let reps = if n == 1 { s.decode_reps } else { 3 };
            let (t, cpu) = time(&ctx, ds, n, reps);
            total += t * f64::from(*calls);
            if n == 1 && *wbytes > 0 {
                gemv_bytes += *wbytes as f64 * f64::from(*calls);
                gemv_seconds += t * f64::from(*calls);
            }
            let gbs = if *wbytes > 0 { format!("{:.1}", *wbytes as f64 / t / 1e9) } else { String::new() };
            println!("| {n} tok | {name} | {:.1} | {:.1} | {calls} | {:.2} | {gbs} |", t * 1e6, cpu * 1e6, t * 1e3 * f64::from(*calls));
        }
        totals.push((n, total));
        if gemv_seconds > 0.0 {
            gemv_line = Some((gemv_bytes, gemv_seconds));
        }
    }
    if s.only.is_empty() || "sample".contains(&s.only) {
        time_sampler(&ctx, &p, s.vocab);
    }
    for (n, total) in totals {
        println!("\n{n} token(s): {:.1} ms per forward pass by the sum above ({:.1} tok/s)", total * 1e3, f64::from(n) / total);
    }
    if let Some((bytes, seconds)) = gemv_line {
        let gbs = bytes / seconds / 1e9;
        println!("\ndecode GEMVs: {:.1} MB of weights in {:.2} ms per forward pass, {gbs:.2} GB/s", bytes / 1e6, seconds * 1e3);
        // The ceiling, same run: 64 MiB read-reduce (past every cache), every access pattern.
        for pattern in read_reduce::Pattern::ALL.into_iter().filter(|_| s.ceiling) {
            if let Some(t) = read_reduce::seconds_per_read(&ctx, pattern, 64 << 20, 256) {
                let ceiling = f64::from(64u32 << 20) / t / 1e9;
                println!("  read-reduce {}: {ceiling:.2} GB/s; GEMVs at {:.0}% of it", pattern.name(), 100.0 * gbs / ceiling);
            }
        }
    }
}

/// The GPU sampler (shaders/sample.wgsl) per request shape a chat may send, on two rows of
/// `vocab` logits: flat (uniform in [-8, 8]: thousands of tokens within reach of the top) and
/// peaked (the same with 64 tokens raised by 12, as when a reply has a few dozen plausible
/// continuations); each call draws with the same uniform.
fn time_sampler(ctx: &GpuContext, p: &PipelineCache, vocab: u32) {
    use hearth::kernels::sample::GpuSampler;
    use hearth::sample::SamplingParams;
    let mut x = 0x2545_f491_u32;
    let flat: Vec<f32> = (0..vocab).map(|_| (xorshift(&mut x) as f32 / u32::MAX as f32 * 2.0 - 1.0) * 8.0).collect();
    let mut peaked = flat.clone();
    for i in 0..64 {
        peaked[(i * 7919) % vocab as usize] += 12.0;
    }
    let rows = [ctx.f32_buffer_from("flat", &flat), ctx.f32_buffer_from("peaked", &peaked)];
    let out = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: 4,
        usage: wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    });
    let at = |temperature: f32| SamplingParams { temperature, seed: Some(1), ..SamplingParams::default() };
    let defaults = SamplingParams { top_k: 40, top_p: 0.95, min_p: 0.05, ..at(0.8) };
    let requests = [
        ("greedy", at(0.0)),
        ("temperature 1", at(1.0)),
        ("top_p 0.9", SamplingParams { top_p: 0.9, ..at(1.0) }),
        ("top_k 40, top_p 0.95, min_p 0.05, t 0.8", defaults),
    ];
    // The first dispatch compiles the pipeline: seconds on SwiftShader, where Chromium users
    // without a GPU and the browser tests pay it.
    let t = Instant::now();
    let sampler = GpuSampler::new(ctx, vocab).unwrap();
    let d = pollster::block_on(sampler.dispatch(ctx, p, &rows[0], 0, &out, 0)).unwrap();
    time(ctx, &[vec![d]], 1, 1);
    println!("\nsampler pipeline: compiled and run once in {:.2} s", t.elapsed().as_secs_f64());
    println!("\n| sampler, vocabulary {vocab} | flat row, µs per call | peaked row, µs per call |\n|---|---:|---:|");
    for (name, params) in requests {
        let mut cells = Vec::new();
        for logits in &rows {
            let sampler = GpuSampler::new(ctx, vocab).unwrap();
            sampler.begin_request(&ctx.queue, &params, &[]).unwrap();
            sampler.write_steps(&ctx.queue, 0, &[0.37]).unwrap();
            let mut encoder = ctx.device.create_command_encoder(&Default::default());
            sampler.copy_step(&mut encoder, 0);
            ctx.queue.submit([encoder.finish()]);
            let d = pollster::block_on(sampler.dispatch(ctx, p, logits, 0, &out, 0)).unwrap();
            cells.push(format!("{:.0}", time(ctx, &[vec![d]], 1, 20).0 * 1e6));
        }
        println!("| {name} | {} |", cells.join(" | "));
    }
}

fn bytes(m: &GpuMatrix) -> u64 {
    m.parts.iter().map(|p| p.buffer.size()).sum()
}
