// Messages between the page (WorkerBackend) and the worker (serveWorker). Every request has an
// id; the worker answers with any number of progress/text messages, then one result or error.

import type { SerializedError } from './errors.js';
import type { LoadProgress, TokenLogprob } from './types.js';
import type { WasmGenerateRequest, WasmPromptInput } from './wasm_contract.js';

/** EngineOptions as they cross postMessage (a URL object does not survive structured clone). */
export interface WireEngineOptions {
  wasmUrl?: string;
  maxStorageBindingBytes?: number;
}

export type ToWorker =
  | { kind: 'ready'; id: number; options: WireEngineOptions }
  | { kind: 'adapterInfo'; id: number }
  | {
      kind: 'load';
      id: number;
      source: string | Blob;
      useCache: boolean;
      progress: boolean;
      chatTemplate?: string;
      integrity?: string;
      revalidate?: boolean;
      contextLength?: number;
      shards?: string[];
    }
  | { kind: 'plan'; id: number; source: string | Blob; contextLength?: number; useCache: boolean; shards?: string[] }
  | { kind: 'unload'; id: number }
  | { kind: 'generate'; id: number; request: WasmGenerateRequest }
  | { kind: 'countTokens'; id: number; input: WasmPromptInput }
  | { kind: 'stats'; id: number }
  /** Fires the AbortSignal of request `id` (a load or a generate). */
  | { kind: 'abort'; id: number }
  | { kind: 'interrupt' }
  | { kind: 'loseDevice' }
  | { kind: 'dispose' };

export type FromWorker =
  | { kind: 'progress'; id: number; progress: LoadProgress }
  | { kind: 'text'; id: number; text: string; logprobs?: TokenLogprob | undefined }
  | { kind: 'result'; id: number; value: unknown }
  | { kind: 'error'; id: number; error: SerializedError };
