// The Rust core's wasm surface (src/wasm.rs): wasm-bindgen types most of it as `any`, and this
// file is where the JS side says what it relies on. The generation result and the error kinds
// are generated from the Rust types (src/wire.rs -> generated/wire.ts, checked by a Rust test);
// the rest is typed by hand from the contract.

import type { GenerateResult, GpuStats, TokenLogprob as WireTokenLogprob } from './generated/wire.js';
import type { AdapterInfo, ModelInfo, ModelPlan, SamplingParams, TokenLogprob } from './types.js';

export type { GpuStats };
export type WasmGenerateResult = GenerateResult;

/** Compile-time check: the package's documented TokenLogprob is exactly what wasm sends. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export type LogprobsMatchWasm = Same<TokenLogprob, WireTokenLogprob> extends true ? true : never;
const logprobsMatchWasm: LogprobsMatchWasm = true;
void logprobsMatchWasm;

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
  /** A shard's data offset and place in its model, or `{needBytes}` until `prefix` holds its header. */
  shardHeader(
    prefix: Uint8Array,
    fileBytes: number,
  ): { dataOffset: number; splitCount: number; splitNo: number } | { needBytes: number };
  /** Joins the shards' headers and allocates the weights; resolves with the joined length.
   * Then pushChunk takes each shard's bytes from its data offset on, in shard order. */
  beginShardedLoad(headers: Uint8Array[], lengths: number[], names: string[], options: { contextLength?: number }): Promise<number>;
  /** `plan` over the shards' joined headers (each header complete). */
  planShards(headers: Uint8Array[], lengths: number[], names: string[], options: { contextLength?: number }): ModelPlan;
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
  wasmHeapLiveBytes(): number;
}

/** The wasm-bindgen `--target web` module: default export `init`, then the class. */
export interface WasmModule {
  default(options?: { module_or_path: string | URL }): Promise<unknown>;
  WasmEngine: WasmEngineStatic;
}
