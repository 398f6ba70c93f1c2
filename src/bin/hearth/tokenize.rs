use std::path::PathBuf;

use hearth::chat::ChatMessage;
use hearth::engine::Engine;

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
    /// Treat TEXT as a JSON array of chat messages (`[{"role": "user", "content": "Hi"}]`) and
    /// print the ids of the prompt a chat request makes of them: the model's template with the
    /// generation prompt, tokenised as `generate --chat` does.
    #[arg(long)]
    messages: bool,
    /// The text to tokenise. Special tokens written in it (`<|im_start|>`) are recognised.
    text: String,
}

pub fn run(args: Args) -> Result<(), String> {
    let file = crate::open_model(&args.model)?;
    let context = |e: hearth::Error| format!("{}: {e}", args.model.display());
    let (tokenizer, template) = Engine::text_side(&file.header().metadata).map_err(context)?;
    let ids = if args.messages {
        let messages: Vec<ChatMessage> =
            serde_json::from_str(&args.text).map_err(|e| format!("--messages: TEXT is not a JSON array of {{role, content}}: {e}"))?;
        hearth::engine::encode_chat(&tokenizer, template.as_ref(), &messages).map_err(context)?
    } else {
        tokenizer.encode(&args.text, !args.no_special).map_err(context)?
    };
    if args.json {
        println!("{}", serde_json::to_string(&ids).map_err(|e| e.to_string())?);
    } else {
        let text: Vec<String> = ids.iter().map(u32::to_string).collect();
        println!("{}", text.join(" "));
    }
    Ok(())
}
