// Runs async tasks one at a time, in the order they were submitted: the GPU engine holds one
// KV cache and one set of buffers, so two requests must never interleave.

import { AbortError, abortMessage } from './errors.js';

export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();

  /**
   * Runs `task` after every task submitted before it has settled. If `signal` fires while the
   * task is still waiting its turn, the returned promise rejects with AbortError at once and
   * the task never starts; once started, cancelling is the task's own business.
   */
  run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    let resolve!: (value: T) => void;
    let reject!: (error: unknown) => void;
    const result = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const onAbort = () => reject(new AbortError(signal ? abortMessage(signal) : undefined));
    // The queue's tail is this task's own turn (never rejecting), not `result`: a task aborted
    // while waiting settles `result` early, but the next task must still wait for the earlier ones.
    this.tail = this.tail.then(async () => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) return; // rejected while waiting; never started
      try {
        resolve(await task());
      } catch (e) {
        reject(e);
      }
    });
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    return result;
  }
}
