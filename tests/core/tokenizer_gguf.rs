//! Tokenizers built from GGUF metadata against llama.cpp: ids for every string in
//! tests/fixtures/tokenizer/strings.json, detokenised text, per-token pieces and special
//! ids, as recorded by scripts/fixtures/tokenizer_fixtures.py (llama-cpp-python).

use crate::common;

use std::sync::OnceLock;
use std::time::Instant;

use hearth::Error;
use hearth::gguf::{GgufFile, MetaArray, MetaValue, Metadata};
use hearth::structured::{Grammars, ResponseFormat};
use hearth::tokenizer::Tokenizer;
use serde_json::Value;

struct Loaded {
    tok: Tokenizer,
    fixture: Value,
}

/// Each model's tokenizer is built once per test binary (Gemma's takes a while) and the
/// build time is printed (`cargo test -- --nocapture` shows it).
fn load(cell: &'static OnceLock<Loaded>, model: &str, fixture: &str) -> &'static Loaded {
    cell.get_or_init(|| {
        let file = GgufFile::open(common::model_path(model)).expect("open model");
        let start = Instant::now();
        let tok = Tokenizer::from_gguf(&file.header().metadata).expect("build tokenizer");
        println!("{model}: tokenizer built in {:.2?} ({})", start.elapsed(), tok.kind());
        Loaded { tok, fixture: common::read_fixture_json(&format!("tokenizer/{fixture}")) }
    })
}

static SMOLLM2: OnceLock<Loaded> = OnceLock::new();
static QWEN25: OnceLock<Loaded> = OnceLock::new();
static GEMMA3: OnceLock<Loaded> = OnceLock::new();

fn smollm2() -> &'static Loaded {
    load(&SMOLLM2, common::SMOLLM2, "smollm2.json")
}
fn qwen25() -> &'static Loaded {
    load(&QWEN25, common::QWEN25, "qwen25.json")
}
fn gemma3() -> &'static Loaded {
    load(&GEMMA3, common::GEMMA3, "gemma3.json")
}

fn ids(v: &Value) -> Vec<u32> {
    v.as_array().expect("id array").iter().map(|x| x.as_u64().expect("id") as u32).collect()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
}

/// The curated strings, then the script's 150 seeded random ones.
fn cases(l: &Loaded) -> Vec<&Value> {
    let cases = l.fixture["cases"].as_array().expect("cases");
    let strings = common::read_fixture_json("tokenizer/strings.json");
    assert_eq!(cases.len(), strings["strings"].as_array().unwrap().len(), "fixture is stale: rerun the script");
    let random = l.fixture["random_cases"].as_array().expect("random_cases");
    assert_eq!(random.len(), 150);
    cases.iter().chain(random).collect()
}

/// Every string, with and without BOS/EOS, gives llama.cpp's ids. All mismatches are
/// listed together so one run shows the whole picture.
fn check_ids(l: &Loaded) {
    let mut bad = Vec::new();
    for case in cases(l) {
        let text = case["text"].as_str().unwrap();
        for (key, add) in [("ids", true), ("ids_plain", false)] {
            let want = ids(&case[key]);
            let got = l.tok.encode(text, add).expect("encode");
            if got != want {
                bad.push(format!("{text:?} add_special={add}\n  llama.cpp: {want:?}\n  hearth:    {got:?}"));
            }
        }
    }
    assert!(bad.is_empty(), "{} mismatches:\n{}", bad.len(), bad.join("\n"));
}

/// decode(ids) equals llama.cpp's detokenisation, and gives the input string back.
fn check_decode(l: &Loaded) {
    let mut bad = Vec::new();
    for case in cases(l) {
        let text = case["text"].as_str().unwrap();
        let plain = ids(&case["ids_plain"]);
        let want = hex(case["detok_hex"].as_str().unwrap());
        let got = l.tok.decode_bytes(&plain, false).expect("decode");
        if got != want {
            bad.push(format!("{text:?}: llama.cpp {:?}, hearth {:?}", String::from_utf8_lossy(&want), String::from_utf8_lossy(&got)));
        }
        let round = l.tok.decode(&l.tok.encode(text, false).unwrap(), false).unwrap();
        if round != text {
            bad.push(format!("round trip {text:?} gave {round:?}"));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

fn check_pieces(l: &Loaded) {
    let pieces = l.fixture["pieces_hex"].as_object().expect("pieces");
    assert!(pieces.len() > 100);
    for (id, h) in pieces {
        let id: u32 = id.parse().unwrap();
        assert_eq!(l.tok.token_bytes(id).unwrap(), hex(h.as_str().unwrap()).as_slice(), "piece of token {id}");
    }
}

fn opt_id(v: &Value) -> Option<u32> {
    v.as_u64().map(|x| x as u32)
}

fn check_special(l: &Loaded) {
    let s = &l.fixture["special"];
    assert_eq!(l.tok.vocab_size() as u64, s["n_vocab"].as_u64().unwrap());
    assert_eq!(l.tok.bos_id(), opt_id(&s["bos"]), "bos");
    assert_eq!(l.tok.eos_id(), opt_id(&s["eos"]), "eos");
    assert_eq!(l.tok.adds_bos(), s["add_bos"].as_bool().unwrap(), "add_bos");
    assert_eq!(l.tok.adds_eos(), s["add_eos"].as_bool().unwrap(), "add_eos");
    assert_eq!(l.tok.stop_ids(), ids(&s["eog"]).as_slice(), "stop ids (llama.cpp's EOG set)");
    let eot = l.tok.eot_id().expect("these models have an end-of-turn token");
    assert!(l.tok.stop_ids().contains(&eot));
    assert!(l.tok.is_special(eot));
    assert!(l.tok.token_bytes(l.tok.vocab_size() as u32).is_err());
    assert!(matches!(l.tok.decode(&[u32::MAX], false), Err(Error::Tokenizer(_))));
}

macro_rules! model_tests {
    ($model:ident, $kind:expr) => {
        mod $model {
            use super::*;

            #[test]
            fn ids_match_llama_cpp() {
                check_ids(super::$model());
            }

            #[test]
            fn decode_matches_llama_cpp_and_round_trips() {
                check_decode(super::$model());
            }

            #[test]
            fn pieces_match_llama_cpp() {
                check_pieces(super::$model());
            }

            #[test]
            fn special_ids_match_llama_cpp() {
                check_special(super::$model());
                assert_eq!(super::$model().tok.kind(), $kind);
            }
        }
    };
}

model_tests!(smollm2, "gpt2/smollm");
model_tests!(qwen25, "gpt2/qwen2");
model_tests!(gemma3, "llama (SentencePiece)");

/// End-of-turn ids as llama.cpp reports them where the vocabulary has one candidate.
/// (SmolLM2 has both `<|im_end|>` and `<|endoftext|>`; llama.cpp's pick among them
/// follows hash-map order, Hearth prefers `<|im_end|>`: both are stop ids, checked above.)
#[test]
fn eot_ids() {
    for l in [qwen25(), gemma3()] {
        assert_eq!(l.tok.eot_id(), opt_id(&l.fixture["special"]["eot"]));
    }
    let s = smollm2();
    assert_eq!(s.tok.eot_id(), Some(2), "<|im_end|>");
}

#[test]
fn skip_special_drops_control_tokens() {
    let l = qwen25();
    let text = "<|im_start|>user\nhi<|im_end|>";
    let ids = l.tok.encode(text, false).unwrap();
    assert_eq!(l.tok.decode(&ids, true).unwrap(), "user\nhi");
    // Gemma adds BOS; skip_special removes it again.
    let g = gemma3();
    let ids = g.tok.encode("<start_of_turn>user\nhi", true).unwrap();
    assert_eq!(ids[0], 2);
    assert_eq!(g.tok.decode(&ids, true).unwrap(), "user\nhi");
}

// ---- metadata built by hand ----

fn strings(v: &[&str]) -> MetaValue {
    MetaValue::Array(MetaArray::String(v.iter().map(|s| s.to_string()).collect()))
}

fn meta(entries: Vec<(&str, MetaValue)>) -> Metadata {
    let mut m = Metadata::default();
    for (k, v) in entries {
        m.insert(k.to_string(), v);
    }
    m
}

fn tiny_gpt2(pre: Option<&str>) -> Metadata {
    let mut e = vec![
        ("tokenizer.ggml.model", MetaValue::String("gpt2".into())),
        ("tokenizer.ggml.tokens", strings(&["a", "b", "ab", "Ġ", "Ġab"])),
        ("tokenizer.ggml.merges", strings(&["a b", "Ġ ab"])),
    ];
    if let Some(p) = pre {
        e.push(("tokenizer.ggml.pre", MetaValue::String(p.into())));
    }
    meta(e)
}

#[test]
fn missing_or_unknown_metadata_is_a_typed_error() {
    let err = Tokenizer::from_gguf(&Metadata::default()).unwrap_err();
    assert!(matches!(&err, Error::MissingMetadata { key } if key == "tokenizer.ggml.model"), "{err}");

    let m = meta(vec![("tokenizer.ggml.model", MetaValue::String("llama".into()))]);
    let err = Tokenizer::from_gguf(&m).unwrap_err();
    assert!(matches!(&err, Error::MissingMetadata { key } if key == "tokenizer.ggml.tokens"), "{err}");

    let m = meta(vec![("tokenizer.ggml.model", MetaValue::String("t5".into())), ("tokenizer.ggml.tokens", strings(&["a"]))]);
    let err = Tokenizer::from_gguf(&m).unwrap_err();
    assert!(matches!(err, Error::Tokenizer(ref s) if s.contains("`t5`") && s.contains("gpt2, llama")), "{err}");

    let m = meta(vec![("tokenizer.ggml.model", MetaValue::String("gpt2".into())), ("tokenizer.ggml.tokens", strings(&["a"]))]);
    let err = Tokenizer::from_gguf(&m).unwrap_err();
    assert!(matches!(&err, Error::MissingMetadata { key } if key == "tokenizer.ggml.merges"), "{err}");

    let err = Tokenizer::from_gguf(&tiny_gpt2(Some("klingon"))).unwrap_err();
    assert!(matches!(err, Error::Tokenizer(ref s) if s.contains("`klingon`") && s.contains("smollm") && s.contains("llama-bpe")), "{err}");

    let mut m = tiny_gpt2(None);
    m.insert("tokenizer.ggml.token_type".into(), MetaValue::Array(MetaArray::I32(vec![1, 1])));
    let err = Tokenizer::from_gguf(&m).unwrap_err();
    assert!(matches!(err, Error::Tokenizer(ref s) if s.contains("token_type")), "{err}");

    let m = meta(vec![("tokenizer.ggml.model", MetaValue::String("gpt2".into())), ("tokenizer.ggml.tokens", MetaValue::U32(3))]);
    let err = Tokenizer::from_gguf(&m).unwrap_err();
    assert!(matches!(&err, Error::MetadataType { key, .. } if key == "tokenizer.ggml.tokens"), "{err}");

    let mut m = tiny_gpt2(None);
    m.insert("tokenizer.ggml.add_eos_token".into(), MetaValue::Bool(true));
    // llama.cpp's default BPE EOS id (11) does not exist in a 5-token vocabulary.
    let err = Tokenizer::from_gguf(&m).unwrap_err();
    assert!(matches!(err, Error::Tokenizer(ref s) if s.contains("EOS")), "{err}");
}

/// A hand-checkable byte-level BPE: merges apply in rank order, no BOS by default.
#[test]
fn tiny_gpt2_vocabulary() {
    let tok = Tokenizer::from_gguf(&tiny_gpt2(None)).unwrap();
    assert_eq!(tok.kind(), "gpt2/default");
    assert!(!tok.adds_bos());
    assert_eq!(tok.encode("ab ab", true).unwrap(), vec![2, 4]);
    assert_eq!(tok.decode(&[2, 4], false).unwrap(), "ab ab");
}

/// A hand-checkable SentencePiece vocabulary: score-ranked merges, byte fallback, and the
/// prefix space llama.cpp adds at the start and after each special token.
#[test]
fn tiny_spm_vocabulary() {
    let mut texts = vec!["<unk>", "<s>", "</s>", "▁", "a", "b", "▁a", "ab", "▁ab", "<sep>"];
    let bytes: Vec<String> = (0..=255u32).map(|b| format!("<0x{b:02X}>")).collect();
    texts.extend(bytes.iter().map(String::as_str));
    let mut types = vec![2i32, 3, 3, 1, 1, 1, 1, 1, 1, 3];
    types.extend(std::iter::repeat_n(6, 256));
    // "ab" outranks "▁a", so "▁ab" is reached as "▁" + "ab".
    let mut scores = vec![0.0f32, 0.0, 0.0, -1.0, -2.0, -3.0, -5.0, -4.0, -6.0, 0.0];
    scores.extend(std::iter::repeat_n(0.0, 256));
    let m = meta(vec![
        ("tokenizer.ggml.model", MetaValue::String("llama".into())),
        ("tokenizer.ggml.tokens", strings(&texts)),
        ("tokenizer.ggml.token_type", MetaValue::Array(MetaArray::I32(types))),
        ("tokenizer.ggml.scores", MetaValue::Array(MetaArray::F32(scores))),
    ]);
    let tok = Tokenizer::from_gguf(&m).unwrap();
    assert_eq!(tok.kind(), "llama (SentencePiece)");
    assert!(tok.adds_bos(), "llama.cpp adds BOS for SentencePiece by default");
    // Prefix space, then "▁ab"; 'c' is not in the vocabulary: byte 0x63 = id 10 + 0x63.
    assert_eq!(tok.encode("ab", true).unwrap(), vec![1, 8]);
    assert_eq!(tok.encode("abc", false).unwrap(), vec![8, 10 + 0x63]);
    // After a special token the next text gets its own prefix space.
    assert_eq!(tok.encode("a<sep>b", false).unwrap(), vec![6, 9, 3, 5]);
    // Decoding strips the one space that encoding added...
    assert_eq!(tok.decode(&tok.encode("ab abc", false).unwrap(), false).unwrap(), "ab abc");
    // ...but, as in llama.cpp's detokenize, not when it removed a leading BOS first.
    assert_eq!(tok.decode(&tok.encode("ab abc", true).unwrap(), true).unwrap(), " ab abc");
    assert_eq!(tok.token_bytes(10 + 0xE2).unwrap(), &[0xE2]);
}

/// A hand-written tokenizer.json (WordLevel): ids and BOS/EOS lookup by text.
#[test]
fn from_json_uses_the_json_pipeline() {
    let json = r#"{
      "version": "1.0",
      "truncation": null, "padding": null,
      "added_tokens": [
        {"id": 0, "content": "<s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
        {"id": 1, "content": "</s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}
      ],
      "normalizer": null,
      "pre_tokenizer": {"type": "Whitespace"},
      "post_processor": {"type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {"<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]}}},
      "decoder": null,
      "model": {"type": "WordLevel", "vocab": {"<s>": 0, "</s>": 1, "hello": 2, "world": 3, "[UNK]": 4}, "unk_token": "[UNK]"}
    }"#;
    let tok = Tokenizer::from_json(json.as_bytes(), None, None).unwrap();
    assert_eq!((tok.bos_id(), tok.eos_id()), (Some(0), Some(1)));
    assert!(tok.adds_bos() && !tok.adds_eos());
    assert_eq!(tok.encode("hello world</s>", true).unwrap(), vec![0, 2, 3, 1]);
    assert_eq!(tok.encode("hello nope", false).unwrap(), vec![2, 4]);
    assert_eq!(tok.stop_ids(), &[1]);
    assert_eq!(tok.token_bytes(2).unwrap(), b"hello");
    let tok = Tokenizer::from_json(json.as_bytes(), Some(2), Some(3)).unwrap();
    assert_eq!((tok.bos_id(), tok.eos_id()), (Some(2), Some(3)));
    assert!(matches!(Tokenizer::from_json(b"{", None, None), Err(Error::Tokenizer(_))));
    assert!(matches!(Tokenizer::from_json(json.as_bytes(), Some(99), None), Err(Error::Tokenizer(_))));
}

/// Structured output over the real vocabularies (src/structured builds llguidance's token trie
/// from these tokenizers' pieces): a reply valid under the fixture's "person" schema, written
/// the way the schema's layout spaces it, can be spelt with allowed tokens all the way, and
/// afterwards only the end-of-generation ids are allowed; a wrong first token is not. Qwen2.5's logits row is longer than its vocabulary (151,936 vs
/// 151,665): the padding ids are never allowed. Prints the median mask time per token, the
/// README's figure.
#[test]
fn json_schema_masks_over_real_vocabularies() {
    let text = r#"{"name": "Ann", "age": 31, "tags": ["quote\"d", "new\nline", "ünï €"], "address": {"city": "Paris", "zip": "75001"}}"#;
    let schema = common::read_fixture_json("structured/schemas.json")["person"].clone();
    let format: ResponseFormat =
        serde_json::from_value(serde_json::json!({"type": "json_schema", "json_schema": {"schema": schema}})).unwrap();
    for (model, loaded) in [(common::SMOLLM2, smollm2()), (common::QWEN25, qwen25()), (common::GEMMA3, gemma3())] {
        let file = GgufFile::open(common::model_path(model)).unwrap();
        let n_logits = hearth::model::ModelConfig::from_metadata(&file.header().metadata).unwrap().vocab;
        let start = Instant::now();
        let grammars = Grammars::new(&loaded.tok, n_logits).unwrap();
        let built = start.elapsed();
        let mut c = grammars.constraint(&format).unwrap().unwrap();
        let allowed = |mask: &[u32], id: u32| mask[id as usize / 32] >> (id % 32) & 1 == 1;
        let first = c.mask().unwrap();
        let n_tokens = loaded.tok.vocab_size() as u32;
        let bracket = loaded.tok.encode("[", false).unwrap()[0];
        assert!(!allowed(&first, bracket), "{model}: an array cannot start an object");
        // Each step takes the longest allowed token that spells the text on (llguidance allows
        // only the canonical token where the next bytes are forced, e.g. `"}` after the last
        // property, so Hearth's own tokenisation of the whole text is not always allowed).
        let (mut mask, mut at) = (first.clone(), 0);
        while at < text.len() {
            let rest = &text.as_bytes()[at..];
            let pick = (0..n_tokens)
                .filter(|&id| allowed(&mask, id) && !loaded.tok.is_special(id))
                .map(|id| (loaded.tok.token_bytes(id).unwrap().len(), id))
                .filter(|&(len, id)| len > 0 && rest.starts_with(loaded.tok.token_bytes(id).unwrap()))
                .max();
            let Some((len, id)) = pick else { panic!("{model}: no allowed token spells {:?}", &text[at..]) };
            c.consume(id).unwrap();
            mask = c.mask().unwrap();
            at += len;
        }
        let after: Vec<u32> = (0..n_logits).filter(|&id| allowed(&mask, id)).collect();
        assert!(!after.is_empty() && after.iter().all(|id| loaded.tok.stop_ids().contains(id)), "{model}: {after:?}");
        let padding_allowed = (n_tokens..n_logits).any(|id| allowed(&first, id));
        assert!(!padding_allowed, "{model}: a padding id is allowed");
        let stats = c.stats();
        println!(
            "{model}: {n_logits} logits, trie and slices built in {built:.2?}, {} masks: median {:.3} ms, max {:.3} ms",
            stats.masks, stats.mask_ms_median, stats.mask_ms_max
        );
    }
}

/// The tiny family models' tokenizers (byte-level BPEs trained for the test, each with its
/// family's pre-tokenizer: qwen2, llama-bpe, and gpt-4o for Phi-4-mini) give llama.cpp's ids
/// for every curated string (scripts/fixtures/tiny_families.py; transformers' tokenizers agree).
#[test]
fn tiny_family_tokenizers_match_llama_cpp() {
    let mut bad = Vec::new();
    for name in ["tiny-qwen3", "tiny-smollm3", "tiny-llama3", "tiny-phi3"] {
        let file = GgufFile::open(common::fixture_path(&format!("tiny/{name}.gguf"))).expect("open model");
        let tok = Tokenizer::from_gguf(&file.header().metadata).expect("build tokenizer");
        let fx = common::read_fixture_json(&format!("tiny/{name}.json"));
        let cases = fx["tokenize"].as_array().expect("tokenize cases");
        assert_eq!(cases.len(), 38, "{name}: fixture is stale");
        for case in cases {
            let text = case["text"].as_str().unwrap();
            let got = tok.encode(text, true).expect("encode");
            if got != ids(&case["ids"]) {
                bad.push(format!("{name} {text:?}\n  llama.cpp: {}\n  hearth:    {got:?}", case["ids"]));
            }
        }
    }
    assert!(bad.is_empty(), "{} mismatches:\n{}", bad.len(), bad.join("\n"));
}
