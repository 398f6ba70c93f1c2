// The page side of a worker engine: every Backend call becomes a message to the worker
// (protocol.ts); replies are matched by id, errors rebuilt into their classes.

import type { Backend, OnPiece, RuntimeStats } from './backend.js';
import { absoluteUrl } from './cache.js';
import { EngineBase } from './engine_base.js';
import { AbortError, HearthError, abortMessage, deserializeError } from './errors.js';
import type { GenerateRequest, GenerateResult, PromptInput } from './generated/wire.js';
import type { FromWorker, Replies, RequestBody, RequestKind, Result, ToWorker, WireEngineOptions } from './protocol.js';
import type {
  AdapterInfo,
  EngineOptions,
  LoadOptions,
  LoadProgress,
  ModelInfo,
  ModelPlan,
  ModelSource,
  PlanOptions,
} from './types.js';

interface Pending {
  /** The kind of request: a result of another kind is refused, not handed on. */
  request: RequestKind;
  resolve: (result: Result) => void;
  reject: (error: unknown) => void;
  onPiece?: OnPiece | undefined;
  onProgress?: ((progress: LoadProgress) => void) | undefined;
}

class WorkerBackend implements Backend {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Set when the worker died (script failed to load, crashed): every call fails with it. */
  private broken: HearthError | null = null;
  private readonly started: Promise<void>;

  constructor(
    private readonly worker: Worker,
    options: EngineOptions,
  ) {
    worker.addEventListener('message', (e: MessageEvent<FromWorker>) => this.onReply(e.data));
    worker.addEventListener('error', (e: ErrorEvent) => {
      e.preventDefault();
      this.fail(
        new HearthError(
          `the Hearth worker failed: ${e.message || 'its script could not be loaded (check the Worker URL and {type: "module"})'}`,
        ),
      );
    });
    worker.addEventListener('messageerror', () => this.fail(new HearthError('a message from the Hearth worker could not be read')));
    const wire: WireEngineOptions = {};
    if (options.wasmUrl !== undefined) wire.wasmUrl = absoluteUrl(options.wasmUrl);
    if (options.maxStorageBindingBytes !== undefined) wire.maxStorageBindingBytes = options.maxStorageBindingBytes;
    if (options.tune !== undefined) wire.tune = options.tune;
    // Sent first, so the worker has its options before any other request.
    this.started = this.call({ kind: 'ready', options: wire });
    this.started.catch(() => {});
  }

  ready(): Promise<void> {
    return this.started;
  }

  adapterInfo(): Promise<AdapterInfo> {
    return this.call({ kind: 'adapterInfo' });
  }

  load(source: ModelSource, options: LoadOptions): Promise<ModelInfo> {
    // Relative URLs mean the page's location, not the worker script's.
    const wireSource = typeof source === 'string' || source instanceof URL ? absoluteUrl(source) : source;
    return this.call(
      {
        kind: 'load',
        source: wireSource,
        useCache: options.useCache ?? true,
        progress: !!options.onProgress,
        chatTemplate: options.chatTemplate,
        integrity: options.integrity,
        revalidate: options.revalidate,
        contextLength: options.contextLength,
        shards: options.shards?.map((u) => absoluteUrl(u)),
      },
      { onProgress: options.onProgress },
      options.signal,
    );
  }

  plan(source: ModelSource, options: PlanOptions): Promise<ModelPlan | null> {
    const wireSource = typeof source === 'string' || source instanceof URL ? absoluteUrl(source) : source;
    return this.call(
      {
        kind: 'plan',
        source: wireSource,
        contextLength: options.contextLength,
        useCache: options.useCache ?? true,
        shards: options.shards?.map((u) => absoluteUrl(u)),
      },
      {},
      options.signal,
    );
  }

  unload(): Promise<void> {
    return this.call({ kind: 'unload' });
  }

  generate(request: GenerateRequest, onPiece: OnPiece, signal: AbortSignal | undefined): Promise<GenerateResult> {
    return this.call({ kind: 'generate', request }, { onPiece }, signal);
  }

  countTokens(input: PromptInput): Promise<number> {
    return this.call({ kind: 'countTokens', input });
  }

  loseDevice(): void {
    if (!this.broken) this.worker.postMessage({ kind: 'loseDevice' } satisfies ToWorker);
  }

  interrupt(): void {
    if (!this.broken) this.worker.postMessage({ kind: 'interrupt' } satisfies ToWorker);
  }

  stats(): Promise<RuntimeStats> {
    return this.call({ kind: 'stats' });
  }

  dispose(): void {
    if (this.broken) return;
    this.fail(new HearthError('this engine was disposed'));
    this.worker.terminate();
  }

  /** Sends a request of kind `K` and resolves with that kind's reply (`Replies[K]`). */
  private call<K extends RequestKind>(
    message: RequestBody<K>,
    hooks: Pick<Pending, 'onPiece' | 'onProgress'> = {},
    signal?: AbortSignal,
  ): Promise<Replies[K]> {
    if (this.broken) return Promise.reject(this.broken);
    if (signal?.aborted) return Promise.reject(new AbortError(abortMessage(signal)));
    const id = this.nextId++;
    const request = message.kind;
    return new Promise<Replies[K]>((resolve, reject) => {
      const onAbort = () => this.worker.postMessage({ kind: 'abort', id } satisfies ToWorker);
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => signal?.removeEventListener('abort', onAbort);
      this.pending.set(id, {
        ...hooks,
        request,
        resolve: (result) => {
          done();
          // The worker answers each request with a result of its kind (checked on arrival).
          resolve(result.value as Replies[K]);
        },
        reject: (e) => {
          done();
          // The worker cannot see the page's abort reason; say it was this signal.
          reject(signal?.aborted && e instanceof AbortError ? new AbortError(abortMessage(signal)) : e);
        },
      });
      this.worker.postMessage({ ...message, id } as ToWorker);
    });
  }

  private onReply(m: FromWorker): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    switch (m.kind) {
      case 'progress':
        p.onProgress?.(m.progress);
        break;
      case 'piece':
        p.onPiece?.(m.piece);
        break;
      case 'result':
        this.pending.delete(m.id);
        if (m.request === p.request) p.resolve(m);
        else p.reject(new HearthError(`the Hearth worker answered a ${p.request} request with a ${m.request} result`));
        break;
      case 'error':
        this.pending.delete(m.id);
        p.reject(deserializeError(m.error));
        break;
    }
  }

  private fail(error: HearthError): void {
    this.broken ??= error;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }
}

/** An engine whose model runs in a Web Worker, so the page never waits on it. */
export class WorkerEngine extends EngineBase {
  constructor(worker: Worker, options: EngineOptions = {}) {
    super(new WorkerBackend(worker, options));
  }
}

/**
 * Starts an engine in `worker` (a module worker whose script calls `serveWorker()` from
 * 'hearth-llm/worker') and resolves once WebGPU and the wasm are ready in it.
 */
export async function CreateWorkerEngine(worker: Worker, options: EngineOptions = {}): Promise<WorkerEngine> {
  const engine = new WorkerEngine(worker, options);
  await engine.ready();
  return engine;
}
