// What an engine needs from whatever runs the model: the wasm engine in this thread
// (LocalBackend) or the same thing in a worker, reached by messages (WorkerBackend).
// The OpenAI-shaped API (EngineBase) is written once, on top of this.

import type { GenerateRequest, GenerateResult, GpuStats, PromptInput, StreamPiece } from './generated/wire.js';
import type { AdapterInfo, LoadOptions, ModelInfo, ModelPlan, ModelSource, PlanOptions } from './types.js';

export interface RuntimeStats {
  /** Bytes of wasm linear memory (it only grows, so this is also the peak so far). */
  wasmMemoryBytes: number;
  /** Bytes the wasm heap has allocated and not freed: the figure a leak shows in. */
  wasmHeapLiveBytes: number;
  /**
   * The loaded model's GPU work since load, or null without a model: forward passes,
   * tokens, GPU round trips, bytes read back, dispatches, host encode seconds and forward
   * graphs built after load (0 for any number of prompts and chat turns).
   */
  gpu: GpuStats | null;
}

/** Gets each piece of a reply as the engine finalises it (text, logprobs, tool-call pieces). */
export type OnPiece = (piece: StreamPiece) => void;

export interface Backend {
  /** Opens WebGPU and instantiates the wasm (once); rejects with WebGPUUnavailableError. */
  ready(): Promise<void>;
  adapterInfo(): Promise<AdapterInfo>;
  load(source: ModelSource, options: LoadOptions): Promise<ModelInfo>;
  /** The GPU memory a load would take, from the header alone (null: not readable in part). */
  plan(source: ModelSource, options: PlanOptions): Promise<ModelPlan | null>;
  unload(): Promise<void>;
  /**
   * Queued behind earlier requests; `signal` removes it from the queue or stops it running.
   * `onPiece` gets each token's logprobs entry too when the request asks for them.
   */
  generate(request: GenerateRequest, onPiece: OnPiece, signal: AbortSignal | undefined): Promise<GenerateResult>;
  /** Tokens the input's prompt has (queued like a request). */
  countTokens(input: PromptInput): Promise<number>;
  /** Stops the running generation (not queued ones) after the current token. */
  interrupt(): void;
  /** Test hook: loses the GPU device now, as a driver reset would (not queued). */
  loseDevice(): void;
  stats(): Promise<RuntimeStats>;
  dispose(): void;
}
