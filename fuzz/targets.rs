//! The bodies of the fuzz targets, shared by the libFuzzer binaries (fuzz/fuzz_targets/, run
//! with `cargo +nightly fuzz run NAME`) and by the stable test that replays the committed
//! corpus and a few thousand seeded mutations in CI (tests/core/fuzz_corpus.rs). Each takes any
//! bytes; a panic, a hang or a runaway allocation is a bug, an `Err` is the right answer.

use hearth::chat::{ChatMessage, ChatTemplate};
use hearth::gguf::{GgufHeader, MetaArray, MetaValue, Metadata, Parsed};
use hearth::model::ModelConfig;
use hearth::tokenizer::Tokenizer;

/// A GGUF header from bytes, then everything Hearth derives from a header alone: the model's
/// hyper-parameters, its tokenizer (encoding and decoding a fixed text) and its chat template
/// (compiled and rendered). The bytes are parsed both as a whole file (tensor data ranges
/// checked against its length) and as a download's prefix (length unknown; the seeds are
/// headers without their data).
pub fn gguf_header(data: &[u8]) {
    let _ = GgufHeader::parse_complete(data);
    let Ok(Parsed::Complete(header)) = GgufHeader::parse(data, None) else { return };
    let meta = &header.metadata;
    let _ = ModelConfig::from_metadata(meta);
    exercise_tokenizer(meta, "Hello, world! <|im_start|>ünï 123\n");
    if let Ok(Some(template)) = ChatTemplate::from_gguf(meta) {
        let _ = template.render(&conversation(), true);
    }
}

/// Tokenizer construction from `tokenizer.ggml.*` metadata built from the bytes (see
/// `tokenizer_metadata`), then encode/decode of the bytes' tail as text.
pub fn tokenizer(data: &[u8]) {
    let (meta, text) = tokenizer_metadata(data);
    exercise_tokenizer(&meta, &text);
}

/// A chat template's source from the bytes, compiled and rendered over a conversation with
/// tools (the budget in src/chat/budget.rs bounds the render).
pub fn chat_template(data: &[u8]) {
    let source = String::from_utf8_lossy(data);
    let Ok(template) = ChatTemplate::new(&source, "<s>", "</s>") else { return };
    let template = template.with_now(1_741_356_309);
    let _ = template.render(&conversation(), true);
    let tools = [serde_json::json!({"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}})];
    let _ = template.render_with_tools(&conversation(), &tools, false);
}

fn conversation() -> Vec<ChatMessage> {
    vec![ChatMessage::system("sys"), ChatMessage::user("Hi <tag> & \"q\""), ChatMessage::assistant("Yes."), ChatMessage::user("ü")]
}

fn exercise_tokenizer(meta: &Metadata, text: &str) {
    let Ok(tok) = Tokenizer::from_gguf(meta) else { return };
    for add_special in [false, true] {
        if let Ok(ids) = tok.encode(text, add_special) {
            let _ = tok.decode(&ids, false);
            let _ = tok.decode_bytes(&ids, true);
        }
    }
    // Ids past the vocabulary must be errors too.
    let _ = tok.decode(&[0, 1, u32::MAX, tok.vocab_size() as u32], false);
    for id in [0, tok.vocab_size() as u32 - 1, tok.vocab_size() as u32] {
        let _ = tok.token_bytes(id);
    }
}

/// Tokenizer metadata from bytes: byte 0 picks the model (`llama`/`gpt2`) and pre-tokenizer,
/// byte 1 the special ids; the rest up to a 0xFF byte is the vocabulary, tokens separated by
/// 0x00, each token's type taken from its first byte; merges pair neighbouring tokens; what
/// follows the 0xFF is the text to encode.
pub fn tokenizer_metadata(data: &[u8]) -> (Metadata, String) {
    let (&mode, rest) = data.split_first().unwrap_or((&0, &[]));
    let (&ids, rest) = rest.split_first().unwrap_or((&0, &[]));
    let split = rest.iter().position(|&b| b == 0xFF).unwrap_or(rest.len());
    let (vocab_bytes, text) = (&rest[..split], rest.get(split + 1..).unwrap_or(&[]));
    let tokens: Vec<String> = vocab_bytes.split(|&b| b == 0).map(|t| String::from_utf8_lossy(t).into_owned()).collect();
    let n = tokens.len() as u32;
    let mut meta = Metadata::default();
    let gpt2 = mode & 1 == 1;
    let pre = ["default", "llama-bpe", "qwen2", "smollm", "gpt-2", "nonsense"][(mode as usize >> 1) % 6];
    meta.insert("tokenizer.ggml.model".into(), MetaValue::String(if gpt2 { "gpt2" } else { "llama" }.into()));
    if mode & 0x10 != 0 {
        meta.insert("tokenizer.ggml.pre".into(), MetaValue::String(pre.into()));
    }
    let types: Vec<i32> = tokens.iter().map(|t| t.bytes().next().map_or(1, |b| i32::from(b % 7))).collect();
    let scores: Vec<f32> = (0..n).map(|i| -(i as f32) * if mode & 0x20 != 0 { f32::NAN } else { 1.0 }).collect();
    let merges: Vec<String> = tokens.windows(2).map(|w| format!("{} {}", w[0], w[1])).collect();
    meta.insert("tokenizer.ggml.tokens".into(), MetaValue::Array(MetaArray::String(tokens)));
    if mode & 0x40 != 0 {
        meta.insert("tokenizer.ggml.token_type".into(), MetaValue::Array(MetaArray::I32(types)));
        meta.insert("tokenizer.ggml.scores".into(), MetaValue::Array(MetaArray::F32(scores)));
    }
    if gpt2 && mode & 0x80 != 0 {
        meta.insert("tokenizer.ggml.merges".into(), MetaValue::Array(MetaArray::String(merges)));
    }
    // Special ids: in range, at the edge or past it.
    let pick = |k: u8| match k % 4 {
        0 => 0,
        1 => n.saturating_sub(1),
        2 => n,
        _ => u32::MAX,
    };
    meta.insert("tokenizer.ggml.bos_token_id".into(), MetaValue::U32(pick(ids)));
    meta.insert("tokenizer.ggml.eos_token_id".into(), MetaValue::U32(pick(ids >> 2)));
    if ids & 0x10 != 0 {
        meta.insert("tokenizer.ggml.eot_token_id".into(), MetaValue::U32(pick(ids >> 4)));
    }
    meta.insert("tokenizer.ggml.add_bos_token".into(), MetaValue::Bool(ids & 0x40 != 0));
    (meta, String::from_utf8_lossy(text).into_owned())
}
