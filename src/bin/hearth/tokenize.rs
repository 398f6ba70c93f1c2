use std::path::PathBuf;

use hearth::tokenizer::Tokenizer;

#[derive(clap::Args)]
pub struct Args {
    /// The GGUF model file whose tokenizer to use.
    #[arg(long)]
    model: PathBuf,
    /// Print a JSON array instead of space-separated ids.
    #[arg(long)]
    json: bool,
    /// Do not add BOS/EOS even where the model's metadata asks for them.
    #[arg(long)]
    no_special: bool,
    /// The text to tokenise. Special tokens written in it (`<|im_start|>`) are recognised.
    text: String,
}

pub fn run(args: Args) -> Result<(), String> {
    let file = crate::open_model(&args.model)?;
    let context = |e: hearth::Error| format!("{}: {e}", args.model.display());
    let tokenizer = Tokenizer::from_gguf(&file.header().metadata).map_err(context)?;
    let ids = tokenizer.encode(&args.text, !args.no_special).map_err(context)?;
    if args.json {
        println!("{}", serde_json::to_string(&ids).map_err(|e| e.to_string())?);
    } else {
        let text: Vec<String> = ids.iter().map(u32::to_string).collect();
        println!("{}", text.join(" "));
    }
    Ok(())
}
