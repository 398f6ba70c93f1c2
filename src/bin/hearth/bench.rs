use std::path::PathBuf;

use hearth::model::Logits;

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

/// Prefill: one forward pass over `prompt_tokens` tokens. Decode: `gen_tokens` greedy
/// single-token passes after it (each reads back only the chosen id, as generation does).
/// Token ids are a fixed, valid sequence so runs are comparable.
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
    let mut next = pollster::block_on(model.forward(&prompt, Logits::Last, false)).map_err(context)?.argmax;
    pollster::block_on(model.forward(&[next], Logits::Last, false)).map_err(context)?;
    let (mut prefill, mut decode) = (Vec::new(), Vec::new());
    for _ in 0..args.runs {
        model.reset();
        let t = web_time::Instant::now();
        next = pollster::block_on(model.forward(&prompt, Logits::Last, false)).map_err(context)?.argmax;
        prefill.push(f64::from(args.prompt_tokens) / t.elapsed().as_secs_f64());
        let t = web_time::Instant::now();
        for _ in 0..args.gen_tokens {
            next = pollster::block_on(model.forward(&[next], Logits::Last, false)).map_err(context)?.argmax;
        }
        decode.push(f64::from(args.gen_tokens) / t.elapsed().as_secs_f64());
    }
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
            "prefill_tok_s_all": prefill,
            "decode_tok_s_all": decode,
        });
        println!("{out}");
    } else {
        println!(
            "{device}: prefill {p:.1} tok/s ({} tokens), decode {d:.1} tok/s ({} tokens), median of {}",
            args.prompt_tokens, args.gen_tokens, args.runs
        );
    }
    Ok(())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}
