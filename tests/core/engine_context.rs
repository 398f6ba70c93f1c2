//! A request whose prompt plus `max_tokens` exceeds the context is refused before any GPU
//! work with `Error::ContextWindowExceeded` carrying the three counts; one that fills the
//! context exactly runs, and its prompt is what `encode_chat` (= `countTokens`) counted.
//! On the tiny random-weight chat model with a 64-token context.

use crate::common;

use hearth::Error;
use hearth::chat::ChatMessage;
use hearth::engine::Engine;
use hearth::model::ModelOptions;
use hearth::sample::SamplingParams;

const CONTEXT: u32 = 64;

#[test]
fn prompt_plus_max_tokens_over_the_context_is_refused_with_the_counts() {
    let ctx = common::gpu();
    let mut file = hearth::gguf::GgufFile::open(common::model_path("tiny-chat-random.gguf")).unwrap();
    let options = ModelOptions { n_ctx: Some(CONTEXT), ..Default::default() };
    let mut engine = pollster::block_on(Engine::load(&ctx, &mut file, options)).unwrap();
    let prompt = engine.encode_chat(&[ChatMessage::system("Be brief."), ChatMessage::user("What is the capital of France?")]).unwrap();
    let n = prompt.len() as u32;
    assert!(n < CONTEXT, "the prompt takes {n} tokens");

    let over = SamplingParams { temperature: 0.0, max_tokens: CONTEXT - n + 1, ..Default::default() };
    let err = pollster::block_on(engine.generate(&prompt, &over, &mut |_| true)).expect_err("over the context");
    match err {
        Error::ContextWindowExceeded { prompt_tokens, max_tokens, context_length } => {
            assert_eq!((prompt_tokens, max_tokens, context_length), (n as usize, CONTEXT - n + 1, CONTEXT));
        }
        other => panic!("expected ContextWindowExceeded, got {other:?}"),
    }
    assert_eq!(engine.model.stats().forward_passes, 0, "refused before any GPU work");

    // Exactly the context: runs (the random model rarely stops early; at most CONTEXT - n tokens).
    let fill = SamplingParams { temperature: 0.0, max_tokens: CONTEXT - n, ..Default::default() };
    let g = pollster::block_on(engine.generate(&prompt, &fill, &mut |_| true)).unwrap();
    assert_eq!(g.prompt_ids, prompt);
    assert!(g.ids.len() as u32 <= CONTEXT - n);
}
