use std::io::Write;
use std::path::PathBuf;

use hearth::chat::{ChatMessage, ChatTemplate};
use hearth::sample::SamplingParams;
use hearth::structured::{GrammarFormat, GrammarSyntax, JsonSchemaFormat, ResponseFormat};
use hearth::tools::{ToolRequest, ToolUse};

#[derive(clap::Args)]
pub struct Args {
    /// The GGUF model file.
    #[arg(long)]
    model: PathBuf,
    /// Treat the prompt as a user message and apply the model's chat template.
    #[arg(long)]
    chat: bool,
    /// A Jinja chat template file to use instead of the model's own (with --chat), e.g. the
    /// instruct template for a base model whose GGUF has none.
    #[arg(long, value_name = "FILE")]
    chat_template: Option<PathBuf>,
    /// A system message (with --chat).
    #[arg(long)]
    system: Option<String>,
    /// The most tokens to generate.
    #[arg(short = 'n', long, default_value_t = 128)]
    max_tokens: u32,
    /// 0 = greedy.
    #[arg(long, default_value_t = 0.0)]
    temperature: f32,
    #[arg(long, default_value_t = 0)]
    top_k: u32,
    #[arg(long, default_value_t = 1.0)]
    top_p: f32,
    #[arg(long, default_value_t = 0.0)]
    min_p: f32,
    #[arg(long, default_value_t = 1.0)]
    repetition_penalty: f32,
    #[arg(long)]
    seed: Option<u64>,
    /// Stop when this text appears (repeatable).
    #[arg(long)]
    stop: Vec<String>,
    /// Context length (default: the model's, at most 8192, less where the KV cache would pass 256 MiB).
    #[arg(long)]
    ctx: Option<u32>,
    /// Tokens decoded per GPU round trip, at most (1 to 16; chains grow 1, 2, 4, ...).
    #[arg(long, default_value_t = hearth::model::MAX_DECODE_CHAIN)]
    decode_chain: u32,
    /// Sample on the CPU from logits read back every token, not on the GPU (the reference
    /// sampler; same ids for the same seed).
    #[arg(long)]
    cpu_sampling: bool,
    /// Report each token's log-probability and this many most likely alternatives (0 to
    /// 20): a table on stderr after the text, or `logprobs` in the --json object.
    #[arg(long, value_name = "N")]
    logprobs: Option<u32>,
    /// Constrain the reply to JSON valid under this JSON Schema file (OpenAI's
    /// `response_format: {type: "json_schema"}`).
    #[arg(long, value_name = "FILE", group = "format")]
    json_schema: Option<PathBuf>,
    /// Constrain the reply to a JSON object (`response_format: {type: "json_object"}`).
    #[arg(long, group = "format")]
    json_object: bool,
    /// Constrain the reply to this Lark grammar file (llguidance's Lark dialect).
    #[arg(long, value_name = "FILE", group = "format")]
    grammar: Option<PathBuf>,
    /// Constrain the reply to match this regular expression.
    #[arg(long, value_name = "REGEX", group = "format")]
    regex: Option<String>,
    /// OpenAI-style tool definitions (a JSON array file) the chat template renders (with
    /// --chat); the reply's calls are parsed (`tool_calls` in --json, else one JSON line each).
    #[arg(long, value_name = "FILE", requires = "chat")]
    tools: Option<PathBuf>,
    /// With --tools: auto (default), none, required, or a function's name.
    #[arg(long, value_name = "CHOICE", requires = "tools")]
    tool_choice: Option<String>,
    /// Print one JSON object (ids, text, timings) instead of streaming text.
    #[arg(long)]
    json: bool,
    prompt: String,
}

pub fn run(args: Args) -> Result<(), String> {
    let mut engine = crate::load_engine(&args.model, args.ctx)?;
    if !(1..=hearth::model::MAX_DECODE_CHAIN).contains(&args.decode_chain) {
        return Err(format!("--decode-chain {}: must be 1 to {}", args.decode_chain, hearth::model::MAX_DECODE_CHAIN));
    }
    engine.decode_chain = args.decode_chain;
    engine.gpu_sampling = !args.cpu_sampling;
    let context = |e: hearth::Error| format!("{}: {e}", args.model.display());
    if let Some(file) = &args.chat_template {
        let source = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let gguf = crate::open_model(&args.model)?;
        let template = ChatTemplate::with_gguf_tokens(&source, &gguf.header().metadata).map_err(|e| format!("{}: {e}", file.display()))?;
        engine.chat_template = Some(template);
    }
    let tools = tool_request(&args)?.resolve(engine.chat_template.as_ref()).map_err(context)?;
    let prompt_ids = if args.chat {
        let mut messages = Vec::new();
        if let Some(system) = &args.system {
            messages.push(ChatMessage::system(system));
        }
        messages.push(ChatMessage::user(&args.prompt));
        engine.encode_chat_with_tools(&messages, tools.as_ref()).map_err(context)?
    } else {
        engine.encode_prompt(&args.prompt).map_err(context)?
    };
    let mut params = SamplingParams {
        temperature: args.temperature,
        top_k: args.top_k,
        top_p: args.top_p,
        min_p: args.min_p,
        repetition_penalty: args.repetition_penalty,
        seed: args.seed,
        max_tokens: args.max_tokens,
        stop: args.stop.clone(),
        logprobs: args.logprobs.is_some(),
        top_logprobs: args.logprobs.unwrap_or(0),
        response_format: response_format(&args)?,
        ..Default::default()
    };
    if let Some(t) = &tools {
        if let Some(format) = t.response_format(params.response_format.as_ref()).map_err(context)? {
            params.response_format = Some(format);
        }
    }
    let json = args.json;
    let mut stdout = std::io::stdout();
    // With tools, only the reply's content streams; its calls are printed after it.
    let mut tool_stream = tools.as_ref().map(ToolUse::stream);
    let mut on_text = |t: &str| {
        if !json {
            let shown = tool_stream.as_mut().map(|s| s.push(t).content);
            let _ = stdout.write_all(shown.as_deref().unwrap_or(t).as_bytes());
            let _ = stdout.flush();
        }
        true
    };
    let g = pollster::block_on(engine.generate(&prompt_ids, &params, &mut on_text)).map_err(context)?;
    let (content, calls) = tools.as_ref().map(|t| t.parse(&g.text)).unwrap_or_default();
    if json {
        let mut out = serde_json::to_value(&g).map_err(|e| e.to_string())?;
        if tools.is_some() {
            out["content"] = content.into();
            out["tool_calls"] = serde_json::to_value(&calls).map_err(|e| e.to_string())?;
        }
        println!("{out}");
    } else {
        print!("{}", tool_stream.as_mut().map(|s| s.finish(!calls.is_empty())).unwrap_or_default());
        println!();
        for call in &calls {
            println!("{}", serde_json::to_string(call).map_err(|e| e.to_string())?);
        }
        if let Some(logprobs) = &g.logprobs {
            print_logprobs(logprobs);
        }
        eprintln!(
            "[{} prompt tokens at {:.1} tok/s, {} generated at {:.1} tok/s, {:?}]",
            g.prefill_tokens,
            g.prefill_tok_s,
            g.ids.len(),
            g.decode_tok_s,
            g.finish_reason
        );
        if let Some(c) = &g.constraint {
            eprintln!("[{} token masks: median {:.3} ms, max {:.3} ms]", c.masks, c.mask_ms_median, c.mask_ms_max);
        }
    }
    Ok(())
}

/// `--tools` and `--tool-choice` as the request fields they stand for.
fn tool_request(args: &Args) -> Result<ToolRequest, String> {
    let Some(file) = &args.tools else { return Ok(ToolRequest::default()) };
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let tools = serde_json::from_str(&text).map_err(|e| format!("{}: not a JSON array of tools: {e}", file.display()))?;
    let tool_choice = args.tool_choice.as_ref().map(|c| match c.as_str() {
        "auto" | "none" | "required" => serde_json::Value::from(c.as_str()),
        name => serde_json::json!({"type": "function", "function": {"name": name}}),
    });
    Ok(ToolRequest { tools: Some(tools), tool_choice, parallel_tool_calls: None })
}

/// The `response_format` the format flags ask for (clap lets at most one through).
fn response_format(args: &Args) -> Result<Option<ResponseFormat>, String> {
    let read = |file: &PathBuf| std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()));
    let grammar = |syntax, definition| ResponseFormat::Grammar { grammar: GrammarFormat { syntax, definition } };
    Ok(if let Some(file) = &args.json_schema {
        let schema = serde_json::from_str(&read(file)?).map_err(|e| format!("{}: not JSON: {e}", file.display()))?;
        Some(ResponseFormat::JsonSchema { json_schema: JsonSchemaFormat { name: None, description: None, schema, strict: Some(true) } })
    } else if args.json_object {
        Some(ResponseFormat::JsonObject)
    } else if let Some(file) = &args.grammar {
        Some(grammar(GrammarSyntax::Lark, read(file)?))
    } else {
        args.regex.clone().map(|rx| grammar(GrammarSyntax::Regex, rx))
    })
}

/// One line per token: its logprob and text, then the alternatives.
fn print_logprobs(logprobs: &[hearth::engine::TokenLogprob]) {
    for lp in logprobs {
        let alternatives: Vec<String> = lp.top_logprobs.iter().map(|t| format!("{:?} {:.4}", t.token, t.logprob)).collect();
        eprintln!("{:>9.4} {:<16} | {}", lp.logprob, format!("{:?}", lp.token), alternatives.join("  "));
    }
}
