use std::path::PathBuf;

use hearth::inspect::ModelSummary;

#[derive(clap::Args)]
pub struct Args {
    /// The GGUF model file.
    model: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<(), String> {
    let file = crate::open_model(&args.model)?;
    let summary = ModelSummary::from_header(file.header()).map_err(|e| format!("{}: {e}", args.model.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary).map_err(|e| e.to_string())?);
    } else {
        println!("file            {} ({} bytes)", args.model.display(), file.len());
        println!("{summary}");
    }
    Ok(())
}
