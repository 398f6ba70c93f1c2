// Downloads that survive real networks (issue: a 1 GB download cut at 90% started again from
// zero): the part store keeps what arrived and the next attempt asks for the rest with an
// HTTP Range request; `integrity` is checked as the bytes stream (IntegrityError, nothing
// kept); storage that cannot hold the model is a StorageQuotaError before the download
// starts; `revalidate` notices a new version on the server. downloadModel needs no GPU, so
// the resume checks use SmolLM2's real 98 MB file; load() uses the tiny chat model.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { launch, openPage } from './browser.js';
import { SMOLLM2, TINY_CHAT } from './models.js';
import { TestServer, repoRoot } from './server.js';

const PART = 2 ** 20; // www/src/parts_store.ts PART_BYTES
const BIG = `/models/${SMOLLM2}`;
const SMALL = `/models/${TINY_CHAT}`;
const bigBytes = readFileSync(join(repoRoot, 'models', SMOLLM2));
const smallBytes = readFileSync(join(repoRoot, 'models', TINY_CHAT));
const sri = (bytes) => `sha256-${createHash('sha256').update(bytes).digest('base64')}`;

let server;
let browser;
let page;

before(async () => {
  server = await new TestServer().start();
  browser = await launch();
  ({ page } = await openPage(browser, server));
  await page.evaluate(() => {
    /** downloadModel, its outcome as plain data (error name/message, or the result). */
    window.tryDownload = async (url, options = {}) => {
      try {
        return { ok: await hearth.downloadModel(url, options) };
      } catch (e) {
        return { error: e.name, message: e.message, bytesNeeded: e.bytesNeeded, bytesAvailable: e.bytesAvailable };
      }
    };
    window.cachedEntry = async (url) => (await hearth.listCachedModels()).find((m) => m.url === url) ?? null;
    /** SHA-256 (base64) of the stored parts, read back from the Cache API in order. */
    window.storedSri = async (url) => {
      const cache = await caches.open('hearth-models-v2');
      const m = await (await cache.match(`https://hearth.invalid/manifest?u=${encodeURIComponent(url)}`)).json();
      const parts = [];
      for (let i = 0; i < m.parts; i++) {
        parts.push(await (await cache.match(`https://hearth.invalid/part/${i}?u=${encodeURIComponent(url)}`)).blob());
      }
      const digest = await crypto.subtle.digest('SHA-256', await new Blob(parts).arrayBuffer());
      return `sha256-${btoa(String.fromCharCode(...new Uint8Array(digest)))}`;
    };
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('a download cut at 10%, 50% and 90% resumes from its stored parts; the stored file is byte-identical', async () => {
  const url = `${server.origin}${BIG}`;
  const size = bigBytes.length;
  let stored = 0;
  for (const cut of [0.1, 0.5, 0.9]) {
    server.cutNext(BIG, cut);
    const sentBefore = server.bytesSent.get(BIG) ?? 0;
    const r = await page.evaluate((u) => tryDownload(u), url);
    assert.ok(r.error, `the cut at ${cut} fails the download: ${JSON.stringify(r)}`);
    // The retry asked only for what was not stored: the server sent from there to the cut.
    assert.equal(server.bytesSent.get(BIG) - sentBefore, Math.floor(size * cut) - stored, `bytes sent before the cut at ${cut}`);
    // Whole parts are kept, up to what arrived (a stream that errors drops the chunks its
    // reader had not taken yet, so the last part or two before the cut may be missing).
    const entry = await page.evaluate((u) => cachedEntry(u), url);
    assert.equal(entry?.complete, false);
    assert.equal(entry.bytes % PART, 0, 'whole parts');
    assert.ok(entry.bytes > stored && entry.bytes <= Math.floor(size * cut), `kept ${entry.bytes} after the cut at ${cut} (had ${stored})`);
    stored = entry.bytes;
  }
  const sentBefore = server.bytesSent.get(BIG);
  const requestsBefore = server.requestsUnder(BIG);
  const r = await page.evaluate((u) => tryDownload(u), url);
  assert.deepEqual(r.ok, { bytes: size, resumedBytes: stored, fromCache: false });
  assert.equal(server.requestsUnder(BIG) - requestsBefore, 1);
  assert.equal(server.bytesSent.get(BIG) - sentBefore, size - stored, 'only the rest crossed the network');
  assert.equal(await page.evaluate((u) => storedSri(u), url), sri(bigBytes), 'stored bytes equal the file');
  assert.deepEqual(await page.evaluate((u) => cachedEntry(u), url), { url, bytes: size, complete: true });
  // Complete: a second downloadModel makes no request.
  const again = await page.evaluate((u) => tryDownload(u), url);
  assert.deepEqual(again.ok, { bytes: size, resumedBytes: 0, fromCache: true });
  assert.equal(server.requestsUnder(BIG) - requestsBefore, 1);
  await page.evaluate((u) => hearth.deleteModelFromCache(u), url);
});

test('a file that changed on the server between the cut and the resume is fetched whole', async () => {
  const url = `${server.origin}${SMALL}`;
  server.cutNext(SMALL, 0.5);
  assert.ok((await page.evaluate((u) => tryDownload(u), url)).error);
  server.bumpVersion(SMALL); // If-Range no longer matches: the server answers 200 with all of it
  const sentBefore = server.bytesSent.get(SMALL);
  const r = await page.evaluate((u) => tryDownload(u), url);
  assert.deepEqual(r.ok, { bytes: smallBytes.length, resumedBytes: 0, fromCache: false });
  assert.equal(server.bytesSent.get(SMALL) - sentBefore, smallBytes.length);
  assert.equal(await page.evaluate((u) => storedSri(u), url), sri(smallBytes));
  await page.evaluate((u) => hearth.deleteModelFromCache(u), url);
});

test('integrity: a mismatch is an IntegrityError and nothing is kept; the right digest is accepted', async () => {
  const url = `${server.origin}${SMALL}`;
  const wrong = sri(Buffer.from('not the model'));
  const bad = await page.evaluate(({ u, i }) => tryDownload(u, { integrity: i }), { u: url, i: wrong });
  assert.equal(bad.error, 'IntegrityError', JSON.stringify(bad));
  assert.match(bad.message, new RegExp(wrong.replace(/[+/]/g, '.')));
  assert.equal(await page.evaluate((u) => cachedEntry(u), url), null, 'nothing kept');
  const good = await page.evaluate(({ u, i }) => tryDownload(u, { integrity: i }), { u: url, i: sri(smallBytes) });
  assert.equal(good.ok?.bytes, smallBytes.length, JSON.stringify(good));
  // Through the engine: a cached copy checked against another digest fails the load too.
  const load = await page.evaluate(async ({ u, i }) => {
    window.engine ??= await newEngine('worker');
    return engine.load(u, { integrity: i }).then(() => 'loaded', (e) => `${e.name}: ${e.message}`);
  }, { u: url, i: wrong });
  assert.match(load, /^IntegrityError: /);
  assert.equal(await page.evaluate((u) => cachedEntry(u), url), null, 'the bad cached copy was dropped');
  const malformed = await page.evaluate((u) => tryDownload(u, { integrity: 'md5-abc' }), url);
  assert.equal(malformed.error, 'InvalidArgumentError');
});

test('storage too small: downloadModel fails with StorageQuotaError before downloading, or when the browser refuses a write; load() still loads, uncached', async () => {
  const url = `${server.origin}${BIG}`;
  await page.evaluate((u) => hearth.deleteModelFromCache(u), url);
  // What navigator.storage.estimate() reports on a phone with little space (headless
  // Chromium's is 10 GiB, and CDP's quota override does not reach it), on the main thread,
  // where downloadModel and a main-thread engine run.
  await page.evaluate((bytes) => {
    window.realEstimate = navigator.storage.estimate.bind(navigator.storage);
    navigator.storage.estimate = async () => ({ quota: bytes, usage: 1000 });
  }, 4 * PART);
  try {
    const requestsBefore = server.requestsUnder(BIG);
    const sentBefore = server.bytesSent.get(BIG) ?? 0;
    const r = await page.evaluate((u) => tryDownload(u), url);
    assert.equal(r.error, 'StorageQuotaError', JSON.stringify(r));
    assert.equal(r.bytesNeeded, bigBytes.length);
    assert.equal(r.bytesAvailable, 4 * PART - 1000);
    assert.match(r.message, new RegExp(`needs ${bigBytes.length} bytes.*allows this site ${4 * PART - 1000} more`));
    // The size comes with the response's headers; its body is cancelled at once (the server
    // may have pushed some into the socket buffers by then, not the file).
    const sent = (server.bytesSent.get(BIG) ?? 0) - sentBefore;
    console.log(`bytes sent before the refusal: ${sent} of ${bigBytes.length}`);
    assert.ok(sent < 32 * PART, `sent ${sent}`);
    assert.equal(server.requestsUnder(BIG) - requestsBefore, 1);
    assert.equal(await page.evaluate((u) => cachedEntry(u), url), null);
    const small = `${server.origin}${SMALL}`;
    const loaded = await page.evaluate(async (u) => {
      const local = await newEngine('main');
      const info = await local.load(u);
      local.dispose();
      return { arch: info.architecture, cached: await hearth.hasModelInCache(u) };
    }, small);
    assert.deepEqual(loaded, { arch: 'llama', cached: false });
  } finally {
    await page.evaluate(() => (navigator.storage.estimate = window.realEstimate));
  }
  // The estimate allowed it, but the browser refuses the fourth part (QuotaExceededError).
  const refused = await page.evaluate(async (u) => {
    const put = Cache.prototype.put;
    let parts = 0;
    Cache.prototype.put = function (key, response) {
      if (String(key.url ?? key).includes('/part/') && ++parts > 3) {
        return Promise.reject(new DOMException('quota exceeded', 'QuotaExceededError'));
      }
      return put.call(this, key, response);
    };
    try {
      return await tryDownload(u);
    } finally {
      Cache.prototype.put = put;
    }
  }, url);
  assert.equal(refused.error, 'StorageQuotaError', JSON.stringify(refused));
  assert.equal(refused.bytesNeeded, bigBytes.length);
  assert.equal(await page.evaluate((u) => cachedEntry(u), url), null, 'nothing half-stored is kept');
});

test('revalidate: a new version on the server replaces the cached copy; without it, no request', async () => {
  const url = `${server.origin}${SMALL}`;
  await page.evaluate(async (u) => {
    window.engine ??= await newEngine('worker');
    await engine.load(u);
  }, url);
  const before = server.requestsUnder(SMALL);
  await page.evaluate((u) => engine.load(u, { revalidate: true }), url);
  assert.equal(server.requestsUnder(SMALL) - before, 1, 'one HEAD, same version: the cache is used');
  server.bumpVersion(SMALL);
  await page.evaluate((u) => engine.load(u), url);
  assert.equal(server.requestsUnder(SMALL) - before, 1, 'no revalidate: no request');
  const sentBefore = server.bytesSent.get(SMALL);
  await page.evaluate((u) => engine.load(u, { revalidate: true }), url);
  assert.equal(server.requestsUnder(SMALL) - before, 3, 'HEAD, then the new version');
  assert.equal(server.bytesSent.get(SMALL) - sentBefore, smallBytes.length);
});
