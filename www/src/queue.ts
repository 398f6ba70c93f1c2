// Runs async tasks one at a time, in the order they were submitted: the GPU engine holds one
// KV cache and one set of buffers, so two requests must never interleave.

import { AbortError, abortMessage } from './errors.js';

export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  /**
   * Runs `task` after every task submitted before it has settled. If `signal` fires while the
   * task is still waiting its turn, the returned promise rejects with AbortError at once and
   * the task never starts; once started, cancelling is the task's own business.
   */
  run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const previous = this.tail;
    const result = new Promise<T>((resolve, reject) => {
      if (signal?.aborted) {
        reject(new AbortError(abortMessage(signal)));
        return;
      }
      const onAbort = () => reject(new AbortError(signal ? abortMessage(signal) : undefined));
      signal?.addEventListener('abort', onAbort, { once: true });
      void previous.then(() => {
        signal?.removeEventListener('abort', onAbort);
        if (signal?.aborted) return; // already rejected while waiting
        task().then(resolve, reject);
      });
    });
    // The next task waits for this one whether it succeeds or fails.
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
