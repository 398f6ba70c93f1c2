// The public shapes: what goes into an engine and what comes out. Requests and results follow
// the OpenAI chat/completions API so code written for it reads the same here.

import type {
  ConstraintStats,
  LoadedModel,
  ReplyFinish,
  ModelPlan as WireModelPlan,
  ResponseFormat as WireResponseFormat,
  SamplingParams as WireSamplingParams,
} from './generated/wire.js';

/** Where a model comes from: a URL (fetched, cached) or a local file (never cached). */
export type ModelSource = string | URL | File | Blob;

export interface LoadProgress {
  /**
   * 'download': bytes arriving from the network (and going to the GPU as they arrive);
   * 'upload': bytes read from the cache or a local file going to the GPU;
   * 'compile': all bytes in, shaders compiling (loadedBytes === totalBytes).
   */
  phase: 'download' | 'upload' | 'compile';
  loadedBytes: number;
  totalBytes: number;
}

export interface LoadOptions {
  onProgress?: (progress: LoadProgress) => void;
  signal?: AbortSignal;
  /** Keep the downloaded weights in the Cache API and read them from it next time. Default true. */
  useCache?: boolean;
  /**
   * A Jinja chat template to use instead of the model's own, e.g. the instruct template for
   * a base model whose GGUF has none (Gemma 3 270M). `bos_token`/`eos_token` come from the GGUF.
   */
  chatTemplate?: string;
  /**
   * `sha256-<base64>` (Subresource Integrity form): the file must hash to it, checked as it
   * streams, before the model is built (IntegrityError otherwise; nothing of it is kept).
   */
  integrity?: string;
  /** Ask the server (HEAD, when online) whether a cached copy is still current (ETag). */
  revalidate?: boolean;
  /**
   * Tokens the KV cache holds: 1 up to the model's trained maximum (InvalidArgumentError
   * above it). Default: the model's, at most 8192, halved while the KV cache would pass 256 MiB
   * (see README). Checked on the header, before
   * the weights are downloaded: ModelTooLargeError (with `largestContext`) when this GPU
   * cannot hold the cache.
   */
  contextLength?: number;
  /**
   * The URLs of a sharded model's files, first to last, when they are not named as llama.cpp's
   * gguf-split names them (`NAME-00001-of-00003.gguf`, ...: then loading the first one finds
   * the others by itself). Each shard is cached under its own URL.
   */
  shards?: string[];
}

/** Options of `engine.plan`. */
export interface PlanOptions {
  /** The context length to plan for (as `LoadOptions.contextLength`). */
  contextLength?: number;
  signal?: AbortSignal;
  /** Read the header from the cache when the model is stored there. Default true. */
  useCache?: boolean;
  /** A sharded model's files, as `LoadOptions.shards` (a first shard named NAME-00001-of-0000N.gguf finds the others). */
  shards?: string[];
}

/**
 * What loading a model would take on this GPU (`hearth plan --json`), from its header alone;
 * bytes are GPU memory. Generated from the Rust `Plan` (src/model/plan.rs), whose fields say
 * what each figure counts.
 */
export type ModelPlan = WireModelPlan;

/** Options of `downloadModel`. */
export interface DownloadOptions {
  onProgress?: (progress: LoadProgress) => void;
  signal?: AbortSignal;
  integrity?: string;
}

/** What `downloadModel` did. */
export interface DownloadResult {
  bytes: number;
  /** Bytes a cut download had already stored (only the rest came over the network). */
  resumedBytes: number;
  /** A complete copy was cached already: nothing was downloaded. */
  fromCache: boolean;
}

/**
 * What Hearth read from the model (the same fields as `hearth inspect --json`), with the context
 * in use (`n_ctx`), the KV cache's bytes and the matrices split across bindings. Generated from
 * the Rust `LoadedModel` (src/wire/load.rs).
 */
export type ModelInfo = LoadedModel;

/** The GPU Hearth runs on. */
export interface AdapterInfo {
  name: string;
  backend: string;
  deviceType: string;
  /** The optional features Hearth uses that this GPU has (shader-f16, subgroups, ...). */
  features: string[];
  /** The binding size Hearth asked for and got (tensors larger than this are split). */
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
}

/**
 * A message of the conversation. An assistant turn that called tools has `tool_calls` (and
 * may have `content: null`); each result comes back as a `tool` message naming its call.
 */
export type ChatMessage =
  | { role: 'system' | 'user'; content: string }
  | { role: 'assistant'; content: string | null; tool_calls?: ChatCompletionMessageToolCall[] | null }
  | { role: 'tool'; content: string; tool_call_id: string; name?: string };

/** A tool the model may call: OpenAI's function tool (`parameters` is a JSON Schema). */
export interface ChatCompletionTool {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown>; strict?: boolean | null };
}

/** `auto` (default): the model decides; `none`: plain text; `required` or a named function: one call. */
export type ChatCompletionToolChoice = 'auto' | 'none' | 'required' | { type: 'function'; function: { name: string } };

/** A call the model made: `arguments` is a JSON string, as in OpenAI's API. */
export interface ChatCompletionMessageToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/**
 * A piece of a streamed call, as OpenAI streams them: the call's first piece has its `index`,
 * `id`, `type` and `function.name` (with `arguments: ''` or the first of them), later pieces
 * only `index` and more of `function.arguments`. Joined by index, a call's pieces give the
 * whole call (`arguments` the same JSON text as the non-streamed reply's).
 */
export interface ChatCompletionChunkToolCall {
  index: number;
  id?: string;
  type?: 'function';
  function: { name?: string; arguments: string };
}

/** One alternative at a step: a token, its bytes and its log-probability (natural log). */
export interface TopLogprob {
  token: string;
  logprob: number;
  /** The token's UTF-8 bytes (`token` shows U+FFFD for a partial character). */
  bytes: number[];
  /** Non-OpenAI: the token id. */
  id: number;
}

/**
 * One output token's log-probability and the `top_logprobs` most likely tokens at its step:
 * the log-softmax of the model's raw logits, before temperature, penalties and logit_bias
 * (as OpenAI reports them).
 */
export interface TokenLogprob extends TopLogprob {
  top_logprobs: TopLogprob[];
}

/** `choices[0].logprobs` of a chat completion or chunk asked with `logprobs: true`. */
export interface ChatCompletionLogprobs {
  content: TokenLogprob[];
  refusal: null;
}

/** `choices[0].logprobs` of a raw completion asked with `logprobs: N` (OpenAI's legacy shape). */
export interface CompletionLogprobs {
  tokens: string[];
  token_logprobs: number[];
  /** Per token: the N most likely tokens → their logprobs. */
  top_logprobs: Record<string, number>[];
  /** Each token's offset in the completion's text (UTF-16 code units). */
  text_offset: number[];
}

/**
 * Sampling fields shared by chat and raw completions: the engine's own, generated from the Rust
 * `SamplingParams` (src/sample/params.rs, whose docs give each default and range). Defaults are
 * greedy (temperature 0). `logprobs` differs between chat and completions, so each request
 * type declares it.
 */
export type SamplingParams = Omit<WireSamplingParams, 'logprobs' | 'top_logprobs'>;

/** `response_format`: generated from the Rust `ResponseFormat` (src/structured/format.rs). */
export type ResponseFormat = WireResponseFormat;

/**
 * Fields of OpenAI's API that Hearth does not implement (`audio`, `n` > 1, ...) and unknown fields are refused with an
 * InvalidArgumentError naming the field; bookkeeping fields (`user`, `store`, `metadata`,
 * `service_tier`, ...) are accepted and ignored; `null` means not given.
 */
interface RequestCommon extends SamplingParams {
  /** The engine runs the model it loaded; this name is echoed in the response's `model`. */
  model?: string | null;
  /** Only 1 is supported. */
  n?: number | null;
  /**
   * With `stream: true`. `include_usage: true`: every chunk has `usage: null` and a last chunk
   * with no choices carries it (OpenAI's shape); without it, the finishing chunk carries usage.
   */
  stream_options?: { include_usage?: boolean | null } | null;
  signal?: AbortSignal;
  /** Non-OpenAI: also return the prompt's and the completion's token ids. */
  return_token_ids?: boolean;
}

export interface ChatCompletionRequestBase extends RequestCommon {
  messages: ChatMessage[];
  /** OpenAI's newer name for `max_tokens`. */
  max_completion_tokens?: number | null;
  /** Report each output token's log-probability (`choices[0].logprobs.content`). */
  logprobs?: boolean | null;
  /** With `logprobs`: also the 0 to 20 most likely tokens at each step. */
  top_logprobs?: number | null;
  /**
   * Tools the model may call, rendered by its chat template. The reply's calls are read in the
   * format the template teaches (Hermes `<tool_call>` JSON: Qwen2.5/Qwen3; Llama 3.x JSON);
   * a model whose template teaches none refuses tools (InvalidArgumentError).
   */
  tools?: ChatCompletionTool[] | null;
  tool_choice?: ChatCompletionToolChoice | null;
  /** True (the default): a reply may make several calls; false: at most one (the first). */
  parallel_tool_calls?: boolean | null;
}
export interface ChatCompletionRequestNonStreaming extends ChatCompletionRequestBase {
  stream?: false | null;
}
export interface ChatCompletionRequestStreaming extends ChatCompletionRequestBase {
  stream: true;
}
export type ChatCompletionRequest = ChatCompletionRequestNonStreaming | ChatCompletionRequestStreaming;

export interface CompletionRequestBase extends RequestCommon {
  prompt: string;
  /** OpenAI's legacy completions: report logprobs with this many (0 to 20) alternatives. */
  logprobs?: number | null;
}
export interface CompletionRequestNonStreaming extends CompletionRequestBase {
  stream?: false | null;
}
export interface CompletionRequestStreaming extends CompletionRequestBase {
  stream: true;
}
export type CompletionRequest = CompletionRequestNonStreaming | CompletionRequestStreaming;

/** 'abort': stopped by `interrupt()`. (An AbortSignal rejects with AbortError instead.) */
/** Generated from the Rust `ReplyFinish` (src/wire.rs). */
export type FinishReason = ReplyFinish;

export interface CompletionUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** Non-OpenAI: speeds measured by the engine. */
  extra: {
    prefill_tokens_per_s: number;
    decode_tokens_per_s: number;
    /** GPU submissions waited on after the prefill: greedy decoding chains up to 16 tokens per one. */
    decode_gpu_round_trips: number;
    /** From the request's arrival to its first token: queueing, template, tokenisation, prefill, worker hop. */
    time_to_first_token_ms: number;
    /** The prefill pass alone. */
    prefill_ms: number;
    /** All GPU round trips of the request (prefill and decode). */
    gpu_round_trips: number;
    /** Bytes copied back from the GPU: 4 per token id; logits only when sampling on the CPU. */
    gpu_bytes_read_back: number;
    /** Host (CPU) time spent recording and submitting GPU work. */
    host_encode_ms: number;
    /** Forward graphs built during the request (0: the load built them). */
    graphs_built: number;
    /** With a constraining `response_format`: token masks computed and their time (llguidance). */
    constraint?: ConstraintStats;
  };
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: {
    index: 0;
    message: { role: 'assistant'; content: string | null; tool_calls?: ChatCompletionMessageToolCall[] };
    finish_reason: FinishReason;
    /** With `logprobs: true`; else null. */
    logprobs: ChatCompletionLogprobs | null;
    token_ids?: number[];
  }[];
  usage: CompletionUsage;
  prompt_token_ids?: number[];
}

/**
 * One piece of a streamed chat reply. The first chunk carries `delta.role`; the last one
 * carries `finish_reason` and `usage` (null on the others), so no extra empty-choices chunk.
 */
export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: {
    index: 0;
    delta: { role?: 'assistant'; content?: string; tool_calls?: ChatCompletionChunkToolCall[] };
    finish_reason: FinishReason | null;
    /** With `logprobs: true`: the entries of the tokens this chunk's text came from. */
    logprobs: ChatCompletionLogprobs | null;
    token_ids?: number[];
  }[];
  usage: CompletionUsage | null;
  prompt_token_ids?: number[];
}

export interface Completion {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  choices: {
    index: 0;
    text: string;
    finish_reason: FinishReason | null;
    /** With `logprobs: N`; else null. */
    logprobs: CompletionLogprobs | null;
    token_ids?: number[];
  }[];
  usage: CompletionUsage | null;
  prompt_token_ids?: number[];
}

/** Streamed raw completions reuse the Completion shape, as OpenAI does. */
export type CompletionChunk = Completion;

export interface EngineOptions {
  /** Where the wasm binary is, if not next to the package's JS (e.g. served from a CDN). */
  wasmUrl?: string | URL;
  /** Cap the storage-buffer binding size asked of the GPU (default: the adapter's limit). */
  maxStorageBindingBytes?: number;
  /**
   * Kernel shapes to change from those chosen for the adapter: `key=value` pairs separated by
   * commas, e.g. `'matmul_decode_workgroup_size=128'` (the fields of the core's `Tuning`, as
   * the CLI's `--tune`). For measuring shapes on a device without a rebuild; an unknown key or
   * value is an InvalidArgumentError when the engine starts.
   */
  tune?: string;
}

/** Both engines (in-thread and worker) implement this. */
export interface EngineInterface {
  /** Loads a model, replacing the current one. Queued behind running requests. */
  load(source: ModelSource, options?: LoadOptions): Promise<ModelInfo>;
  /**
   * What loading `source` would take on this GPU and whether it fits, from the file's header
   * alone (HTTP Range requests for a URL, or the cache). Null when the server ignores Range
   * requests or gives no size. Queued like a request.
   */
  plan(source: ModelSource, options?: PlanOptions): Promise<ModelPlan | null>;
  /** Drops the loaded model and its GPU buffers. */
  unload(): Promise<void>;
  /** The loaded model's facts, or null. */
  readonly modelInfo: ModelInfo | null;
  adapterInfo(): Promise<AdapterInfo>;
  chat: {
    completions: {
      create(request: ChatCompletionRequestNonStreaming): Promise<ChatCompletion>;
      create(request: ChatCompletionRequestStreaming): Promise<AsyncIterable<ChatCompletionChunk>>;
      create(
        request: ChatCompletionRequest,
      ): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>>;
    };
  };
  completions: {
    create(request: CompletionRequestNonStreaming): Promise<Completion>;
    create(request: CompletionRequestStreaming): Promise<AsyncIterable<CompletionChunk>>;
    create(request: CompletionRequest): Promise<Completion | AsyncIterable<CompletionChunk>>;
  };
  /**
   * Tokens a prompt takes: a string as a completion tokenises it, messages as a chat request
   * renders them (template + generation prompt). Queued behind running requests.
   */
  countTokens(
    input: string | ChatMessage[],
    tools?: { tools?: ChatCompletionTool[] | null; tool_choice?: ChatCompletionToolChoice | null },
  ): Promise<number>;
  /** Stops the running generation after the current token; it ends with finish_reason 'abort'. */
  interrupt(): void;
  /** Releases the GPU (and the worker, for a worker engine). The engine is unusable after. */
  dispose(): void;
}
