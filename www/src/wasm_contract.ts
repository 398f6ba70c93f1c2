// The Rust core's wasm surface (src/wasm.rs). wasm-bindgen types its arguments and results as
// `any`; this file declares its methods, and every value that crosses is a type generated from
// the Rust wire types (src/wire/ -> generated/wire.ts, checked by a Rust test), so the two sides
// cannot drift. The methods' own list is kept here by hand (wasm-bindgen's .d.ts says `any`).

import type {
  AdapterInfo,
  ContextOptions,
  CreateOptions,
  EngineStats,
  GenerateRequest,
  GenerateResult,
  HeaderRead,
  LoadProgress,
  LoadedModel,
  ModelPlan,
  PromptInput,
  ShardPlace,
  StreamPiece,
  TokenLogprob as WireTokenLogprob,
} from './generated/wire.js';
import type { TokenLogprob } from './types.js';

/** Compile-time check: the package's documented TokenLogprob is exactly what wasm sends. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export type LogprobsMatchWasm = Same<TokenLogprob, WireTokenLogprob> extends true ? true : never;
const logprobsMatchWasm: LogprobsMatchWasm = true;
void logprobsMatchWasm;

export interface WasmEngineInstance {
  adapterInfo(): AdapterInfo;
  /** `{need_bytes}` until `prefix` holds the whole header, then the plan. */
  plan(prefix: Uint8Array, fileBytes: number, options: ContextOptions): HeaderRead<ModelPlan>;
  /** Options are checked against the header as soon as it arrives (pushChunk rejects then). */
  beginLoad(totalBytes: number, options: ContextOptions): void;
  pushChunk(chunk: Uint8Array): Promise<void>;
  /** A shard's data offset and place in its model, or `{need_bytes}` until `prefix` holds its header. */
  shardHeader(prefix: Uint8Array, fileBytes: number): HeaderRead<ShardPlace>;
  /** Joins the shards' headers and allocates the weights; resolves with the joined length.
   * Then pushChunk takes each shard's bytes from its data offset on, in shard order. */
  beginShardedLoad(headers: Uint8Array[], lengths: number[], names: string[], options: ContextOptions): Promise<number>;
  /** `plan` over the shards' joined headers (each header complete). */
  planShards(headers: Uint8Array[], lengths: number[], names: string[], options: ContextOptions): ModelPlan;
  loadProgress(): LoadProgress;
  finishLoad(chatTemplate?: string): Promise<LoadedModel>;
  isLoaded(): boolean;
  unload(): void;
  /** `onPiece` gets the reply's text, logprobs entries and tool-call pieces as they come. */
  generate(request: GenerateRequest, onPiece: (piece: StreamPiece) => void): Promise<GenerateResult>;
  /** Tokens `generate` would feed the model for this input (same template, same tokenizer). */
  countTokens(input: PromptInput): number;
  interrupt(): void;
  /** Test hook: destroys the GPU device (see LocalBackend's recovery). */
  debugLoseDevice(): void;
  /** Whether the device has reported itself lost. */
  deviceLost(): boolean;
  stats(): EngineStats;
  free(): void;
}

export interface WasmEngineStatic {
  create(options?: CreateOptions): Promise<WasmEngineInstance>;
}

/** The wasm-bindgen `--target web` module: default export `init`, then the class. */
export interface WasmModule {
  default(options?: { module_or_path: string | URL }): Promise<unknown>;
  WasmEngine: WasmEngineStatic;
}
