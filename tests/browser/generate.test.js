// SmolLM2 in a worker engine, loaded from the local server: a streamed load and greedy output
// equal to the native CLI's. Then the package's mechanics (streaming, abort and interrupt,
// queueing, no network during generation, a main thread that keeps painting) on a tiny
// random-weight model with SmolLM2's tokenizer (models/tiny-chat-random.gguf), which
// SwiftShader runs ~50x faster. One browser serves every test here, structured output and
// tool calls too (structured.js). The tiny model is loaded with Qwen3's chat template, which
// teaches the Hermes tool-call format (SmolLM2's teaches none).

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { launch, openPage } from './browser.js';
import { cliGenerate } from './cli.js';
import { assertRealModelJsonReply, QWEN3_TEMPLATE, registerStructuredTests } from './structured.js';
import { SMOLLM2, TINY_CHAT, timed } from './models.js';
import { TestServer } from './server.js';

/** Short prompts: SwiftShader runs the shaders on the CPU (SmolLM2 prefills ~2 tokens/s). The
 * chat template's path to the CLI's tokens is checked on Gemma (families.test.js). */
const PROMPTS = [{ chat: false, prompt: 'def fibonacci(n):' }];
// Enough to catch a wrong kernel or sampler (the native fixtures check 16 against llama.cpp);
// each SmolLM2 token costs ~1.4 s on SwiftShader.
const GREEDY_TOKENS = 10;
/** Enough tokens of the tiny model to span many round trips and animation frames. */
const STREAM_TOKENS = 64;
/** A short system message: SmolLM2's template otherwise adds a long default one to prefill. */
const POEM = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Write a poem about the moon.' },
];

let server;
let browser;
let page;
let modelUrl;

before(async () => {
  server = await new TestServer().start();
  browser = await launch();
  ({ page } = await openPage(browser, server));
  modelUrl = `${server.origin}/models/${SMOLLM2}`;
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('load: the download streams to the GPU with progress while the page keeps painting', async () => {
  const { value: r, seconds } = await timed(() =>
    page.evaluate(async (url) => {
      window.engine = await newEngine('worker');
      const progress = [];
      frames.start();
      const info = await engine.load(url, { onProgress: (p) => progress.push(p) });
      const painted = frames.stop();
      return { info, progress, painted, stats: await engine.stats() };
    }, modelUrl),
  );
  console.log(
    `load: ${seconds.toFixed(1)} s, ${r.progress.length} progress events, wasm memory ` +
      `${(r.stats.wasmMemoryBytes / 2 ** 20).toFixed(1)} MiB, frames ${r.painted.count} in ` +
      `${r.painted.seconds.toFixed(1)} s (longest gap ${r.painted.longestGapMs.toFixed(0)} ms)`,
  );
  assert.equal(r.info.architecture, 'llama');
  assert.equal(r.info.block_count, 30);
  assert.equal(server.requestsUnder(`/models/${SMOLLM2}`), 1, 'one request for the model file');

  const phases = [...new Set(r.progress.map((p) => p.phase))];
  assert.deepEqual(phases, ['download', 'compile']);
  const downloads = r.progress.filter((p) => p.phase === 'download');
  const total = downloads[0].totalBytes;
  assert.ok(downloads.length > 2, 'progress reported while downloading, not only at the ends');
  for (let i = 1; i < downloads.length; i++) assert.ok(downloads[i].loadedBytes >= downloads[i - 1].loadedBytes);
  assert.equal(downloads.at(-1).loadedBytes, total);
  // The wasm heap never holds the whole model.
  assert.ok(r.stats.wasmMemoryBytes < total, `wasm memory ${r.stats.wasmMemoryBytes} >= model ${total}`);
  assertResponsive(r.painted, 'during load');
});

test(`greedy ${GREEDY_TOKENS} tokens and a json_schema reply equal the native CLI's for ${PROMPTS.length} prompts`, async () => {
  for (const { chat, prompt } of PROMPTS) {
    const expected = cliGenerate({ model: SMOLLM2, prompt, chat, maxTokens: GREEDY_TOKENS });
    const { value: got, seconds } = await timed(() =>
      page.evaluate(
        async ({ chat, prompt, n }) => {
          const common = { max_tokens: n, temperature: 0, return_token_ids: true };
          if (chat) {
            const r = await engine.chat.completions.create({ messages: [{ role: 'user', content: prompt }], ...common });
            return { text: r.choices[0].message.content, ids: r.choices[0].token_ids, prompt_ids: r.prompt_token_ids, usage: r.usage };
          }
          const r = await engine.completions.create({ prompt, ...common });
          return { text: r.choices[0].text, ids: r.choices[0].token_ids, prompt_ids: r.prompt_token_ids, usage: r.usage };
        },
        { chat, prompt, n: GREEDY_TOKENS },
      ),
    );
    console.log(
      `${chat ? 'chat' : 'raw '} ${JSON.stringify(prompt)}: ${got.ids.length} tokens in ${seconds.toFixed(1)} s ` +
        `(decode ${got.usage.extra.decode_tokens_per_s.toFixed(1)} tok/s, prefill ` +
        `${got.usage.extra.prefill_tokens_per_s.toFixed(1)} tok/s): ${JSON.stringify(got.text)}`,
    );
    assert.deepEqual(got.prompt_ids, expected.prompt_ids, `prompt ids for ${JSON.stringify(prompt)}`);
    assert.deepEqual(got.ids, expected.ids, `generated ids for ${JSON.stringify(prompt)}`);
    assert.equal(got.text, expected.text);
    assert.equal(got.usage.completion_tokens, expected.ids.length);
  }
  // Structured output on the same prompt (its cache reused).
  await assertRealModelJsonReply(page, { model: SMOLLM2, prompt: PROMPTS[0].prompt });
});

// SwiftShader samples on the CPU by default (Tuning::SWIFTSHADER, sample_on_gpu): this engine
// forces the GPU sampler through the `tune` option, so that the sampling, logprobs, structured
// output and tool tests below run the WGSL sampler in Chromium.
test('the tiny chat model loads into a second worker engine', async () => {
  const info = await page.evaluate(
    async ({ url, chatTemplate }) => {
      window.tiny = await newEngine('worker', { tune: 'sample_on_gpu=true' });
      return tiny.load(url, { chatTemplate });
    },
    { url: `${server.origin}/models/${TINY_CHAT}`, chatTemplate: readFileSync(QWEN3_TEMPLATE, 'utf8') },
  );
  assert.equal(info.architecture, 'llama');
  assert.equal(info.block_count, 2);
});

// GPUs run other kernels than SwiftShader (Tuning::GPU): the GEMM with its column split, the
// matmuls' norm prologue, split-K decode attention, the per-head rope_store, the GPU GEMV and
// argmax shapes, the loops unrolled in the source (the cap on the output head's workgroups
// needs subgroups, which wgpu does not map in browsers), and here tiled prefill attention too.
// Chromium's WGSL compiler (Tint) is stricter than naga, which compiles them for the
// native tests (it once refused the GEMM for a barrier it could not prove uniform), so they are
// forced through `tune` on the tiny model and compiled and run here; greedy ids equal the
// native CLI's (lavapipe, the CPU tuning's kernels).
const GPU_KERNELS =
  'matmul_gemm=true,matmul_gemm_tile_rows=32,matmul_gemm_tile_tokens=16,matmul_gemm_thread_rows=2,' +
  'matmul_gemm_thread_tokens=2,matmul_gemm_k_split=2,matmul_norm_prologue=true,attention_split_max=32,' +
  'attention_split_min_keys=16,attention_thread_per_query=false,attention_tiled=true,' +
  'rope_store_workgroup_per_head=true,matmul_decode_workgroup_size=256,matmul_decode_threads_per_row=32,' +
  'matmul_decode_rows_per_thread=1,matmul_prefill_workgroup_size=64,matmul_prefill_threads_per_row=16,' +
  'matmul_prefill_rows_per_thread=1,matmul_prefill_tokens=8,unroll_loops=true,unroll_max_bytes=6144,unroll_gemm_max_bytes=65536,' +
  'matmul_decode_max_workgroups=1024,argmax_workgroup_size=256,argmax_per_thread=8';

test('the GPU tuning\'s kernels compile in Chromium and give the native CLI\'s greedy ids', async () => {
  const prompt = 'The quick brown fox jumps over the lazy dog, and then it'; // a prefill batch past split attention's 8
  const n = 3; // decode steps too (the GPU GEMV, split attention); SwiftShader compiles every kernel, ~1 s each
  const expected = cliGenerate({ model: TINY_CHAT, prompt, maxTokens: n });
  const got = await page.evaluate(
    async ({ url, prompt, n, tune }) => {
      const e = await newEngine('worker', { tune });
      try {
        await e.load(url);
        const r = await e.completions.create({ prompt, max_tokens: n, return_token_ids: true });
        return r.choices[0].token_ids;
      } finally {
        e.dispose();
      }
    },
    { url: `${server.origin}/models/${TINY_CHAT}`, prompt, n, tune: GPU_KERNELS },
  );
  assert.deepEqual(got, expected.ids);
});

/** A tiny Llama 3 whose layers are Q8_0 (tests/fixtures/tiny/, scripts/fixtures/tiny_models.py):
 * formats the 8-bit GEMM reads, where the tiny chat model's layers are F32. */
const TINY_Q8 = '../tests/fixtures/tiny/tiny-llama3-q8_0.gguf';

test('the 8-bit GEMM (DP4A) runs in Chromium and gives the native CLI\'s greedy ids', async () => {
  // Chromium's compiler (Tint) once ran it wrong where naga ran it right: a loop-scoped `var`
  // was not re-zeroed per iteration (shaders/gemm_dp4a.wgsl, isum). The prompt (33 tokens) is
  // a batch of two token tiles, so the prefill goes through the GEMM; the CLI runs the same
  // kernel through naga.
  const prompt = 'The quick brown fox jumps over the lazy dog, and the';
  const n = 8;
  const tune = 'matmul_gemm=true,matmul_gemm_dp4a=true';
  const expected = cliGenerate({ model: TINY_Q8, prompt, maxTokens: n, extraArgs: ['--tune', tune, '--logprobs', '2'] });
  const url = server.serveBytes('tiny-llama3-q8_0.gguf', readFileSync(join(import.meta.dirname, '..', '..', TINY_Q8.slice(3))));
  const got = await page.evaluate(
    async ({ url, prompt, n, tune }) => {
      const e = await newEngine('worker', { tune });
      try {
        await e.load(url, { useCache: false });
        const r = await e.completions.create({ prompt, max_tokens: n, return_token_ids: true });
        // Without the language feature the GEMM would stay f32 and this test prove nothing.
        return { ids: r.choices[0].token_ids, packed: navigator.gpu.wgslLanguageFeatures.has('packed_4x8_integer_dot_product') };
      } finally {
        e.dispose();
      }
    },
    { url, prompt, n, tune },
  );
  assert.ok(got.packed, 'this Chromium offers packed_4x8_integer_dot_product');
  assert.equal(got.ids.length, n);
  // The two sides sum floats in different orders: the paths may part only at a near-tie of the
  // CLI's top two (this model's margins here are 0.04 or more; a 36-token prompt of it parted
  // at one of 0.004). The broken kernel parted at the first token.
  const i = got.ids.findIndex((id, k) => id !== expected.ids[k]);
  if (i >= 0) {
    const [a, b] = expected.logprobs[i].top_logprobs;
    assert.ok(a.logprob - b.logprob < 0.01, `step ${i}: ${got.ids[i]} against the CLI's ${expected.ids[i]} (margin ${a.logprob - b.logprob})`);
  }
});

test('seeded sampling on the GPU in the browser equals the native CLI sampling on the CPU', async () => {
  // Every filter and penalty on: the browser samples in WGSL (SwiftShader) inside decode
  // chains, the CLI reads each logits row back and runs the CPU Sampler (lavapipe).
  const prompt = 'Once upon a time';
  const n = 24; // past the first chains (1, 2, 4, 8) into a chain of 16
  const sampling = { temperature: 0.9, top_k: 40, top_p: 0.95, min_p: 0.02, repetition_penalty: 1.1, seed: 42 };
  const expected = cliGenerate({
    model: TINY_CHAT,
    prompt,
    maxTokens: n,
    extraArgs: [
      '--cpu-sampling', '--decode-chain', '1', '--temperature', '0.9', '--top-k', '40', '--top-p', '0.95',
      '--min-p', '0.02', '--repetition-penalty', '1.1', '--seed', '42',
    ],
  });
  const got = await page.evaluate(
    async ({ prompt, n, sampling }) => {
      const r = await tiny.completions.create({ prompt, max_tokens: n, return_token_ids: true, ...sampling });
      return { ids: r.choices[0].token_ids, text: r.choices[0].text, usage: r.usage };
    },
    { prompt, n, sampling },
  );
  console.log(`sampled: ${got.ids.length} tokens, usage.extra ${JSON.stringify(got.usage.extra)}`);
  assert.deepEqual(got.ids, expected.ids);
  assert.equal(got.text, expected.text);
  const k = got.ids.length;
  assert.ok(got.usage.extra.gpu_bytes_read_back <= 4 * (k + 16), `${got.usage.extra.gpu_bytes_read_back} bytes for ${k} tokens`);
  assert.ok(got.usage.extra.decode_gpu_round_trips <= 5 + Math.ceil(k / 16), 'sampled tokens come in chains');
});

test('logprobs: OpenAI logprobs.content equal to the native CLI (CPU sampler), and the same in stream chunks', async () => {
  // The browser computes them in the WGSL sampler (SwiftShader) inside decode chains; the
  // CLI from each logits row read back (lavapipe). Same ids; values within 1e-2: two
  // different GPUs run the forward pass, and each rounds the f16 KV cache its own way (WGSL's
  // pack2x16float may round to either neighbour). The values themselves are checked against
  // an f64 log-softmax within 1e-4 natively (tests/core/engine_logprobs.rs).
  const messages = [{ role: 'user', content: 'Hello' }];
  const n = 12;
  const expected = cliGenerate({
    model: TINY_CHAT,
    prompt: 'Hello',
    chat: true,
    chatTemplateFile: QWEN3_TEMPLATE,
    maxTokens: n,
    extraArgs: ['--cpu-sampling', '--decode-chain', '1', '--logprobs', '3'],
  });
  const got = await page.evaluate(
    async ({ messages, n }) => {
      const request = { messages, max_tokens: n, logprobs: true, top_logprobs: 3, return_token_ids: true };
      const whole = await tiny.chat.completions.create(request);
      const streamed = [];
      for await (const chunk of await tiny.chat.completions.create({ ...request, stream: true })) {
        if (chunk.choices[0].logprobs) streamed.push(...chunk.choices[0].logprobs.content);
      }
      const plain = await tiny.chat.completions.create({ messages, max_tokens: 2 });
      return { ids: whole.choices[0].token_ids, logprobs: whole.choices[0].logprobs, streamed, plain: plain.choices[0].logprobs };
    },
    { messages, n },
  );
  assert.deepEqual(got.ids, expected.ids);
  assert.equal(got.logprobs.refusal, null);
  const content = got.logprobs.content;
  assert.equal(content.length, expected.logprobs.length);
  content.forEach((entry, i) => {
    const want = expected.logprobs[i];
    assert.equal(entry.id, want.id);
    assert.equal(entry.token, want.token);
    assert.deepEqual(entry.bytes, want.bytes);
    assert.ok(Math.abs(entry.logprob - want.logprob) < 1e-2, `token ${i}: ${entry.logprob} vs ${want.logprob}`);
    assert.deepEqual(
      entry.top_logprobs.map((t) => t.id),
      want.top_logprobs.map((t) => t.id),
    );
    entry.top_logprobs.forEach((t, j) =>
      assert.ok(Math.abs(t.logprob - want.top_logprobs[j].logprob) < 1e-2, `token ${i} alt ${j}: ${t.logprob} vs ${want.top_logprobs[j].logprob}`),
    );
  });
  assert.deepEqual(got.streamed, content, 'the chunks carry the same entries');
  assert.equal(got.plain, null, 'not asked: null');
});

registerStructuredTests({ get page() { return page; } });

test('no seed: each fresh engine draws its own (crypto.getRandomValues), so reloads do not repeat a reply', async () => {
  // Two new workers are two fresh wasm instances, as after two page loads. Before the seed came
  // from crypto, both drew the same "random" seed and gave the same reply.
  const replies = await page.evaluate(async (url) => {
    const out = [];
    for (let i = 0; i < 2; i++) {
      const e = await newEngine('worker');
      await e.load(url);
      const r = await e.completions.create({ prompt: 'Once upon a time', max_tokens: 8, temperature: 1, return_token_ids: true });
      out.push({ ids: r.choices[0].token_ids, readBack: r.usage.extra.gpu_bytes_read_back });
      e.dispose();
    }
    return out;
  }, `${server.origin}/models/${TINY_CHAT}`);
  assert.equal(replies[0].ids.length, 8);
  assert.notDeepEqual(replies[0].ids, replies[1].ids);
  // SwiftShader's default: sampled on the CPU, every token's logits row read back (49,152
  // f32s for SmolLM2's vocabulary), where the GPU sampler reads back 4 bytes a token.
  assert.ok(replies[0].readBack >= 8 * 49152 * 4, `${replies[0].readBack} bytes read back`);
});

test('tune: an unknown kernel shape or a bad value is an InvalidArgumentError naming it', async () => {
  const errors = await page.evaluate(async () => {
    const out = [];
    for (const tune of ['no_such_shape=1', 'sample_on_gpu=perhaps']) {
      // The worker opens WebGPU when it starts: creating the engine fails.
      out.push(await newEngine('worker', { tune }).then((e) => (e.dispose(), null), describeError));
    }
    return out;
  });
  assert.ok(errors[0]?.classes.includes('InvalidArgumentError'), JSON.stringify(errors[0]));
  assert.match(errors[0].message, /no_such_shape/);
  assert.match(errors[1].message, /perhaps/);
});

test('a chat template that prints the date (strftime_now, as Llama 3.x) renders with the browser clock', async () => {
  const template =
    "{{ bos_token }}Today is {{ strftime_now('%d %b %Y') }}.\n" +
    '{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}<|im_start|>assistant\n';
  const dir = mkdtempSync(join(tmpdir(), 'hearth-template-'));
  const file = join(dir, 'dated.jinja');
  writeFileSync(file, template);
  const expected = cliGenerate({ model: TINY_CHAT, prompt: 'Hi', chat: true, chatTemplateFile: file, maxTokens: 2 });
  rmSync(dir, { recursive: true });
  const got = await page.evaluate(
    async ({ url, template }) => {
      const e = await newEngine('worker');
      await e.load(url, { chatTemplate: template });
      const r = await e.chat.completions.create({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2, return_token_ids: true });
      e.dispose();
      return { prompt: r.prompt_token_ids, ids: r.choices[0].token_ids };
    },
    { url: `${server.origin}/models/${TINY_CHAT}`, template },
  );
  // The native CLI's system clock and the page's Date give the same UTC day.
  assert.deepEqual(got.prompt, expected.prompt_ids);
  assert.deepEqual(got.ids, expected.ids);
});

test('OpenAI fields: unsupported ones refused naming them, model echoed, penalty_last_n and stop_token_ids honoured', async () => {
  const r = await page.evaluate(async () => {
    const messages = [{ role: 'user', content: 'Hello' }];
    const refusal = await tiny.chat.completions
      .create({ messages, audio: { voice: 'alloy', format: 'wav' } })
      .then(() => null, describeError);
    const echoed = (await tiny.chat.completions.create({ messages, model: 'my-model', max_tokens: 1 })).model;
    const ids = async (extra) =>
      (await tiny.completions.create({ prompt: 'Once upon a time', max_tokens: 16, return_token_ids: true, ...extra })).choices[0];
    const plain = await ids({});
    const stopped = await ids({ stop_token_ids: [plain.token_ids[2]] });
    // repetition_penalty < 1 favours the tokens in the window (multiplies positive logits by
    // 100): with the default window the reply repeats itself, with penalty_last_n 0 it is plain.
    const noWindow = await ids({ repetition_penalty: 0.01, penalty_last_n: 0 });
    const penalized = await ids({ repetition_penalty: 0.01 });
    return { refusal, echoed, plain: plain.token_ids, stopped, noWindow: noWindow.token_ids, penalized: penalized.token_ids };
  });
  assert.deepEqual(r.refusal.classes.sort(), ['HearthError', 'InvalidArgumentError']);
  assert.match(r.refusal.message, /audio/);
  assert.equal(r.echoed, 'my-model');
  const firstStop = r.plain.indexOf(r.plain[2]);
  assert.deepEqual(r.stopped.token_ids, r.plain.slice(0, firstStop + 1), 'stop_token_ids ends the reply at that token');
  assert.equal(r.stopped.finish_reason, 'stop');
  assert.deepEqual(r.noWindow, r.plain, 'penalty_last_n 0 turns the penalty off');
  assert.notDeepEqual(r.penalized, r.plain, 'the penalty is on with the default window');
});

test('time_to_first_token_ms counts from the request: a request queued behind another includes its wait', async () => {
  const r = await page.evaluate(async () => {
    const long = tiny.completions.create({ prompt: 'Once upon a time', max_tokens: 96 });
    const asked = performance.now();
    const queued = tiny.completions.create({ prompt: 'Hello', max_tokens: 2 });
    await long;
    const longDone = performance.now();
    const q = await queued;
    return { waited: longDone - asked, extra: q.usage.extra };
  });
  console.log(`queued request: waited ${r.waited.toFixed(0)} ms, ttft ${r.extra.time_to_first_token_ms.toFixed(0)} ms, prefill ${r.extra.prefill_ms.toFixed(0)} ms`);
  assert.ok(r.extra.time_to_first_token_ms >= r.waited - 5, `ttft ${r.extra.time_to_first_token_ms} < wait ${r.waited}`);
  assert.ok(r.extra.time_to_first_token_ms > r.extra.prefill_ms);
});

test('no request reaches the server during generation', async () => {
  const before = [...server.counts.values()].reduce((a, b) => a + b, 0);
  await page.evaluate(() => engine.completions.create({ prompt: 'Once upon a time', max_tokens: 2 }));
  await page.evaluate(() => tiny.completions.create({ prompt: 'Once upon a time', max_tokens: 32 }));
  const afterCount = [...server.counts.values()].reduce((a, b) => a + b, 0);
  assert.equal(afterCount, before);
});

test('streaming: chunks arrive while the model is still generating; the page keeps painting', async () => {
  const r = await page.evaluate(async ({ POEM, STREAM_TOKENS }) => {
    const t0 = performance.now();
    frames.start();
    const stream = await tiny.chat.completions.create({
      messages: POEM,
      max_tokens: STREAM_TOKENS,
      stream: true,
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push({ at: performance.now() - t0, chunk });
    const painted = frames.stop();
    const whole = await tiny.chat.completions.create({
      messages: POEM,
      max_tokens: STREAM_TOKENS,
    });
    return { chunks, painted, whole, stats: await tiny.stats() };
  }, { POEM, STREAM_TOKENS });
  const content = r.chunks.filter((c) => c.chunk.choices[0].delta.content);
  const last = r.chunks.at(-1);
  console.log(
    `stream: ${content.length} content chunks, first at ${content[0].at.toFixed(0)} ms, ` +
      `end at ${last.at.toFixed(0)} ms: ${JSON.stringify(r.whole.choices[0].message.content)}`,
  );
  for (const { chunk } of r.chunks) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    assert.equal(chunk.id, r.chunks[0].chunk.id);
  }
  assert.equal(r.chunks[0].chunk.choices[0].delta.role, 'assistant');
  assert.ok(content.length >= 8, 'several content chunks'); // greedy, no early stop
  // Incremental: pieces arrived at different times, the first well before the end.
  assert.ok(new Set(content.map((c) => Math.round(c.at))).size >= 3, 'chunks arrived together');
  assert.ok(content[0].at < last.at - 50, 'the first chunk came only at the end');
  assert.ok(last.chunk.choices[0].finish_reason, 'the last chunk carries finish_reason');
  assert.equal(last.chunk.usage.completion_tokens, r.whole.usage.completion_tokens);
  const text = r.chunks.map((c) => c.chunk.choices[0].delta.content ?? '').join('');
  assert.equal(text, r.whole.choices[0].message.content, 'the chunks add up to the non-streamed reply');
  assertResponsive(r.painted, 'during generation');
  // Greedy decoding on the GPU: ids come back in chains (1, 2, 4, 8, then 16 per round trip),
  // 4 bytes each, never a logits row (49,152 floats); prompts of several lengths ran on the
  // graphs the load built.
  const extra = r.whole.usage.extra;
  const n = r.whole.usage.completion_tokens;
  console.log(`usage.extra: ${JSON.stringify(extra)}; engine.stats().gpu: ${JSON.stringify(r.stats.gpu)}`);
  assert.ok(extra.gpu_round_trips <= 1 + 5 + Math.ceil(n / 16), `${extra.gpu_round_trips} round trips for ${n} tokens`);
  assert.ok(extra.gpu_bytes_read_back <= 4 * (n + 16), `${extra.gpu_bytes_read_back} bytes read back for ${n} tokens`);
  assert.ok(extra.host_encode_ms > 0);
  assert.equal(extra.graphs_built, 0);
  assert.equal(r.stats.gpu.graphs_built, 0, 'no graph built after load');
  assert.ok(r.stats.gpu.tokens >= 2 * n, 'engine.stats() counts every request since load');
});

test('AbortSignal after 5 chunks: no chunk after abort(), AbortError; the next request works', async () => {
  const r = await page.evaluate(async () => {
    const controller = new AbortController();
    const stream = await tiny.completions.create({
      prompt: 'Here is a long story about a dragon:',
      max_tokens: 64,
      stream: true,
      signal: controller.signal,
    });
    let seen = 0;
    let afterAbort = 0;
    let error = null;
    try {
      for await (const chunk of stream) {
        if (controller.signal.aborted) afterAbort++;
        else if (chunk.choices[0].text && ++seen === 5) controller.abort();
      }
    } catch (e) {
      error = describeError(e);
    }
    const next = await tiny.completions.create({ prompt: 'One, two, three,', max_tokens: 6 });
    return { seen, afterAbort, error, next };
  });
  console.log(`abort: ${r.afterAbort} chunks arrived after abort() at the 5th`);
  assert.equal(r.seen, 5);
  assert.ok(r.error, 'the stream ended with an error');
  assert.equal(r.error.name, 'AbortError');
  assert.ok(r.error.classes.includes('AbortError') && r.error.classes.includes('HearthError'));
  // The reader's abort drops what the worker made ahead (a chain of greedy tokens).
  assert.equal(r.afterAbort, 0, `${r.afterAbort} chunks after abort()`);
  assert.equal(r.next.choices[0].finish_reason, 'length');
  assert.equal(r.next.usage.completion_tokens, 6);
});

test('interrupt() ends the running generation with finish_reason "abort" within one round trip', async () => {
  const r = await page.evaluate(async () => {
    const stream = await tiny.completions.create({ prompt: 'A list of fruits:', max_tokens: 64, stream: true });
    let pieces = 0;
    let last = null;
    for await (const chunk of stream) {
      if (chunk.choices[0].text && ++pieces === 3) tiny.interrupt();
      last = chunk;
    }
    const next = await tiny.completions.create({ prompt: 'One, two, three,', max_tokens: 4 });
    return { pieces, last, next };
  });
  console.log(`interrupt: ${r.last.usage.completion_tokens} tokens generated, interrupted at the 3rd text piece`);
  assert.equal(r.last.choices[0].finish_reason, 'abort');
  // Greedy chains grow 1, 2, 4, ... tokens per GPU round trip; the worker sees the interrupt
  // between two. Token 3 is in the chain of tokens 3-4; the chain of 5-8 may be under way.
  assert.ok(r.last.usage.completion_tokens <= 8, `${r.last.usage.completion_tokens} tokens after interrupting at 3`);
  assert.equal(r.next.choices[0].finish_reason, 'length');
});

test('concurrent requests are queued, never interleaved', async () => {
  const order = await page.evaluate(async () => {
    const log = [];
    const run = async (name, prompt) => {
      const stream = await tiny.completions.create({ prompt, max_tokens: 5, stream: true });
      for await (const chunk of stream) log.push(`${name}:${chunk.choices[0].finish_reason ?? 'text'}`);
    };
    await Promise.all([run('a', 'Red, green,'), run('b', 'Monday, Tuesday,'), run('c', 'Paris is')]);
    return log;
  });
  // Each request's chunks are contiguous and end with its finish chunk, in submission order.
  const owners = order.map((s) => s.split(':')[0]);
  assert.deepEqual([...new Set(owners)], ['a', 'b', 'c'], order.join(' '));
  for (const name of ['a', 'b', 'c']) {
    const first = owners.indexOf(name);
    const last = owners.lastIndexOf(name);
    assert.ok(owners.slice(first, last + 1).every((o) => o === name), `interleaved: ${order.join(' ')}`);
    assert.notEqual(order[last].split(':')[1], 'text', `${name} ends with its finish chunk`);
  }
});

/**
 * requestAnimationFrame kept running: the worker does the work, so the main thread is free.
 * Bounds are loose because SwiftShader and the tests share two CPU cores.
 */
function assertResponsive(painted, when) {
  assert.ok(painted.count >= 10, `only ${painted.count} frames ${when}`);
  assert.ok(painted.longestGapMs < 1000, `the main thread froze for ${painted.longestGapMs} ms ${when}`);
}
