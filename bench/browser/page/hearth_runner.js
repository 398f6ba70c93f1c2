// Hearth as an app runs it: the hearth-llm package, engine in a Worker, raw completions.
import { CreateWorkerEngine } from 'hearth-llm';
import { FLUSH } from './prompt.js';

let engine = null;

/** `tune`: the engine's kernel-shape overrides (EngineOptions.tune), or undefined. */
export async function load(url, tune) {
  engine = await CreateWorkerEngine(new Worker('/page/hearth_worker.js', { type: 'module' }), tune ? { tune } : {});
  const t = performance.now();
  // No Cache API copy: the bench reads the file from the local server every time.
  const info = await engine.load(url, { useCache: false });
  const loadMs = performance.now() - t;
  const adapter = await engine.adapterInfo();
  // wgpu's adapter facts as Hearth sees them: they pick its kernel shapes (src/gpu/context.rs).
  return { loadMs, nCtx: info.n_ctx, adapter: { name: adapter.name, deviceType: adapter.deviceType, backend: adapter.backend, features: adapter.features } };
}

/** How many tokens Hearth makes of `text` as a completion prompt (BOS included). */
export async function countTokens(text) {
  const r = await engine.completions.create({ prompt: text, max_tokens: 1 });
  return r.usage.prompt_tokens;
}

/** One timed greedy completion of `genTokens` tokens, after emptying the prefix cache. */
export async function run(text, genTokens) {
  const flush = await engine.completions.create({ prompt: FLUSH, max_tokens: 1, return_token_ids: true });
  const t = performance.now();
  const r = await engine.completions.create({
    prompt: text,
    max_tokens: genTokens,
    temperature: 0,
    return_token_ids: true,
  });
  const wallMs = performance.now() - t;
  const ids = r.prompt_token_ids;
  let reused = 0;
  while (reused < flush.prompt_token_ids.length && flush.prompt_token_ids[reused] === ids[reused]) reused++;
  const x = r.usage.extra;
  return {
    promptTokens: r.usage.prompt_tokens,
    // Tokens the prefill actually ran: a shared BOS stays in the cache.
    prefillTokens: ids.length - reused,
    genTokens: r.usage.completion_tokens,
    prefillTokS: x.prefill_tokens_per_s,
    decodeTokS: x.decode_tokens_per_s,
    roundTrips: x.decode_gpu_round_trips,
    // The whole request's host (worker) time recording and submitting GPU work, and the
    // bytes it read back from the GPU.
    hostEncodeMs: x.host_encode_ms,
    bytesReadBack: x.gpu_bytes_read_back,
    finishReason: r.choices[0].finish_reason,
    text: r.choices[0].text,
    wallMs,
  };
}

export function dispose() {
  engine?.dispose();
  engine = null;
}
