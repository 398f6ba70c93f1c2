// The demo page (www/demo/, built into www/demo-dist/) as a person uses it: load the default
// model, chat with streamed replies, stop, bad input, phone width, and offline after one
// visit (service worker for the shell + hearth-llm's weight cache). Screenshots go to
// tests/browser/artifacts/ (ignored by git) for whoever changes the UI to look at.
// The page's default model (`?model=`) is the tiny random-weight chat model (SwiftShader runs
// it ~50x faster than SmolLM2), except where the test needs what SmolLM2 says.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { launch } from './browser.js';
import { SMOLLM2, TINY_CHAT } from './models.js';
import { TestServer, repoRoot } from './server.js';

const ARTIFACTS = join(repoRoot, 'tests', 'browser', 'artifacts');
/** SwiftShader runs the shaders on the CPU: generous, but bounded. */
const LOAD_TIMEOUT = 240_000;
const REPLY_TIMEOUT = 240_000;

let server;
let browser;

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  server = await new TestServer().start();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const demoUrl = (model, extra = '') => `${server.origin}/demo/?model=${encodeURIComponent(`/models/${model}`)}${extra}`;

/** A fresh context (its own caches and service worker) with the demo open and idle. */
async function openDemo(viewport = { width: 1000, height: 800 }, model = TINY_CHAT, extraQuery = '') {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`[demo page error] ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') console.error(`[demo console] ${m.text()}`);
  });
  await page.goto(demoUrl(model, extraQuery));
  await waitState(page, ['idle', 'ready'], 60_000);
  return { context, page };
}

async function waitState(page, states, timeout) {
  await page.waitForFunction((s) => s.includes(document.body.dataset.state), states, { timeout });
}

async function loadDefaultModel(page) {
  await page.selectOption('#model-choice', 'default');
  await page.click('#load-button');
  await waitState(page, ['ready', 'load-error'], LOAD_TIMEOUT);
  const error = await page.textContent('#error');
  assert.equal(await page.evaluate(() => document.body.dataset.state), 'ready', `load failed: ${error}`);
}

async function settings(page, { temperature, maxTokens }) {
  if (await page.isHidden('#settings')) await page.click('#settings-toggle');
  await page.fill('#temperature', String(temperature));
  await page.fill('#max-tokens', String(maxTokens));
}

/**
 * Sends `prompt` with Enter and records the reply's text length at every DOM change, so a
 * test can tell a streamed reply from one that appeared all at once. Returns once the page has
 * been in state 'generating', even if it has already left it: a short reply of the tiny model
 * can start and end between two polls of the state (every state the page passes through is
 * recorded from the attribute's mutations).
 */
async function send(page, prompt) {
  await page.evaluate(() => {
    window.statesSeen = new Set();
    window.stateObserver?.disconnect(); // one observer, not one more per message
    window.stateObserver = new MutationObserver((records) => {
      for (const r of records) window.statesSeen.add(r.oldValue);
      window.statesSeen.add(document.body.dataset.state);
    });
    window.stateObserver.observe(document.body, { attributes: true, attributeFilter: ['data-state'], attributeOldValue: true });
    window.replyLengths = [];
    const observer = new MutationObserver(() => {
      const bodies = document.querySelectorAll('#chat .message.assistant .body');
      const last = bodies[bodies.length - 1];
      if (last && document.body.dataset.state === 'generating') window.replyLengths.push(last.textContent.length);
    });
    observer.observe(document.getElementById('chat'), { childList: true, subtree: true, characterData: true });
  });
  await page.fill('#prompt', prompt);
  await page.press('#prompt', 'Enter');
  await page.waitForFunction(() => window.statesSeen.has('generating'), null, { timeout: 10_000 });
}

const lastReply = (page) =>
  page.evaluate(() => {
    const messages = document.querySelectorAll('#chat .message.assistant');
    const m = messages[messages.length - 1];
    return { text: m.querySelector('.body').textContent, stats: m.querySelector('.stats')?.textContent ?? '' };
  });

test('demo: load the default model, a reply streams in, Stop and Esc end a reply, the next one works', async () => {
  const { context, page } = await openDemo();
  try {
    assert.equal(await page.isDisabled('#send'), true, 'no sending before a model is loaded');
    await loadDefaultModel(page);
    assert.match(await page.textContent('#model-status'), /llama/);

    await settings(page, { temperature: 0, maxTokens: 24 });
    await send(page, 'What is the capital of France?');
    await waitState(page, ['ready'], REPLY_TIMEOUT);
    const reply = await lastReply(page);
    const lengths = await page.evaluate(() => window.replyLengths.filter((n) => n > 0));
    console.log(`demo reply: ${JSON.stringify(reply.text)}; ${reply.stats}; ${lengths.length} streamed updates`);
    assert.ok(reply.text.length > 0, 'the reply has text');
    assert.ok(new Set(lengths).size >= 2, `the reply grew in steps while streaming: ${lengths}`);
    assert.match(reply.stats, /tok\/s/);
    assert.match(reply.stats, /first token after \d+ ms/);
    await page.screenshot({ path: join(ARTIFACTS, 'demo-chat.png'), fullPage: true });

    // Stop button.
    await settings(page, { temperature: 0, maxTokens: 400 });
    await send(page, 'Write a long story about a dragon.');
    await page.waitForFunction(() => window.replyLengths.some((n) => n > 0), null, { timeout: REPLY_TIMEOUT });
    await page.click('#stop');
    await waitState(page, ['ready'], 60_000);
    const stopped = await lastReply(page);
    assert.match(stopped.stats, /stopped/, `stats: ${stopped.stats}`);

    // Esc stops too. A new chat first: with the stopped reply in the history the prompt would
    // depend on when Stop landed, and the tiny model can then end its reply before Esc.
    await page.click('#clear-chat');
    await send(page, 'Write another long story, about a castle.');
    await page.waitForFunction(() => window.replyLengths.some((n) => n > 0), null, { timeout: REPLY_TIMEOUT });
    await page.keyboard.press('Escape');
    await waitState(page, ['ready'], 60_000);
    assert.match((await lastReply(page)).stats, /stopped/);

    // And the next prompt completes normally.
    await settings(page, { temperature: 0, maxTokens: 8 });
    await send(page, 'Say hello.');
    await waitState(page, ['ready'], REPLY_TIMEOUT);
    const next = await lastReply(page);
    assert.ok(next.text.length > 0);
    assert.doesNotMatch(next.stats, /stopped/);

    // Shift+Enter makes a new line instead of sending.
    await page.fill('#prompt', 'line one');
    await page.press('#prompt', 'Shift+Enter');
    await page.type('#prompt', 'line two');
    assert.equal(await page.inputValue('#prompt'), 'line one\nline two');
    assert.equal(await page.evaluate(() => document.body.dataset.state), 'ready');
  } finally {
    await context.close();
  }
});

test('demo: a failed turn leaves the history, so the next message works', async () => {
  const { context, page } = await openDemo();
  try {
    await loadDefaultModel(page);
    await settings(page, { temperature: 0, maxTokens: 8 });
    // Longer than the context: the engine refuses the request.
    const tooLong = 'words and more words '.repeat(3000);
    await page.fill('#prompt', tooLong);
    await page.press('#prompt', 'Enter');
    await page.waitForFunction(() => !document.getElementById('error').hidden, null, { timeout: 60_000 });
    await waitState(page, ['ready'], 60_000);
    assert.match(await page.textContent('#error'), /context/);
    const after = await page.evaluate(() => ({
      failed: document.querySelectorAll('#chat .message.user.failed').length,
      assistants: document.querySelectorAll('#chat .message.assistant').length,
      prompt: document.getElementById('prompt').value.length,
    }));
    assert.deepEqual(after, { failed: 1, assistants: 0, prompt: tooLong.trim().length }, 'marked, no empty reply, text back in the input');
    // Kept in the history, the long message would make this one fail too.
    await send(page, 'Say hello.');
    await waitState(page, ['ready'], REPLY_TIMEOUT);
    assert.equal(await page.isHidden('#error'), true, `error: ${await page.textContent('#error')}`);
    const reply = await lastReply(page);
    assert.ok(reply.text.length > 0, 'the next message gets a reply');
  } finally {
    await context.close();
  }
});

test('demo: a conversation that outgrows the context drops its oldest turns with a note; every question still gets a reply', async () => {
  // 128 tokens: the system message and a turn of ~20 tokens plus a 24-token reply each, so
  // the third or fourth question no longer fits with all the turns before it.
  const { context, page } = await openDemo(undefined, TINY_CHAT, '&ctx=128');
  try {
    await loadDefaultModel(page);
    assert.match(await page.textContent('#model-status'), /context 128/);
    await settings(page, { temperature: 0, maxTokens: 24 });
    const questions = ['What is the capital of France?', 'And of Italy, please?', 'Which one is larger?', 'Why is that so?', 'Thank you very much.'];
    for (const q of questions) {
      await send(page, q);
      await waitState(page, ['ready'], REPLY_TIMEOUT);
      assert.equal(await page.isHidden('#error'), true, `error after ${JSON.stringify(q)}: ${await page.textContent('#error')}`);
    }
    const seen = await page.evaluate(() => ({
      notes: [...document.querySelectorAll('#chat .context-note')].map((n) => n.textContent),
      replies: document.querySelectorAll('#chat .message.assistant').length,
      failed: document.querySelectorAll('#chat .message.user.failed').length,
    }));
    console.log(`demo context notes: ${JSON.stringify(seen.notes)}`);
    assert.ok(seen.notes.length >= 1, 'a note says turns were dropped');
    assert.match(seen.notes[0], /earlier messages? no longer fits? the model's context of 128 tokens/);
    assert.deepEqual({ replies: seen.replies, failed: seen.failed }, { replies: questions.length, failed: 0 });
    await page.screenshot({ path: join(ARTIFACTS, 'demo-context-note.png'), fullPage: true });
  } finally {
    await context.close();
  }
});

test('demo: model output with HTML is shown as text, never as elements', async () => {
  const { context, page } = await openDemo(undefined, SMOLLM2);
  const dialogs = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  try {
    await loadDefaultModel(page);
    // Greedy SmolLM2 answers this with the tag itself (checked with `hearth generate --chat`):
    // its first 13 tokens, so 16 are enough (each costs ~1.4 s on SwiftShader).
    await settings(page, { temperature: 0, maxTokens: 16 });
    await send(page, 'Write an HTML img tag with src="x" and onerror="alert(1)". Reply with only the tag.');
    await waitState(page, ['ready'], REPLY_TIMEOUT);
    const reply = await lastReply(page);
    console.log(`demo html reply: ${JSON.stringify(reply.text)}`);
    assert.match(reply.text, /<img src="x" onerror="alert\(1\)"/, 'the model wrote the tag (as text)');
    assert.equal(await page.locator('#chat img').count(), 0, 'no <img> element was created');
    assert.deepEqual(dialogs, [], 'no script ran');
  } finally {
    await context.close();
  }
});

test('demo: a bad model URL shows the error and the page stays usable', async () => {
  const { context, page } = await openDemo();
  try {
    await page.selectOption('#model-choice', 'url');
    await page.fill('#model-url', `${server.origin}/models/no-such-model.gguf`);
    await page.click('#load-button');
    await waitState(page, ['load-error'], 60_000);
    const error = await page.textContent('#error');
    console.log(`demo bad URL: ${error}`);
    assert.ok(await page.isVisible('#error'));
    assert.match(error, /no-such-model\.gguf/);
    assert.match(error, /404|not found/i);
    // A PNG passed off as a model: a format error, named as such.
    const png = server.serveBytes('picture.gguf', Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'));
    await page.fill('#model-url', png);
    await page.click('#load-button');
    await waitState(page, ['load-error'], 60_000);
    assert.match(await page.textContent('#error'), /ModelFormatError/);
    // Still usable: the default model loads.
    await loadDefaultModel(page);
    assert.equal(await page.isVisible('#error'), false);
  } finally {
    await context.close();
  }
});

test('demo: at phone width nothing overflows sideways', async () => {
  const { context, page } = await openDemo({ width: 390, height: 844 });
  try {
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    await page.screenshot({ path: join(ARTIFACTS, 'demo-phone.png'), fullPage: true });
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than a 390px screen`);
    assert.ok(await page.isVisible('#prompt'));
    assert.ok(await page.isVisible('#load-button'));
  } finally {
    await context.close();
  }
});

test('demo: after one visit, the page and the model work with the network off', async () => {
  // Its own server, stopped after the first visit: with the origin gone, whatever still works
  // came from the service worker's shell cache and hearth-llm's weight cache. (Playwright's
  // setOffline alone does not cover the service worker's own requests.)
  const own = await new TestServer().start();
  const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`[demo page error] ${e.message}`));
  try {
    await page.goto(`${own.origin}/demo/?model=${encodeURIComponent(`/models/${TINY_CHAT}`)}`);
    await waitState(page, ['idle'], 60_000);
    await loadDefaultModel(page);
    // The service worker has installed the shell and controls the page.
    await page.evaluate(async () => {
      await navigator.serviceWorker.ready;
      if (!navigator.serviceWorker.controller) {
        await new Promise((resolve) => navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }));
      }
    });
    await own.stop();
    await context.setOffline(true);
    await page.reload();
    // The page comes back from the service worker and reloads the model from the cache.
    await waitState(page, ['ready', 'load-error', 'no-webgpu'], LOAD_TIMEOUT);
    assert.equal(await page.evaluate(() => document.body.dataset.state), 'ready', await page.textContent('#error'));
    await settings(page, { temperature: 0, maxTokens: 12 });
    await send(page, 'What is the capital of France?');
    await waitState(page, ['ready'], REPLY_TIMEOUT);
    const reply = await lastReply(page);
    console.log(`demo offline reply: ${JSON.stringify(reply.text)}`);
    assert.ok(reply.text.length > 0, 'a reply streamed offline');
    await page.screenshot({ path: join(ARTIFACTS, 'demo-offline.png'), fullPage: true });
  } finally {
    await context.close();
    await own.stop().catch(() => {});
  }
});
