// The error classes a page can test with `instanceof`. Errors cross two boundaries: Rust ->
// JS (wasm rejects with a plain Error whose `name` says the kind) and worker -> page
// (structured clone drops the class), so each one is rebuilt from {name, message, reason}.

import type { ErrorKind } from './generated/wire.js';

/** Base class of every error Hearth throws. */
export class HearthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HearthError';
  }
}

/** Why WebGPU could not be used. */
export type WebGPUUnavailableReason =
  | 'insecure-context' // WebGPU only exists on https:// and localhost pages
  | 'no-navigator-gpu' // the browser has no WebGPU (or it is switched off)
  | 'no-adapter' // WebGPU exists but offered no adapter (blocklisted GPU, no driver)
  | 'device-refused' // the adapter refused to create a device with the limits asked for
  | 'unknown';

/** The page cannot use WebGPU; `reason` says which step failed. */
export class WebGPUUnavailableError extends HearthError {
  readonly reason: WebGPUUnavailableReason;
  constructor(message: string, reason: WebGPUUnavailableReason = 'unknown') {
    super(message);
    this.name = 'WebGPUUnavailableError';
    this.reason = reason;
  }
}

/** The bytes are not a valid GGUF file (wrong magic, corrupt header, truncated). */
export class ModelFormatError extends HearthError {
  constructor(message: string) {
    super(message);
    this.name = 'ModelFormatError';
  }
}

/** A valid GGUF that Hearth cannot run (architecture or tensor type not supported). */
export class UnsupportedModelError extends HearthError {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedModelError';
  }
}

/** The GPU (or the wasm heap) could not allocate what the model needs. */
export class OutOfMemoryError extends HearthError {
  constructor(message: string) {
    super(message);
    this.name = 'OutOfMemoryError';
  }
}

/**
 * The model does not fit this GPU at the requested context; found from the file's header
 * before its weights were downloaded. `largestContext` is the longest context that would
 * fit (load again with it as `contextLength`), or null when none does.
 */
export class ModelTooLargeError extends OutOfMemoryError {
  readonly largestContext: number | null;
  constructor(message: string, largestContext: number | null) {
    super(message);
    this.name = 'ModelTooLargeError';
    this.largestContext = largestContext;
  }
}

/** The GPU device went away; create a new engine to continue. */
export class DeviceLostError extends HearthError {
  constructor(message: string) {
    super(message);
    this.name = 'DeviceLostError';
  }
}

/** A request parameter is invalid (bad sampling value, prompt longer than the context, ...). */
export class InvalidArgumentError extends HearthError {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidArgumentError';
  }
}

/**
 * A request's prompt plus its `max_tokens` exceed the loaded context length. Shorten the
 * conversation (see `engine.countTokens`) or lower `max_tokens`.
 */
export class ContextWindowExceededError extends InvalidArgumentError {
  readonly promptTokens: number;
  readonly maxTokens: number;
  readonly contextLength: number;
  constructor(message: string, promptTokens: number, maxTokens: number, contextLength: number) {
    super(message);
    this.name = 'ContextWindowExceededError';
    this.promptTokens = promptTokens;
    this.maxTokens = maxTokens;
    this.contextLength = contextLength;
  }
}

/** A download did not hash to the `integrity` it was loaded with; nothing of it was kept. */
export class IntegrityError extends HearthError {
  constructor(message: string) {
    super(message);
    this.name = 'IntegrityError';
  }
}

/** Browser storage cannot hold the model: `bytesNeeded` more, `bytesAvailable` free. */
export class StorageQuotaError extends HearthError {
  readonly bytesNeeded: number;
  readonly bytesAvailable: number;
  constructor(what: string, bytesNeeded: number, bytesAvailable: number, message?: string) {
    super(
      message ??
        `${what}: storing it needs ${bytesNeeded} bytes, but the browser allows this site ${bytesAvailable} more ` +
          '(navigator.storage.estimate()); free space, or load with useCache: false',
    );
    this.name = 'StorageQuotaError';
    this.bytesNeeded = bytesNeeded;
    this.bytesAvailable = bytesAvailable;
  }
}

/** The operation was cancelled through its AbortSignal. Same `name` as the DOM's. */
export class AbortError extends HearthError {
  constructor(message = 'the operation was aborted') {
    super(message);
    this.name = 'AbortError';
  }
}

/** An error as it travels between a worker and the page (structured-clone friendly). */
export interface SerializedError {
  name: string;
  message: string;
  reason?: WebGPUUnavailableReason;
  bytesNeeded?: number;
  bytesAvailable?: number;
  largestContext?: number | null;
  promptTokens?: number;
  maxTokens?: number;
  contextLength?: number;
}

/** A figure wasm or deserializeError put on the error (null when absent). */
type Field = (key: string) => number | null;

/**
 * One class per kind the Rust core raises: the keys are its `ErrorKind` (generated from
 * src/error.rs), so a kind added there without a class here fails to compile.
 */
const FROM_RUST: { [K in ErrorKind]: (message: string, field: Field) => HearthError } = {
  HearthError: (m) => new HearthError(m),
  ModelFormatError: (m) => new ModelFormatError(m),
  UnsupportedModelError: (m) => new UnsupportedModelError(m),
  WebGPUUnavailableError: (m) => new WebGPUUnavailableError(m, 'device-refused'),
  OutOfMemoryError: (m) => new OutOfMemoryError(m),
  ModelTooLargeError: (m, field) => new ModelTooLargeError(m, field('largestContext')),
  DeviceLostError: (m) => new DeviceLostError(m),
  InvalidArgumentError: (m) => new InvalidArgumentError(m),
  ContextWindowExceededError: (m, field) =>
    new ContextWindowExceededError(m, field('promptTokens') ?? 0, field('maxTokens') ?? 0, field('contextLength') ?? 0),
};

/** The kinds only the package raises (the browser's abort, its own checks). */
const FROM_PACKAGE: Record<'AbortError' | 'IntegrityError', (message: string) => HearthError> = {
  AbortError: (m) => new AbortError(m),
  IntegrityError: (m) => new IntegrityError(m),
};

/**
 * Any thrown value -> one of our classes, keyed by `name` (what wasm and DOMException set).
 * Values already of our classes pass through untouched.
 */
export function toHearthError(e: unknown): HearthError {
  if (e instanceof HearthError) return e;
  const name = typeof e === 'object' && e !== null && 'name' in e ? String(e.name) : '';
  const message =
    typeof e === 'object' && e !== null && 'message' in e ? String(e.message) : String(e);
  // wasm (src/wasm.rs `js_error`) and deserializeError put these figures on the error itself.
  const field: Field = (key) => {
    const v: unknown = typeof e === 'object' && e !== null ? (e as Record<string, unknown>)[key] : undefined;
    return typeof v === 'number' ? v : null;
  };
  if (Object.hasOwn(FROM_RUST, name)) return FROM_RUST[name as ErrorKind](message, field);
  if (Object.hasOwn(FROM_PACKAGE, name)) return FROM_PACKAGE[name as keyof typeof FROM_PACKAGE](message);
  // A RangeError from the wasm allocator ("Out of memory" / "could not grow memory").
  if (e instanceof RangeError && /memory/i.test(message)) return new OutOfMemoryError(message);
  return new HearthError(name && name !== 'Error' ? `${name}: ${message}` : message);
}

export function serializeError(e: unknown): SerializedError {
  const h = toHearthError(e);
  const out: SerializedError = { name: h.name, message: h.message };
  if (h instanceof WebGPUUnavailableError) out.reason = h.reason;
  if (h instanceof StorageQuotaError) {
    out.bytesNeeded = h.bytesNeeded;
    out.bytesAvailable = h.bytesAvailable;
  }
  if (h instanceof ModelTooLargeError) out.largestContext = h.largestContext;
  if (h instanceof ContextWindowExceededError) {
    out.promptTokens = h.promptTokens;
    out.maxTokens = h.maxTokens;
    out.contextLength = h.contextLength;
  }
  return out;
}

export function deserializeError(s: SerializedError): HearthError {
  if (s.name === 'WebGPUUnavailableError') return new WebGPUUnavailableError(s.message, s.reason);
  if (s.name === 'StorageQuotaError') return new StorageQuotaError('', s.bytesNeeded ?? 0, s.bytesAvailable ?? 0, s.message);
  return toHearthError(s);
}

/** Throws our AbortError when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError(abortMessage(signal));
}

export function abortMessage(signal: AbortSignal): string {
  const r: unknown = signal.reason;
  if (r instanceof Error && r.name !== 'AbortError') return `aborted: ${r.message}`;
  return 'the operation was aborted';
}
