// What a page can ask about cached models, and `downloadModel`, which fills the cache
// without loading. Models are stored as parts with a manifest (parts_store.ts); copies
// written by hearth-llm before parts existed (one whole entry in 'hearth-models-v1', with its
// byte count in X-Hearth-Size) are still read, listed and deleted.

import { openSource } from './source.js';
import { PartStore, cacheStorage } from './parts_store.js';
import { AbortError, abortMessage, toHearthError } from './errors.js';
import type { DownloadOptions, DownloadResult } from './types.js';

const LEGACY_CACHE = 'hearth-models-v1';
const LEGACY_SIZE_HEADER = 'X-Hearth-Size';

/** Relative URLs resolve against the page (or worker) that asks. */
export function absoluteUrl(url: string | URL): string {
  const base = typeof location === 'undefined' ? undefined : location.href;
  return new URL(String(url), base).href;
}

/** A whole copy from before the part store, as a Blob, or null (a wrong-size one is dropped). */
export async function legacyCachedModel(url: string): Promise<Blob | null> {
  const storage = cacheStorage();
  if (!storage || !(await storage.has(LEGACY_CACHE))) return null;
  const cache = await storage.open(LEGACY_CACHE);
  const response = await cache.match(url);
  if (!response) return null;
  const expected = Number(response.headers.get(LEGACY_SIZE_HEADER));
  const blob = await response.blob();
  if (!Number.isSafeInteger(expected) || blob.size !== expected) {
    await cache.delete(url);
    return null;
  }
  return blob;
}

/** True when a complete copy of the model at `url` is cached. */
export async function hasModelInCache(url: string | URL): Promise<boolean> {
  const key = absoluteUrl(url);
  const store = await PartStore.open(key);
  const m = await store?.manifest();
  if (store && m?.complete) return (await store.storedPrefix(m)).blob.size === m.totalBytes;
  return (await legacyCachedModel(key)) !== null;
}

/** Removes the cached copy of `url` (complete or partial); true if there was one. */
export async function deleteModelFromCache(url: string | URL): Promise<boolean> {
  const key = absoluteUrl(url);
  const store = await PartStore.open(key);
  const inParts = (await store?.delete()) ?? false;
  const storage = cacheStorage();
  const legacy = storage && (await storage.has(LEGACY_CACHE)) ? await (await storage.open(LEGACY_CACHE)).delete(key) : false;
  return inParts || legacy;
}

/**
 * Every cached model with its size in bytes (for a "manage storage" UI). A download cut
 * short shows with `complete: false` and the bytes it kept.
 */
export async function listCachedModels(): Promise<{ url: string; bytes: number; complete: boolean }[]> {
  const out: { url: string; bytes: number; complete: boolean }[] = [];
  for (const m of await PartStore.list()) {
    out.push({ url: m.url, bytes: m.complete ? m.totalBytes : Math.min(m.totalBytes, m.parts * m.partBytes), complete: m.complete });
  }
  const storage = cacheStorage();
  if (storage && (await storage.has(LEGACY_CACHE))) {
    const cache = await storage.open(LEGACY_CACHE);
    for (const request of await cache.keys()) {
      const bytes = Number((await cache.match(request))?.headers.get(LEGACY_SIZE_HEADER));
      out.push({ url: request.url, bytes: Number.isSafeInteger(bytes) ? bytes : 0, complete: true });
    }
  }
  return out;
}

/**
 * Fetches the model at `url` into the cache without loading it (resuming a copy cut short),
 * checking `integrity` if given. Fails with StorageQuotaError when the browser's storage
 * cannot take it (checked before the download starts), IntegrityError on a hash mismatch
 * (nothing kept), AbortError through `signal` (the parts so far are kept).
 */
export async function downloadModel(url: string | URL, options: DownloadOptions = {}): Promise<DownloadResult> {
  const { signal, onProgress, integrity } = options;
  const opened = await openSource(absoluteUrl(url), { signal, useCache: true, integrity, purpose: 'download' });
  const reader = opened.stream.getReader();
  let loaded = 0;
  try {
    onProgress?.({ phase: opened.origin === 'network' ? 'download' : 'upload', loadedBytes: 0, totalBytes: opened.totalBytes });
    for (;;) {
      if (signal?.aborted) throw new AbortError(abortMessage(signal));
      const { done, value } = await reader.read();
      if (done) break;
      loaded += value.byteLength;
      onProgress?.({ phase: opened.origin === 'network' ? 'download' : 'upload', loadedBytes: loaded, totalBytes: opened.totalBytes });
    }
    if (loaded !== opened.totalBytes) {
      throw new AbortError(`${String(url)}: the transfer delivered ${loaded} of ${opened.totalBytes} bytes`);
    }
    await opened.complete();
    return { bytes: opened.totalBytes, resumedBytes: opened.resumedBytes, fromCache: opened.origin === 'cache' };
  } catch (e) {
    reader.cancel().catch(() => {});
    const error = signal?.aborted ? new AbortError(abortMessage(signal)) : toHearthError(e);
    await opened.fail(error);
    throw error;
  }
}
