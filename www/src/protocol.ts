// Messages between the page (WorkerBackend) and the worker (serveWorker). Every request has an
// id; the worker answers with any number of progress/piece messages, then one result or error.
// A result carries its request's kind and the value typed for that kind (`Replies`), so a
// reply cannot be taken for another request's: the payloads are the wire types generated from
// Rust (generated/wire.ts) or the public types built from them; the envelopes exist only
// between two JS threads, so they are TypeScript's alone.

import type { RuntimeStats } from './backend.js';
import type { SerializedError } from './errors.js';
import type { GenerateRequest, GenerateResult, PromptInput, StreamPiece } from './generated/wire.js';
import type { AdapterInfo, LoadProgress, ModelInfo, ModelPlan } from './types.js';

/** EngineOptions as they cross postMessage (a URL object does not survive structured clone). */
export interface WireEngineOptions {
  wasmUrl?: string;
  maxStorageBindingBytes?: number;
  tune?: string;
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
  | { kind: 'generate'; id: number; request: GenerateRequest }
  | { kind: 'countTokens'; id: number; input: PromptInput }
  | { kind: 'stats'; id: number }
  /** Fires the AbortSignal of request `id` (a load or a generate). */
  | { kind: 'abort'; id: number }
  | { kind: 'interrupt' }
  | { kind: 'loseDevice' }
  | { kind: 'dispose' };

/** What each request kind resolves with. */
export interface Replies {
  ready: void;
  adapterInfo: AdapterInfo;
  load: ModelInfo;
  plan: ModelPlan | null;
  unload: void;
  generate: GenerateResult;
  countTokens: number;
  stats: RuntimeStats;
}

/** The kinds of request that get a reply. */
export type RequestKind = keyof Replies;

/** The request message of kind `K`. */
export type Request<K extends RequestKind> = Extract<ToWorker, { kind: K }>;

/** A request of kind `K` before it has an id (`kind` first, so a call infers `K` from it). */
export type RequestBody<K extends RequestKind> = { kind: K } & Omit<Request<K>, 'id' | 'kind'>;

/** A result: its request's kind, and the value of that kind. */
export type Result = { [K in RequestKind]: { kind: 'result'; request: K; id: number; value: Replies[K] } }[RequestKind];

export type FromWorker =
  | { kind: 'progress'; id: number; progress: LoadProgress }
  | { kind: 'piece'; id: number; piece: StreamPiece }
  | Result
  | { kind: 'error'; id: number; error: SerializedError };
