//! Buffers a model would bind beyond the device's storage-binding limit are refused with a
//! clear `hearth::Error` naming the limit (not a GPU validation failure), and all-position
//! logits are computed in batches that fit. Uses a tiny random llama model written by
//! tests/common/gguf_writer.rs.

use crate::common;

use common::gguf_writer::{GgufWriter, Tensor, Val};
use hearth::gpu::GpuOptions;
use hearth::model::{Logits, Model, ModelOptions};

const D: u64 = 32;
const FF: u64 = 64;
const VOCAB: u64 = 300;

/// A one-layer llama model (d_model 32, one head, vocabulary 300) with seeded random F32 weights.
fn tiny_llama_gguf() -> std::path::PathBuf {
    let kvs = [
        ("general.architecture", Val::Str("llama")),
        ("llama.block_count", Val::U32(1)),
        ("llama.embedding_length", Val::U32(D as u32)),
        ("llama.feed_forward_length", Val::U32(FF as u32)),
        ("llama.attention.head_count", Val::U32(1)),
        ("llama.context_length", Val::U32(1024)),
        ("llama.vocab_size", Val::U32(VOCAB as u32)),
    ];
    let shapes: [(&str, Vec<u64>); 11] = [
        ("token_embd.weight", vec![D, VOCAB]),
        ("output_norm.weight", vec![D]),
        ("blk.0.attn_norm.weight", vec![D]),
        ("blk.0.attn_q.weight", vec![D, D]),
        ("blk.0.attn_k.weight", vec![D, D]),
        ("blk.0.attn_v.weight", vec![D, D]),
        ("blk.0.attn_output.weight", vec![D, D]),
        ("blk.0.ffn_norm.weight", vec![D]),
        ("blk.0.ffn_gate.weight", vec![D, FF]),
        ("blk.0.ffn_up.weight", vec![D, FF]),
        ("blk.0.ffn_down.weight", vec![FF, D]),
    ];
    let mut rng = common::Rng(0x7e57);
    let (mut tensors, mut data) = (Vec::new(), Vec::new());
    for (name, dims) in shapes {
        let n: u64 = dims.iter().product();
        tensors.push(Tensor { name, dims, ggml_type: 0, offset: data.len() as u64 });
        for _ in 0..n {
            data.extend(rng.signed_unit().to_le_bytes());
        }
        while data.len() % 32 != 0 {
            data.push(0);
        }
    }
    let bytes = GgufWriter::default().write(&kvs, &tensors, &data);
    let path = std::env::temp_dir().join(format!("hearth-tiny-llama-{}-{:?}.gguf", std::process::id(), std::thread::current().id()));
    std::fs::write(&path, bytes).unwrap();
    path
}

fn load(limit: Option<u64>, n_ctx: u32) -> hearth::Result<Model> {
    let path = tiny_llama_gguf();
    let ctx = common::gpu_with(GpuOptions { max_storage_binding: limit, ..Default::default() });
    let mut file = hearth::gguf::GgufFile::open(&path).unwrap();
    let model = pollster::block_on(Model::load(&ctx, &mut file, ModelOptions { n_ctx: Some(n_ctx), ..Default::default() }));
    std::fs::remove_file(path).unwrap();
    model
}

#[test]
fn a_kv_cache_beyond_the_binding_limit_is_a_clear_error() {
    // 128 tokens × 32 f16 values (the default cache) = 8 KiB per layer cache, over a 4 KiB limit.
    let err = load(Some(4096), 128).err().expect("must be refused");
    // 4096 bytes / (32 values × 2 bytes) = 64 tokens is the longest cache that fits.
    assert!(matches!(err, hearth::Error::DoesNotFit { largest_context: Some(64), .. }), "{err:?}");
    let message = err.to_string();
    for part in ["8192-byte", "storage-binding limit of 4096 bytes", "largest context that fits is 64 tokens"] {
        assert!(message.contains(part), "{part:?} missing from: {message}");
    }
}

/// The streaming load refuses such a context as soon as the header has arrived: a browser
/// does not download the weights of a load that must fail.
#[test]
fn a_kv_cache_beyond_the_binding_limit_is_refused_before_the_weights_arrive() {
    let path = tiny_llama_gguf();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(path).unwrap();
    let header_len = hearth::gguf::GgufHeader::parse_complete(&bytes).unwrap().data_offset as usize;
    let ctx = common::gpu_with(GpuOptions { max_storage_binding: Some(4096), ..Default::default() });
    let mut stream = hearth::model::ModelStream::new(&ctx, bytes.len() as u64, ModelOptions { n_ctx: Some(128), ..Default::default() });
    let err = pollster::block_on(stream.push(&bytes[..header_len])).expect_err("refused on the header alone");
    assert!(err.to_string().contains("storage-binding limit of 4096 bytes"), "{err}");
}

#[test]
fn a_context_over_the_trained_maximum_names_both_numbers() {
    let err = load(None, 1025).err().expect("must be refused");
    assert!(matches!(err, hearth::Error::InvalidArgument(_)), "{err:?}");
    assert!(err.to_string().contains("context length 1025") && err.to_string().contains("maximum of 1024"), "{err}");
    assert!(matches!(load(None, 0).err(), Some(hearth::Error::InvalidArgument(_))));
}

#[test]
fn a_logits_row_beyond_the_binding_limit_is_a_clear_error() {
    // One row of logits is 300 × 4 = 1,200 bytes; the weights split into 1 KiB parts load.
    let err = load(Some(1024), 8).err().expect("must be refused");
    assert!(err.to_string().contains("`logits`") && err.to_string().contains("limit of 1024 bytes"), "{err}");
}

#[test]
fn all_position_logits_are_batched_to_fit_the_binding_limit() {
    let ids: Vec<u32> = (0..11).map(|i| i * 27 % VOCAB as u32).collect();
    let mut whole = load(None, 16).unwrap();
    assert_eq!(whole.max_batch(Logits::All).unwrap(), hearth::model::MAX_BATCH);
    let want = pollster::block_on(whole.forward(&ids, Logits::All, true)).unwrap().logits.unwrap();
    // 3,600 bytes hold three rows of logits: 11 tokens go through in batches of 3, 3, 3, 2.
    let mut batched = load(Some(3600), 16).unwrap();
    assert_eq!(batched.max_batch(Logits::All).unwrap(), 3);
    let got = pollster::block_on(batched.forward(&ids, Logits::All, true)).unwrap().logits.unwrap();
    assert_eq!(got.len(), ids.len() * VOCAB as usize);
    // Same kernels on the same values per token, only the batch differs: equal to rounding.
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!((g - w).abs() <= 1e-5 * w.abs().max(1.0), "logit {i}: {g} vs {w}");
    }
}
