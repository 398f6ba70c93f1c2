// A GPU device lost mid-generation (driver reset, a phone reclaiming a background tab's GPU):
// the running request fails with DeviceLostError, and the next one transparently runs on a
// new device with the model loaded again from the cache (no request to the server), giving
// the same tokens as before the loss. The loss is made by the engine's test hook
// (debugLoseDevice: GPUDevice.destroy()), in a worker engine and a main-thread one.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launch, openPage } from './browser.js';
import { TINY_CHAT } from './models.js';
import { TestServer } from './server.js';

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

for (const kind of ['worker', 'main']) {
  test(`${kind} engine: a device lost mid-generation fails that request with DeviceLostError; the next request reloads and matches`, async () => {
    const url = `${server.origin}/models/${TINY_CHAT}`;
    const r = await page.evaluate(
      async ({ url, kind }) => {
        const engine = await newEngine(kind);
        await engine.load(url);
        const ask = () =>
          engine.completions
            .create({ prompt: 'Once upon a time', max_tokens: 6, temperature: 0, return_token_ids: true })
            .then((c) => c.choices[0].token_ids);
        const before = await ask();
        // A long streamed request; the device goes away after its first piece of text.
        let pieces = 0;
        let failure = null;
        try {
          const stream = await engine.completions.create({ prompt: 'Tell', max_tokens: 200, temperature: 0, stream: true });
          for await (const chunk of stream) {
            if (chunk.choices[0]?.text && ++pieces === 1) engine.debugLoseDevice();
          }
        } catch (e) {
          failure = describeError(e);
        }
        const after = await ask();
        engine.dispose();
        return { before, after, pieces, failure };
      },
      { url, kind },
    );
    assert.equal(r.failure?.name, 'DeviceLostError', JSON.stringify(r));
    assert.ok(r.failure.classes.includes('DeviceLostError'), JSON.stringify(r.failure));
    assert.ok(r.pieces < 200, `stopped early: ${r.pieces} pieces`);
    assert.deepEqual(r.after, r.before, 'same tokens on the new device');
    assert.equal(server.requestsUnder(`/models/${TINY_CHAT}`), 1, 'reloaded from the cache, not the server');
  });
}
