// load() in an in-thread Engine. Bad input: a truncated GGUF and a PNG renamed .gguf reject
// with ModelFormatError (an instance of the class in the page), a 404 with HearthError, a
// load aborted by its signal with AbortError; none leaves a cache entry, and the engine then
// loads the real model and generates. Other sources: a File (no network), and a server that
// gzips the file without giving its size (the size then comes from a Range request). A
// sharded model (llama.cpp's gguf-split names) loads from its first shard's URL, or from a list.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { launch, openPage } from './browser.js';
import { SMOLLM2, TINY_CHAT } from './models.js';
import { repoRoot, TestServer } from './server.js';

let server;
let browser;
let page;

before(async () => {
  server = await new TestServer().start();
  browser = await launch();
  ({ page } = await openPage(browser, server));
  await page.evaluate(async () => {
    window.engine = await newEngine('page');
    /** load(url) -> 'loaded' or the error as data, plus whether anything got cached. */
    window.tryLoad = async (url, options = {}) => {
      let outcome = 'loaded';
      try {
        await engine.load(url, options);
      } catch (e) {
        outcome = describeError(e);
      }
      return { outcome, cached: await hearth.hasModelInCache(url), modelInfo: engine.modelInfo };
    };
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

function assertFormatError(r, pattern) {
  assert.notEqual(r.outcome, 'loaded');
  assert.equal(r.outcome.name, 'ModelFormatError', JSON.stringify(r.outcome));
  assert.deepEqual(r.outcome.classes.sort(), ['HearthError', 'ModelFormatError']);
  assert.match(r.outcome.message, pattern);
  assert.equal(r.cached, false, 'a bad file must not stay in the cache');
  assert.equal(r.modelInfo, null);
}

test('a truncated GGUF -> ModelFormatError', async () => {
  // The real file cut at 20 MB: the header parses, the tensor data stops short.
  const r = await page.evaluate((u) => tryLoad(u), `${server.origin}/prefix/20000000/${SMOLLM2}`);
  console.log(`truncated: ${r.outcome.message}`);
  assertFormatError(r, /truncated/i);
});

test('a PNG renamed .gguf -> ModelFormatError', async () => {
  const png = await page.screenshot({ type: 'png' }); // a real PNG, made by the browser
  assert.equal(png.subarray(1, 4).toString(), 'PNG');
  const url = server.serveBytes('picture.gguf', png);
  const r = await page.evaluate((u) => tryLoad(u), url);
  console.log(`png: ${r.outcome.message}`);
  assertFormatError(r, /GGUF/);
});

test('a load aborted by its signal -> AbortError', async () => {
  const url = `${server.origin}/models/${SMOLLM2}`;
  const r = await page.evaluate(async (u) => {
    const controller = new AbortController();
    const onProgress = (p) => p.loadedBytes > 10e6 && controller.abort();
    return tryLoad(u, { signal: controller.signal, onProgress });
  }, url);
  assert.equal(r.outcome.name, 'AbortError', JSON.stringify(r.outcome));
  assert.ok(r.outcome.classes.includes('AbortError'));
  assert.equal(r.cached, false);
});

test('a missing file (HTTP 404) -> HearthError naming the status', async () => {
  const r = await page.evaluate((u) => tryLoad(u), `${server.origin}/models/no-such-model.gguf`);
  assert.equal(r.outcome.name, 'HearthError', JSON.stringify(r.outcome));
  assert.match(r.outcome.message, /404/);
  assert.equal(r.modelInfo, null);
});

test('a File loads with no request, phase "upload"', async () => {
  const url = `${server.origin}/models/${SMOLLM2}`;
  await page.evaluate(async (u) => {
    window.modelFile = new File([await (await fetch(u)).blob()], 'smollm2.gguf');
  }, url);
  const before = server.modelRequests();
  const r = await page.evaluate(async () => {
    const phases = new Set();
    const info = await engine.load(modelFile, { onProgress: (p) => phases.add(p.phase) });
    delete window.modelFile;
    return { phases: [...phases], info };
  });
  assert.equal(server.modelRequests(), before);
  assert.deepEqual(r.phases, ['upload', 'compile']);
  assert.equal(r.info.architecture, 'llama');
});

test('a server that gzips the file and gives no size: the size comes from a Range request', async () => {
  const path = `/gzip/${SMOLLM2}`;
  const r = await page.evaluate((u) => tryLoad(u, { useCache: false }), `${server.origin}${path}`);
  assert.equal(r.outcome, 'loaded', JSON.stringify(r.outcome));
  assert.equal(r.modelInfo.architecture, 'llama');
  assert.equal(server.requestsUnder(path), 2, 'a plain GET, then one with Range: bytes=0-');
});

test('after those failures the engine loads a model and generates', async () => {
  const r = await page.evaluate(async (u) => {
    const info = await engine.load(u);
    const reply = await engine.chat.completions.create({
      messages: [{ role: 'user', content: 'Hi!' }],
      max_tokens: 4,
    });
    return { info, reply };
  }, `${server.origin}/models/${TINY_CHAT}`);
  assert.equal(r.info.architecture, 'llama');
  assert.equal(r.reply.object, 'chat.completion');
  assert.equal(r.reply.choices[0].message.role, 'assistant');
  const { prompt_tokens, completion_tokens, total_tokens } = r.reply.usage;
  assert.ok(completion_tokens >= 1 && completion_tokens <= 4, `${completion_tokens} tokens`);
  assert.ok(prompt_tokens > 0);
  assert.equal(total_tokens, prompt_tokens + completion_tokens);
});

/** The tiny chat model in 3 shards (scripts/split-model.py, as llama.cpp's gguf-split). */
const SHARDS = [1, 2, 3].map((i) => `tiny-chat-split-0000${i}-of-00003.gguf`);

/** Loads `url` (with `options`) in the page's engine; with `generate`, 8 greedy token ids too. */
async function loadAndGenerate(url, options, generate = true) {
  return page.evaluate(
    async ({ url, options, generate }) => {
      const info = await engine.load(url, options);
      if (!generate) return { arch: info.architecture };
      const r = await engine.completions.create({ prompt: 'Once upon a time', max_tokens: 8, temperature: 0, return_token_ids: true });
      return { arch: info.architecture, ids: r.choices[0].token_ids };
    },
    { url, options, generate },
  );
}

/** The unsplit file's tokens, computed once. */
let wholeIds = null;
async function unsplitIds() {
  wholeIds ??= (await loadAndGenerate(`${server.origin}/models/${TINY_CHAT}`, { useCache: false })).ids;
  return wholeIds;
}

test('a sharded model loads from its first shard: the others found by name, each cached, the same tokens and plan as the unsplit file', async () => {
  const first = `${server.origin}/models/${SHARDS[0]}`;
  const split = await loadAndGenerate(first, {});
  assert.equal(split.arch, 'llama');
  assert.deepEqual(split.ids, await unsplitIds());
  for (const name of SHARDS) assert.equal(server.requestsUnder(`/models/${name}`), 1, name);
  // The second load reads every shard from the cache.
  await loadAndGenerate(first, {}, false);
  for (const name of SHARDS) assert.equal(server.requestsUnder(`/models/${name}`), 1, `${name} again`);
  const urls = SHARDS.map((name) => `${server.origin}/models/${name}`);
  assert.deepEqual(await page.evaluate((us) => Promise.all(us.map((u) => hearth.hasModelInCache(u))), urls), [true, true, true]);
  await page.evaluate((us) => Promise.all(us.map((u) => hearth.deleteModelFromCache(u))), urls);
  // Fit before fetch over the shards' joined headers: what the unsplit file's plan says.
  const plans = await page.evaluate(
    (us) => Promise.all(us.map((u) => engine.plan(u, { contextLength: 256 }))),
    [first, `${server.origin}/models/${TINY_CHAT}`],
  );
  assert.ok(plans[0].fits, JSON.stringify(plans[0]));
  for (const key of ['weight_bytes', 'kv_cache_bytes', 'activation_bytes', 'total_bytes']) assert.equal(plans[0][key], plans[1][key], key);
});

test('shards listed by URL load under any names; a missing shard is an error naming it; shards out of order are refused', async () => {
  const bytes = SHARDS.map((name) => readFileSync(join(repoRoot, 'models', name)));
  const urls = bytes.map((b, i) => server.serveBytes(`part-${'abc'[i]}.gguf`, b));
  const listed = await loadAndGenerate(urls[0], { useCache: false, shards: urls });
  assert.deepEqual(listed.ids, await unsplitIds());
  // Named by the convention, but the third is not on the server.
  server.serveBytes('lost-00001-of-00003.gguf', bytes[0]);
  server.serveBytes('lost-00002-of-00003.gguf', bytes[1]);
  const r = await page.evaluate((u) => tryLoad(u, { useCache: false }), `${server.origin}/bytes/lost-00001-of-00003.gguf`);
  assert.equal(r.outcome.name, 'HearthError', JSON.stringify(r.outcome));
  assert.match(r.outcome.message, /lost-00003-of-00003\.gguf: the server answered 404/);
  assert.equal(r.modelInfo, null);
  // The core checks split.no when it joins the headers.
  const swapped = await page.evaluate((us) => tryLoad(us[0], { useCache: false, shards: [us[0], us[2], us[1]] }), urls);
  assert.equal(swapped.outcome.name, 'ModelFormatError', JSON.stringify(swapped.outcome));
  assert.match(swapped.outcome.message, /split\.no/);
  assert.equal(swapped.modelInfo, null);
});
