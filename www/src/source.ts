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
  try {
    response = await fetch(url, { signal: controller.signal });
  } catch (e) {
    detach();
    if (e instanceof Error && e.name === 'AbortError') throw e;
    throw new HearthError(`${url}: the download failed (${String(e)})`);
  }
  if (!response.ok || !response.body) {
    detach();
    throw new HearthError(`${url}: the server answered ${response.status} ${response.statusText}`);
  }
  const length = response.headers.get('Content-Length');
  const encoding = response.headers.get('Content-Encoding');
  const totalBytes = Number(length);
  if (length === null || !Number.isSafeInteger(totalBytes) || (encoding && encoding !== 'identity')) {
    detach();
    controller.abort();
    throw new HearthError(
      `${url}: the server sent no usable Content-Length` +
        (encoding ? ` (the body is ${encoding}-encoded)` : '') +
        '; Hearth needs the file size before the first byte (serve the file uncompressed)',
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

function baseName(url: string): string {
  const path = new URL(url).pathname;
  return decodeURIComponent(path.slice(path.lastIndexOf('/') + 1)) || url;
}
