use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The GGUF model file whose tokenizer to use.
    #[arg(long)]
    model: PathBuf,
    /// Print a JSON array instead of space-separated ids.
    #[arg(long)]
    json: bool,
    /// The text to tokenise.
    text: String,
}

pub fn run(_args: Args) -> Result<(), String> {
    Err("tokenize: not wired yet".into())
}
