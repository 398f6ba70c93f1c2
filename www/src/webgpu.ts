// Says early, and precisely, why WebGPU cannot be used here, before the wasm engine tries
// (its error can only say that opening the GPU failed).

import { WebGPUUnavailableError } from './errors.js';

interface GpuLike {
  requestAdapter(): Promise<unknown>;
}

/** Resolves when this page or worker can get a WebGPU adapter; otherwise rejects with the reason. */
export async function checkWebGPU(): Promise<void> {
  if (globalThis.isSecureContext === false) {
    throw new WebGPUUnavailableError(
      `WebGPU needs a secure context (https:// or http://localhost); this page is ${location.origin}`,
      'insecure-context',
    );
  }
  const gpu = (globalThis.navigator as { gpu?: GpuLike } | undefined)?.gpu;
  if (!gpu) {
    throw new WebGPUUnavailableError(
      'this browser has no WebGPU (navigator.gpu is missing; it may be switched off)',
      'no-navigator-gpu',
    );
  }
  let adapter: unknown;
  try {
    adapter = await gpu.requestAdapter();
  } catch (e) {
    throw new WebGPUUnavailableError(`navigator.gpu.requestAdapter() failed: ${String(e)}`, 'no-adapter');
  }
  if (!adapter) {
    throw new WebGPUUnavailableError(
      'WebGPU offered no GPU adapter (the GPU may be blocklisted or have no driver)',
      'no-adapter',
    );
  }
}
