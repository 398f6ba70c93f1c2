// Turns a model source (URL, File, Blob) into one byte stream with a known length. URLs come
// from the cache when a complete copy is there; otherwise they are fetched and the response
// is teed so the cache is written while the weights stream to the GPU.

import { cachedModel, deleteModelFromCache, writeModelToCache, absoluteUrl } from './cache.js';
import { HearthError } from './errors.js';
import type { ModelSource } from './types.js';

export interface OpenedSource {
  /** 'network' while downloading, 'cache' or 'file' when reading local bytes. */
  origin: 'network' | 'cache' | 'file';
  /** A name for the model when its metadata has none (the URL's or file's base name). */
  label: string;
  totalBytes: number;
  stream: ReadableStream<Uint8Array>;
  /** Call when every byte was consumed and the model loaded: waits for the cache write. */
  finish(): Promise<void>;
  /** Call on failure: stops the download and drops a half-written (or bad) cache entry. */
  fail(): Promise<void>;
}

export async function openSource(
  source: ModelSource,
  options: { signal?: AbortSignal | undefined; useCache: boolean },
): Promise<OpenedSource> {
  if (typeof Blob !== 'undefined' && source instanceof Blob) return openBlob(source, 'file');
  if (typeof source !== 'string' && !(source instanceof URL)) {
    throw new HearthError('load(): the source must be a URL (string or URL), a File or a Blob');
  }
  const url = absoluteUrl(source);
  if (options.useCache) {
    const blob = await cachedModel(url);
    if (blob) return { ...openBlob(blob, 'cache'), label: baseName(url) };
  }
  return openNetwork(url, options);
}

function openBlob(blob: Blob, origin: 'cache' | 'file'): OpenedSource {
  const label = blob instanceof File ? blob.name : 'model.gguf';
  return {
    origin,
    label,
    totalBytes: blob.size,
    stream: blob.stream() as ReadableStream<Uint8Array>,
    finish: async () => {},
    fail: async () => {},
  };
}

async function openNetwork(
  url: string,
  options: { signal?: AbortSignal | undefined; useCache: boolean },
): Promise<OpenedSource> {
  // Our own controller, so a failed load also stops the cache branch of the download.
  const controller = new AbortController();
  const onAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const detach = () => options.signal?.removeEventListener('abort', onAbort);

  let response: Response;
  let totalBytes: number | null;
  try {
    response = await get(url, controller.signal, false);
    totalBytes = plainLength(response);
    if (totalBytes === null) {
      // A compressing server (vite preview, some CDNs) hides the file's size: the browser
      // inflates the body, but Content-Length (if any) counts compressed bytes. Asking for the
      // range "bytes=0-" gets the size from Content-Range (and still the whole file).
      void response.body?.cancel().catch(() => {});
      response = await get(url, controller.signal, true);
      totalBytes = rangeTotal(response) ?? plainLength(response);
    }
  } catch (e) {
    detach();
    throw e;
  }
  if (totalBytes === null || !response.body) {
    detach();
    controller.abort();
    throw new HearthError(
      `${url}: the server gave no file size (no Content-Length for an uncompressed body, no ` +
        'Content-Range for a range request); Hearth needs the size before the first byte',
    );
  }

  let stream = response.body;
  let cacheWrite: Promise<boolean> | null = null;
  if (options.useCache) {
    const [toEngine, toCache] = stream.tee();
    stream = toEngine;
    cacheWrite = writeModelToCache(url, toCache, totalBytes);
    cacheWrite.catch(() => {}); // awaited in finish()/fail(); never an unhandled rejection
  }

  return {
    origin: 'network',
    label: baseName(url),
    totalBytes,
    stream,
    finish: async () => {
      detach();
      // A failed cache write (quota, private mode) must not fail a load that succeeded.
      try {
        await cacheWrite;
      } catch (e) {
        console.warn(`hearth-llm: could not cache ${url}: ${String(e)}`);
      }
    },
    fail: async () => {
      detach();
      controller.abort();
      if (!cacheWrite) return;
      // A small bad file may have been stored whole before the engine rejected it.
      const stored = await cacheWrite.catch(() => false);
      if (stored) await deleteModelFromCache(url);
    },
  };
}

async function get(url: string, signal: AbortSignal, range: boolean): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, range ? { signal, headers: { Range: 'bytes=0-' } } : { signal });
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

/** The body's size from a 200 response that is not content-encoded, else null. */
function plainLength(r: Response): number | null {
  const encoding = r.headers.get('Content-Encoding');
  if (r.status !== 200 || (encoding && encoding !== 'identity')) return null;
  return byteCount(r.headers.get('Content-Length'));
}

/** The file's size from a 206 answer to "bytes=0-" ("Content-Range: bytes 0-N/N+1"), else null. */
function rangeTotal(r: Response): number | null {
  const m = /^bytes 0-(\d+)\/(\d+)$/.exec(r.headers.get('Content-Range') ?? '');
  if (r.status !== 206 || !m) return null;
  const total = byteCount(m[2]!);
  return total !== null && byteCount(m[1]!) === total - 1 ? total : null;
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
