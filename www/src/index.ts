// hearth-llm: small open language models (GGUF) in the browser on WebGPU, with an
// OpenAI-shaped API. Entry point for pages; the worker entry is 'hearth-llm/worker'.

export { Engine, CreateEngine } from './engine.js';
export { WorkerEngine, CreateWorkerEngine } from './worker_client.js';
export type { RuntimeStats } from './backend.js';
export type { GpuStats } from './generated/wire.js';
export { hasModelInCache, deleteModelFromCache, listCachedModels, downloadModel } from './cache.js';
export { checkWebGPU } from './webgpu.js';
export {
  HearthError,
  WebGPUUnavailableError,
  ModelFormatError,
  UnsupportedModelError,
  OutOfMemoryError,
  DeviceLostError,
  InvalidArgumentError,
  ModelTooLargeError,
  ContextWindowExceededError,
  AbortError,
  IntegrityError,
  StorageQuotaError,
  type WebGPUUnavailableReason,
} from './errors.js';
export type * from './types.js';
export type { ErrorKind } from './generated/wire.js';
