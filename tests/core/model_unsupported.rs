//! A GGUF whose architecture Hearth does not implement is refused with a typed error that
//! names the architecture and lists the supported ones — from the library and from the CLI —
//! before any weight is read.

use crate::common;

use common::gguf_writer::{GgufWriter, Tensor, Val};
use hearth::model::{Model, ModelOptions};

/// A tiny, otherwise plausible model file of architecture `mamba` (one F32 tensor).
fn tiny_mamba_gguf() -> std::path::PathBuf {
    let kvs = [
        ("general.architecture", Val::Str("mamba")),
        ("mamba.block_count", Val::U32(1)),
        ("mamba.embedding_length", Val::U32(32)),
        ("mamba.context_length", Val::U32(64)),
        ("tokenizer.ggml.model", Val::Str("gpt2")),
        ("tokenizer.ggml.tokens", Val::StrArray(&["a", "b"])),
    ];
    let tensors = [Tensor { name: "token_embd.weight", dims: vec![32, 2], ggml_type: 0, offset: 0 }];
    let bytes = GgufWriter::default().write(&kvs, &tensors, &[0; 256]);
    let path = std::env::temp_dir().join(format!("hearth-unsupported-{}.gguf", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn unsupported_architecture_is_a_typed_error_listing_the_supported_ones() {
    let path = tiny_mamba_gguf();
    let ctx = common::gpu();
    let mut file = hearth::gguf::GgufFile::open(&path).unwrap();
    let err = pollster::block_on(Model::load(&ctx, &mut file, ModelOptions::default())).err().expect("mamba must be refused");
    match &err {
        hearth::Error::UnsupportedModel { arch, supported } => {
            assert_eq!(arch, "mamba");
            assert_eq!(supported, "llama, qwen2, qwen3, gemma3, smollm3, phi3");
        }
        other => panic!("expected UnsupportedModel, got {other:?}"),
    }
    assert_eq!(err.to_string(), "unsupported model architecture `mamba` (supported: llama, qwen2, qwen3, gemma3, smollm3, phi3)");

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["generate", "--model", path.to_str().unwrap(), "hi"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stderr.contains("unsupported model architecture `mamba` (supported: llama, qwen2, qwen3, gemma3, smollm3, phi3)"),
        "stderr: {stderr}"
    );
    std::fs::remove_file(path).unwrap();
}
