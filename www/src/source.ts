// Turns a model source (URL, File, Blob) into one byte stream with a known length. URLs come
// from the part store (parts_store.ts) when a complete copy is there; a partial copy is
// streamed from the store and completed with an HTTP Range request for the rest; otherwise
// the file is fetched whole. Network bytes are stored part by part as they stream to the
// GPU. With `integrity`, every byte is hashed on the way and checked before the model is
// built (IntegrityError; nothing of that file is kept).

import { legacyCachedModel, absoluteUrl } from './cache.js';
import { HearthError, IntegrityError, ModelFormatError, StorageQuotaError, UnsupportedModelError } from './errors.js';
import { PART_BYTES, PartStore, PartWriter, partCount, type Manifest } from './parts_store.js';
import { Integrity } from './integrity.js';
import type { ModelSource } from './types.js';

export interface SourceOptions {
  signal?: AbortSignal | undefined;
  useCache: boolean;
  /** `sha256-<base64>` (Subresource Integrity form) the file must hash to. */
  integrity?: string | undefined;
  /** Check a complete cached copy against the server's ETag / Last-Modified when online. */
  revalidate?: boolean | undefined;
  /** 'download' (downloadModel): storage errors are the caller's errors, not warnings. */
  purpose?: 'load' | 'download';
}

export interface OpenedSource {
  /** 'network' while downloading (also when resuming), 'cache' or 'file' for local bytes. */
  origin: 'network' | 'cache' | 'file';
  /** A name for the model when its metadata has none (the URL's or file's base name). */
  label: string;
  totalBytes: number;
  /** Bytes of a resumed download that came from the store rather than the network. */
  resumedBytes: number;
  stream: ReadableStream<Uint8Array>;
  /**
   * Call once every byte was consumed, before building the model: checks the integrity
   * (IntegrityError) and marks the stored copy complete.
   */
  complete(): Promise<void>;
  /** Call on failure: stops the download; drops the stored parts unless the error was the
   * transfer's (a cut connection, an abort), whose parts a later load resumes from. */
  fail(error: unknown): Promise<void>;
}

export async function openSource(source: ModelSource, options: SourceOptions): Promise<OpenedSource> {
  const integrity = options.integrity === undefined ? null : new Integrity(options.integrity);
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    const label = source instanceof File ? source.name : 'model.gguf';
    return local(source, 'file', label, integrity);
  }
  if (typeof source !== 'string' && !(source instanceof URL)) {
    throw new HearthError('load(): the source must be a URL (string or URL), a File or a Blob');
  }
  const url = absoluteUrl(source);
  const store = options.useCache ? await PartStore.open(url) : null;
  let manifest = store ? await store.manifest() : null;
  if (store && manifest?.complete && options.revalidate && (await changedOnServer(url, manifest, options.signal))) {
    await store.delete();
    manifest = null;
  }
  if (store && manifest && manifest.parts > 0) {
    const { blob, parts } = await store.storedPrefix(manifest);
    if (parts === partCount(manifest) && manifest.complete) {
      // Verified against this very integrity string before: no need to hash again.
      const check = integrity && manifest.integrity !== integrity.text ? integrity : null;
      return { ...local(blob, 'cache', baseName(url), check), fail: failDropping(store) };
    }
    const resumed = parts > 0 ? await resume(url, store, { ...manifest, parts }, blob, integrity, options) : null;
    if (resumed) return resumed;
    await store.delete();
  } else {
    const legacy = options.useCache ? await legacyCachedModel(url) : null;
    if (legacy) return local(legacy, 'cache', baseName(url), integrity);
  }
  return fresh(url, store, integrity, options);
}

/** A Blob (a local file or a complete cached copy) as a source. */
function local(blob: Blob, origin: 'cache' | 'file', label: string, integrity: Integrity | null): OpenedSource {
  const hashed = integrity ? tap(blob.stream() as ReadableStream<Uint8Array>, (c) => integrity.update(c)) : null;
  return {
    origin,
    label,
    totalBytes: blob.size,
    resumedBytes: 0,
    stream: hashed ?? (blob.stream() as ReadableStream<Uint8Array>),
    complete: async () => integrity?.check(label),
    fail: async () => {},
  };
}

function failDropping(store: PartStore) {
  return async (error: unknown) => {
    if (!isTransferError(error)) await store.delete();
  };
}

/**
 * Whether `error` is the transfer's (a cut connection, an abort: the stored parts are good
 * and a later attempt resumes from them) rather than the file's or the storage's.
 */
function isTransferError(error: unknown): boolean {
  return !(
    error instanceof IntegrityError ||
    error instanceof ModelFormatError ||
    error instanceof UnsupportedModelError ||
    error instanceof StorageQuotaError
  );
}

/** The stored prefix, then the rest from the server, if it answers the range with 206. */
async function resume(
  url: string,
  store: PartStore,
  manifest: Manifest,
  prefix: Blob,
  integrity: Integrity | null,
  options: SourceOptions,
): Promise<OpenedSource | null> {
  const start = manifest.parts * manifest.partBytes;
  const validator = manifest.etag ?? manifest.lastModified;
  if (validator === null) return null; // without one a changed file could be spliced on
  const net = network(options.signal);
  let response: Response;
  try {
    response = await get(url, net.controller.signal, { Range: `bytes=${start}-`, 'If-Range': validator });
  } catch (e) {
    net.detach();
    throw e;
  }
  const range = contentRange(response);
  if (response.status !== 206 || !range || range.start !== start || range.total !== manifest.totalBytes || !response.body) {
    // 200: the file changed (If-Range failed) or the server ignores ranges: this response is
    // the whole (new) file; the old parts go.
    const whole = plainLength(response);
    await store.delete();
    if (whole !== null && response.body) return fromResponse(url, response, whole, net, store, integrity, options);
    void response.body?.cancel().catch(() => {});
    net.detach();
    return null;
  }
  const writer = new PartWriter(store, manifest, manifest.parts);
  const rest = tap(response.body, storing(writer, url, manifest.totalBytes, options));
  let stream = concat(prefix.stream() as ReadableStream<Uint8Array>, rest);
  if (integrity) stream = tap(stream, (c) => integrity.update(c));
  return networkSource(url, manifest.totalBytes, start, stream, net, store, writer, integrity, options);
}

async function fresh(
  url: string,
  store: PartStore | null,
  integrity: Integrity | null,
  options: SourceOptions,
): Promise<OpenedSource> {
  const net = network(options.signal);
  let response: Response;
  let totalBytes: number | null;
  try {
    response = await get(url, net.controller.signal, {});
    totalBytes = plainLength(response);
    if (totalBytes === null) {
      // A compressing server (vite preview, some CDNs) hides the file's size: the browser
      // inflates the body, but Content-Length (if any) counts compressed bytes. Asking for the
      // range "bytes=0-" gets the size from Content-Range (and still the whole file).
      void response.body?.cancel().catch(() => {});
      response = await get(url, net.controller.signal, { Range: 'bytes=0-' });
      const range = contentRange(response);
      totalBytes = range?.start === 0 ? range.total : plainLength(response);
    }
  } catch (e) {
    net.detach();
    throw e;
  }
  if (totalBytes === null || !response.body) {
    net.detach();
    net.controller.abort();
    throw new HearthError(
      `${url}: the server gave no file size (no Content-Length for an uncompressed body, no ` +
        'Content-Range for a range request); Hearth needs the size before the first byte',
    );
  }
  if (store) await store.delete(); // a stale or unusable partial copy
  return fromResponse(url, response, totalBytes, net, store, integrity, options);
}

/** A download of the whole file from `response` (its body not read yet), stored part by part. */
async function fromResponse(
  url: string,
  response: Response,
  totalBytes: number,
  net: ReturnType<typeof network>,
  store: PartStore | null,
  integrity: Integrity | null,
  options: SourceOptions,
): Promise<OpenedSource> {
  let writer: PartWriter | null = null;
  const fits = store && totalBytes > 0 ? await fitsInStorage(url, totalBytes, options).catch((e) => cancelAndThrow(response, net, e)) : false;
  if (store && fits) {
    const manifest: Manifest = {
      url,
      totalBytes,
      partBytes: PART_BYTES,
      parts: 0,
      complete: false,
      etag: response.headers.get('ETag'),
      lastModified: response.headers.get('Last-Modified'),
      integrity: null,
    };
    try {
      await store.writeManifest(manifest);
      writer = new PartWriter(store, manifest, 0);
    } catch (e) {
      await storageFailed(url, e, totalBytes, options).catch((err) => cancelAndThrow(response, net, err));
    }
  }
  let stream: ReadableStream<Uint8Array> = response.body!;
  if (writer) stream = tap(stream, storing(writer, url, totalBytes, options));
  if (integrity) stream = tap(stream, (c) => integrity.update(c));
  return networkSource(url, totalBytes, 0, stream, net, writer ? store : null, writer, integrity, options);
}

function networkSource(
  url: string,
  totalBytes: number,
  resumedBytes: number,
  stream: ReadableStream<Uint8Array>,
  net: ReturnType<typeof network>,
  store: PartStore | null,
  writer: PartWriter | null,
  integrity: Integrity | null,
  options: SourceOptions,
): OpenedSource {
  return {
    origin: 'network',
    label: baseName(url),
    totalBytes,
    resumedBytes,
    stream,
    complete: async () => {
      net.detach();
      integrity?.check(url);
      if (!writer) return;
      try {
        await writer.finish(integrity?.text ?? null);
      } catch (e) {
        await store?.delete();
        await storageFailed(url, e, totalBytes, options);
      }
    },
    fail: async (error) => {
      net.detach();
      net.controller.abort();
      if (store && !isTransferError(error)) await store.delete();
    },
  };
}

/**
 * The tap that stores each chunk. A storage error (quota) ends downloadModel at once; a
 * load goes on without the store and warns when it completes.
 */
function storing(writer: PartWriter, url: string, totalBytes: number, options: SourceOptions) {
  return async (chunk: Uint8Array) => {
    await writer.add(chunk);
    if (writer.error !== null && options.purpose === 'download') await storageFailed(url, writer.error, totalBytes, options);
  };
}

function cancelAndThrow(response: Response, net: ReturnType<typeof network>, e: unknown): never {
  void response.body?.cancel().catch(() => {});
  net.detach();
  net.controller.abort();
  throw e;
}

/** Our own controller, so a failed load also stops the download; `detach` unhooks the caller's. */
function network(signal: AbortSignal | undefined) {
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  return { controller, detach: () => signal?.removeEventListener('abort', onAbort) };
}

/**
 * Whether storage can take `bytes` more (navigator.storage.estimate(), where it exists).
 * When it cannot: downloadModel fails with StorageQuotaError; a load goes on without caching.
 */
async function fitsInStorage(url: string, bytes: number, options: SourceOptions): Promise<boolean> {
  const estimate = await storageEstimate();
  if (estimate === null || bytes <= estimate.available) return true;
  const error = new StorageQuotaError(url, bytes, estimate.available);
  if (options.purpose === 'download') throw error;
  console.warn(`hearth-llm: not caching: ${error.message}`);
  return false;
}

async function storageFailed(url: string, e: unknown, bytes: number, options: SourceOptions): Promise<void> {
  const quota = e instanceof DOMException && e.name === 'QuotaExceededError';
  const error = quota ? new StorageQuotaError(url, bytes, (await storageEstimate())?.available ?? 0) : e;
  if (options.purpose === 'download') throw error;
  console.warn(`hearth-llm: could not cache ${url}: ${String(error instanceof Error ? error.message : error)}`);
}

async function storageEstimate(): Promise<{ available: number } | null> {
  const storage = typeof navigator === 'undefined' ? undefined : navigator.storage;
  if (!storage?.estimate) return null;
  try {
    const { quota, usage } = await storage.estimate();
    if (quota === undefined) return null;
    return { available: Math.max(0, quota - (usage ?? 0)) };
  } catch {
    return null;
  }
}

/** A HEAD request: true when the server's validator differs from the stored one. */
async function changedOnServer(url: string, m: Manifest, signal: AbortSignal | undefined): Promise<boolean> {
  if (typeof navigator !== 'undefined' && navigator.onLine === false) return false;
  try {
    const r = await fetch(url, { method: 'HEAD', signal: signal ?? null, cache: 'no-store' });
    if (!r.ok) return false; // offline-ish or no HEAD: keep what we have
    const etag = r.headers.get('ETag');
    const lastModified = r.headers.get('Last-Modified');
    if (etag !== null && m.etag !== null) return etag !== m.etag;
    if (lastModified !== null && m.lastModified !== null) return lastModified !== m.lastModified;
    return false;
  } catch {
    return false;
  }
}

async function get(url: string, signal: AbortSignal, headers: Record<string, string>): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, { signal, headers });
  } catch (e) {
    if (e instanceof Error && e.name === 'AbortError') throw e;
    throw new HearthError(`${url}: the download failed (${String(e)})`);
  }
  if (!response.ok) {
    void response.body?.cancel().catch(() => {});
    throw new HearthError(`${url}: the server answered ${response.status} ${response.statusText}`);
  }
  return response;
}

/** A stream that calls `onChunk` on every chunk (awaited: backpressure) before passing it on. */
function tap(stream: ReadableStream<Uint8Array>, onChunk: (chunk: Uint8Array) => unknown): ReadableStream<Uint8Array> {
  const reader = stream.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) return controller.close();
      await onChunk(value);
      controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

/** `first` then `second`, as one stream. */
function concat(first: ReadableStream<Uint8Array>, second: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  let reader = first.getReader();
  let onSecond = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        const { done, value } = await reader.read();
        if (!done) return controller.enqueue(value);
        if (onSecond) return controller.close();
        onSecond = true;
        reader = second.getReader();
      }
    },
    cancel: async (reason) => {
      await reader.cancel(reason);
      if (!onSecond) await second.cancel(reason);
    },
  });
}

/** The body's size from a 200 response that is not content-encoded, else null. */
function plainLength(r: Response): number | null {
  const encoding = r.headers.get('Content-Encoding');
  if (r.status !== 200 || (encoding && encoding !== 'identity')) return null;
  return byteCount(r.headers.get('Content-Length'));
}

/** "Content-Range: bytes S-E/T" of a 206 whose range runs to the end of the file, else null. */
function contentRange(r: Response): { start: number; total: number } | null {
  const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(r.headers.get('Content-Range') ?? '');
  if (r.status !== 206 || !m) return null;
  const [start, end, total] = [byteCount(m[1]!), byteCount(m[2]!), byteCount(m[3]!)];
  return start !== null && total !== null && end === total - 1 ? { start, total } : null;
}

function byteCount(text: string | null): number | null {
  if (text === null || !/^\d+$/.test(text)) return null;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : null;
}

function baseName(url: string): string {
  const path = new URL(url).pathname;
  return decodeURIComponent(path.slice(path.lastIndexOf('/') + 1)) || url;
}
