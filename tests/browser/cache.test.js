// The weight cache (Cache API): written while downloading, read on the next load of the same
// URL with no request to the server, a wrong-size entry discarded and fetched again, and
// hasModelInCache / deleteModelFromCache / listCachedModels from the page. On the tiny
// random-weight chat model (the cache does not care what the weights say; SwiftShader runs it
// far faster than SmolLM2).

import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { launch, openPage } from './browser.js';
import { TINY_CHAT, timed } from './models.js';
import { TestServer, repoRoot } from './server.js';

const MODEL_PATH = `/models/${TINY_CHAT}`;
const MODEL_BYTES = statSync(join(repoRoot, 'models', TINY_CHAT)).size;

let server;
let browser;
let page;
let modelUrl;

before(async () => {
  server = await new TestServer().start();
  browser = await launch();
  ({ page } = await openPage(browser, server));
  modelUrl = `${server.origin}${MODEL_PATH}`;
  await page.evaluate(async () => {
    window.engine = await newEngine('worker');
    /** Loads `url`, returns the phases it went through and 4 greedy token ids. */
    window.loadAndProbe = async (url) => {
      const phases = new Set();
      await engine.load(url, { onProgress: (p) => phases.add(p.phase) });
      const r = await engine.completions.create({ prompt: 'Hello', max_tokens: 4, return_token_ids: true });
      return { phases: [...phases], ids: r.choices[0].token_ids };
    };
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

let firstIds;

test('the first load downloads once and fills the cache', async () => {
  assert.equal(await page.evaluate((u) => hearth.hasModelInCache(u), modelUrl), false);
  const { value: r, seconds } = await timed(() => page.evaluate((u) => loadAndProbe(u), modelUrl));
  console.log(`network load + 4 tokens: ${seconds.toFixed(1)} s`);
  assert.deepEqual(r.phases, ['download', 'compile']);
  assert.equal(server.requestsUnder(MODEL_PATH), 1);
  firstIds = r.ids;
  assert.equal(await page.evaluate((u) => hearth.hasModelInCache(u), modelUrl), true);
  const listed = await page.evaluate(() => hearth.listCachedModels());
  assert.deepEqual(listed, [{ url: modelUrl, bytes: MODEL_BYTES, complete: true }]);
});

test('a second load of the same URL makes no request to the server', async () => {
  const before = server.modelRequests();
  const { value: r, seconds } = await timed(() => page.evaluate((u) => loadAndProbe(u), modelUrl));
  console.log(`cached load + 4 tokens: ${seconds.toFixed(1)} s`);
  assert.equal(server.modelRequests(), before, 'model requests during the cached load');
  assert.deepEqual(r.phases, ['upload', 'compile']);
  assert.deepEqual(r.ids, firstIds, 'the cached bytes give the same model');
});

test('a stored part of the wrong size is dropped and only what follows it is fetched again', async () => {
  // Cut part 3's body, as an interrupted write or an eviction would: parts 0-2 stay good.
  await page.evaluate(async (u) => {
    const cache = await caches.open('hearth-models-v2');
    const key = `https://hearth.invalid/part/3?u=${encodeURIComponent(u)}`;
    const body = (await (await cache.match(key)).blob()).slice(0, 1000);
    await cache.put(key, new Response(body));
  }, modelUrl);
  const before = server.requestsUnder(MODEL_PATH);
  const sentBefore = server.bytesSent.get(MODEL_PATH) ?? 0;
  const r = await page.evaluate((u) => loadAndProbe(u), modelUrl);
  assert.equal(server.requestsUnder(MODEL_PATH), before + 1, 'fetched from the server again');
  assert.equal(server.bytesSent.get(MODEL_PATH) - sentBefore, MODEL_BYTES - 3 * 2 ** 20, 'only the bytes after part 2');
  assert.deepEqual(r.phases, ['download', 'compile']);
  assert.deepEqual(r.ids, firstIds);
  assert.equal(await page.evaluate((u) => hearth.hasModelInCache(u), modelUrl), true, 'cached again, whole');
});

test('deleteModelFromCache removes the entry', async () => {
  const r = await page.evaluate(async (u) => {
    const deleted = await hearth.deleteModelFromCache(u);
    return { deleted, has: await hearth.hasModelInCache(u), list: await hearth.listCachedModels() };
  }, modelUrl);
  assert.deepEqual(r, { deleted: true, has: false, list: [] });
});
