// The worker side of CreateWorkerEngine. A worker file for your app is two lines:
//
//   import { serveWorker } from 'hearth-llm/worker';
//   serveWorker();
//
// It runs the wasm engine in the worker and answers the page's messages (protocol.ts).

import { serializeError } from './errors.js';
import { LocalBackend } from './local_backend.js';
import type { FromWorker, Replies, RequestKind, ToWorker } from './protocol.js';
import type { EngineOptions } from './types.js';

/** The parts of a DedicatedWorkerGlobalScope this uses (the DOM typings describe a Window). */
export interface WorkerScopeLike {
  addEventListener(type: 'message', listener: (event: MessageEvent<ToWorker>) => void): void;
  postMessage(message: FromWorker): void;
}

export function serveWorker(scope: WorkerScopeLike = self as unknown as WorkerScopeLike): void {
  let backend: LocalBackend | null = null;
  const signals = new Map<number, AbortController>();

  const need = (): LocalBackend => {
    if (!backend) throw new Error('the page must send "ready" first');
    return backend;
  };

  /** Runs one request of kind `request` and posts its result (of that kind) or error. */
  const answer = <K extends RequestKind>(request: K, id: number, work: (signal: AbortSignal) => Promise<Replies[K]>) => {
    const controller = new AbortController();
    signals.set(id, controller);
    Promise.resolve()
      .then(() => work(controller.signal))
      .then(
        (value) => scope.postMessage({ kind: 'result', request, id, value } as FromWorker),
        (error: unknown) => scope.postMessage({ kind: 'error', id, error: serializeError(error) }),
      )
      .finally(() => signals.delete(id));
  };

  scope.addEventListener('message', (event) => {
    const m = event.data;
    switch (m.kind) {
      case 'ready': {
        const options: EngineOptions = { ...m.options };
        backend ??= new LocalBackend(options);
        answer(m.kind, m.id, () => need().ready());
        break;
      }
      case 'adapterInfo':
        answer(m.kind, m.id, () => need().adapterInfo());
        break;
      case 'load':
        answer(m.kind, m.id, (signal) =>
          need().load(m.source, {
            signal,
            useCache: m.useCache,
            chatTemplate: m.chatTemplate,
            integrity: m.integrity,
            revalidate: m.revalidate,
            contextLength: m.contextLength,
            shards: m.shards,
            onProgress: m.progress
              ? (progress) => scope.postMessage({ kind: 'progress', id: m.id, progress })
              : undefined,
          }),
        );
        break;
      case 'plan':
        answer(m.kind, m.id, (signal) =>
          need().plan(m.source, { signal, contextLength: m.contextLength, useCache: m.useCache, shards: m.shards }),
        );
        break;
      case 'unload':
        answer(m.kind, m.id, () => need().unload());
        break;
      case 'generate':
        answer(m.kind, m.id, (signal) =>
          need().generate(m.request, (piece) => scope.postMessage({ kind: 'piece', id: m.id, piece }), signal),
        );
        break;
      case 'countTokens':
        answer(m.kind, m.id, () => need().countTokens(m.input));
        break;
      case 'stats':
        answer(m.kind, m.id, () => need().stats());
        break;
      case 'abort':
        signals.get(m.id)?.abort();
        break;
      case 'loseDevice':
        backend?.loseDevice();
        break;
      case 'interrupt':
        backend?.interrupt();
        break;
      case 'dispose':
        backend?.dispose();
        backend = null;
        break;
    }
  });
}
