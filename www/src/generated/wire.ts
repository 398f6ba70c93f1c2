// Generated from the Rust types in src/wire.rs by ts-rs: do not edit. After changing them,
// `HEARTH_BLESS=1 cargo test --lib wire` rewrites this file.

export type GenerateResult = { 
/**
 * The reply's text; with tools, its content around the calls.
 */
text: string, finish_reason: ReplyFinish, prompt_tokens: number, completion_tokens: number, prompt_ids: Array<number>, ids: Array<number>, prefill_tok_s: number, decode_tok_s: number, decode_round_trips: number, 
/**
 * The prefill pass alone; the package measures time to first token from the request's
 * arrival (queueing, template, tokenisation and the worker hop included).
 */
prefill_ms: number, 
/**
 * The generation's GPU work (round trips, bytes read back, host encode time, ...).
 */
gpu: GpuStats, 
/**
 * With `logprobs: true`: one entry per output token (OpenAI `logprobs.content`).
 */
logprobs: Array<TokenLogprob> | null, 
/**
 * With a constraining `response_format`: the token masks' count and time.
 */
constraint: ConstraintStats | null, 
/**
 * With `tools`: the calls the reply makes (`text` is then the content around them).
 */
tool_calls: Array<ReplyCall> | null, };

export type ReplyFinish = "stop" | "length" | "abort" | "tool_calls";

export type ReplyCall = { id: string, name: string, 
/**
 * The arguments object (the package sends it on as a JSON string, as OpenAI does).
 */
arguments: Record<string, unknown>, };

export type GpuStats = { 
/**
 * Forward passes run: one per prompt batch and one per decode step, chained or not.
 */
forward_passes: number, 
/**
 * Tokens those passes took in (prompt tokens and fed-back generated tokens).
 */
tokens: number, 
/**
 * Submissions the CPU waited for: GPU round trips.
 */
round_trips: number, 
/**
 * Bytes copied back from the GPU (token ids, and logits when asked for).
 */
bytes_read_back: number, 
/**
 * Dispatches recorded.
 */
dispatches: number, 
/**
 * Host (CPU) time spent recording, copying inputs and submitting, in seconds: the
 * per-token overhead that a real GPU waits on for a small model.
 */
encode_seconds: number, 
/**
 * Forward graphs built after load (0 for any number of prompts and chat turns; the
 * every-token-logits graph of perplexity is built once, on first use).
 */
graphs_built: number, };

export type TokenLogprob = { id: number, 
/**
 * The token's text; a token holding part of a UTF-8 character shows U+FFFD for it
 * (`bytes` has the exact bytes), as OpenAI does.
 */
token: string, bytes: Array<number>, 
/**
 * Natural log of the token's probability under the raw model logits (see
 * `sample::logprobs`); -inf is serialized as null.
 */
logprob: number, top_logprobs: Array<TopLogprob>, };

export type TopLogprob = { id: number, token: string, bytes: Array<number>, logprob: number, };

export type ConstraintStats = { masks: number, mask_ms_median: number, mask_ms_max: number, mask_ms_total: number, };

export type ErrorKind = "HearthError" | "ModelFormatError" | "UnsupportedModelError" | "WebGPUUnavailableError" | "OutOfMemoryError" | "ModelTooLargeError" | "DeviceLostError" | "InvalidArgumentError" | "ContextWindowExceededError";
