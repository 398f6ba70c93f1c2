// Model weights in the Cache API, keyed by absolute URL, so a second visit (or an offline
// one) loads without the network. Each entry records the byte count it must have; an entry
// whose body has another size (a write cut short, a quota eviction mid-file) is discarded.

const CACHE_NAME = 'hearth-models-v1';
/** The expected body length, written by us (Content-Length is not kept reliably by caches). */
const SIZE_HEADER = 'X-Hearth-Size';

/** The Cache API exists only in secure contexts (https://, localhost). */
function cacheStorage(): CacheStorage | null {
  return typeof caches === 'undefined' ? null : caches;
}

/** Relative URLs resolve against the page (or worker) that asks. */
export function absoluteUrl(url: string | URL): string {
  const base = typeof location === 'undefined' ? undefined : location.href;
  return new URL(String(url), base).href;
}

/** A valid cached copy of `url` as a Blob (disk-backed, not read into memory), or null. */
export async function cachedModel(url: string | URL): Promise<Blob | null> {
  const storage = cacheStorage();
  if (!storage) return null;
  const key = absoluteUrl(url);
  const cache = await storage.open(CACHE_NAME);
  const response = await cache.match(key);
  if (!response) return null;
  const expected = Number(response.headers.get(SIZE_HEADER));
  const blob = await response.blob();
  if (!Number.isSafeInteger(expected) || blob.size !== expected) {
    await cache.delete(key);
    return null;
  }
  return blob;
}

/** True when a complete copy of the model at `url` is cached. */
export async function hasModelInCache(url: string | URL): Promise<boolean> {
  return (await cachedModel(url)) !== null;
}

/** Removes the cached copy of `url`; true if there was one. */
export async function deleteModelFromCache(url: string | URL): Promise<boolean> {
  const storage = cacheStorage();
  if (!storage) return false;
  const cache = await storage.open(CACHE_NAME);
  return cache.delete(absoluteUrl(url));
}

/** Every cached model with its size in bytes (for a "manage storage" UI). */
export async function listCachedModels(): Promise<{ url: string; bytes: number }[]> {
  const storage = cacheStorage();
  if (!storage) return [];
  const cache = await storage.open(CACHE_NAME);
  const out: { url: string; bytes: number }[] = [];
  for (const request of await cache.keys()) {
    const response = await cache.match(request);
    const bytes = Number(response?.headers.get(SIZE_HEADER));
    out.push({ url: request.url, bytes: Number.isSafeInteger(bytes) ? bytes : 0 });
  }
  return out;
}

/**
 * Stores `body` (a stream still being downloaded) under `url`. Resolves once the whole body
 * is on disk; rejects (and stores nothing) if the stream errors first. Resolves false when
 * there is no Cache API here.
 */
export async function writeModelToCache(
  url: string,
  body: ReadableStream<Uint8Array>,
  totalBytes: number,
): Promise<boolean> {
  const storage = cacheStorage();
  if (!storage) {
    await body.cancel();
    return false;
  }
  const cache = await storage.open(CACHE_NAME);
  const headers = {
    'Content-Type': 'application/octet-stream',
    [SIZE_HEADER]: String(totalBytes),
  };
  await cache.put(url, new Response(body, { headers }));
  return true;
}
