// The worker side of CreateWorkerEngine. A worker file for your app is two lines:
//
//   import { serveWorker } from 'hearth-llm/worker';
//   serveWorker();
//
// It runs the wasm engine in the worker and answers the page's messages (protocol.ts).

import { serializeError } from './errors.js';
import { LocalBackend } from './local_backend.js';
import type { FromWorker, ToWorker } from './protocol.js';
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

  /** Runs one request and posts its result or error. */
  const answer = (id: number, work: (signal: AbortSignal) => Promise<unknown>) => {
    const controller = new AbortController();
    signals.set(id, controller);
    Promise.resolve()
      .then(() => work(controller.signal))
      .then(
        (value) => scope.postMessage({ kind: 'result', id, value }),
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
        answer(m.id, () => need().ready());
        break;
      }
      case 'adapterInfo':
        answer(m.id, () => need().adapterInfo());
        break;
      case 'load':
        answer(m.id, (signal) =>
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
        answer(m.id, (signal) =>
          need().plan(m.source, { signal, contextLength: m.contextLength, useCache: m.useCache, shards: m.shards }),
        );
        break;
      case 'unload':
        answer(m.id, () => need().unload());
        break;
      case 'generate':
        answer(m.id, (signal) =>
          need().generate(
            m.request,
            (text, logprobs) => scope.postMessage({ kind: 'text', id: m.id, text, logprobs }),
            signal,
          ),
        );
        break;
      case 'countTokens':
        answer(m.id, () => need().countTokens(m.input));
        break;
      case 'stats':
        answer(m.id, () => need().stats());
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
