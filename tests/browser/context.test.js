// Context control and fit before fetch, on the tiny chat model (fast on SwiftShader) and on
// SmolLM2's header alone: the `contextLength` load option, refusals naming the numbers (over
// the model's maximum; a KV cache over the GPU's storage-binding limit, with the largest
// context that fits, before the weights are downloaded), `engine.plan` equal to the native
// `hearth plan`, `countTokens` equal to the native CLI's token ids, and
// ContextWindowExceededError with its counts across the worker.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launch, openPage } from './browser.js';
import { cliPlan, cliTokenize } from './cli.js';
import { SMOLLM2, TINY_CHAT } from './models.js';
import { TestServer } from './server.js';

/** The tiny chat model (`hearth inspect`): 2 layers, 1 KV head of 32 dims, trained context 2048. */
const LAYERS = 2;
const KV_DIM = 32;
const TRAINED_CONTEXT = 2048;
/** The default KV cache stores f16: 2 bytes a value. */
const KV_BYTES = 2;

const CONVERSATION = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'What is the capital of France?' },
  { role: 'assistant', content: 'Paris.' },
  { role: 'user', content: 'And of Italy? Answer in one word, "quoted".' },
];

let server;
let browser;
let page;
let modelUrl;

before(async () => {
  server = await new TestServer().start();
  browser = await launch();
  ({ page } = await openPage(browser, server));
  modelUrl = `${server.origin}/models/${TINY_CHAT}`;
  await page.evaluate(async () => {
    window.engine = await newEngine('page');
    window.attempt = async (fn) => {
      try {
        return { value: await fn() };
      } catch (e) {
        return { error: { ...describeError(e), fields: { ...e } } };
      }
    };
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('contextLength: the KV cache holds that many tokens; over the trained maximum -> InvalidArgumentError naming both', async () => {
  const info = await page.evaluate((u) => engine.load(u, { contextLength: 96 }), modelUrl);
  assert.equal(info.n_ctx, 96);
  // Keys and values of every layer, 96 tokens × 32 values × 2 bytes each.
  assert.equal(info.kv_cache_bytes, 2 * LAYERS * 96 * KV_DIM * KV_BYTES);

  const over = await page.evaluate((u) => attempt(() => engine.load(u, { contextLength: 2049 })), modelUrl);
  assert.equal(over.error?.name, 'InvalidArgumentError', JSON.stringify(over));
  assert.match(over.error.message, /2049/);
  assert.match(over.error.message, new RegExp(String(TRAINED_CONTEXT)));
});

test('a KV cache over the storage-binding limit -> ModelTooLargeError (worker) before the download, naming the bytes, the limit and the largest context', async () => {
  // SmolLM2: 3 KV heads of 64 = 192 values a token. One layer's keys at 4096 tokens (f16):
  // 4096 × 192 × 2 = 1,572,864 bytes, over a 1,000,000-byte binding; floor(1,000,000 / 384)
  // = 2,604 tokens fit. Its logits row (49,152 × 4 = 196,608 bytes) and weights do fit.
  const limit = 1_000_000;
  const path = `/models/${SMOLLM2}`;
  server.bytesSent.delete(path);
  // 2 MB/s, as a slow real network: the header takes ~0.9 s, the whole file would take 49 s.
  server.throttle(path, 2e6);
  await page.evaluate(async (limit) => {
    window.limited = await newEngine('worker', { maxStorageBindingBytes: limit });
  }, limit);
  const refused = await page.evaluate(
    (u) => attempt(() => limited.load(u, { contextLength: 4096, useCache: false })),
    `${server.origin}${path}`,
  );
  // The cancelled transfer stops at the server a moment later.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const loadSent = server.bytesSent.get(path) ?? 0;
  server.throttle(path, null);
  server.bytesSent.delete(path);
  const r = await page.evaluate(async (u) => {
    const plan = await limited.plan(u, { contextLength: 4096, useCache: false });
    const adapter = await limited.adapterInfo();
    limited.dispose();
    return { plan, adapter };
  }, `${server.origin}${path}`);
  const planSent = server.bytesSent.get(path) ?? 0;
  assert.equal(refused.error?.name, 'ModelTooLargeError', JSON.stringify(refused));
  assert.ok(refused.error.classes.includes('OutOfMemoryError'), JSON.stringify(refused.error.classes));
  assert.equal(refused.error.fields.largestContext, 2604);
  for (const figure of ['1572864', '1000000', '2604']) assert.match(refused.error.message, new RegExp(figure));
  const header = r.plan.header_bytes;
  console.log(`${SMOLLM2}: header ${header} bytes; refused load ${loadSent} bytes sent, plan ${planSent} bytes sent`);
  // About the header: what arrives while the header is parsed and the cancel travels back is
  // allowed, up to 4 MiB (2 s at 2 MB/s; measured 1,900,544 bytes for the 1,785,664-byte
  // header); the file is 98 MB.
  assert.ok(loadSent >= header && loadSent <= header + 4 * 2 ** 20, `${loadSent} bytes were sent`);
  // The plan asks for the first 2 MiB, which hold SmolLM2's whole header.
  assert.equal(planSent, 2 * 2 ** 20);

  assert.equal(r.plan.fits, false);
  assert.equal(r.plan.largest_context, 2604);
  const native = cliPlan({ model: SMOLLM2, contextLength: 4096, maxStorageBinding: limit, maxBufferSize: r.adapter.maxBufferSize });
  assert.deepEqual(r.plan, native);
});

test('engine.plan (Range requests, the cache, a File) equals the native `hearth plan` for the same file, context and limits', async () => {
  const r = await page.evaluate(async (u) => {
    const fromNetwork = await engine.plan(u, { contextLength: 512, useCache: false });
    await engine.load(u, { contextLength: 512 });
    const fromCache = await engine.plan(u, { contextLength: 512 });
    const file = new File([await (await fetch(u)).blob()], 'tiny.gguf');
    const fromFile = await engine.plan(file, { contextLength: 512 });
    return { fromNetwork, fromCache, fromFile, info: engine.modelInfo, adapter: await engine.adapterInfo() };
  }, modelUrl);
  const native = cliPlan({
    model: TINY_CHAT,
    contextLength: 512,
    maxStorageBinding: r.adapter.maxStorageBufferBindingSize,
    maxBufferSize: r.adapter.maxBufferSize,
  });
  assert.equal(native.fits, true);
  assert.deepEqual(r.fromNetwork, native);
  assert.deepEqual(r.fromCache, native);
  assert.deepEqual(r.fromFile, native);
  // And the load that followed allocated the planned KV cache.
  assert.equal(r.info.kv_cache_bytes, native.kv_cache_bytes);
});

test('countTokens equals the native CLI: plain text, and messages through the chat template', async () => {
  await page.evaluate((u) => engine.load(u, { contextLength: 256 }), modelUrl);
  const text = 'The quick brown fox — jumps over 13 lazy dogs.';
  const counts = await page.evaluate(
    async ({ text, messages }) => ({ text: await engine.countTokens(text), messages: await engine.countTokens(messages) }),
    { text, messages: CONVERSATION },
  );
  assert.equal(counts.text, cliTokenize({ model: TINY_CHAT, text }).length);
  const chatIds = cliTokenize({ model: TINY_CHAT, messages: CONVERSATION });
  assert.equal(counts.messages, chatIds.length);
  // The chat request feeds exactly those ids.
  const sent = await page.evaluate(
    (messages) => engine.chat.completions.create({ messages, max_tokens: 1, return_token_ids: true }),
    CONVERSATION,
  );
  assert.deepEqual(sent.prompt_token_ids, chatIds);
});

test('prompt + max_tokens over the context -> ContextWindowExceededError with the counts (across the worker); at the limit it runs', async () => {
  const n = await page.evaluate(async ({ u, messages }) => {
    window.worker = await newEngine('worker');
    await worker.load(u, { contextLength: 64 });
    return worker.countTokens(messages);
  }, { u: modelUrl, messages: CONVERSATION });
  assert.ok(n < 64, `the conversation takes ${n} tokens`);
  const r = await page.evaluate(
    ({ messages, maxTokens }) => attempt(() => worker.chat.completions.create({ messages, max_tokens: maxTokens })),
    { messages: CONVERSATION, maxTokens: 64 - n + 1 },
  );
  assert.equal(r.error?.name, 'ContextWindowExceededError', JSON.stringify(r));
  assert.ok(r.error.classes.includes('InvalidArgumentError'));
  assert.deepEqual(
    { promptTokens: r.error.fields.promptTokens, maxTokens: r.error.fields.maxTokens, contextLength: r.error.fields.contextLength },
    { promptTokens: n, maxTokens: 64 - n + 1, contextLength: 64 },
  );
  // Exactly filling the context is allowed.
  const ok = await page.evaluate(
    ({ messages, maxTokens }) => attempt(() => worker.chat.completions.create({ messages, max_tokens: maxTokens, temperature: 0 })),
    { messages: CONVERSATION, maxTokens: 64 - n },
  );
  assert.ok(ok.value, JSON.stringify(ok.error));
  assert.equal(ok.value.usage.prompt_tokens, n);
  await page.evaluate(() => worker.dispose());
});
