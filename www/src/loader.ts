// Streams a model's bytes into the wasm engine: reads the source chunk by chunk, hands the
// chunks to wasm (which parses the header and writes tensors to GPU buffers as they come),
// reports progress, and cleans up on failure so the engine can load something else.

import { AbortError, ModelFormatError, abortMessage, toHearthError } from './errors.js';
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
  let opened: OpenedSource | null = null;
  try {
    // Whatever happens, the model loaded before is gone (as beginLoad would drop it), so a
    // failed load never leaves the engine answering with a model the page did not ask for.
    dropModel(engine);
    opened = await openSource(source, {
      signal,
      useCache: options.useCache ?? true,
      integrity: options.integrity,
      revalidate: options.revalidate,
    });
    return await streamIntoEngine(engine, opened, options);
  } catch (e) {
    const error = signal?.aborted ? new AbortError(abortMessage(signal)) : toHearthError(e);
    await opened?.fail(error);
    dropModel(engine);
    throw error;
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
    engine.beginLoad(total, contextLength === undefined ? {} : { contextLength });
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
      headerParsed ||= engine.loadProgress().weightBytes > 0;
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
