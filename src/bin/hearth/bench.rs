use std::path::PathBuf;

use hearth::model::{Logits, MAX_DECODE_CHAIN, Model};
use hearth::sample::{Sampler, SamplingParams};

/// The sampled decode's settings: a typical chat request (seeded, so runs draw alike).
fn sampled_params() -> SamplingParams {
    SamplingParams { temperature: 0.8, top_k: 40, top_p: 0.95, min_p: 0.05, seed: Some(7), ..Default::default() }
}

#[derive(clap::Args)]
pub struct Args {
    /// The GGUF model file.
    #[arg(long)]
    model: PathBuf,
    /// Prompt length for the prefill measurement.
    #[arg(long, default_value_t = 128)]
    prompt_tokens: u32,
    /// Tokens generated for the decode measurement.
    #[arg(long, default_value_t = 128)]
    gen_tokens: u32,
    /// Runs; the median is reported.
    #[arg(long, default_value_t = 5)]
    runs: u32,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Prefill: one forward pass over `prompt_tokens` tokens. Decode: `gen_tokens` greedy tokens
/// after it, measured twice in each run: one GPU round trip per token (reads back only the
/// chosen id), and chains of `MAX_DECODE_CHAIN` tokens per round trip (as generation does);
/// then once more sampled (`sampled_params`: what a chat at a temperature runs): on the GPU
/// in chains where the tuning and the vocabulary let the GPU sampler run (its passes over the
/// vocabulary replace the argmax), else on the CPU from read-back logits, one round trip per
/// token, as generation then does. Token ids are a fixed, valid sequence so runs are comparable.
pub fn run(args: Args) -> Result<(), String> {
    if args.runs == 0 || args.prompt_tokens == 0 || args.gen_tokens == 0 {
        return Err("--runs, --prompt-tokens and --gen-tokens must be at least 1".into());
    }
    let n_ctx = args.prompt_tokens + args.gen_tokens;
    let mut engine = crate::load_engine(&args.model, Some(n_ctx))?;
    let context = |e: hearth::Error| format!("{}: {e}", args.model.display());
    let vocab = engine.model.config.vocab;
    let prompt: Vec<u32> = (0..args.prompt_tokens).map(|i| (i * 7919 + 13) % vocab).collect();
    let device = engine.model.gpu().describe();
    let model = &mut engine.model;
    // Warm-up: builds the prefill graph and compiles its shaders outside the timings.
    model.reset();
    let next = pollster::block_on(model.forward(&prompt, Logits::Last, false)).map_err(context)?.argmax;
    pollster::block_on(model.forward(&[next], Logits::Last, false)).map_err(context)?;
    let sampled = model.samples_on_gpu(&sampled_params());
    if sampled {
        pollster::block_on(model.begin_sampling(&sampled_params(), &prompt)).map_err(context)?;
    }
    let (mut prefill, mut decode, mut decode_chained, mut decode_sampled) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..args.runs {
        model.reset();
        let t = web_time::Instant::now();
        let first = pollster::block_on(model.forward(&prompt, Logits::Last, false)).map_err(context)?.argmax;
        prefill.push(f64::from(args.prompt_tokens) / t.elapsed().as_secs_f64());
        for (chain, out) in [(1, &mut decode), (MAX_DECODE_CHAIN, &mut decode_chained)] {
            model.truncate(args.prompt_tokens);
            let t = web_time::Instant::now();
            decode_tokens(model, first, args.gen_tokens, chain).map_err(context)?;
            out.push(f64::from(args.gen_tokens) / t.elapsed().as_secs_f64());
        }
        model.truncate(args.prompt_tokens);
        let t = web_time::Instant::now();
        if sampled {
            decode_tokens_sampled(model, first, args.gen_tokens).map_err(context)?;
        } else {
            decode_tokens_cpu_sampled(model, first, args.gen_tokens).map_err(context)?;
        }
        decode_sampled.push(f64::from(args.gen_tokens) / t.elapsed().as_secs_f64());
    }
    let ds = median(&mut decode_sampled);
    let sampled_on = if sampled { "gpu" } else { "cpu" };
    let dc = median(&mut decode_chained);
    let (p, d) = (median(&mut prefill), median(&mut decode));
    if args.json {
        let out = serde_json::json!({
            "model": args.model.display().to_string(),
            "device": device,
            "prompt_tokens": args.prompt_tokens,
            "gen_tokens": args.gen_tokens,
            "runs": args.runs,
            "prefill_tok_s": p,
            "decode_tok_s": d,
            "decode_chained_tok_s": dc,
            "decode_chain": MAX_DECODE_CHAIN,
            "decode_sampled_tok_s": ds,
            "decode_sampled_on": sampled_on,
            "decode_sampled_tok_s_all": decode_sampled,
            "prefill_tok_s_all": prefill,
            "decode_tok_s_all": decode,
            "decode_chained_tok_s_all": decode_chained,
        });
        println!("{out}");
    } else {
        let sampled = if sampled { "in chains on the GPU" } else { "on the CPU" };
        println!(
            "{device}: prefill {p:.1} tok/s ({} tokens), decode {d:.1} tok/s ({} tokens), \
             decode in chains of {MAX_DECODE_CHAIN} {dc:.1} tok/s, sampled {sampled} {ds:.1} tok/s, median of {}",
            args.prompt_tokens, args.gen_tokens, args.runs
        );
    }
    Ok(())
}

/// `n` greedy tokens after `first`, `chain` per GPU round trip.
fn decode_tokens(model: &mut Model, first: u32, n: u32, chain: u32) -> hearth::Result<()> {
    let mut next = first;
    let mut left = n;
    while left > 0 {
        let k = chain.min(left);
        next = *pollster::block_on(model.decode_greedy(next, k))?.last().expect("k >= 1");
        left -= k;
    }
    Ok(())
}

/// `n` tokens after `first` sampled on the GPU (`sampled_params`), in chains.
fn decode_tokens_sampled(model: &mut Model, first: u32, n: u32) -> hearth::Result<()> {
    let mut next = first;
    let mut step = 1;
    while step <= n {
        let k = MAX_DECODE_CHAIN.min(n - step + 1);
        // Fixed uniforms: the timing, not the text, is what is measured.
        let uniforms: Vec<f64> = (0..k).map(|i| f64::from((step + i) * 7919 % 1000) / 1000.0).collect();
        next = *pollster::block_on(model.decode_sampled(next, step, &uniforms))?.last().expect("k >= 1");
        if next == hearth::kernels::sample::SENTINEL {
            return Err(hearth::Error::InvalidArgument("the GPU sampler refused a step of the bench".into()));
        }
        step += k;
    }
    Ok(())
}

/// `n` tokens after `first` sampled on the CPU (`sampled_params`) from each step's read-back
/// logits: the path generation takes where the GPU sampler does not run.
fn decode_tokens_cpu_sampled(model: &mut Model, first: u32, n: u32) -> hearth::Result<()> {
    let mut sampler = Sampler::new(sampled_params())?;
    let mut history = vec![first];
    for _ in 0..n {
        let out = pollster::block_on(model.forward(&history[history.len() - 1..], Logits::Last, true))?;
        let logits = out.logits.ok_or_else(|| hearth::Error::InvalidArgument("no logits read back".into()))?;
        history.push(sampler.sample(&logits, &history)?);
    }
    Ok(())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}
