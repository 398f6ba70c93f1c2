// The in-thread engine: the wasm runs on the calling thread (a page, or your own worker).
// GPU work is asynchronous, but tokenising, header parsing and repacking run on this thread:
// prefer CreateWorkerEngine for a page that must stay smooth.

import { EngineBase } from './engine_base.js';
import { LocalBackend } from './local_backend.js';
import type { EngineOptions } from './types.js';

export class Engine extends EngineBase {
  constructor(options: EngineOptions = {}) {
    super(new LocalBackend(options));
  }
}

/** Creates an in-thread engine and resolves once WebGPU and the wasm are ready. */
export async function CreateEngine(options: EngineOptions = {}): Promise<Engine> {
  const engine = new Engine(options);
  await engine.ready();
  return engine;
}
