// The demo's context policy (www/demo/src/context_policy.ts) on its own, in Node: which
// messages it keeps when a conversation outgrows the context. The token counter here is one
// token per character of content, so every expected figure is plain arithmetic.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from './server.js';

const esbuild = await import(join(repoRoot, 'www', 'node_modules', 'esbuild', 'lib', 'main.js'));
const source = readFileSync(join(repoRoot, 'www', 'demo', 'src', 'context_policy.ts'), 'utf8');
const { code } = await esbuild.transform(source, { loader: 'ts', format: 'esm' });
const { fitConversation } = await import(`data:text/javascript,${encodeURIComponent(code)}`);

const count = async (messages) => messages.reduce((n, m) => n + m.content.length, 0);
const system = { role: 'system', content: 'S'.repeat(10) };
const turn = (q, a) => [
  { role: 'user', content: q },
  { role: 'assistant', content: a },
];

test('a conversation that fits is sent whole', async () => {
  const history = [...turn('q'.repeat(5), 'a'.repeat(5)), { role: 'user', content: 'x'.repeat(5) }];
  // 10 + 5 + 5 + 5 = 25 tokens + 5 for the reply = 30 <= 30.
  const r = await fitConversation(count, system, history, 5, 30);
  assert.deepEqual(r, { messages: [system, ...history], dropped: 0 });
});

test('the oldest turns go first, a question and its answer together; the system message stays', async () => {
  const history = [...turn('1'.repeat(20), '2'.repeat(20)), ...turn('3'.repeat(20), '4'.repeat(20)), { role: 'user', content: '5'.repeat(20) }];
  // Whole: 10 + 5 × 20 = 110 (+ 10 reply = 120 > 70). Without the first turn: 10 + 60 = 70
  // (+ 10 = 80 > 70). Without both: 10 + 20 = 30 (+ 10 = 40 <= 70).
  const r = await fitConversation(count, system, history, 10, 70);
  assert.equal(r.dropped, 4);
  assert.deepEqual(r.messages, [system, history[4]]);
});

test('when even the newest question does not fit, it is sent alone (the engine then refuses it)', async () => {
  const history = [...turn('a', 'b'), { role: 'user', content: 'q'.repeat(100) }];
  const r = await fitConversation(count, null, history, 10, 50);
  assert.deepEqual(r, { messages: [history[2]], dropped: 2 });
});
