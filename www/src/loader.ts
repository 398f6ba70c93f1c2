// Streams a model's bytes into the wasm engine: reads the source chunk by chunk, hands the
// chunks to wasm (which parses the header and writes tensors to GPU buffers as they come),
// reports progress, and cleans up on failure so the engine can load something else. A sharded
// model (shards.ts) streams its shards' data sections one after the other into one load.

import { absoluteUrl } from './cache.js';
import { AbortError, InvalidArgumentError, ModelFormatError, abortMessage, toHearthError } from './errors.js';
import { isFirstShard, openShards, type ShardHead } from './shards.js';
import { openSource, type OpenedSource } from './source.js';
import type { LoadOptions, LoadProgress, ModelInfo, ModelSource } from './types.js';
import type { WasmEngineInstance } from './wasm_contract.js';

/**
 * Network chunks are ~16-64 KiB; gathering them into bigger pieces means fewer wasm calls and
 * GPU writes, at the cost of this much JS memory.
 */
const PUSH_BYTES = 4 << 20;
/** Progress callbacks at most this often (each may be a postMessage from a worker). */
const PROGRESS_INTERVAL_MS = 50;

export async function loadModel(
  engine: WasmEngineInstance,
  source: ModelSource,
  options: LoadOptions,
): Promise<ModelInfo> {
  const { signal } = options;
  // Every source opened, so that a failure stops (and if need be forgets) each download.
  const opened: OpenedSource[] = [];
  try {
    // Whatever happens, the model loaded before is gone (as beginLoad would drop it), so a
    // failed load never leaves the engine answering with a model the page did not ask for.
    dropModel(engine);
    const open = async (s: ModelSource, integrity?: string) => {
      const o = await openSource(s, { signal, useCache: options.useCache ?? true, integrity, revalidate: options.revalidate });
      opened.push(o);
      return o;
    };
    const url = typeof source === 'string' || source instanceof URL ? absoluteUrl(source) : null;
    if (url !== null && (options.shards !== undefined || isFirstShard(url))) {
      if (options.integrity !== undefined) {
        throw new InvalidArgumentError('`integrity` is the hash of one file, and this model is split into several');
      }
      return await streamShardsIntoEngine(engine, await openShards(engine, url, options.shards, open), options);
    }
    return await streamIntoEngine(engine, await open(source, options.integrity), options);
  } catch (e) {
    const error = signal?.aborted ? new AbortError(abortMessage(signal)) : toHearthError(e);
    for (const o of opened) await o.fail(error);
    dropModel(engine);
    throw error;
  }
}

/**
 * The shards' data sections, in order, into one load (their headers already read and joined
 * by the core): each shard's bytes from its data offset on, the rest of its stream batched.
 */
async function streamShardsIntoEngine(engine: WasmEngineInstance, shards: ShardHead[], options: LoadOptions): Promise<ModelInfo> {
  const { signal, onProgress, chatTemplate, contextLength } = options;
  const phase: LoadProgress['phase'] = shards.some((s) => s.opened.origin === 'network') ? 'download' : 'upload';
  const total = shards.reduce((n, s) => n + s.opened.totalBytes, 0);
  const report = throttled(onProgress);
  try {
    await engine.beginShardedLoad(
      shards.map((s) => s.head),
      shards.map((s) => s.opened.totalBytes),
      shards.map((s) => s.opened.label),
      contextLength === undefined ? {} : { context_length: contextLength },
    );
    let loaded = 0;
    for (const shard of shards) {
      const batch = new Batcher(PUSH_BYTES);
      let read = shard.head.byteLength;
      if (shard.data_offset < read) await engine.pushChunk(shard.head.subarray(shard.data_offset));
      report({ phase, loadedBytes: loaded + read, totalBytes: total }, true);
      for (;;) {
        if (signal?.aborted) throw new AbortError(abortMessage(signal));
        const { done, value } = await shard.reader.read();
        if (done) break;
        read += value.byteLength;
        for (const piece of batch.add(value)) await engine.pushChunk(piece);
        report({ phase, loadedBytes: loaded + read, totalBytes: total }, false);
      }
      const rest = batch.flush();
      if (rest) await engine.pushChunk(rest);
      if (read !== shard.opened.totalBytes) {
        throw new ModelFormatError(
          `${shard.opened.label}: the source delivered ${read} bytes but announced ${shard.opened.totalBytes}: the file changed or the transfer was cut`,
        );
      }
      await shard.opened.complete();
      loaded += read;
    }
    report({ phase: 'compile', loadedBytes: total, totalBytes: total }, true);
    const info = await engine.finishLoad(chatTemplate);
    if (info.name === undefined || info.name === null || info.name === '') info.name = shards[0].opened.label;
    return info;
  } catch (e) {
    for (const s of shards) s.reader.cancel().catch(() => {});
    throw e;
  }
}

async function streamIntoEngine(
  engine: WasmEngineInstance,
  opened: OpenedSource,
  { signal, onProgress, chatTemplate, contextLength }: LoadOptions,
): Promise<ModelInfo> {
  const phase: LoadProgress['phase'] = opened.origin === 'network' ? 'download' : 'upload';
  const total = opened.totalBytes;
  const report = throttled(onProgress);
  const reader = opened.stream.getReader();
  try {
    engine.beginLoad(total, contextLength === undefined ? {} : { context_length: contextLength });
    report({ phase, loadedBytes: 0, totalBytes: total }, true);
    const batch = new Batcher(PUSH_BYTES);
    let loaded = 0;
    // Until the header is parsed, each chunk goes to wasm as it arrives: the core checks the
    // model against this GPU as soon as the header is complete (ModelTooLargeError), and the
    // download is cancelled right there, a few MB in, rather than after a 4 MiB batch.
    let headerParsed = false;
    for (;;) {
      if (signal?.aborted) throw new AbortError(abortMessage(signal));
      const { done, value } = await reader.read();
      if (done) break;
      loaded += value.byteLength;
      for (const piece of headerParsed ? batch.add(value) : [value]) await engine.pushChunk(piece);
      headerParsed ||= engine.loadProgress().weight_bytes > 0;
      report({ phase, loadedBytes: loaded, totalBytes: total }, false);
    }
    const rest = batch.flush();
    if (rest) await engine.pushChunk(rest);
    report({ phase, loadedBytes: loaded, totalBytes: total }, true);
    if (loaded !== total) {
      throw new ModelFormatError(
        `the source delivered ${loaded} bytes but announced ${total}: the file changed or the transfer was cut`,
      );
    }
    // The integrity check and the cache's completion come before the model is built.
    await opened.complete();
    report({ phase: 'compile', loadedBytes: total, totalBytes: total }, true);
    const info = await engine.finishLoad(chatTemplate);
    if (info.name === undefined || info.name === null || info.name === '') info.name = opened.label;
    return info;
  } catch (e) {
    reader.cancel().catch(() => {});
    throw e;
  }
}

/** Drops a loaded or half-loaded model (wasm already did if it rejected a chunk). */
function dropModel(engine: WasmEngineInstance): void {
  try {
    engine.unload();
  } catch {
    // nothing to drop
  }
}

/** Gathers small chunks into pieces of about `size` bytes; big chunks pass through whole. */
class Batcher {
  private parts: Uint8Array[] = [];
  private bytes = 0;
  constructor(private readonly size: number) {}

  add(chunk: Uint8Array): Uint8Array[] {
    if (this.bytes === 0 && chunk.byteLength >= this.size) return [chunk];
    this.parts.push(chunk);
    this.bytes += chunk.byteLength;
    if (this.bytes < this.size) return [];
    const joined = this.flush();
    return joined ? [joined] : [];
  }

  flush(): Uint8Array | null {
    if (this.bytes === 0) return null;
    const out = new Uint8Array(this.bytes);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.byteLength;
    }
    this.parts = [];
    this.bytes = 0;
    return out;
  }
}

function throttled(onProgress: ((p: LoadProgress) => void) | undefined) {
  let last = 0;
  return (p: LoadProgress, always: boolean) => {
    if (!onProgress) return;
    const now = performance.now();
    if (!always && now - last < PROGRESS_INTERVAL_MS) return;
    last = now;
    try {
      onProgress(p);
    } catch (e) {
      console.error('hearth-llm: onProgress threw', e); // the page's bug must not fail the load
    }
  };
}
