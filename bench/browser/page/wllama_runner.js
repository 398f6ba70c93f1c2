// wllama (llama.cpp compiled to wasm) on the CPU: its threads need a cross-origin-isolated
// page; without one it quietly runs a single thread, so the thread count is reported.
import { Wllama } from '/wllama/index.js';

let wllama = null;

export async function load(url, { threads, gpu }) {
  // wllama starts its worker from a blob: URL, where a relative path would not resolve.
  wllama = new Wllama({ default: new URL('/wllama/wasm/wllama.wasm', location.href).href }, { suppressNativeLog: true });
  const t = performance.now();
  const blob = await (await fetch(url)).blob();
  await wllama.loadModel([blob], {
    n_threads: threads,
    // 0: CPU only (no WebGPU device at all); otherwise every layer on ggml's WebGPU backend.
    n_gpu_layers: gpu ? 999 : 0,
    n_ctx: 1024,
  });
  return {
    loadMs: performance.now() - t,
    multithread: wllama.isMultithread(),
    threads: wllama.getNumThreads(),
  };
}

/** One timed greedy completion of exactly `genTokens` tokens (EOS ignored), no prompt cache. */
export async function run(text, genTokens) {
  const t = performance.now();
  const r = await wllama.createCompletion({
    prompt: text,
    max_tokens: genTokens,
    temperature: 0,
    ignore_eos: true,
    cache_prompt: false,
  });
  const wallMs = performance.now() - t;
  const tm = r.timings;
  return {
    promptTokens: r.usage.prompt_tokens,
    prefillTokens: tm.prompt_n,
    genTokens: r.usage.completion_tokens,
    prefillTokS: tm.prompt_per_second,
    decodeTokS: tm.predicted_per_second,
    finishReason: r.choices[0].finish_reason,
    text: r.choices[0].text,
    wallMs,
  };
}

export async function dispose() {
  await wllama?.exit();
  wllama = null;
}
