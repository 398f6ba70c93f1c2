// The framework fit: www/examples/vite-chat is an app as a web developer would write it (Vite,
// `hearth-llm` as an npm dependency, the engine in a worker module). The test builds it with
// Vite, serves what Vite emitted (hashed assets, the wasm found through the package's
// `new URL(..., import.meta.url)`), and chats through the page: the reply streams into the
// page and equals the native CLI's greedy reply to the same message; with "reply in JSON" the
// reply validates against the app's schema (ajv) and equals the CLI's `--json-schema` reply.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Ajv from 'ajv';
import { launch } from './browser.js';
import { cliGenerate } from './cli.js';
import { TINY_CHAT } from './models.js';
import { TestServer, repoRoot } from './server.js';

const APP = join(repoRoot, 'www', 'examples', 'vite-chat');

let server;
let browser;

before(async () => {
  const vite = join(APP, 'node_modules', 'vite', 'bin', 'vite.js');
  if (!existsSync(vite)) throw new Error(`${vite} is missing: scripts/setup.sh runs npm ci in ${APP}`);
  execFileSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: APP, stdio: 'inherit' });
  server = await new TestServer().start();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** The example page with the tiny model, ready to chat, and the problems it reports. */
async function openApp() {
  const page = await browser.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
  await page.goto(`${server.origin}/example/?model=${encodeURIComponent(`/models/${TINY_CHAT}`)}`);
  await page.waitForFunction(() => !document.getElementById('send').disabled || /Error/.test(document.getElementById('status').textContent), null, { timeout: 120_000 });
  assert.equal(await page.textContent('#status'), 'ready', `the app did not get ready: ${problems.join('; ')}`);
  return { page, problems };
}

/** Sends `message` through the form; the reply's text and how many updates it arrived in. */
async function chat(page, problems, message, { json = false } = {}) {
  await page.evaluate(() => {
    window.replyUpdates = 0;
    new MutationObserver(() => window.replyUpdates++).observe(document.getElementById('reply'), { childList: true, characterData: true, subtree: true });
  });
  await page.fill('#message', message);
  await page.setChecked('#json', json);
  await page.click('#send');
  await page.waitForFunction(() => document.getElementById('status').textContent !== 'generating', null, { timeout: 120_000 });
  assert.equal(await page.textContent('#status'), 'ready', `the reply failed: ${problems.join('; ')}`);
  return { reply: await page.textContent('#reply'), updates: await page.evaluate(() => window.replyUpdates) };
}

test('the Vite example app loads a model in its worker and streams a chat reply equal to the CLI', async () => {
  const { page, problems } = await openApp();
  const message = 'Tell me a story.';
  const { reply, updates } = await chat(page, problems, message);
  console.log(`example reply (${updates} updates): ${JSON.stringify(reply)}`);
  // The app asks for 64 greedy tokens of a chat reply.
  const expected = cliGenerate({ model: TINY_CHAT, prompt: message, chat: true, maxTokens: 64 });
  assert.equal(reply, expected.text);
  assert.ok(updates >= 3, `the reply arrived in ${updates} updates, not streamed`);

  // "Reply in JSON": the app's schema (src/main.ts) holds even a random-weight model's reply.
  const schema = {
    type: 'object',
    properties: { answer: { type: 'string', maxLength: 40 }, mood: { enum: ['happy', 'neutral', 'sad'] } },
    required: ['answer', 'mood'],
    additionalProperties: false,
  };
  const json = await chat(page, problems, 'How are you?', { json: true });
  console.log(`example JSON reply: ${json.reply}`);
  const validate = new Ajv().compile(schema);
  assert.ok(validate(JSON.parse(json.reply)), `${json.reply}: ${JSON.stringify(validate.errors)}`);
  const dir = mkdtempSync(join(tmpdir(), 'hearth-example-'));
  try {
    writeFileSync(join(dir, 'schema.json'), JSON.stringify(schema));
    const cli = cliGenerate({ model: TINY_CHAT, prompt: 'How are you?', chat: true, maxTokens: 64, extraArgs: ['--json-schema', join(dir, 'schema.json')] });
    assert.equal(json.reply, cli.text);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(problems, []);
});
