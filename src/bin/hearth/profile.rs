//! `hearth profile`: where a token's time goes. Host (CPU) cost per token in steady decode
//! everywhere (round trips, bytes read back, dispatches, encode time), and GPU time per op
//! kind for one prefill batch and one decode step where the adapter has timestamp queries.

use std::collections::BTreeMap;
use std::path::PathBuf;

use hearth::model::{DispatchTime, Logits, MAX_DECODE_CHAIN};

#[derive(clap::Args)]
pub struct Args {
    /// The GGUF model file.
    #[arg(long)]
    model: PathBuf,
    /// Tokens in the profiled prefill batch (at most a graph's batch, 256).
    #[arg(long, default_value_t = 128)]
    prompt_tokens: u32,
    /// Tokens already in the cache before the profiled batch (prefilled first, not timed):
    /// profiles a long prompt's last chunk, where attention sees the whole context.
    #[arg(long, default_value_t = 0)]
    context: u32,
    /// Greedy tokens decoded for the host figures.
    #[arg(long, default_value_t = 64)]
    gen_tokens: u32,
    /// Tokens per GPU round trip in decode (1 to 16).
    #[arg(long, default_value_t = MAX_DECODE_CHAIN)]
    decode_chain: u32,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<(), String> {
    if args.prompt_tokens == 0 || args.gen_tokens == 0 || !(1..=MAX_DECODE_CHAIN).contains(&args.decode_chain) {
        return Err(format!("--prompt-tokens and --gen-tokens must be at least 1, --decode-chain 1 to {MAX_DECODE_CHAIN}"));
    }
    let n_ctx = args.context + args.prompt_tokens + args.gen_tokens + 1;
    let mut engine = crate::load_engine(&args.model, Some(n_ctx))?;
    let context = |e: hearth::Error| format!("{}: {e}", args.model.display());
    let model = &mut engine.model;
    let vocab = model.config.vocab;
    let all: Vec<u32> = (0..args.context + args.prompt_tokens).map(|i| (i * 7919 + 13) % vocab).collect();
    let (context_ids, prompt) = all.split_at(args.context as usize);
    let device = model.gpu().describe();

    // Host figures of steady decode, after a prefill (which also warms everything up).
    model.reset();
    let first = pollster::block_on(model.forward(&all, Logits::Last, false)).map_err(context)?.argmax;
    let before = model.stats();
    let (mut next, mut left) = (first, args.gen_tokens);
    while left > 0 {
        let k = args.decode_chain.min(left);
        next = *pollster::block_on(model.decode_greedy(next, k)).map_err(context)?.last().expect("k >= 1");
        left -= k;
    }
    let decode = model.stats().since(&before);
    let per_token = |v: f64| v / decode.tokens as f64;
    // What the step after the prompt reads, against the least any runtime could.
    let file = crate::open_model(&args.model)?;
    let traffic = hearth::model::decode_traffic(file.header(), &model.config, args.context + args.prompt_tokens);

    // GPU time per dispatch: one prefill batch (after the context, if any), then one decode
    // step after it.
    model.reset();
    if !context_ids.is_empty() {
        pollster::block_on(model.forward(context_ids, Logits::Last, false)).map_err(context)?;
    }
    let gpu = pollster::block_on(model.profile_forward(prompt))
        .and_then(|prefill| Ok((prefill, pollster::block_on(model.profile_forward(&[first]))?)));
    let (prefill_times, decode_times) = match gpu {
        Ok((p, d)) => (Some(p), Some(d)),
        Err(hearth::Error::InvalidArgument(why)) if !model.gpu().features.timestamps => {
            eprintln!("hearth: no GPU times: {why}");
            (None, None)
        }
        Err(e) => return Err(context(e)),
    };

    if args.json {
        let out = serde_json::json!({
            "model": args.model.display().to_string(),
            "device": device,
            "decode_chain": args.decode_chain,
            "decode": decode,
            "round_trips_per_token": per_token(decode.round_trips as f64),
            "bytes_read_back_per_token": per_token(decode.bytes_read_back as f64),
            "dispatches_per_token": per_token(decode.dispatches as f64),
            "host_encode_us_per_token": per_token(decode.encode_seconds) * 1e6,
            "graphs_built": model.graphs_built(),
            "decode_traffic": traffic,
            "decode_traffic_ratio": traffic.ratio(),
            "prefill_tokens": args.prompt_tokens,
            "context_tokens": args.context,
            "prefill_dispatches": prefill_times,
            "decode_dispatches": decode_times,
        });
        println!("{out}");
        return Ok(());
    }
    println!("{device}, {}", args.model.display());
    println!(
        "steady decode, {} tokens in chains of up to {}: {:.3} GPU round trips/token, {:.1} bytes read back/token, \
         {:.0} dispatches/token, host encode {:.1} µs/token; graphs built after load: {}",
        decode.tokens,
        args.decode_chain,
        per_token(decode.round_trips as f64),
        per_token(decode.bytes_read_back as f64),
        per_token(decode.dispatches as f64),
        per_token(decode.encode_seconds) * 1e6,
        model.graphs_built()
    );
    let mb = |b: u64| b as f64 / 1e6;
    println!(
        "bytes a decode step reads at {} tokens of context: weights {:.2} MB in the GPU layout (the GGUF's {:.2} MB) + \
         keys and values {:.2} MB = {:.3}x the minimum",
        traffic.n_past,
        mb(traffic.weights_read),
        mb(traffic.weights_minimum),
        mb(traffic.kv_read),
        traffic.ratio()
    );
    let after = if args.context > 0 { format!(" after {} tokens of context", args.context) } else { String::new() };
    for (label, times) in
        [(format!("prefill, {} tokens{after}", args.prompt_tokens), prefill_times), ("decode, 1 token".into(), decode_times)]
    {
        if let Some(times) = times {
            print_by_kind(&label, &times);
        }
    }
    Ok(())
}

/// GPU time per op kind, largest first.
fn print_by_kind(label: &str, times: &[DispatchTime]) {
    let mut by_kind: BTreeMap<&str, (u32, f64)> = BTreeMap::new();
    for t in times {
        let e = by_kind.entry(&t.kind).or_default();
        e.0 += 1;
        e.1 += t.gpu_seconds;
    }
    let total: f64 = times.iter().map(|t| t.gpu_seconds).sum();
    let mut rows: Vec<_> = by_kind.into_iter().collect();
    rows.sort_by(|a, b| b.1.1.total_cmp(&a.1.1));
    println!("\n{label}: {:.3} ms of GPU time in {} dispatches (each timed alone)", total * 1e3, times.len());
    println!("| op | dispatches | GPU ms | share |");
    println!("|---|---:|---:|---:|");
    for (kind, (count, secs)) in rows {
        println!("| {kind} | {count} | {:.3} | {:.1}% |", secs * 1e3, 100.0 * secs / total.max(f64::MIN_POSITIVE));
    }
}
