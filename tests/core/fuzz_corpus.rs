//! The fuzz targets (fuzz/targets.rs) on stable, in CI: every committed corpus input
//! (fuzz/corpus/<target>/, seeds from scripts/fixtures/fuzz_corpus.py plus any crash a long
//! `cargo +nightly fuzz run` found, kept as a regression) and a few thousand seeded
//! mutations of them (byte flips, boundary integers, inserts, deletes, splices). No coverage
//! feedback here: this is the short run; the long one is libFuzzer's (fuzz/README.md).
//! A panic fails the test and writes the input to target/fuzz-failures/ to reproduce.

use crate::common;
#[path = "../../fuzz/targets.rs"]
mod targets;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use common::Rng;
use hearth::chat::ChatTemplate;
use hearth::gguf::{GgufHeader, Parsed};
use hearth::tokenizer::Tokenizer;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())).map(|e| e.unwrap().path()).collect();
    files.sort();
    files.into_iter().map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap())).collect()
}

/// `n` as a bound on the shared seeded generator (tests/common: the same on every machine).
fn below(rng: &mut Rng, n: usize) -> usize {
    (rng.next_u64() % n.max(1) as u64) as usize
}

/// One to four random edits of `input`, sometimes spliced with `other`.
fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut data = input.to_vec();
    for _ in 0..1 + below(rng, 4) {
        let at = below(rng, data.len() + 1);
        match below(rng, 6) {
            0 if !data.is_empty() => {
                let i = at.min(data.len() - 1);
                data[i] ^= 1 << below(rng, 8);
            }
            1 => {
                // A boundary integer, little-endian, over whatever is there (sizes, counts, types).
                let v: u64 = [0, 1, 0x7F, 0xFF, 0xFFFF, 0x7FFF_FFFF, 0xFFFF_FFFF, u64::MAX, 1 << 40][below(rng, 9)];
                let width = [1, 2, 4, 8][below(rng, 4)];
                for (k, b) in v.to_le_bytes()[..width].iter().enumerate() {
                    if let Some(slot) = data.get_mut(at + k) {
                        *slot = *b;
                    }
                }
            }
            2 => {
                let n = 1 + below(rng, 16);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
                data.splice(at..at, bytes);
            }
            3 if !data.is_empty() => {
                let end = (at + 1 + below(rng, 32)).min(data.len());
                data.drain(at.min(data.len() - 1)..end);
            }
            4 if !other.is_empty() => {
                let from = below(rng, other.len());
                let len = 1 + below(rng, other.len() - from);
                data.splice(at..at, other[from..from + len].iter().copied());
            }
            _ => data.truncate(at),
        }
    }
    data
}

/// Runs `target` on every corpus input and `mutations` mutants; panics with the first
/// failing input saved to target/fuzz-failures/.
fn run(name: &str, target: fn(&[u8]), mutations: usize) {
    let inputs = corpus(name);
    assert!(!inputs.is_empty(), "{name}: empty corpus");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ name.len() as u64);
    let mut cases: Vec<(String, Vec<u8>)> = inputs.clone();
    for i in 0..mutations {
        let a = &inputs[below(&mut rng, inputs.len())].1;
        let b = &inputs[below(&mut rng, inputs.len())].1;
        cases.push((format!("mutant-{i}"), mutate(&mut rng, a, b)));
    }
    let t = std::time::Instant::now();
    for (label, data) in &cases {
        if catch_unwind(AssertUnwindSafe(|| target(data))).is_err() {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-failures").join(name);
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join(label);
            std::fs::write(&path, data).unwrap();
            panic!("{name}: input {label} panicked; saved to {}", path.display());
        }
    }
    eprintln!("{name}: {} inputs in {:.1} s", cases.len(), t.elapsed().as_secs_f64());
}

#[test]
fn gguf_header_target_survives_corpus_and_mutants() {
    run("gguf_header", targets::gguf_header, 3000);
}

#[test]
fn tokenizer_target_survives_corpus_and_mutants() {
    run("tokenizer", targets::tokenizer, 3000);
}

#[test]
fn chat_template_target_survives_corpus_and_mutants() {
    run("chat_template", targets::chat_template, 1500);
}

/// The seeds must reach the deep end of each target (a corpus that fails at the first check
/// would fuzz nothing): headers parse, build a tokenizer and render their template; the
/// tokenizer seeds build; the real templates render.
#[test]
fn seeds_reach_every_stage() {
    for (name, data) in corpus("gguf_header") {
        let Ok(Parsed::Complete(header)) = GgufHeader::parse(&data, None) else { panic!("{name}: does not parse") };
        hearth::model::ModelConfig::from_metadata(&header.metadata).unwrap_or_else(|e| panic!("{name}: {e}"));
        let tok = Tokenizer::from_gguf(&header.metadata).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!tok.encode("Hello ab", false).unwrap().is_empty(), "{name}");
        let template = ChatTemplate::from_gguf(&header.metadata).unwrap().expect("has a template");
        assert!(template.render(&[hearth::chat::ChatMessage::user("x")], true).unwrap().contains("<|im_start|>user"));
    }
    for (name, data) in corpus("tokenizer") {
        let (meta, text) = targets::tokenizer_metadata(&data);
        let tok = Tokenizer::from_gguf(&meta).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!tok.encode(&text, false).unwrap().is_empty(), "{name}");
    }
    for (name, data) in corpus("chat_template") {
        let template = ChatTemplate::new(std::str::from_utf8(&data).unwrap(), "<s>", "</s>").unwrap().with_now(0);
        template.render(&[hearth::chat::ChatMessage::user("x")], true).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}
