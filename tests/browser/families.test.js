// The other model families in a worker engine on SwiftShader: Qwen2.5-Coder 0.5B (qwen2:
// q/k/v biases, NeoX RoPE, an untied 151,936-row output matrix, ChatML) and Gemma 3 270M
// (gemma3: q/k norms, sliding-window layers, a 262,144-row embedding that is also the LM
// head). Each answers greedily under a JSON schema (structured.js assertRealModelJsonReply: 14
// tokens in ~5 forward passes), and the prompt's and reply's ids must equal the native CLI's
// (lavapipe, same shaders). Qwen is loaded with the storage-binding limit capped at 128 MiB
// (what many phones offer): its output matrix is then split across bindings, and the tokens must
// still equal the CLI's (unsplit).
// Gemma 3 270M is a base model without a chat template: the `chatTemplate` load option gives
// it Google's instruct template, and the chat prompt must equal the CLI's --chat-template.
// Few, short generations: SwiftShader runs a 0.5B model at 0.25-1 token per second.
// The 2026 small-model families (Qwen3, SmolLM3, Llama 3.x, Phi-3) run on their tiny
// random-weight models (tests/fixtures/tiny/, from transformers models of the real configs'
// shapes, converted by llama.cpp's converter): prompt ids and greedy tokens against the
// fixture's transformers and llama.cpp references, not the CLI.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { launch, openPage } from './browser.js';
import { GEMMA3, QWEN25, TINY_CHAT, timed } from './models.js';
import { repoRoot, TestServer } from './server.js';
import { assertRealModelJsonReply } from './structured.js';

/** Google's Gemma 3 instruct template (tests/core/chat_template.rs checks it against transformers). */
const GEMMA3_IT_TEMPLATE = join(repoRoot, 'tests', 'fixtures', 'chat', 'gemma3-it.jinja');
const MIB = 2 ** 20;

let server;
let browser;
let page;

before(async () => {
  server = await new TestServer().start();
  browser = await launch();
  ({ page } = await openPage(browser, server));
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A new worker engine (with `engineOptions`) loads `model`; returns its info and stats. */
async function load(model, engineOptions = {}, loadOptions = {}) {
  const url = `${server.origin}/models/${model}`;
  const { value, seconds } = await timed(() =>
    page.evaluate(
      async ({ url, engineOptions, loadOptions }) => {
        window.engine?.dispose(); // frees the previous model's GPU memory with its worker
        window.engine = await newEngine('worker', engineOptions);
        const info = await engine.load(url, { useCache: false, ...loadOptions });
        return { info, stats: await engine.stats(), adapter: await engine.adapterInfo() };
      },
      { url, engineOptions, loadOptions },
    ),
  );
  console.log(
    `${model}: loaded in ${seconds.toFixed(1)} s, binding limit ${(value.adapter.maxStorageBufferBindingSize / MIB).toFixed(0)} MiB, ` +
      `split ${JSON.stringify(value.info.split_tensors)}, peak wasm memory ${(value.stats.wasmMemoryBytes / MIB).toFixed(1)} MiB`,
  );
  return value;
}

// One Qwen load, under the phone-like limit: the split path, the streaming load and the
// tokens in one go (SwiftShader takes ~4 s per Qwen token on a slow 2-core machine).
test('Qwen2.5 0.5B under a 128 MiB binding limit: wasm heap far below the file size, output.weight split, a json_schema reply equals the CLI', async () => {
  const { info, stats, adapter } = await load(QWEN25, { maxStorageBindingBytes: 128 * MIB });
  assert.equal(info.architecture, 'qwen2');
  assert.equal(info.tokenizer.vocab_size, 151936);
  assert.ok(info.chat_template);
  // The wasm heap holds download batches and one tensor row at a time, never the model.
  assert.ok(stats.wasmMemoryBytes < info.tensor_bytes / 4, `wasm memory ${stats.wasmMemoryBytes} B`);
  assert.equal(adapter.maxStorageBufferBindingSize, 128 * MIB);
  // The Q6_K output matrix is ~150 MiB in the GPU layout.
  assert.ok(info.split_tensors['output.weight'] >= 2, JSON.stringify(info.split_tensors));
  // Greedy under a JSON schema (14 tokens, 5 forward passes) through the split output matrix:
  // prompt ids and every generated id equal the CLI's (unsplit).
  await assertRealModelJsonReply(page, { schema: 'short', model: QWEN25, prompt: 'def fibonacci(n):' });
});

// A GGUF without a chat template: the tiny chat model with its template's key renamed (same
// length, so every offset stays). Gemma 3 270M has none either, but a second load of it in
// this file would cost ~5 s of SwiftShader time for the same check.
test('a model without a chat template: chat is a clear error, plain completions work', async () => {
  const bytes = readFileSync(join(repoRoot, 'models', TINY_CHAT));
  const key = Buffer.from('tokenizer.chat_template');
  const at = bytes.indexOf(key);
  assert.ok(at > 0 && bytes.indexOf(key, at + 1) < 0, 'the key occurs once');
  bytes[at + key.length - 1] = 'X'.charCodeAt(0); // tokenizer.chat_templatX: a key nobody reads
  const url = server.serveBytes('no-template.gguf', bytes);
  const got = await page.evaluate(async (url) => {
    window.engine?.dispose();
    window.engine = await newEngine('worker');
    const info = await engine.load(url, { useCache: false });
    const chat = await engine.chat.completions.create({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 1 }).catch(describeError);
    const plain = await engine.completions.create({ prompt: 'Hi', max_tokens: 2, temperature: 0 });
    return { template: info.chat_template, chat, plain: plain.choices[0].finish_reason };
  }, url);
  assert.equal(got.template, false);
  assert.match(got.chat.message, /no chat template/, 'chat without a template is a clear error');
  assert.ok(got.chat.classes.includes('HearthError'), JSON.stringify(got.chat));
  assert.equal(got.plain, 'length', 'plain completions still work');
});

// Gemma's tokens are compared once, on the chat prompt (the same forward pass serves raw
// prompts; SwiftShader prefills Gemma at ~1 token/s).
test('Gemma 3 270M with the chatTemplate load option: the chat prompt and a json_schema reply equal the CLI --chat-template', async () => {
  const { info } = await load(GEMMA3, {}, { chatTemplate: readFileSync(GEMMA3_IT_TEMPLATE, 'utf8') });
  assert.equal(info.architecture, 'gemma3');
  assert.equal(info.tokenizer.vocab_size, 262144);
  assert.equal(info.chat_template, true, 'the base model has none of its own; the option gives it one');
  await assertRealModelJsonReply(page, { schema: 'short', model: GEMMA3, prompt: 'Name a colour.', chat: true, chatTemplateFile: GEMMA3_IT_TEMPLATE });
  // A template that does not compile fails the load with the template's error.
  const bad = await page.evaluate(async (url) => {
    try {
      await engine.load(url, { useCache: false, chatTemplate: '{% if %}' });
      return 'loaded';
    } catch (e) {
      return describeError(e);
    }
  }, `${server.origin}/models/${GEMMA3}`);
  assert.match(bad.message, /template/, JSON.stringify(bad));
  assert.ok(bad.classes.includes('HearthError'), JSON.stringify(bad));
});

/** Families on tiny models: [fixture name, general.architecture]. */
const TINY_FAMILIES = [
  ['tiny-qwen3', 'qwen3'],
  ['tiny-smollm3', 'smollm3'],
  ['tiny-llama3', 'llama'],
  ['tiny-phi3', 'phi3'],
];
/** The browser's KV cache holds f16 (the fixtures' references f32): on these random models that
 * moves logits by up to ~5e-4 (scripts/fixtures/tiny_models.py), so greedy paths may part only
 * where transformers' top-2 margin is under 4x that. */
const F16_CACHE_TIE = 2e-3;

/** `got` equals transformers' greedy `ref` up to the first step it may part at (a near-tie). */
function assertGreedyPath(what, got, ref) {
  assert.equal(got.length, ref.hf_greedy.length, `${what}: tokens generated`);
  const i = got.findIndex((id, k) => id !== ref.hf_greedy[k]);
  if (i < 0) return;
  assert.ok(
    ref.hf_greedy_margin[i] < F16_CACHE_TIE,
    `${what}: step ${i}: ${got[i]} vs transformers' ${ref.hf_greedy[i]} (margin ${ref.hf_greedy_margin[i]})`,
  );
  console.log(`${what}: parts from transformers at step ${i}, a near-tie (margin ${ref.hf_greedy_margin[i]})`);
}

test('Qwen3, SmolLM3, Llama 3.x, Phi-3 (tiny models): architecture, chat and raw prompt ids, greedy tokens equal transformers', async () => {
  for (const [name, arch] of TINY_FAMILIES) {
    const dir = join(repoRoot, 'tests', 'fixtures', 'tiny');
    const fx = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8'));
    const url = server.serveBytes(`${name}.gguf`, readFileSync(join(dir, `${name}.gguf`)));
    const { value: got, seconds } = await timed(() =>
      page.evaluate(
        async ({ url, contextLength, messages, prompt, n }) => {
          window.engine?.dispose();
          window.engine = await newEngine('worker');
          // The fixture's context: Phi-3's LongRoPE picks its factors by it (model/rope.rs).
          const info = await engine.load(url, { useCache: false, contextLength });
          const common = { max_tokens: n, temperature: 0, return_token_ids: true };
          const chat = await engine.chat.completions.create({ messages, ...common });
          const raw = await engine.completions.create({ prompt, ...common });
          const ids = (r) => ({ prompt_ids: r.prompt_token_ids, ids: r.choices[0].token_ids });
          return { arch: info.architecture, chat: ids(chat), raw: ids(raw) };
        },
        { url, contextLength: fx.n_ctx, messages: fx.chat.messages, prompt: fx.text.prompt, n: fx.chat.hf_greedy.length },
      ),
    );
    console.log(`${name}: ${seconds.toFixed(1)} s: chat ${JSON.stringify(got.chat.ids)}, raw ${JSON.stringify(got.raw.ids)}`);
    assert.equal(got.arch, arch);
    assert.deepEqual(got.chat.prompt_ids, fx.chat.prompt_ids, `${name}: chat prompt ids (transformers' template and tokenizer)`);
    assert.deepEqual(got.raw.prompt_ids, fx.text.prompt_ids, `${name}: raw prompt ids (llama.cpp's tokenizer)`);
    assertGreedyPath(`${name} chat`, got.chat.ids, fx.chat);
    assertGreedyPath(`${name} raw`, got.raw.ids, fx.text);
  }
});
