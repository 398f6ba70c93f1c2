//! Loading a model from its bytes as they arrive (the browser's download path):
//! `ModelStream` fed in awkward chunk sizes gives a model whose logits match the
//! independent f32 numpy reference, and broken streams give typed errors.

use crate::common;

use hearth::Error;
use hearth::gpu::GpuContext;
use hearth::model::{Logits, ModelStream};

fn ids_of(v: &serde_json::Value) -> Vec<u32> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()
}

/// Pushes `bytes` announced as `announced` long: small chunks through the header (so it
/// is parsed from many partial prefixes), then chunks of a prime size that never line up
/// with tensor, row or block boundaries.
fn stream(ctx: &GpuContext, bytes: &[u8], announced: u64) -> hearth::Result<ModelStream> {
    let mut s = ModelStream::new(ctx, announced, Default::default());
    let mut pos = 0;
    while pos < bytes.len() {
        let size = if pos < (3 << 20) { 65_521 } else { 1_000_003 };
        let end = (pos + size).min(bytes.len());
        pollster::block_on(s.push(&bytes[pos..end]))?;
        pos = end;
    }
    Ok(s)
}

#[test]
fn streamed_model_matches_the_numpy_reference() {
    let ctx = common::gpu();
    let bytes = std::fs::read(common::model_path(common::SMOLLM2)).unwrap();
    let s = stream(&ctx, &bytes, bytes.len() as u64).unwrap();
    let p = s.progress();
    assert_eq!(p.received_bytes, bytes.len() as u64);
    assert_eq!(p.uploaded_bytes, p.weight_bytes, "every weight byte reached the GPU");
    assert!(p.weight_bytes > 90_000_000, "SmolLM2 has ~98 MB of weights, got {}", p.weight_bytes);
    let (mut model, header) = pollster::block_on(s.finish()).unwrap();
    assert_eq!(header.metadata.architecture().unwrap(), "llama");

    // Same check and tolerance as tests/models/model_llama.rs (see its comment for why 1e-2).
    let fx = common::read_fixture_json("llama/logits_smollm2-135m-instruct-q4_1.json");
    let vocab = model.config.vocab as usize;
    for prompt in fx["prompts"].as_array().unwrap().iter().take(3) {
        let ids = ids_of(&prompt["ids"]);
        model.reset();
        let out = pollster::block_on(model.forward(&ids, Logits::All, true)).unwrap();
        let logits = out.logits.unwrap();
        for (pos, row) in logits.chunks(vocab).enumerate() {
            assert_eq!(hearth::sample::argmax(row), ids_of(&prompt["argmax"])[pos], "argmax at position {pos}");
        }
        let last = &logits[logits.len() - vocab..];
        for pair in prompt["last"]["top"].as_array().unwrap() {
            let (id, want) = (pair[0].as_u64().unwrap() as usize, pair[1].as_f64().unwrap() as f32);
            assert!((last[id] - want).abs() <= 1e-2, "logit[{id}] = {}, reference {want}", last[id]);
        }
    }
}

#[test]
fn a_download_that_stops_early_is_truncated() {
    let ctx = common::gpu();
    let bytes = std::fs::read(common::model_path(common::SMOLLM2)).unwrap();
    let cut = bytes.len() - 1000;
    let s = stream(&ctx, &bytes[..cut], bytes.len() as u64).unwrap();
    match pollster::block_on(s.finish()) {
        Err(Error::Truncated { needed, file_len, .. }) => {
            assert_eq!((needed, file_len), (bytes.len() as u64, cut as u64));
        }
        Err(e) => panic!("expected Truncated, got {e}"),
        Ok(_) => panic!("a truncated stream loaded"),
    }
}

#[test]
fn a_file_shorter_than_its_tensors_is_rejected_at_the_header() {
    let ctx = common::gpu();
    let bytes = std::fs::read(common::model_path(common::SMOLLM2)).unwrap();
    let cut = bytes.len() - 1000;
    // Announced as the short length: the header's tensor ranges run past the end.
    let err = stream(&ctx, &bytes[..cut], cut as u64).err().expect("must fail");
    assert!(matches!(err, Error::Truncated { .. } | Error::Corrupt { .. }), "got {err}");
    assert!(err.to_string().contains("token_embd") || err.to_string().contains("tensor"), "names the tensor: {err}");
}

#[test]
fn more_bytes_than_announced_are_refused() {
    let ctx = common::gpu();
    let mut s = ModelStream::new(&ctx, 10, Default::default());
    let err = pollster::block_on(s.push(b"GGUF\x03\x00\x00\x00\x00\x00\x00")).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "got {err}");
}

#[test]
fn non_gguf_bytes_are_not_gguf() {
    let ctx = common::gpu();
    let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89";
    let mut s = ModelStream::new(&ctx, png.len() as u64, Default::default());
    let err = pollster::block_on(s.push(png)).unwrap_err();
    assert!(matches!(err, Error::NotGguf { .. }), "got {err}");

    let empty = ModelStream::new(&ctx, 0, Default::default());
    let err = pollster::block_on(empty.finish()).err().expect("an empty file must fail");
    assert!(matches!(err, Error::NotGguf { .. }), "got {err}");
}
