// The package's pure-JS parts in node, without a browser: the request queue, the streaming
// iterator, error classes across a (simulated) worker boundary, request validation and the
// OpenAI-shaped objects. Runs against the built www/dist/.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  AbortError,
  DeviceLostError,
  HearthError,
  InvalidArgumentError,
  ModelFormatError,
  OutOfMemoryError,
  UnsupportedModelError,
  WebGPUUnavailableError,
  deserializeError,
  serializeError,
  toHearthError,
} from '../../www/dist/errors.js';
import {
  chatBody,
  chatChunk,
  chatCompletion,
  completionBody,
  completionLogprobsObject,
  responseHeader,
  tokenArrived,
} from '../../www/dist/openai.js';
import { EngineBase } from '../../www/dist/engine_base.js';
import { PushIterator } from '../../www/dist/push_iterator.js';
import { SerialQueue } from '../../www/dist/queue.js';
import { repoRoot } from './server.js';

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

test('SerialQueue runs tasks one at a time, in order, past failures', async () => {
  const queue = new SerialQueue();
  const log = [];
  let running = 0;
  const task = (name, fail = false) => async () => {
    running++;
    assert.equal(running, 1, 'two tasks overlapped');
    log.push(`start ${name}`);
    await tick();
    log.push(`end ${name}`);
    running--;
    if (fail) throw new Error(name);
    return name;
  };
  const results = await Promise.allSettled([queue.run(task('a')), queue.run(task('b', true)), queue.run(task('c'))]);
  assert.deepEqual(log, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
});

test('SerialQueue: a task aborted while waiting rejects at once and never runs', async () => {
  const queue = new SerialQueue();
  const ran = [];
  let release;
  const first = queue.run(() => new Promise((r) => (release = r)).then(() => ran.push('first')));
  const controller = new AbortController();
  const second = queue.run(async () => ran.push('second'), controller.signal);
  const third = queue.run(async () => ran.push('third'));
  controller.abort();
  await assert.rejects(second, (e) => e instanceof AbortError && e instanceof HearthError);
  assert.deepEqual(ran, [], 'nothing ran while the first task held the queue');
  release();
  await Promise.all([first, third]);
  assert.deepEqual(ran, ['first', 'third']);
  const already = new AbortController();
  already.abort();
  await assert.rejects(queue.run(async () => ran.push('never'), already.signal), AbortError);
  assert.deepEqual(ran, ['first', 'third']);
});

test('PushIterator delivers buffered values, then the error; break cancels once', async () => {
  const it = new PushIterator(() => assert.fail('not cancelled'));
  it.push(1);
  it.push(2);
  it.fail(new ModelFormatError('bad'));
  const got = [];
  await assert.rejects(
    (async () => {
      for await (const v of it) got.push(v);
    })(),
    ModelFormatError,
  );
  assert.deepEqual(got, [1, 2]);

  let cancels = 0;
  const live = new PushIterator(() => cancels++);
  setTimeout(() => live.push('x'), 5);
  for await (const v of live) {
    assert.equal(v, 'x');
    break;
  }
  live.push('ignored after return');
  assert.equal(cancels, 1);
  assert.deepEqual(await live.next(), { value: undefined, done: true });
});

test('PushIterator.abort drops the values not yet taken; the error comes next', async () => {
  const it = new PushIterator(() => assert.fail('not cancelled'));
  it.push(1);
  it.push(2);
  assert.deepEqual(await it.next(), { value: 1, done: false });
  it.abort(new AbortError('stop'));
  it.push(3);
  it.fail(new ModelFormatError('after the abort: ignored'));
  await assert.rejects(it.next(), AbortError);
  assert.deepEqual(await it.next(), { value: undefined, done: true });
});

test('errors survive the worker boundary as their own classes', () => {
  const cases = [
    new WebGPUUnavailableError('no adapter here', 'no-adapter'),
    new ModelFormatError('not a GGUF file'),
    new UnsupportedModelError('architecture mamba'),
    new OutOfMemoryError('buffer of 2 GiB'),
    new DeviceLostError('driver reset'),
    new InvalidArgumentError('top_p = 2'),
    new AbortError('stop'),
    new HearthError('other'),
  ];
  for (const original of cases) {
    // What postMessage does to it: structured clone of plain data.
    const wire = structuredClone(serializeError(original));
    const back = deserializeError(wire);
    assert.equal(back.constructor, original.constructor, original.name);
    assert.ok(back instanceof HearthError);
    assert.equal(back.name, original.name);
    assert.equal(back.message, original.message);
  }
  assert.equal(deserializeError(serializeError(cases[0])).reason, 'no-adapter');
});

test('rejections from wasm (plain Errors with a name) and DOM aborts map to the classes', () => {
  const fromWasm = (name, message) => Object.assign(new Error(message), { name });
  assert.ok(toHearthError(fromWasm('ModelFormatError', 'truncated GGUF')) instanceof ModelFormatError);
  assert.ok(toHearthError(fromWasm('UnsupportedModelError', 'x')) instanceof UnsupportedModelError);
  assert.ok(toHearthError(fromWasm('WebGPUUnavailableError', 'x')) instanceof WebGPUUnavailableError);
  assert.ok(toHearthError(new DOMException('aborted', 'AbortError')) instanceof AbortError);
  assert.ok(toHearthError(new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded')) instanceof OutOfMemoryError);
  const other = toHearthError(new TypeError('x is undefined'));
  assert.equal(other.constructor, HearthError);
  assert.equal(other.message, 'TypeError: x is undefined');
});

test('request validation: InvalidArgumentError for malformed requests', () => {
  const bad = [
    () => chatBody({ messages: [] }),
    () => chatBody({ messages: [{ role: 'robot', content: 'hi' }] }),
    () => chatBody({ messages: [{ role: 'user', content: 42 }] }),
    () => chatBody({ messages: [{ role: 'user', content: 'hi' }], n: 2 }),
    () => completionBody({ prompt: ['a', 'b'] }),
  ];
  for (const make of bad) assert.throws(make, InvalidArgumentError);
});

test('only the sampling fields wasm knows are passed on', () => {
  const body = chatBody({
    messages: [{ role: 'user', content: 'hi', name: 'ignored' }],
    model: 'gpt-4o',
    stream: true,
    user: 'someone',
    max_tokens: 8,
    temperature: 0.5,
    top_k: null,
    stop: ['\n'],
  });
  assert.deepEqual(body, {
    messages: [{ role: 'user', content: 'hi' }],
    max_tokens: 8,
    temperature: 0.5,
    stop: ['\n'],
  });
  assert.deepEqual(completionBody({ prompt: 'x', seed: 3 }), { prompt: 'x', seed: 3 });
});

test('OpenAI-shaped completion and final chunk', () => {
  const result = {
    text: 'Paris.',
    finish_reason: 'stop',
    prompt_tokens: 10,
    completion_tokens: 3,
    prompt_ids: [1, 2],
    ids: [5, 6, 7],
    prefill_tok_s: 100,
    decode_tok_s: 20,
    decode_round_trips: 2,
    prefill_ms: 30,
    gpu: { forward_passes: 3, tokens: 12, round_trips: 3, bytes_read_back: 12, dispatches: 900, encode_seconds: 0.004, graphs_built: 0 },
  };
  // Arrived 50 ms before its first token.
  const header = responseHeader('chatcmpl', 'SmolLM2', true, performance.now() - 50);
  tokenArrived(header);
  header.firstToken = header.arrival + 50;
  assert.match(header.id, /^chatcmpl-[0-9a-z]+$/);
  const c = chatCompletion(header, result);
  assert.deepEqual(c, {
    id: header.id,
    object: 'chat.completion',
    created: header.created,
    model: 'SmolLM2',
    choices: [
      { index: 0, message: { role: 'assistant', content: 'Paris.' }, finish_reason: 'stop', logprobs: null, token_ids: [5, 6, 7] },
    ],
    usage: {
      prompt_tokens: 10,
      completion_tokens: 3,
      total_tokens: 13,
      extra: {
        prefill_tokens_per_s: 100,
        decode_tokens_per_s: 20,
        decode_gpu_round_trips: 2,
        time_to_first_token_ms: 50,
        prefill_ms: 30,
        gpu_round_trips: 3,
        gpu_bytes_read_back: 12,
        host_encode_ms: 4,
        graphs_built: 0,
      },
    },
    prompt_token_ids: [1, 2],
  });
  const mid = chatChunk(header, { content: 'Par' }, null);
  assert.equal(mid.object, 'chat.completion.chunk');
  assert.equal(mid.choices[0].finish_reason, null);
  assert.equal(mid.usage, null);
  const end = chatChunk(header, {}, result);
  assert.equal(end.choices[0].finish_reason, 'stop');
  assert.equal(end.usage.total_tokens, 13);
});

test('Sha256 (integrity checks) equals node:crypto over sizes around the block edges, fed in random pieces', async () => {
  const { Sha256, base64 } = await import('../../www/dist/sha256.js');
  const { createHash, randomBytes } = await import('node:crypto');
  for (const n of [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 65537]) {
    const data = randomBytes(n);
    const h = new Sha256();
    for (let at = 0; at < n; ) {
      const k = Math.min(n - at, 1 + Math.floor(Math.random() * 100));
      h.update(data.subarray(at, at + k));
      at += k;
    }
    assert.equal(base64(h.digest()), createHash('sha256').update(data).digest('base64'), `${n} bytes`);
  }
});

test('logprobs requests: chat booleans and counts, legacy completion counts, 0 to 20', () => {
  const messages = [{ role: 'user', content: 'hi' }];
  assert.deepEqual(chatBody({ messages, logprobs: true, top_logprobs: 20 }), { messages, logprobs: true, top_logprobs: 20 });
  assert.deepEqual(chatBody({ messages, logprobs: true }), { messages, logprobs: true });
  assert.deepEqual(chatBody({ messages, logprobs: false, top_logprobs: null }), { messages });
  assert.deepEqual(chatBody({ messages, top_logprobs: 0 }), { messages });
  assert.deepEqual(completionBody({ prompt: 'x', logprobs: 2 }), { prompt: 'x', logprobs: true, top_logprobs: 2 });
  const refused = (make, needle) =>
    assert.throws(make, (e) => e instanceof InvalidArgumentError && e.message.includes(needle), needle);
  refused(() => chatBody({ messages, logprobs: true, top_logprobs: 21 }), 'top_logprobs = 21');
  refused(() => chatBody({ messages, logprobs: true, top_logprobs: 1.5 }), 'top_logprobs = 1.5');
  refused(() => chatBody({ messages, top_logprobs: 3 }), 'top_logprobs needs logprobs: true');
  refused(() => chatBody({ messages, logprobs: 3 }), 'logprobs = 3');
  refused(() => completionBody({ prompt: 'x', logprobs: 21 }), 'logprobs = 21');
});

test('logprobs results: the chat object and the legacy completions shape', () => {
  const entry = (token, id, logprob, top) => ({ token, id, logprob, bytes: [...Buffer.from(token)], top_logprobs: top });
  const alt = (token, id, logprob) => ({ token, id, logprob, bytes: [...Buffer.from(token)] });
  const entries = [
    entry('Par', 7, -0.1, [alt('Par', 7, -0.1), alt('Lon', 9, -2.5)]),
    entry('is', 8, -0.01, [alt('is', 8, -0.01), alt('\ufffd', 3, -5), alt('\ufffd', 4, -6)]),
    entry('constructor', 9, -1, [alt('__proto__', 10, -0.5), alt('constructor', 9, -1)]),
  ];
  const header = responseHeader('cmpl', 'm', false);
  const c = chatCompletion(responseHeader('chatcmpl', 'm', false), {
    text: 'Paris', finish_reason: 'length', prompt_tokens: 1, completion_tokens: 2, prompt_ids: [1], ids: [7, 8],
    prefill_tok_s: 1, decode_tok_s: 1, decode_round_trips: 1, prefill_ms: 1, logprobs: entries,
    gpu: { forward_passes: 0, tokens: 0, round_trips: 0, bytes_read_back: 0, dispatches: 0, encode_seconds: 0, graphs_built: 0 },
  });
  assert.deepEqual(c.choices[0].logprobs, { content: entries, refusal: null });
  const legacy = completionLogprobsObject(entries, 4);
  assert.deepEqual(legacy.tokens, ['Par', 'is', 'constructor']);
  assert.deepEqual(legacy.token_logprobs, [-0.1, -0.01, -1]);
  assert.deepEqual(legacy.text_offset, [4, 7, 9]);
  assert.deepEqual(legacy.top_logprobs.slice(0, 2), [{ Par: -0.1, Lon: -2.5 }, { is: -0.01, '\ufffd': -5 }]);
  // Token texts that are Object.prototype names stay plain keys.
  assert.deepEqual(Object.entries(legacy.top_logprobs[2]), [['__proto__', -0.5], ['constructor', -1]]);
  assert.equal(completionLogprobsObject(null), null);
  assert.equal(chatChunk(header, { content: 'x' }, null).choices[0].logprobs, null);
});

test('OpenAI fields Hearth does not take are refused naming the field; bookkeeping and no-op values pass', () => {
  const messages = [{ role: 'user', content: 'hi' }];
  const refused = (make, field) =>
    assert.throws(make, (e) => e instanceof InvalidArgumentError && e.message.includes(field), field);
  refused(() => chatBody({ messages, tools: { type: 'function' } }), 'tools must be an array');
  refused(() => chatBody({ messages, parallel_tool_calls: 'no' }), 'parallel_tool_calls');
  refused(() => chatBody({ messages, functions: [] }), 'functions');
  refused(() => completionBody({ prompt: 'x', tools: [] }), 'tools is a field of chat completions requests');
  refused(() => chatBody({ messages, audio: { voice: 'x' } }), 'audio');
  refused(() => chatBody({ messages, temprature: 0.5 }), 'unknown request field temprature');
  refused(() => chatBody({ messages, prompt: 'x' }), 'prompt is a field of completions requests');
  refused(() => completionBody({ prompt: 'x', suffix: 'y' }), 'suffix');
  refused(() => completionBody({ prompt: 'x', echo: true }), 'echo');
  refused(() => chatBody({ messages, stream_options: { include_usage: true } }), 'stream_options is only allowed with stream: true');
  refused(() => chatBody({ messages, stream: true, stream_options: { include_obfuscation: true } }), 'stream_options.include_obfuscation');
  refused(() => chatBody({ messages, max_tokens: 5, max_completion_tokens: 6 }), 'max_completion_tokens');
  // Accepted: bookkeeping, nulls, and the values that ask for nothing.
  const body = chatBody({
    messages,
    user: 'u',
    store: false,
    metadata: { a: '1' },
    service_tier: 'auto',
    tools: null,
    response_format: { type: 'text' },
    tool_choice: 'none',
    n: 1,
    stream: true,
    stream_options: { include_usage: true },
  });
  // response_format {type: 'text'} and tool_choice 'none' go to the engine, which reads them
  // as no constraint and no tools.
  assert.deepEqual(body, { messages, response_format: { type: 'text' }, tool_choice: 'none' });
  assert.deepEqual(completionBody({ prompt: 'x', echo: false, best_of: 1 }), { prompt: 'x' });
});

test('supported engine fields get through: penalty_last_n, stop_token_ids, seed, logit_bias, max_completion_tokens', () => {
  const messages = [{ role: 'user', content: 'hi' }];
  assert.deepEqual(
    chatBody({ messages, penalty_last_n: 0, stop_token_ids: [2, 7], seed: 9, logit_bias: { 5: -100 }, max_completion_tokens: 12 }),
    { messages, penalty_last_n: 0, stop_token_ids: [2, 7], seed: 9, logit_bias: { 5: -100 }, max_tokens: 12 },
  );
  assert.deepEqual(chatBody({ messages, max_tokens: 12, max_completion_tokens: 12 }), { messages, max_tokens: 12 });
  assert.deepEqual(completionBody({ prompt: 'x', penalty_last_n: 8, stop_token_ids: [1] }), { prompt: 'x', penalty_last_n: 8, stop_token_ids: [1] });
});

/** A backend without wasm: `generate` waits `delayMs`, reports one token per piece, then a result. */
function fakeBackend({ delayMs = 0, pieces = ['Hel', 'lo'] } = {}) {
  const seen = [];
  return {
    seen,
    ready: async () => {},
    async generate(body, onPiece) {
      seen.push(body);
      await tick(delayMs);
      const piece = (text) => onPiece({ text, logprobs: null, tool_calls: [] });
      piece(''); // wasm reports the first token even before it has text
      for (const p of pieces) piece(p);
      return {
        text: pieces.join(''), finish_reason: 'stop', prompt_tokens: 3, completion_tokens: pieces.length + 1,
        prompt_ids: [1, 2, 3], ids: [4, 5, 6], prefill_tok_s: 1, decode_tok_s: 1, decode_round_trips: 1,
        prefill_ms: 2, logprobs: null,
        gpu: { forward_passes: 0, tokens: 0, round_trips: 0, bytes_read_back: 0, dispatches: 0, encode_seconds: 0, graphs_built: 0 },
      };
    },
    interrupt() {},
    dispose() {},
  };
}

test('the engine echoes model, times the first token from arrival, and streams include_usage as OpenAI', async () => {
  const backend = fakeBackend({ delayMs: 60 });
  const engine = new EngineBase(backend);
  const messages = [{ role: 'user', content: 'hi' }];
  const whole = await engine.chat.completions.create({ messages, model: 'my-model' });
  assert.equal(whole.model, 'my-model');
  assert.equal((await engine.chat.completions.create({ messages })).model, 'hearth', 'no model loaded, none asked');
  // 60 ms passed between the request and its first token; the prefill alone was 2 ms.
  assert.ok(whole.usage.extra.time_to_first_token_ms >= 55, `ttft ${whole.usage.extra.time_to_first_token_ms}`);
  assert.equal(whole.usage.extra.prefill_ms, 2);

  const chunks = [];
  for await (const c of await engine.chat.completions.create({ messages, stream: true, stream_options: { include_usage: true } })) {
    chunks.push(c);
  }
  // Two text chunks (the empty first-token report makes none), the finishing one, the usage one.
  assert.deepEqual(chunks.map((c) => c.choices[0]?.delta.content ?? null), ['Hel', 'lo', null, null]);
  assert.equal(chunks[0].choices[0].delta.role, 'assistant');
  assert.ok(chunks.slice(0, 3).every((c) => c.usage === null));
  assert.equal(chunks[2].choices[0].finish_reason, 'stop');
  assert.deepEqual(chunks[3].choices, []);
  assert.equal(chunks[3].usage.total_tokens, 6);
  // Without include_usage the finishing chunk carries usage (no extra chunk).
  const plain = [];
  for await (const c of await engine.completions.create({ prompt: 'x', stream: true })) plain.push(c);
  assert.equal(plain.length, 3);
  assert.equal(plain[2].usage.total_tokens, 6);
  // A refused field never reaches the backend.
  const before = backend.seen.length;
  await assert.rejects(engine.chat.completions.create({ messages, audio: {} }), InvalidArgumentError);
  assert.equal(backend.seen.length, before);
});

test('the npm package ships its README and licenses', () => {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: join(repoRoot, 'www'), encoding: 'utf8' });
  const files = JSON.parse(out)[0].files.map((f) => f.path);
  for (const f of ['README.md', 'LICENSE-MIT', 'LICENSE-APACHE', 'dist/index.js', 'dist/wasm/hearth_bg.wasm']) {
    assert.ok(files.includes(f), `${f} is not in the package: ${files.join(', ')}`);
  }
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'www', 'package.json'), 'utf8'));
  assert.equal(pkg.license, 'MIT OR Apache-2.0');
  assert.match(readFileSync(join(repoRoot, 'www', 'LICENSE-APACHE'), 'utf8'), /Apache License\s+Version 2\.0/);
  assert.match(readFileSync(join(repoRoot, 'www', 'LICENSE-MIT'), 'utf8'), /^MIT License/);
});

test('tool calls: messages with calls and results reach wasm as Rust reads them; replies come back in OpenAI shapes', () => {
  const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }];
  const call = { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Oslo"}' } };
  const messages = [
    { role: 'user', content: 'Weather?' },
    { role: 'assistant', content: null, tool_calls: [call] },
    { role: 'tool', content: '{"temp": 1}', tool_call_id: 'call_1' },
  ];
  const body = chatBody({ messages, tools, tool_choice: 'auto', parallel_tool_calls: false });
  assert.deepEqual(body, { messages, tools, tool_choice: 'auto', parallel_tool_calls: false });
  const refused = (m, field) =>
    assert.throws(() => chatBody({ messages: [m] }), (e) => e instanceof InvalidArgumentError && e.message.includes(field), field);
  refused({ role: 'assistant', content: null }, 'messages[0].content');
  refused({ role: 'tool', content: 'x' }, 'messages[0].tool_call_id');
  refused({ role: 'assistant', content: '', tool_calls: [{ function: { name: 'f', arguments: {} } }] }, 'messages[0].tool_calls[0]');
  refused({ role: 'developer', content: 'x' }, 'messages[0]');

  const result = {
    text: '',
    finish_reason: 'tool_calls',
    prompt_tokens: 1,
    completion_tokens: 9,
    prompt_ids: [],
    ids: [],
    prefill_tok_s: 1,
    decode_tok_s: 1,
    decode_round_trips: 8,
    prefill_ms: 1,
    gpu: { forward_passes: 0, tokens: 0, round_trips: 0, bytes_read_back: 0, dispatches: 0, encode_seconds: 0, graphs_built: 0 },
    logprobs: null,
    constraint: null,
    tool_calls: [{ id: 'call_2', name: 'get_weather', arguments: '{"city": "Zürich", "days": 2}' }],
  };
  const header = responseHeader('chatcmpl', 'm', false);
  const message = chatCompletion(header, result).choices[0].message;
  // `arguments` is the JSON text the model wrote, as a stream's pieces join to it.
  assert.deepEqual(message, {
    role: 'assistant',
    content: null,
    tool_calls: [{ id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Zürich", "days": 2}' } }],
  });
  // Content around the calls stays; without calls the message is plain.
  assert.equal(chatCompletion(header, { ...result, text: 'Let me check.' }).choices[0].message.content, 'Let me check.');
  assert.deepEqual(chatCompletion(header, { ...result, text: 'Hi', tool_calls: null, finish_reason: 'stop' }).choices[0].message, {
    role: 'assistant',
    content: 'Hi',
  });
});

test('shard URLs follow gguf-split names: the first is recognised, the others derived with query and directory kept', async () => {
  const { isFirstShard, shardUrls } = await import('../../www/dist/shards.js');
  assert.equal(isFirstShard('https://h/m/x-00001-of-00003.gguf?v=2'), true);
  assert.equal(isFirstShard('https://h/m/x-00002-of-00003.gguf'), false);
  assert.equal(isFirstShard('https://h/m/x.gguf'), false);
  assert.deepEqual(shardUrls('https://h/m/x-00001-of-00003.gguf?v=2', 3), [
    'https://h/m/x-00001-of-00003.gguf?v=2',
    'https://h/m/x-00002-of-00003.gguf?v=2',
    'https://h/m/x-00003-of-00003.gguf?v=2',
  ]);
  assert.throws(() => shardUrls('https://h/m/x.gguf', 3), (e) => e instanceof InvalidArgumentError && /NAME-00001-of-00003/.test(e.message));
});
