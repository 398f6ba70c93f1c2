// The wasm engine in the current thread (a page or a worker). Every operation goes through one
// queue: loads and generations run one at a time, in order.
//
// A lost GPU device (driver reset, a phone reclaiming a background tab's GPU) fails the
// request that was running with DeviceLostError; the next request creates a new device and
// reloads the last model from where it came (the cache for a URL, the same File or Blob)
// before it runs, so a page only has to retry.

import type { Backend, OnPiece, RuntimeStats } from './backend.js';
import { AbortError, DeviceLostError, HearthError, abortMessage, toHearthError } from './errors.js';
import type { GenerateRequest, GenerateResult, PromptInput, AdapterInfo as WireAdapterInfo } from './generated/wire.js';
import { loadModel } from './loader.js';
import { SerialQueue } from './queue.js';
import { planModel } from './plan.js';
import type { AdapterInfo, EngineOptions, LoadOptions, ModelInfo, ModelPlan, ModelSource, PlanOptions } from './types.js';
import * as glue from './wasm/hearth.js';
import type { WasmEngineInstance, WasmModule } from './wasm_contract.js';
import { checkWebGPU } from './webgpu.js';

const wasm = glue as unknown as WasmModule;

export class LocalBackend implements Backend {
  private readonly queue = new SerialQueue();
  private engine: Promise<WasmEngineInstance> | null = null;
  /** The engine once created, for calls that must not wait (interrupt). */
  private instance: WasmEngineInstance | null = null;
  /** Set while a generate() task owns the engine; `interruptAsked` covers its first ticks. */
  private generating = false;
  private interruptAsked = false;
  private disposed = false;
  /** Set when a call failed with DeviceLostError: the next one starts on a new device. */
  private deviceLost = false;
  /** What the current model was loaded from, to load it again on a new device. */
  private lastLoad: { source: ModelSource; options: LoadOptions } | null = null;

  constructor(private readonly options: EngineOptions = {}) {}

  ready(): Promise<void> {
    return this.wasmEngine().then(() => undefined);
  }

  async adapterInfo(): Promise<AdapterInfo> {
    return publicAdapterInfo((await this.wasmEngine()).adapterInfo());
  }

  load(source: ModelSource, options: LoadOptions): Promise<ModelInfo> {
    return this.queue.run(async () => {
      this.lastLoad = null;
      const engine = await this.usableEngine(false);
      try {
        const info = await loadModel(engine, source, options);
        const { useCache, chatTemplate, integrity, contextLength } = options;
        this.lastLoad = { source, options: { useCache, chatTemplate, integrity, contextLength } };
        return info;
      } catch (e) {
        throw await this.noteFailure(e);
      }
    }, options.signal);
  }

  plan(source: ModelSource, options: PlanOptions): Promise<ModelPlan | null> {
    return this.queue.run(async () => {
      const engine = await this.usableEngine(false);
      try {
        return await planModel(engine, source, options);
      } catch (e) {
        throw await this.noteFailure(e);
      }
    }, options.signal);
  }

  unload(): Promise<void> {
    return this.queue.run(async () => {
      this.lastLoad = null;
      if (this.engine) (await this.engine).unload();
    });
  }

  generate(request: GenerateRequest, onPiece: OnPiece, signal: AbortSignal | undefined): Promise<GenerateResult> {
    return this.queue.run(async () => {
      this.generating = true;
      this.interruptAsked = false;
      const stop = () => this.interrupt();
      signal?.addEventListener('abort', stop, { once: true });
      try {
        const engine = await this.usableEngine(true);
        if (!engine.isLoaded()) throw new HearthError('no model is loaded: call load() first');
        // wasm starts the generation on a later microtask, and an interrupt that reaches an
        // idle engine is ignored; so an interrupt asked for early is repeated with each piece
        // of text until the generation has seen it.
        const pending = engine.generate(request, (piece) => {
          if (this.interruptAsked) engine.interrupt();
          onPiece(piece);
        });
        if (this.interruptAsked) engine.interrupt();
        const result = await pending;
        if (signal?.aborted) throw new AbortError(abortMessage(signal));
        return result;
      } catch (e) {
        throw await this.noteFailure(e);
      } finally {
        this.generating = false;
        signal?.removeEventListener('abort', stop);
      }
    }, signal);
  }

  countTokens(input: PromptInput): Promise<number> {
    return this.queue.run(async () => {
      try {
        const engine = await this.usableEngine(true);
        if (!engine.isLoaded()) throw new HearthError('no model is loaded: call load() first');
        return engine.countTokens(input);
      } catch (e) {
        throw await this.noteFailure(e);
      }
    });
  }

  interrupt(): void {
    if (!this.generating) return;
    this.interruptAsked = true;
    this.instance?.interrupt();
  }

  loseDevice(): void {
    this.instance?.debugLoseDevice();
  }

  /**
   * The error as ours; a lost device is remembered so that the next call replaces it. A
   * browser reports the loss a moment after it (GPUDevice.lost resolves later), so a GPU
   * failure just before the report (a readback that could not map) is checked again once
   * the report had time to arrive, and then counts as the loss it was.
   */
  private async noteFailure(e: unknown): Promise<HearthError> {
    let error = toHearthError(e);
    if (!(error instanceof DeviceLostError) && !(error instanceof AbortError) && this.instance) {
      for (const ms of [0, 50, 200]) {
        if (this.instance.deviceLost()) {
          error = new DeviceLostError(`the GPU device was lost (first seen as: ${error.message})`);
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, ms));
      }
    }
    if (error instanceof DeviceLostError) this.deviceLost = true;
    return error;
  }

  /**
   * The wasm engine, on a new device after a loss (the old one and its buffers are freed),
   * with the last model loaded again when `reload` says the call needs it.
   */
  private async usableEngine(reload: boolean): Promise<WasmEngineInstance> {
    if (!this.deviceLost) return this.wasmEngine();
    const old = this.instance;
    this.engine = null;
    this.instance = null;
    this.deviceLost = false;
    try {
      old?.free();
    } catch {
      // already unusable
    }
    const engine = await this.wasmEngine();
    if (reload && this.lastLoad) {
      try {
        await loadModel(engine, this.lastLoad.source, this.lastLoad.options);
      } catch (e) {
        throw new DeviceLostError(
          `the GPU device was lost, and loading the model again on a new one failed: ${toHearthError(e).message}`,
        );
      }
    }
    return engine;
  }

  async stats(): Promise<RuntimeStats> {
    const s = (await this.wasmEngine()).stats();
    return { wasmMemoryBytes: s.wasm_memory_bytes, wasmHeapLiveBytes: s.wasm_heap_live_bytes, gpu: s.gpu };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    void this.engine?.then(
      (e) => {
        e.interrupt();
        // After whatever is queued, so a running generation is not freed under its feet.
        void this.queue.run(async () => e.free());
      },
      () => {},
    );
  }

  private wasmEngine(): Promise<WasmEngineInstance> {
    if (this.disposed) return Promise.reject(new HearthError('this engine was disposed'));
    if (!this.engine) {
      this.engine = this.createEngine();
      // A failure (no WebGPU yet, say) is not cached: the next call tries again.
      this.engine.catch(() => (this.engine = null));
    }
    return this.engine;
  }

  private async createEngine(): Promise<WasmEngineInstance> {
    await checkWebGPU();
    try {
      const wasmUrl = this.options.wasmUrl;
      await wasm.default(wasmUrl === undefined ? undefined : { module_or_path: wasmUrl });
      const { maxStorageBindingBytes, tune } = this.options;
      this.instance = await wasm.WasmEngine.create({
        ...(maxStorageBindingBytes === undefined ? {} : { max_storage_binding_bytes: maxStorageBindingBytes }),
        ...(tune === undefined ? {} : { tune }),
      });
      return this.instance;
    } catch (e) {
      throw toHearthError(e);
    }
  }
}

/** The public AdapterInfo keeps its documented camelCase names (the wire's are snake_case). */
function publicAdapterInfo(a: WireAdapterInfo): AdapterInfo {
  return {
    name: a.name,
    backend: a.backend,
    deviceType: a.device_type,
    features: a.features,
    maxStorageBufferBindingSize: a.max_storage_buffer_binding_size,
    maxBufferSize: a.max_buffer_size,
  };
}
