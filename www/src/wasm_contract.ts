// The Rust core's wasm surface (src/wasm.rs), typed by hand from its contract: wasm-bindgen
// types most of it as `any`, and this file is where the JS side says what it relies on.

import type { AdapterInfo, ModelInfo, ModelPlan, SamplingParams, TokenLogprob } from './types.js';

/** The body `WasmEngine.generate` accepts: exactly one of messages / prompt, plus sampling. */
export interface WasmGenerateRequest extends SamplingParams {
  messages?: WireMessage[];
  tools?: unknown[];
  tool_choice?: unknown;
  prompt?: string;
  logprobs?: boolean;
  top_logprobs?: number;
}

/** What a prompt is made of: chat messages (through the template) or plain text. */
export type WasmPromptInput = { messages: WireMessage[]; tools?: unknown[]; tool_choice?: unknown } | { prompt: string };

/** A chat message as Rust's ChatMessage reads it (src/chat/mod.rs). */
export interface WireMessage {
  role: string;
  content: string | null;
  tool_calls?: { id?: string; type: 'function'; function: { name: string; arguments: string } }[];
  tool_call_id?: string;
  name?: string;
}

export interface WasmGenerateResult {
  text: string;
  finish_reason: 'stop' | 'length' | 'abort' | 'tool_calls';
  prompt_tokens: number;
  completion_tokens: number;
  prompt_ids: number[];
  ids: number[];
  prefill_tok_s: number;
  decode_tok_s: number;
  decode_round_trips: number;
  /** The prefill pass alone (the package times the first token itself). */
  prefill_ms: number;
  gpu: GpuStats;
  /** With `logprobs: true`: one entry per output token; else null. */
  logprobs: TokenLogprob[] | null;
  /** With a constraining `response_format`: the token masks (src/structured). */
  constraint: { masks: number; mask_ms_median: number; mask_ms_max: number; mask_ms_total: number } | null;
  /** With `tools`: the reply's calls (`text` is the content around them); else null. */
  tool_calls: { id: string; name: string; arguments: unknown }[] | null;
}

/** The Rust `GpuStats` (src/model/stats.rs): GPU work counters. */
export interface GpuStats {
  forward_passes: number;
  tokens: number;
  round_trips: number;
  bytes_read_back: number;
  dispatches: number;
  encode_seconds: number;
  graphs_built: number;
}

export interface WasmLoadProgress {
  receivedBytes: number;
  totalBytes: number;
  uploadedBytes: number;
  weightBytes: number;
}

export interface WasmEngineInstance {
  adapterInfo(): AdapterInfo;
  /** `{needBytes}` until `prefix` holds the whole header, then the plan. */
  plan(prefix: Uint8Array, fileBytes: number, options: { contextLength?: number }): ModelPlan | { needBytes: number };
  /** Options are checked against the header as soon as it arrives (pushChunk rejects then). */
  beginLoad(totalBytes: number, options: { contextLength?: number }): void;
  pushChunk(chunk: Uint8Array): Promise<void>;
  loadProgress(): WasmLoadProgress;
  finishLoad(chatTemplate?: string): Promise<ModelInfo>;
  isLoaded(): boolean;
  unload(): void;
  /** `onText` gets each token's logprobs entry too when the request has `logprobs: true`. */
  generate(
    request: WasmGenerateRequest,
    onText: (text: string, logprobs: TokenLogprob | undefined) => void,
  ): Promise<WasmGenerateResult>;
  /** Tokens `generate` would feed the model for this input (same template, same tokenizer). */
  countTokens(input: WasmPromptInput): number;
  interrupt(): void;
  /** Test hook: destroys the GPU device (see LocalBackend's recovery). */
  debugLoseDevice(): void;
  /** Whether the device has reported itself lost. */
  deviceLost(): boolean;
  gpuStats(): GpuStats | null;
  free(): void;
}

export interface WasmEngineStatic {
  create(options?: { maxStorageBindingBytes?: number }): Promise<WasmEngineInstance>;
  wasmMemoryBytes(): number;
}

/** The wasm-bindgen `--target web` module: default export `init`, then the class. */
export interface WasmModule {
  default(options?: { module_or_path: string | URL }): Promise<unknown>;
  WasmEngine: WasmEngineStatic;
}
