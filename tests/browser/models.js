// The models the browser tests load (files in the repo's models/, see scripts/fetch-models.sh)
// and small helpers shared by the test files.

export const SMOLLM2 = 'smollm2-135m-instruct-q4_1.gguf';
export const QWEN25 = 'qwen2.5-coder-0.5b-instruct-q4_k_m.gguf';
export const GEMMA3 = 'gemma-3-270m-q4_k_m.gguf';
/** Random weights, SmolLM2's tokenizer and template (scripts/make-tiny-chat-model.py): for
 * tests of the package's mechanics, ~50x faster than SmolLM2 on SwiftShader. */
export const TINY_CHAT = 'tiny-chat-random.gguf';

/** Runs `fn` and measures it: {value, seconds}. */
export async function timed(fn) {
  const t0 = performance.now();
  const value = await fn();
  return { value, seconds: (performance.now() - t0) / 1000 };
}
