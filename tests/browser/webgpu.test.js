// WebGPU itself: the engine opens the SwiftShader adapter in a worker (and says what it got);
// without an adapter, or without WebGPU at all, the engines reject with WebGPUUnavailableError
// naming the reason, an instance of the class even after crossing the worker boundary.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { NO_ADAPTER_FLAGS, launch, openPage } from './browser.js';
import { TestServer } from './server.js';

let server;
before(async () => {
  server = await new TestServer().start();
});
after(() => server.stop());

test('the worker engine opens a WebGPU adapter', async () => {
  const browser = await launch();
  try {
    const { page } = await openPage(browser, server);
    const info = await page.evaluate(async () => {
      const engine = await newEngine('worker');
      const adapter = await engine.adapterInfo();
      engine.dispose();
      return adapter;
    });
    console.log(`adapter: ${JSON.stringify(info)}`);
    assert.equal(typeof info.name, 'string');
    assert.ok(Array.isArray(info.features));
    assert.ok(info.maxStorageBufferBindingSize >= 128 << 20, 'WebGPU guarantees at least 128 MiB');
  } finally {
    await browser.close();
  }
});

test('no adapter: WebGPUUnavailableError (reason no-adapter), in the page and from a worker', async () => {
  const browser = await launch(NO_ADAPTER_FLAGS);
  try {
    const { page } = await openPage(browser, server);
    const errors = await page.evaluate(async () => {
      const out = {};
      for (const kind of ['page', 'worker']) {
        try {
          await newEngine(kind);
          out[kind] = 'resolved';
        } catch (e) {
          out[kind] = describeError(e);
        }
      }
      return out;
    });
    for (const kind of ['page', 'worker']) {
      const e = errors[kind];
      assert.notEqual(e, 'resolved', `${kind}: the engine was created without a GPU adapter`);
      assert.equal(e.name, 'WebGPUUnavailableError', `${kind}: ${JSON.stringify(e)}`);
      assert.deepEqual(e.classes.sort(), ['HearthError', 'WebGPUUnavailableError'], kind);
      assert.equal(e.reason, 'no-adapter', kind);
    }
  } finally {
    await browser.close();
  }
});

test('no navigator.gpu (a browser without WebGPU): reason no-navigator-gpu', async () => {
  const browser = await launch(NO_ADAPTER_FLAGS);
  try {
    const context = await browser.newContext();
    // What Firefox or Safari without WebGPU look like to the page.
    await context.addInitScript(() => delete Navigator.prototype.gpu);
    const { page } = await openPage(browser, server, 'engine.html', context);
    const e = await page.evaluate(() => newEngine('page').then(() => 'resolved', describeError));
    assert.equal(e.name, 'WebGPUUnavailableError', JSON.stringify(e));
    assert.ok(e.classes.includes('WebGPUUnavailableError'));
    assert.equal(e.reason, 'no-navigator-gpu');
    assert.match(e.message, /navigator\.gpu/);
  } finally {
    await browser.close();
  }
});
