use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The GGUF model file.
    #[arg(long)]
    model: PathBuf,
    /// The text file to measure.
    #[arg(long)]
    file: PathBuf,
    /// Window length in tokens (each window starts from an empty cache).
    #[arg(long, default_value_t = 512)]
    ctx: u32,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<(), String> {
    let text = std::fs::read_to_string(&args.file).map_err(|e| format!("{}: {e}", args.file.display()))?;
    let mut engine = crate::load_engine(&args.model, Some(args.ctx))?;
    let context = |e: hearth::Error| format!("{}: {e}", args.model.display());
    let ids = engine.encode_prompt(&text).map_err(context)?;
    let p = pollster::block_on(hearth::engine::perplexity(&mut engine.model, &ids, args.ctx as usize)).map_err(context)?;
    if args.json {
        println!("{}", serde_json::json!({"tokens": p.tokens, "predicted": p.predicted, "ppl": p.ppl}));
    } else {
        println!("{} tokens, {} predicted, perplexity {:.4}", p.tokens, p.predicted, p.ppl);
    }
    Ok(())
}
