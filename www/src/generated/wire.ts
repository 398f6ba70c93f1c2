// Generated from the Rust types in src/wire/ (and the core types they use) by ts-rs: do not
// edit. After changing them, `HEARTH_BLESS=1 cargo test --lib wire` rewrites this file.

export type GenerateRequest = SamplingParams & PromptInput;

export type PromptInput = { messages?: Array<ChatMessage>, prompt?: string, tools?: Array<unknown>, tool_choice?: unknown, 
/**
 * OpenAI's flag; `false`: the reply makes at most one call (the first; reading stops there).
 */
parallel_tool_calls?: boolean, };

export type SamplingParams = { 
/**
 * Softmax temperature, >= 0. 0 means greedy decoding.
 */
temperature?: number, 
/**
 * Keep only the `top_k` most likely tokens; 0 disables.
 */
top_k?: number, 
/**
 * Nucleus sampling: keep the smallest set of most likely tokens whose probability mass is
 * at least `top_p`, in (0, 1]; 1 disables.
 */
top_p?: number, 
/**
 * Drop tokens whose probability is below `min_p` times the most likely token's, in [0, 1];
 * 0 disables.
 */
min_p?: number, 
/**
 * Divides positive logits and multiplies negative logits of recently seen tokens
 * (CTRL paper, llama.cpp's `repeat_penalty`), > 0; 1 disables.
 */
repetition_penalty?: number, 
/**
 * OpenAI: subtracted once from the logit of every recently seen token, in [-2, 2].
 */
presence_penalty?: number, 
/**
 * OpenAI: subtracted per occurrence from the logit of recently seen tokens, in [-2, 2].
 */
frequency_penalty?: number, 
/**
 * The penalties look at the last `penalty_last_n` tokens of the history; 0 disables them.
 */
penalty_last_n?: number, 
/**
 * OpenAI's `logit_bias`: token id (a decimal string, as JSON object keys are strings) →
 * a bias in [-100, 100] added to that token's logit before the penalties. -100 all but
 * bans a token, 100 all but forces it.
 */
logit_bias?: Record<string, number>, 
/**
 * Seed of the random generator; the same seed, parameters and logits give the same tokens.
 */
seed?: number, 
/**
 * Most tokens to generate, >= 1 (enforced by the generation loop, not the sampler).
 */
max_tokens?: number, 
/**
 * Generation stops before any of these strings; OpenAI accepts one string or a list.
 */
stop?: string | Array<string>, 
/**
 * Generation stops when one of these tokens is sampled (the token's text is not emitted).
 */
stop_token_ids?: Array<number>, 
/**
 * OpenAI chat's `logprobs`: report each generated token's log-probability (see
 * `sample::logprobs` for which distribution that is).
 */
logprobs?: boolean, 
/**
 * OpenAI's `top_logprobs`: also report the `top_logprobs` most likely tokens at each step,
 * 0 ..= [`MAX_TOP_LOGPROBS`]; needs `logprobs`.
 */
top_logprobs?: number, 
/**
 * Structured output, enforced by a token mask every step (see `crate::structured`):
 * OpenAI's `{type: 'json_object'}` and `{type: 'json_schema', json_schema: {name, schema,
 * strict}}`, or Hearth's extension `{type: 'grammar', grammar: {syntax: 'lark' | 'regex',
 * definition}}` (llguidance's Lark dialect, or one regex the whole reply matches). A schema
 * or grammar that cannot be compiled is an InvalidArgumentError naming the field.
 */
response_format?: ResponseFormat | null, };

export type ResponseFormat = { "type": "text" } | { "type": "json_object" } | { "type": "json_schema", json_schema: JsonSchemaFormat, } | { "type": "grammar", grammar: GrammarFormat, };

export type JsonSchemaFormat = { name?: string | null, description?: string | null, schema: object | boolean, 
/**
 * OpenAI's flag; Hearth always enforces the schema, and a schema it cannot enforce
 * (an unsupported keyword) is refused either way rather than half-followed.
 */
strict?: boolean | null, };

export type GrammarFormat = { syntax: GrammarSyntax, definition: string, };

export type GrammarSyntax = "lark" | "regex";

export type ChatMessage = { role: string, content: string | null, tool_calls?: Array<ToolCall>, tool_call_id?: string | null, name?: string | null, };

export type ToolCall = { id?: string | null, type: "function", function: FunctionCall, };

export type FunctionCall = { name: string, 
/**
 * The arguments object (from OpenAI's JSON string, or an object as given).
 */
arguments: string | Record<string, unknown>, };

export type ToolRequest = { tools?: Array<unknown>, tool_choice?: unknown, 
/**
 * OpenAI's flag; `false`: the reply makes at most one call (the first; reading stops there).
 */
parallel_tool_calls?: boolean, };

export type StreamPiece = { text: string, logprobs: TokenLogprob | null, tool_calls: Array<ToolCallDelta>, };

export type ToolCallDelta = { index: number, id: string | null, name: string | null, arguments: string, };

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
 * The arguments object's JSON text as the model wrote it (OpenAI's `function.arguments`;
 * a stream's argument pieces join to it).
 */
arguments: string, };

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

export type CreateOptions = { 
/**
 * Caps the storage-buffer binding size asked of the GPU (default: the adapter's limit).
 */
max_storage_binding_bytes?: number, 
/**
 * Kernel shapes to change from the ones chosen for the adapter, as `key=value` pairs
 * separated by commas (the fields of `hearth::gpu::Tuning`, as `hearth --tune`): to sweep
 * shapes in a browser without a rebuild, or to force a path in tests.
 */
tune?: string, };

export type AdapterInfo = { name: string, backend: string, device_type: string, 
/**
 * The optional features Hearth uses that this GPU has (shader-f16, subgroups, ...).
 */
features: Array<string>, 
/**
 * The binding size asked for and granted (tensors larger than this are split).
 */
max_storage_buffer_binding_size: number, max_buffer_size: number, };

export type ContextOptions = { 
/**
 * Tokens the KV cache holds; default: the model's, at most 8192 (less where the KV cache
 * would pass 256 MiB).
 */
context_length?: number, };

export type HeaderRead<T> = { need_bytes: number, } | T;

export type ModelPlan = { 
/**
 * Bytes of the file's header (where the tensor data starts): all a plan reads.
 */
header_bytes: number, 
/**
 * The context the load would use (the option, else `default_context`).
 */
context_length: number, 
/**
 * The model's trained context: the most `context_length` may be.
 */
trained_context_length: number, 
/**
 * Weight matrices in their GPU layout (repacked, split across bindings) and norm/bias
 * vectors as f32.
 */
weight_bytes: number, 
/**
 * Keys and values of every layer at `context_length`.
 */
kv_cache_bytes: number, 
/**
 * The activation arena at `batch` tokens.
 */
activation_bytes: number, total_bytes: number, 
/**
 * Tokens per forward pass (`MAX_BATCH`, fewer where a binding cannot hold that many rows).
 */
batch: number, 
/**
 * The largest single buffer the load makes.
 */
largest_buffer_bytes: number, max_storage_binding: number, max_buffer_size: number, fits: boolean, 
/**
 * Why it does not fit, one line each (empty when it does).
 */
reasons: Array<string>, 
/**
 * The longest context that would fit, when only the context is in the way (or it fits).
 */
largest_context: number | null, };

export type ShardPlace = { 
/**
 * Where the shard's tensor data starts.
 */
data_offset: number, split_count: number, split_no: number, };

export type LoadProgress = { 
/**
 * Bytes of the file received so far.
 */
received_bytes: number, 
/**
 * The file's length.
 */
total_bytes: number, 
/**
 * Bytes of tensor data written to GPU buffers, of `weight_bytes`.
 */
uploaded_bytes: number, weight_bytes: number, };

export type LoadedModel = { 
/**
 * The context length in use (may be smaller than the model's).
 */
n_ctx: number, kv_cache_bytes: number, 
/**
 * Matrices larger than the GPU's storage-binding limit, with the parts each was split into.
 */
split_tensors: { [key in string]: number }, name: string | null, architecture: string, gguf_version: number, block_count: number | null, embedding_length: number | null, feed_forward_length: number | null, head_count: number | null, head_count_kv: number | null, head_dim: number | null, context_length: number | null, rope: RopeSummary, parameter_count: number, 
/**
 * Tensor count per format, e.g. {"Q4_1": 210, "F32": 61}.
 */
tensor_types: { [key in string]: number }, tensor_count: number, tensor_bytes: number, tokenizer: TokenizerSummary, chat_template: boolean, };

export type ModelSummary = { name: string | null, architecture: string, gguf_version: number, block_count: number | null, embedding_length: number | null, feed_forward_length: number | null, head_count: number | null, head_count_kv: number | null, head_dim: number | null, context_length: number | null, rope: RopeSummary, parameter_count: number, 
/**
 * Tensor count per format, e.g. {"Q4_1": 210, "F32": 61}.
 */
tensor_types: { [key in string]: number }, tensor_count: number, tensor_bytes: number, tokenizer: TokenizerSummary, chat_template: boolean, };

export type RopeSummary = { freq_base: number | null, dimension_count: number | null, scaling_type: string | null, scaling_factor: number | null, };

export type TokenizerSummary = { 
/**
 * `tokenizer.ggml.model`: `gpt2` (byte-level BPE) or `llama` (SentencePiece).
 */
model: string | null, 
/**
 * `tokenizer.ggml.pre`: the pre-tokenizer variant of a `gpt2` tokenizer.
 */
pre: string | null, vocab_size: number | null, bos_token_id: number | null, eos_token_id: number | null, add_bos_token: boolean | null, };

export type EngineStats = { 
/**
 * Bytes of wasm linear memory (it only grows, so this is also the peak so far).
 */
wasm_memory_bytes: number, 
/**
 * Heap bytes allocated and not freed (src/heap.rs): the figure a leak shows in.
 */
wasm_heap_live_bytes: number, 
/**
 * The loaded model's GPU work since load, or null without a model.
 */
gpu: GpuStats | null, };

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

export type ErrorKind = "HearthError" | "ModelFormatError" | "UnsupportedModelError" | "WebGPUUnavailableError" | "OutOfMemoryError" | "ModelTooLargeError" | "DeviceLostError" | "InvalidArgumentError" | "ContextWindowExceededError";
