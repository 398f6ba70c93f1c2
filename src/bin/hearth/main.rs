//! `hearth`: the native command-line interface. Each subcommand lives in its own file;
//! this one parses arguments, dispatches, and turns errors into a message and exit code.
//! Its tests are in tests/cli.rs (they run the built binary): Cargo.toml marks this target
//! `test = false` (no second compile as an empty harness), so a `#[test]` here would never run.

mod bench;
mod generate;
mod inspect;
mod perplexity;
mod plan;
mod profile;
mod tokenize;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "hearth", version, about = "Run small GGUF language models on the GPU")]
struct Cli {
    /// Kernel shapes: `cpu` (lavapipe), `swiftshader` or `gpu`; by default chosen from the
    /// adapter. Forcing one measures the other shapes on the same device.
    #[arg(long, global = true, value_enum)]
    tuning: Option<TuningChoice>,
    /// Replace single fields of the kernel shapes, e.g. `matmul_decode_workgroup_size=128,
    /// matmul_decode_threads_per_row=32` (field names of hearth::gpu::Tuning), on top of `--tuning`
    /// or the device's choice: sweeps shapes on a GPU without rebuilding.
    #[arg(long, global = true, value_name = "KEY=VALUE,...")]
    tune: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum TuningChoice {
    Cpu,
    Swiftshader,
    Gpu,
}

/// The `--tuning` choice, read by `load_engine` (set once, before any subcommand runs).
static TUNING: std::sync::OnceLock<Option<hearth::gpu::Tuning>> = std::sync::OnceLock::new();
/// The `--tune` overrides, applied to the tuning the device gets.
static TUNE: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();

#[derive(Subcommand)]
enum Command {
    /// Show a model's architecture, sizes, tensor formats and tokenizer.
    Inspect(inspect::Args),
    /// Print the token ids of a text (BOS/EOS as the model's metadata says).
    Tokenize(tokenize::Args),
    /// Generate text on the GPU, streaming it to stdout.
    // Boxed: its many flags make it the largest variant by far.
    Generate(Box<generate::Args>),
    /// Perplexity of a text file (non-overlapping windows).
    Perplexity(perplexity::Args),
    /// The GPU memory a model needs (from its header alone) and whether this device fits it.
    Plan(plan::Args),
    /// Median prefill and decode speed.
    Bench(bench::Args),
    /// Host cost per token and GPU time per op kind.
    Profile(profile::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let tuning = cli.tuning.map(|t| match t {
        TuningChoice::Cpu => hearth::gpu::Tuning::CPU,
        TuningChoice::Swiftshader => hearth::gpu::Tuning::SWIFTSHADER,
        TuningChoice::Gpu => hearth::gpu::Tuning::GPU,
    });
    TUNING.set(tuning).expect("set once");
    TUNE.set(cli.tune).expect("set once");
    let result = match cli.command {
        Command::Inspect(args) => inspect::run(args),
        Command::Tokenize(args) => tokenize::run(args),
        Command::Generate(args) => generate::run(*args),
        Command::Perplexity(args) => perplexity::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Profile(args) => profile::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hearth: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Opens a model file, prefixing any error with its path.
fn open_model(path: &std::path::Path) -> Result<hearth::gguf::GgufFile, String> {
    hearth::gguf::GgufFile::open(path).map_err(|e| match e {
        hearth::Error::Io { .. } => e.to_string(),
        e => format!("{}: {e}", path.display()),
    })
}

/// Opens the GPU with the `--tuning` choice.
fn open_gpu() -> Result<hearth::gpu::GpuContext, String> {
    let options = hearth::gpu::GpuOptions { tuning: TUNING.get().copied().flatten(), ..Default::default() };
    let mut ctx = pollster::block_on(hearth::gpu::GpuContext::new(options)).map_err(|e| e.to_string())?;
    if let Some(spec) = TUNE.get().cloned().flatten() {
        ctx.tuning = ctx.tuning.with_overrides(&spec)?;
    }
    Ok(ctx)
}

/// Opens the GPU and loads a model with its tokenizer and chat template.
fn load_engine(path: &std::path::Path, n_ctx: Option<u32>) -> Result<hearth::engine::Engine, String> {
    let mut file = open_model(path)?;
    let ctx = open_gpu()?;
    let options = hearth::model::ModelOptions { n_ctx, ..Default::default() };
    pollster::block_on(hearth::engine::Engine::load(&ctx, &mut file, options)).map_err(|e| format!("{}: {e}", path.display()))
}
