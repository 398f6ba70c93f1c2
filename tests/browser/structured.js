// Structured output and tool calls through the package: `response_format` json_schema /
// json_object and the grammar extension, `tools` / `tool_choice`, on the tiny random-weight
// chat model in the browser (its replies are gibberish unless the mask holds them), loaded with
// Qwen3's chat template (which teaches the Hermes <tool_call> format), and on the native CLI
// (the tiny model). The three real models answer the schema set's 'compact' request (escaped enum
// strings, an integer array, a nested object with a bounded string) natively
// (tests/common/json_reply.rs); in the page (assertRealModelJsonReply, called where each is
// loaded) SmolLM2 answers 'compact' (generate.test.js), Qwen2.5 and Gemma 3 the 'short' one (an
// object with an enum and a bounded integer: ~5 forward passes instead of ~10, each 0.6-2 s on
// SwiftShader; families.test.js). Every JSON reply and every call's
// arguments are validated against their schema by ajv, a validator independent of Hearth and of
// llguidance; the browser's ids equal the native CLI's for the same seed.
//
// generate.test.js registers these tests on its page, after its `tiny` engine (loaded with
// QWEN3_TEMPLATE) has sampled once: a new page would pay Chromium's start, the load and the
// GPU sampler's pipeline compile again (~10 s on SwiftShader).

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Ajv from 'ajv';
import { cliGenerate } from './cli.js';
import { TINY_CHAT } from './models.js';
import { repoRoot } from './server.js';

const fixture = (...path) => join(repoRoot, 'tests', 'fixtures', ...path);
const SCHEMAS = JSON.parse(readFileSync(fixture('structured', 'schemas.json'), 'utf8'));
const TOOLS = JSON.parse(readFileSync(fixture('structured', 'tools.json'), 'utf8'));
/** The template the tiny engine is loaded with (a file: the CLI takes it with --chat-template). */
export const QWEN3_TEMPLATE = fixture('chat', 'templates', 'Qwen-Qwen3-0.6B.jinja');
/** Asked whole; 'list' is streamed ('numbers': SmolLM2 natively, below). */
const NAMES = ['person'];
const MESSAGES = [{ role: 'user', content: 'Describe a person as JSON.' }];
const SAMPLING = { temperature: 1, seed: 11, max_tokens: 120 };
const ajv = new Ajv({ allErrors: true });

/** The reply parses and validates against `schema` (ajv's errors in the message if not). */
function assertValid(text, schema, what) {
  let value;
  assert.doesNotThrow(() => {
    value = JSON.parse(text);
  }, `${what}: not JSON: ${JSON.stringify(text)}`);
  const validate = ajv.compile(schema);
  assert.ok(validate(value), `${what}: ${JSON.stringify(text)} fails its schema: ${ajv.errorsText(validate.errors)}`);
}

/** A schema written to a temporary file for the CLI's --json-schema. */
function schemaFile(name) {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-structured-'));
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(SCHEMAS[name]));
  return { file, done: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A real model already loaded in the page as `window[engine]` answers `prompt` (a user message
 * if `chat`) greedily under the schema set's `schema` ('compact': escaped enum strings, an
 * integer array, a nested object with a bounded string; 'short': an enum and a bounded integer):
 * the reply validates (ajv), ends by itself, and its prompt and reply ids equal the native CLI's
 * `--json-schema` reply. The schema's forced tokens (keys, quotes, colons) take no forward pass
 * of their own, which keeps this affordable on SwiftShader ('compact': ~30 tokens in ~10 passes).
 */
export async function assertRealModelJsonReply(page, { engine = 'engine', schema = 'compact', model, prompt, chat = false, chatTemplateFile = null }) {
  const maxTokens = 48;
  const got = await page.evaluate(
    async ({ engine, prompt, chat, schema, maxTokens }) => {
      const e = window[engine];
      const response_format = { type: 'json_schema', json_schema: { name: 'reply', schema, strict: true } };
      const common = { max_tokens: maxTokens, temperature: 0, response_format, return_token_ids: true };
      const r = chat
        ? await e.chat.completions.create({ messages: [{ role: 'user', content: prompt }], ...common })
        : await e.completions.create({ prompt, ...common });
      const c = r.choices[0];
      const text = chat ? c.message.content : c.text;
      return { text, ids: c.token_ids, promptIds: r.prompt_token_ids, finish: c.finish_reason, extra: r.usage.extra };
    },
    { engine, prompt, chat, schema: SCHEMAS[schema], maxTokens },
  );
  const what = `${model} ${JSON.stringify(prompt)}`;
  console.log(`${what}: json_schema '${schema}' reply ${JSON.stringify(got.text)}, ${got.ids.length} tokens in ${got.extra.decode_gpu_round_trips} decode round trips`);
  assert.equal(got.finish, 'stop', what);
  assertValid(got.text, SCHEMAS[schema], `${what} in the browser`);
  assert.ok(got.extra.decode_gpu_round_trips < got.ids.length / 2, `${what}: forced tokens were fed in batches`);
  const { file, done } = schemaFile(schema);
  const native = cliGenerate({ model, prompt, chat, chatTemplateFile, maxTokens, extraArgs: ['--json-schema', file, '--temperature', '0'] });
  done();
  assert.deepEqual(got.promptIds, native.prompt_ids, `${what}: the prompt's ids (chat template, tokenizer)`);
  assert.deepEqual(got.ids, native.ids, `${what}: the browser's ids equal the native CLI's`);
}

/** The tool a call names, and its arguments validated against that tool's parameters (ajv). */
function assertValidCall(call, what) {
  assert.equal(call.type, 'function', what);
  assert.match(call.id, /^call_[0-9a-f]{16}$/, what);
  const tool = TOOLS.find((t) => t.function.name === call.function.name);
  assert.ok(tool, `${what}: unknown tool ${call.function.name}`);
  assertValid(call.function.arguments, tool.function.parameters, `${what} arguments`);
  return tool.function.name;
}

/**
 * A streamed chat reply joined as an OpenAI client joins it: the content, and each call from its
 * `delta.tool_calls` pieces (the first with id, type and name; then more `arguments`).
 */
function joinToolCalls(chunks) {
  let content = '';
  let argumentPieces = 0;
  const calls = [];
  for (const chunk of chunks) {
    const delta = chunk.choices[0]?.delta ?? {};
    content += delta.content ?? '';
    for (const piece of delta.tool_calls ?? []) {
      if (piece.id !== undefined) {
        assert.equal(piece.index, calls.length, 'a call starts once, in order');
        assert.equal(piece.function.arguments, '', "a call's first piece has its name and no arguments yet");
        calls.push({ id: piece.id, type: piece.type, function: { name: piece.function.name, arguments: '' } });
      } else {
        assert.deepEqual(Object.keys(piece).sort(), ['function', 'index']);
        calls[piece.index].function.arguments += piece.function.arguments;
        argumentPieces++;
      }
    }
  }
  return { content, calls, argumentPieces };
}

/** Registers the tests; `ctx.page` is the page whose `tiny` engine they use. */
export function registerStructuredTests(ctx) {
  test('json_schema: replies validate (ajv) in the browser, streamed too, with the native CLI ids', async () => {
    const got = await ctx.page.evaluate(
      async ({ schemas, names, messages, sampling }) => {
        const out = {};
        for (const name of names) {
          const response_format = { type: 'json_schema', json_schema: { name, schema: schemas[name], strict: true } };
          const r = await tiny.chat.completions.create({ messages, ...sampling, response_format, return_token_ids: true });
          out[name] = { text: r.choices[0].message.content, ids: r.choices[0].token_ids, finish: r.choices[0].finish_reason, extra: r.usage.extra };
        }
        const response_format = { type: 'json_schema', json_schema: { name: 'list', schema: schemas.list } };
        let streamed = '';
        for await (const chunk of await tiny.chat.completions.create({ messages, ...sampling, response_format, stream: true })) {
          streamed += chunk.choices[0]?.delta?.content ?? '';
        }
        out.streamed = streamed;
        return out;
      },
      { schemas: SCHEMAS, names: NAMES, messages: MESSAGES, sampling: SAMPLING },
    );
    for (const name of NAMES) {
      assert.equal(got[name].finish, 'stop', name);
      assertValid(got[name].text, SCHEMAS[name], `browser ${name}`);
      // No penalties: the schema's forced tokens come without a mask or a pass of their own.
      assert.ok(got[name].extra.constraint.masks < got[name].ids.length - 8, `${name}: forced tokens need no mask`);
      assert.ok(got[name].extra.decode_gpu_round_trips < got[name].ids.length - 8, `${name}: forced tokens are fed in batches`);
    }
    assertValid(got.streamed, SCHEMAS.list, 'browser list (streamed)');
    console.log(`structured: mask median ${got.person.extra.constraint.mask_ms_median.toFixed(3)} ms (wasm, 49k vocabulary)`);

    // The native CLI, same seed and schema: the same ids (the wasm and native masks agree).
    const { file, done } = schemaFile('person');
    const native = cliGenerate({
      model: TINY_CHAT,
      prompt: MESSAGES[0].content,
      chat: true,
      chatTemplateFile: QWEN3_TEMPLATE,
      maxTokens: SAMPLING.max_tokens,
      extraArgs: ['--json-schema', file, '--temperature', '1', '--seed', String(SAMPLING.seed)],
    });
    done();
    assert.deepEqual(got.person.ids, native.ids);
  });

  test('json_object and the Lark / regex grammar extension hold in the browser', async () => {
    const got = await ctx.page.evaluate(async (messages) => {
      const ask = async (response_format, max_tokens) =>
        (await tiny.chat.completions.create({ messages, max_tokens, temperature: 1, seed: 5, response_format })).choices[0];
      return {
        regex: await ask({ type: 'grammar', grammar: { syntax: 'regex', definition: '[A-Z][a-z]{2,8} [0-9]{1,3}' } }, 16),
        lark: await ask({ type: 'grammar', grammar: { syntax: 'lark', definition: 'start: "x=" %json {"type": "integer", "minimum": 0, "maximum": 99}' } }, 12),
        object: await ask({ type: 'json_object' }, 12),
      };
    }, MESSAGES);
    assert.match(got.regex.message.content, /^[A-Z][a-z]{2,8} [0-9]{1,3}$/);
    assert.match(got.lark.message.content, /^x=(0|[1-9][0-9]?)$/);
    // Any object: the random weights do not close one within a few tokens, so only its start is
    // checked here (the schema tests check whole replies).
    assert.match(got.object.message.content, /^\{(\}$|")/);
  });

  test('bad schemas and grammars are InvalidArgumentErrors naming the field; the engine goes on', async () => {
    const got = await ctx.page.evaluate(async (messages) => {
      const refused = (response_format) =>
        tiny.chat.completions.create({ messages, max_tokens: 4, response_format }).then(() => null, describeError);
      return {
        schema: await refused({ type: 'json_schema', json_schema: { schema: { type: 'strnig' } } }),
        shape: await refused({ type: 'json_schema', schema: { type: 'object' } }),
        kind: await refused({ type: 'xml' }),
        lark: await refused({ type: 'grammar', grammar: { syntax: 'lark', definition: 'start: nowhere' } }),
        regex: await refused({ type: 'grammar', grammar: { syntax: 'regex', definition: '([a-z]' } }),
        after: (await tiny.chat.completions.create({ messages, max_tokens: 3 })).usage.completion_tokens,
      };
    }, MESSAGES);
    for (const [what, field] of [
      ['schema', 'response_format.json_schema.schema'],
      ['shape', 'response_format'],
      ['kind', 'response_format'],
      ['lark', 'response_format.grammar.definition'],
      ['regex', 'response_format.grammar.definition'],
    ]) {
      assert.ok(got[what]?.classes.includes('InvalidArgumentError'), `${what}: ${JSON.stringify(got[what])}`);
      assert.match(got[what].message, new RegExp(field.replaceAll('.', '\\.')), what);
    }
    assert.equal(got.after, 3);
  });

  test('tools: required and named calls come back as OpenAI tool_calls, streamed as the model writes them; a tool result goes back in', async () => {
    const got = await ctx.page.evaluate(
      async ({ messages, tools }) => {
        const base = { messages, tools, temperature: 1, seed: 3, max_tokens: 60 };
        const required = await tiny.chat.completions.create({ ...base, tool_choice: 'required' });
        // The same request streamed (same seed, same tokens), and a named call with at most one call.
        const streamed = [];
        const t0 = performance.now();
        for await (const c of await tiny.chat.completions.create({ ...base, tool_choice: 'required', stream: true })) streamed.push(c);
        const streamMs = performance.now() - t0;
        const chunks = [];
        const named = { type: 'function', function: { name: 'set_alarm' } };
        const single = { parallel_tool_calls: false };
        for await (const c of await tiny.chat.completions.create({ ...base, ...single, tool_choice: named, stream: true })) chunks.push(c);
        // The call goes back into the conversation with its result; the next turn renders them.
        const call = required.choices[0].message.tool_calls[0];
        const history = [
          ...messages,
          required.choices[0].message,
          { role: 'tool', tool_call_id: call.id, content: '{"temp": 21}' },
        ];
        const next = await tiny.chat.completions.create({ messages: history, tools, max_tokens: 2 });
        const counts = { plain: await tiny.countTokens(messages), tools: await tiny.countTokens(messages, { tools }) };
        return { required, streamed, streamMs, chunks, next: next.choices[0], counts };
      },
      { messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: TOOLS },
    );
    const choice = got.required.choices[0];
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.content, null);
    assert.equal(choice.message.tool_calls.length, 1);
    assertValidCall(choice.message.tool_calls[0], 'required');

    // Streamed: the call's pieces, joined by index as an OpenAI client joins them, are the
    // non-streamed reply's call (ids aside: each request draws its own); its arguments came in
    // several pieces as they were generated, and no <tool_call> markup as content.
    const joined = joinToolCalls(got.streamed);
    assert.deepEqual(
      joined.calls.map(({ type, function: f }) => ({ type, function: f })),
      choice.message.tool_calls.map(({ type, function: f }) => ({ type, function: f })),
    );
    assert.ok(joined.argumentPieces > 2, `arguments streamed in ${joined.argumentPieces} pieces`);
    console.log(`tools: the streamed call took ${got.streamMs.toFixed(0)} ms, its arguments in ${joined.argumentPieces} pieces`);
    assert.equal(joined.content, '', 'the stream shows no <tool_call> text');
    assert.equal(got.streamed.at(-1).choices[0].finish_reason, 'tool_calls');
    const named = joinToolCalls(got.chunks);
    assert.equal(named.content, '');
    assert.equal(named.calls.length, 1);
    assert.equal(assertValidCall(named.calls[0], 'streamed'), 'set_alarm');
    assert.equal(got.chunks.at(-1).choices[0].finish_reason, 'tool_calls');

    assert.equal(got.next.finish_reason, 'length', 'the turn after the tool result generates');
    assert.ok(got.counts.tools > got.counts.plain + 100, JSON.stringify(got.counts));
  });

  test('tools: bad tools, choices and tool messages are InvalidArgumentErrors naming the field', async () => {
    const got = await ctx.page.evaluate(async (tools) => {
      const messages = [{ role: 'user', content: 'Hi' }];
      const refused = (extra) =>
        tiny.chat.completions.create({ messages, max_tokens: 2, ...extra }).then(() => null, describeError);
      return {
        name: await refused({ tools: [{ type: 'function', function: { name: 'no spaces' } }] }),
        choice: await refused({ tools, tool_choice: { type: 'function', function: { name: 'missing' } } }),
        required: await refused({ tool_choice: 'required' }),
        both: await refused({ tools, tool_choice: 'required', response_format: { type: 'json_object' } }),
        toolMessage: await refused({ messages: [...messages, { role: 'tool', content: 'x' }] }),
        arguments: await refused({
          messages: [...messages, { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{oops' } }] }],
        }),
        completion: await tiny.completions.create({ prompt: 'x', tools }).then(() => null, describeError),
      };
    }, TOOLS);
    for (const [what, field] of [
      ['name', 'tools[0].function.name'],
      ['choice', 'tool_choice'],
      ['required', 'tool_choice'],
      ['both', 'response_format'],
      ['toolMessage', 'messages[1].tool_call_id'],
      ['arguments', 'arguments'],
      ['completion', 'tools'],
    ]) {
      assert.ok(got[what]?.classes.includes('InvalidArgumentError'), `${what}: ${JSON.stringify(got[what])}`);
      assert.ok(got[what].message.includes(field), `${what}: ${got[what].message}`);
    }
  });
}
