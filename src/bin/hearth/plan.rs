use std::path::PathBuf;

use hearth::model::{DeviceLimits, ModelOptions, Plan};

#[derive(clap::Args)]
pub struct Args {
    /// The GGUF model file (only its header is read).
    #[arg(long)]
    model: PathBuf,
    /// Context length to plan for (default: the model's, at most 8192, less where the KV cache
    /// would pass 256 MiB).
    #[arg(long)]
    ctx: Option<u32>,
    /// Plan for a device with this storage-binding limit in bytes instead of this machine's
    /// GPU (with --max-buffer-size, no GPU is opened).
    #[arg(long)]
    max_storage_binding: Option<u64>,
    /// Plan for a device with this buffer-size limit in bytes.
    #[arg(long)]
    max_buffer_size: Option<u64>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<(), String> {
    let file = crate::open_model(&args.model)?;
    let limits = match (args.max_storage_binding, args.max_buffer_size) {
        (Some(max_storage_binding), Some(max_buffer_size)) => DeviceLimits { max_storage_binding, max_buffer_size },
        (binding, buffer) => {
            let gpu = crate::open_gpu()?;
            let here = DeviceLimits::of(&gpu);
            DeviceLimits {
                max_storage_binding: binding.unwrap_or(here.max_storage_binding),
                max_buffer_size: buffer.unwrap_or(here.max_buffer_size),
            }
        }
    };
    let options = ModelOptions { n_ctx: args.ctx, ..Default::default() };
    let plan = hearth::model::plan(file.header(), limits, options).map_err(|e| format!("{}: {e}", args.model.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&plan).map_err(|e| e.to_string())?);
    } else {
        print_text(&plan);
    }
    Ok(())
}

fn print_text(p: &Plan) {
    let mib = |b: u64| format!("{:.1} MiB ({b} bytes)", b as f64 / (1u64 << 20) as f64);
    println!("header          {}", mib(p.header_bytes));
    println!("context         {} tokens (trained: {})", p.context_length, p.trained_context_length);
    println!("weights         {}", mib(p.weight_bytes));
    println!("KV cache        {}", mib(p.kv_cache_bytes));
    println!("activations     {} ({} tokens per pass)", mib(p.activation_bytes), p.batch);
    println!("total           {}", mib(p.total_bytes));
    println!("largest buffer  {}", mib(p.largest_buffer_bytes));
    println!("device limits   storage binding {} bytes, buffer {} bytes", p.max_storage_binding, p.max_buffer_size);
    println!("fits            {}", if p.fits { "yes" } else { "no" });
    for reason in &p.reasons {
        println!("  - {reason}");
    }
    if let Some(n) = p.largest_context {
        println!("largest context {n} tokens");
    }
}
