// An async iterator fed by callbacks: the engine pushes values as generation produces them
// and the consumer pulls with `for await`. Values are buffered, so a slow consumer never
// stalls the GPU; breaking out of the loop calls `onCancel` (which stops the generation).

export class PushIterator<T> implements AsyncIterableIterator<T> {
  private readonly buffered: T[] = [];
  private waiting: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | null =
    null;
  private finished = false;
  private failure: { error: unknown } | null = null;

  constructor(private readonly onCancel: () => void) {}

  push(value: T): void {
    if (this.finished) return;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w.resolve({ value, done: false });
    } else {
      this.buffered.push(value);
    }
  }

  end(): void {
    this.settle(null);
  }

  fail(error: unknown): void {
    this.settle({ error });
  }

  /**
   * The reader's own abort: values not yet taken are dropped and the error comes next. (The
   * producer may have made several values ahead, e.g. a chain of greedy tokens decoded in
   * one GPU round trip; a reader who pressed Stop wants no more text.)
   */
  abort(error: unknown): void {
    if (this.finished) return;
    this.buffered.length = 0;
    this.settle({ error });
  }

  next(): Promise<IteratorResult<T>> {
    const value = this.buffered.shift();
    if (value !== undefined) return Promise.resolve({ value, done: false });
    if (this.failure) {
      const { error } = this.failure;
      this.failure = null; // thrown once, then the iterator is simply done
      return Promise.reject(error);
    }
    if (this.finished) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  /** The consumer left the loop early: stop producing. */
  return(): Promise<IteratorResult<T>> {
    if (!this.finished) {
      this.finished = true;
      this.buffered.length = 0;
      this.onCancel();
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private settle(failure: { error: unknown } | null): void {
    if (this.finished) return;
    this.finished = true;
    this.failure = failure;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      if (failure) {
        this.failure = null;
        w.reject(failure.error);
      } else {
        w.resolve({ value: undefined, done: true });
      }
    }
  }
}
