// Model weights in the Cache API as numbered parts plus a manifest, so a download cut short
// keeps what arrived: the next load streams the stored parts and asks the server (HTTP Range)
// only for the rest. Each part is PART_BYTES (the last one shorter); the manifest records the
// file's size, its validator (ETag / Last-Modified, so a changed file is never spliced onto
// old parts), how many parts are stored, and the integrity string it was verified against.
//
// Keys are synthetic URLs under https://hearth.invalid/ (the Cache API keys by URL and ignores
// fragments): one manifest and N parts per model URL.

export const STORE_NAME = 'hearth-models-v2';
/** Bytes per stored part: what a cut download loses at most, and what the writer buffers (a
 * 1 GB model is ~1,000 entries; each write costs the Cache API a few milliseconds). */
export const PART_BYTES = 1 << 20;

export interface Manifest {
  url: string;
  totalBytes: number;
  partBytes: number;
  /** Parts stored, from the first: bytes [0, parts * partBytes) are in the cache. */
  parts: number;
  complete: boolean;
  etag: string | null;
  lastModified: string | null;
  /** The `integrity` string the complete file was checked against, if any. */
  integrity: string | null;
}

/** The Cache API exists only in secure contexts (https://, localhost). */
export function cacheStorage(): CacheStorage | null {
  return typeof caches === 'undefined' ? null : caches;
}

const manifestKey = (url: string) => `https://hearth.invalid/manifest?u=${encodeURIComponent(url)}`;
const partKey = (url: string, i: number) => `https://hearth.invalid/part/${i}?u=${encodeURIComponent(url)}`;

export function partCount(m: Pick<Manifest, 'totalBytes' | 'partBytes'>): number {
  return Math.max(1, Math.ceil(m.totalBytes / m.partBytes));
}

/** Bytes in part `i`. */
export function partSize(m: Pick<Manifest, 'totalBytes' | 'partBytes'>, i: number): number {
  return Math.min(m.partBytes, m.totalBytes - i * m.partBytes);
}

export class PartStore {
  private constructor(
    private readonly cache: Cache,
    readonly url: string,
  ) {}

  /** The store for `url`, or null where there is no Cache API. */
  static async open(url: string): Promise<PartStore | null> {
    const storage = cacheStorage();
    return storage ? new PartStore(await storage.open(STORE_NAME), url) : null;
  }

  async manifest(): Promise<Manifest | null> {
    const r = await this.cache.match(manifestKey(this.url));
    if (!r) return null;
    try {
      const m = (await r.json()) as Manifest;
      const ok =
        m.url === this.url &&
        Number.isSafeInteger(m.totalBytes) &&
        m.totalBytes >= 0 &&
        Number.isSafeInteger(m.partBytes) &&
        m.partBytes > 0 &&
        Number.isSafeInteger(m.parts) &&
        m.parts >= 0 &&
        m.parts <= partCount(m);
      return ok ? m : null;
    } catch {
      return null;
    }
  }

  async writeManifest(m: Manifest): Promise<void> {
    await this.cache.put(
      manifestKey(this.url),
      new Response(JSON.stringify(m), { headers: { 'Content-Type': 'application/json' } }),
    );
  }

  async putPart(i: number, bytes: Uint8Array): Promise<void> {
    await this.cache.put(partKey(this.url, i), new Response(bytes as BodyInit));
  }

  /**
   * Part `i` as a Blob (disk-backed), or null when it is missing or not the size the
   * manifest says (an eviction or a write cut short).
   */
  async part(m: Manifest, i: number): Promise<Blob | null> {
    const r = await this.cache.match(partKey(this.url, i));
    if (!r) return null;
    const blob = await r.blob();
    return blob.size === partSize(m, i) ? blob : null;
  }

  /**
   * The stored parts as one Blob (the browser reads them from disk as the stream is
   * consumed), after checking each: a missing or short part truncates the manifest to the
   * parts before it. Returns the number of bytes the Blob holds.
   */
  async storedPrefix(m: Manifest): Promise<{ blob: Blob; parts: number }> {
    const blobs: Blob[] = [];
    for (let i = 0; i < m.parts; i++) {
      const b = await this.part(m, i);
      if (!b) {
        await this.writeManifest({ ...m, parts: i, complete: false });
        break;
      }
      blobs.push(b);
    }
    return { blob: new Blob(blobs), parts: blobs.length };
  }

  /** Removes the manifest and every part. */
  async delete(): Promise<boolean> {
    const m = await this.manifest();
    const had = await this.cache.delete(manifestKey(this.url));
    const n = m ? partCount(m) : 0;
    for (let i = 0; i < n; i++) await this.cache.delete(partKey(this.url, i));
    return had;
  }

  /** Every model with a manifest in the store. */
  static async list(): Promise<Manifest[]> {
    const storage = cacheStorage();
    if (!storage) return [];
    const cache = await storage.open(STORE_NAME);
    const out: Manifest[] = [];
    for (const request of await cache.keys()) {
      if (!request.url.startsWith('https://hearth.invalid/manifest?')) continue;
      const url = new URL(request.url).searchParams.get('u');
      const m = url ? await new PartStore(cache, url).manifest() : null;
      if (m) out.push(m);
    }
    return out;
  }
}

/**
 * Gathers a download into parts and stores each as it fills, from part `firstPart` on,
 * updating the manifest after every part so a cut download keeps them. Writes happen in
 * order; `add` waits for the previous part's write (backpressure on the download).
 */
export class PartWriter {
  private buffer: Uint8Array;
  private filled = 0;
  private next: number;
  /** The first storage error (e.g. QuotaExceededError); later writes are skipped. */
  error: unknown = null;

  constructor(
    private readonly store: PartStore,
    private manifest: Manifest,
    firstPart: number,
  ) {
    this.next = firstPart;
    this.buffer = new Uint8Array(partSize(manifest, firstPart));
  }

  async add(chunk: Uint8Array): Promise<void> {
    let at = 0;
    while (at < chunk.length && this.error === null && this.next < partCount(this.manifest)) {
      const take = Math.min(this.buffer.length - this.filled, chunk.length - at);
      this.buffer.set(chunk.subarray(at, at + take), this.filled);
      this.filled += take;
      at += take;
      if (this.filled === this.buffer.length) await this.flushPart();
    }
  }

  /** After the last byte: marks the manifest complete (with the verified integrity, if any). */
  async finish(integrity: string | null): Promise<void> {
    if (this.error !== null) throw this.error;
    if (this.next !== partCount(this.manifest)) throw new Error('the download ended before its last part');
    this.manifest = { ...this.manifest, complete: true, integrity };
    await this.store.writeManifest(this.manifest);
  }

  private async flushPart(): Promise<void> {
    try {
      await this.store.putPart(this.next, this.buffer);
      this.manifest = { ...this.manifest, parts: this.next + 1 };
      await this.store.writeManifest(this.manifest);
    } catch (e) {
      this.error = e;
      return;
    }
    this.next += 1;
    this.filled = 0;
    if (this.next < partCount(this.manifest)) this.buffer = new Uint8Array(partSize(this.manifest, this.next));
  }
}
