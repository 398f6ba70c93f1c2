// Fit before fetch: reads only the first bytes of a model (its GGUF header) and asks the core
// what a load would need on this GPU. A URL's header comes by HTTP Range requests that grow
// as the header parser asks (or from the cache when the model is stored there), so a model
// that cannot fit is known after a few MB, before anything is downloaded in full. A sharded
// model's plan reads every shard's header (shards.ts names them) and plans over their join.

import { absoluteUrl, hasModelInCache } from './cache.js';
import { HearthError } from './errors.js';
import { isFirstShard, shardUrls } from './shards.js';
import { openSource } from './source.js';
import type { HeaderRead } from './generated/wire.js';
import type { ModelPlan, ModelSource, PlanOptions } from './types.js';
import type { WasmEngineInstance } from './wasm_contract.js';

/** The first request's size: most headers (vocabularies of 32k-262k tokens) fit in a few MB. */
const FIRST_BYTES = 2 << 20;
/** Requests at most: each at least doubles the prefix, so 2 MiB reaches 1 GiB in ten. */
const MAX_ROUNDS = 10;

/** The first bytes of a source, fetched as they are asked for. */
interface Prefix {
  /** The file's size, or null when the server does not say (then no plan can be made). */
  totalBytes: number | null;
  /** The first `n` bytes (fewer at the end of the file). */
  read(n: number): Promise<Uint8Array>;
  close(): void;
}

/**
 * The plan of loading `source` with `options` on `engine`'s GPU. Null when the source cannot
 * be read in part (a server that gives no size or ignores Range).
 */
export async function planModel(engine: WasmEngineInstance, source: ModelSource, options: PlanOptions): Promise<ModelPlan | null> {
  const wasmOptions = options.contextLength === undefined ? {} : { context_length: options.contextLength };
  const url = typeof source === 'string' || source instanceof URL ? absoluteUrl(source) : null;
  if (url !== null && (options.shards !== undefined || isFirstShard(url))) {
    const first = await readHeader(url, options, (bytes, total) => engine.shardHeader(bytes, total));
    if (!first) return null;
    const urls = options.shards?.map((u) => absoluteUrl(u)) ?? shardUrls(url, first.answer.split_count);
    const heads = [first];
    for (const u of urls.slice(1)) {
      const head = await readHeader(u, options, (bytes, total) => engine.shardHeader(bytes, total));
      if (!head) return null;
      heads.push(head);
    }
    const names = urls.map((u) => new URL(u).pathname.split('/').pop() ?? u);
    return engine.planShards(heads.map((h) => h.bytes), heads.map((h) => h.totalBytes), names, wasmOptions);
  }
  return (await readHeader(source, options, (bytes, total) => engine.plan(bytes, total, wasmOptions)))?.answer ?? null;
}

/**
 * The first bytes of `source` up to the end of its GGUF header, fetched in growing rounds as
 * `ask` (which parses them) says, with its answer. Null when the source cannot be read in part.
 */
async function readHeader<T extends object>(
  source: ModelSource,
  options: PlanOptions,
  ask: (bytes: Uint8Array, totalBytes: number) => HeaderRead<T>,
): Promise<{ bytes: Uint8Array; totalBytes: number; answer: T } | null> {
  const prefix = await openPrefix(source, options);
  if (!prefix) return null;
  try {
    const { totalBytes } = prefix;
    if (totalBytes === null) return null;
    let want = Math.min(FIRST_BYTES, totalBytes);
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const bytes = await prefix.read(want);
      const answer = ask(bytes, totalBytes);
      if (!('need_bytes' in answer)) return { bytes, totalBytes, answer };
      // At least what the parser asked for, and at least double, to keep the rounds few.
      want = Math.min(totalBytes, Math.max(answer.need_bytes, 2 * bytes.byteLength));
    }
    throw new HearthError(`the GGUF header did not complete within the first ${want} bytes`);
  } finally {
    prefix.close();
  }
}

async function openPrefix(source: ModelSource, options: PlanOptions): Promise<Prefix | null> {
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    return { totalBytes: source.size, read: async (n) => new Uint8Array(await source.slice(0, n).arrayBuffer()), close() {} };
  }
  const url = String(source);
  if ((options.useCache ?? true) && (await hasModelInCache(url))) return cachedPrefix(url, options.signal);
  return rangePrefix(url, options.signal);
}

/** A stored copy, read from the start as far as needed. */
async function cachedPrefix(url: string, signal: AbortSignal | undefined): Promise<Prefix> {
  const opened = await openSource(url, { useCache: true, signal });
  const reader = opened.stream.getReader();
  let have: Uint8Array = new Uint8Array(0);
  return {
    totalBytes: opened.totalBytes,
    async read(n) {
      while (have.byteLength < n) {
        const { done, value } = await reader.read();
        if (done) break;
        have = concat(have, value);
      }
      return have.subarray(0, n);
    },
    close() {
      reader.cancel().catch(() => {});
    },
  };
}

/** The network: one Range request per round, for the bytes not fetched yet. */
async function rangePrefix(url: string, signal: AbortSignal | undefined): Promise<Prefix | null> {
  let have: Uint8Array = new Uint8Array(0);
  let totalBytes: number | null = null;
  const fetchRange = async (from: number, to: number): Promise<Uint8Array | null> => {
    const response = await fetch(url, { headers: { Range: `bytes=${from}-${to - 1}` }, signal, cache: 'no-store' });
    if (!response.ok) throw new HearthError(`fetching ${url}: HTTP ${response.status} ${response.statusText}`.trim());
    const total = /\/(\d+)$/.exec(response.headers.get('Content-Range') ?? '')?.[1];
    if (response.status !== 206 || total === undefined) {
      // Range ignored: this server can only send the whole file; leave the check to load.
      await response.body?.cancel();
      return null;
    }
    totalBytes = Number(total);
    return new Uint8Array(await response.arrayBuffer());
  };
  const first = await fetchRange(0, FIRST_BYTES);
  if (!first) return null;
  have = first;
  return {
    get totalBytes() {
      return totalBytes;
    },
    async read(n) {
      if (have.byteLength < n && totalBytes !== null && have.byteLength < totalBytes) {
        const more = await fetchRange(have.byteLength, Math.min(n, totalBytes));
        if (!more) throw new HearthError(`${url}: the server stopped answering Range requests`);
        have = concat(have, more);
      }
      return have.subarray(0, n);
    },
    close() {},
  };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}
