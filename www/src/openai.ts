// Requests in, OpenAI-shaped objects out: validation of the request fields the engine does not
// see, the body wasm gets, and the completion / chunk objects built from its result.

import { InvalidArgumentError } from './errors.js';
import { type RequestKind, SAMPLING_FIELDS, checkFields } from './request_fields.js';
import type { ChatMessage as WireMessage, GenerateRequest, GenerateResult, ToolCallDelta } from './generated/wire.js';
import type {
  ChatCompletion,
  ChatCompletionChunkToolCall,
  ChatCompletionMessageToolCall,
  ChatCompletionTool,
  ChatCompletionToolChoice,
  ChatCompletionChunk,
  ChatCompletionLogprobs,
  ChatMessage,
  Completion,
  CompletionLogprobs,
  CompletionUsage,
  FinishReason,
  SamplingParams,
  TokenLogprob,
} from './types.js';


/** The engine's sampling fields, after `checkFields` refused what Hearth does not take. */
function sampling(request: SamplingParams & { n?: number | null }, kind: RequestKind): GenerateRequest {
  checkFields(request, kind);
  if (request.n !== undefined && request.n !== null && request.n !== 1) {
    throw new InvalidArgumentError(`n = ${request.n}: Hearth generates one choice per request`);
  }
  const body: GenerateRequest = {};
  for (const key of SAMPLING_FIELDS) {
    const value = request[key];
    if (value !== undefined && value !== null) (body as Record<string, unknown>)[key] = value;
  }
  return body;
}

/** Chat's `max_completion_tokens` is OpenAI's newer name for `max_tokens`. */
function maxCompletionTokens(request: { max_tokens?: number | null; max_completion_tokens?: number | null }): Partial<GenerateRequest> {
  const { max_tokens: old, max_completion_tokens: value } = request;
  if (value === undefined || value === null) return {};
  if (old !== undefined && old !== null && old !== value) {
    throw new InvalidArgumentError(`max_tokens = ${old} and max_completion_tokens = ${value} disagree: give one`);
  }
  return { max_tokens: value };
}

/** The most alternatives `top_logprobs` (chat) or `logprobs` (completions) may ask for, as OpenAI. */
const MAX_TOP_LOGPROBS = 20;

function topLogprobsCount(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_TOP_LOGPROBS) {
    throw new InvalidArgumentError(`${field} = ${String(value)}: must be an integer from 0 to ${MAX_TOP_LOGPROBS}`);
  }
  return value;
}

/** Chat's `logprobs: boolean` and `top_logprobs: 0..20`, checked, for wasm. */
function chatLogprobs(request: { logprobs?: boolean | null; top_logprobs?: number | null }): Partial<GenerateRequest> {
  const { logprobs, top_logprobs: top } = request;
  if (logprobs !== undefined && logprobs !== null && typeof logprobs !== 'boolean') {
    throw new InvalidArgumentError(`logprobs = ${String(logprobs)}: must be true or false (chat); top_logprobs gives the count`);
  }
  if (top === undefined || top === null) return logprobs ? { logprobs: true } : {};
  const n = topLogprobsCount('top_logprobs', top);
  if (!logprobs) {
    if (n === 0) return {};
    throw new InvalidArgumentError('top_logprobs needs logprobs: true');
  }
  return { logprobs: true, top_logprobs: n };
}

export function chatBody(request: {
  messages: ChatMessage[];
  logprobs?: boolean | null;
  top_logprobs?: number | null;
  max_completion_tokens?: number | null;
  tools?: ChatCompletionTool[] | null;
  tool_choice?: ChatCompletionToolChoice | null;
  parallel_tool_calls?: boolean | null;
} & SamplingParams & { n?: number | null }): GenerateRequest {
  const body = sampling(request, 'chat');
  return {
    ...body,
    ...maxCompletionTokens(request),
    ...chatLogprobs(request),
    ...toolFields(request),
    messages: wireMessages(request.messages),
  };
}

/** `tools`, `tool_choice` and `parallel_tool_calls` for wasm, which checks them against the chat template. */
export function toolFields(request: {
  tools?: unknown;
  tool_choice?: unknown;
  parallel_tool_calls?: unknown;
}): Pick<GenerateRequest, 'tools' | 'tool_choice' | 'parallel_tool_calls'> {
  const out: Pick<GenerateRequest, 'tools' | 'tool_choice' | 'parallel_tool_calls'> = {};
  if (request.tools !== undefined && request.tools !== null) {
    if (!Array.isArray(request.tools)) throw new InvalidArgumentError('tools must be an array of {type: "function", function}');
    out.tools = request.tools;
  }
  if (request.tool_choice !== undefined && request.tool_choice !== null) out.tool_choice = request.tool_choice;
  const parallel = request.parallel_tool_calls;
  if (parallel !== undefined && parallel !== null) {
    if (typeof parallel !== 'boolean') throw new InvalidArgumentError(`parallel_tool_calls = ${String(parallel)}: must be true or false`);
    out.parallel_tool_calls = parallel;
  }
  return out;
}

/** Checked chat messages as wasm takes them (chat requests and countTokens share this). */
export function wireMessages(messages: ChatMessage[]): WireMessage[] {
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new InvalidArgumentError('messages must be a non-empty array of {role, content}');
  }
  return messages.map((m, i) => wireMessage(m, i));
}

const TEXT_ROLES = new Set(['system', 'user']);

function wireMessage(m: ChatMessage, i: number): WireMessage {
  const shape =
    "{role: 'system' | 'user' | 'assistant', content: string}, {role: 'assistant', content: string | null, tool_calls}" +
    " or {role: 'tool', content: string, tool_call_id}";
  if (typeof m !== 'object' || m === null) throw new InvalidArgumentError(`messages[${i}] must be ${shape}`);
  if (TEXT_ROLES.has(m.role) && typeof m.content === 'string') return { role: m.role, content: m.content };
  if (m.role === 'tool' && typeof m.content === 'string') {
    if (typeof m.tool_call_id !== 'string') throw new InvalidArgumentError(`messages[${i}].tool_call_id must be a string`);
    return { role: 'tool', content: m.content, tool_call_id: m.tool_call_id, ...(typeof m.name === 'string' ? { name: m.name } : {}) };
  }
  if (m.role === 'assistant') {
    const calls = m.tool_calls ?? [];
    if (!Array.isArray(calls)) throw new InvalidArgumentError(`messages[${i}].tool_calls must be an array`);
    if (typeof m.content !== 'string' && !(m.content === null && calls.length > 0)) {
      throw new InvalidArgumentError(`messages[${i}].content must be a string (null only with tool_calls)`);
    }
    const toolCalls = calls.map((c, j) => {
      const at = `messages[${i}].tool_calls[${j}]`;
      if (typeof c?.function?.name !== 'string' || typeof c.function.arguments !== 'string') {
        throw new InvalidArgumentError(`${at} must be {id, type: 'function', function: {name, arguments: JSON string}}`);
      }
      return { ...(typeof c.id === 'string' ? { id: c.id } : {}), type: 'function' as const, function: { name: c.function.name, arguments: c.function.arguments } };
    });
    return { role: 'assistant', content: m.content, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) };
  }
  throw new InvalidArgumentError(`messages[${i}] must be ${shape}`);
}

/** The reply's tool calls as OpenAI returns them (`arguments` the JSON text the model wrote); none: undefined. */
export function toolCalls(r: GenerateResult): ChatCompletionMessageToolCall[] | undefined {
  if (!r.tool_calls?.length) return undefined;
  return r.tool_calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } }));
}

/** A streamed call piece as OpenAI's `delta.tool_calls[]` has it: id, type and name on a call's first. */
export function chunkToolCall(d: ToolCallDelta): ChatCompletionChunkToolCall {
  if (d.name === null) return { index: d.index, function: { arguments: d.arguments } };
  return { index: d.index, id: d.id ?? '', type: 'function', function: { name: d.name, arguments: d.arguments } };
}

export function completionBody(
  request: { prompt: string; logprobs?: number | null } & SamplingParams & { n?: number | null },
): GenerateRequest {
  const body = sampling(request, 'completion');
  if (typeof request.prompt !== 'string') throw new InvalidArgumentError('prompt must be a string');
  // The legacy API's `logprobs` is the number of alternatives.
  const logprobs =
    request.logprobs === undefined || request.logprobs === null
      ? {}
      : { logprobs: true, top_logprobs: topLogprobsCount('logprobs', request.logprobs) };
  return { ...body, ...logprobs, prompt: request.prompt };
}

/** Chat's `logprobs` object for some tokens' entries (null when none were asked for). */
export function chatLogprobsObject(entries: TokenLogprob[] | null | undefined): ChatCompletionLogprobs | null {
  return entries ? { content: entries, refusal: null } : null;
}

/**
 * The legacy completions `logprobs` object for some tokens' entries; `offset` is where the
 * first token's text starts in the completion (the offsets follow the tokens' own text).
 */
export function completionLogprobsObject(
  entries: TokenLogprob[] | null | undefined,
  offset = 0,
): CompletionLogprobs | null {
  if (!entries) return null;
  const out: CompletionLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
  for (const e of entries) {
    out.tokens.push(e.token);
    out.token_logprobs.push(e.logprob);
    // Two ids with the same text (partial characters): the more likely one is kept. A Map,
    // then fromEntries: tokens such as "constructor" or "__proto__" stay plain own keys.
    const top = new Map<string, number>();
    for (const t of e.top_logprobs) if (!top.has(t.token)) top.set(t.token, t.logprob);
    out.top_logprobs.push(Object.fromEntries(top));
    out.text_offset.push(offset);
    offset += e.token.length;
  }
  return out;
}

/** Identity, timing and options shared by every object of one response. */
export interface ResponseHeader {
  id: string;
  created: number;
  model: string;
  withIds: boolean;
  /** `stream_options.include_usage`: usage goes in a last chunk of its own, with no choices. */
  usageChunk: boolean;
  /** performance.now() when the request arrived, and when its first token came back. */
  arrival: number;
  firstToken: number | null;
}

export function responseHeader(
  prefix: string,
  model: string,
  withIds: boolean,
  arrival = performance.now(),
  usageChunk = false,
): ResponseHeader {
  const random =
    typeof crypto !== 'undefined' && 'randomUUID' in crypto
      ? crypto.randomUUID().replaceAll('-', '')
      : Math.random().toString(36).slice(2);
  return {
    id: `${prefix}-${random}`,
    created: Math.floor(Date.now() / 1000),
    model,
    withIds,
    usageChunk,
    arrival,
    firstToken: null,
  };
}

/** Notes that a token came back (the first one sets the time to first token). */
export function tokenArrived(h: ResponseHeader): void {
  h.firstToken ??= performance.now();
}

/**
 * Time to first token as a user sees it: from the request's arrival (queueing behind other
 * requests, the chat template, tokenisation, the prefill and the worker hop included).
 */
export function usage(h: ResponseHeader, r: GenerateResult): CompletionUsage {
  return {
    prompt_tokens: r.prompt_tokens,
    completion_tokens: r.completion_tokens,
    total_tokens: r.prompt_tokens + r.completion_tokens,
    extra: {
      prefill_tokens_per_s: r.prefill_tok_s,
      decode_tokens_per_s: r.decode_tok_s,
      decode_gpu_round_trips: r.decode_round_trips,
      time_to_first_token_ms: (h.firstToken ?? performance.now()) - h.arrival,
      prefill_ms: r.prefill_ms,
      gpu_round_trips: r.gpu.round_trips,
      gpu_bytes_read_back: r.gpu.bytes_read_back,
      host_encode_ms: r.gpu.encode_seconds * 1000,
      graphs_built: r.gpu.graphs_built,
      ...(r.constraint ? { constraint: r.constraint } : {}),
    },
  };
}

/** The reply as an assistant message: with tool calls, content is null when there is none. */
function chatMessage(r: GenerateResult): ChatCompletion['choices'][0]['message'] {
  const calls = toolCalls(r);
  return calls ? { role: 'assistant', content: r.text || null, tool_calls: calls } : { role: 'assistant', content: r.text };
}

export function chatCompletion(h: ResponseHeader, r: GenerateResult): ChatCompletion {
  const out: ChatCompletion = {
    id: h.id,
    object: 'chat.completion',
    created: h.created,
    model: h.model,
    choices: [
      {
        index: 0,
        message: chatMessage(r),
        finish_reason: r.finish_reason,
        logprobs: chatLogprobsObject(r.logprobs),
      },
    ],
    usage: usage(h, r),
  };
  if (h.withIds) {
    out.choices[0]!.token_ids = r.ids;
    out.prompt_token_ids = r.prompt_ids;
  }
  return out;
}

/** A streamed piece (end null) or the finishing chunk (end given: finish_reason, and usage unless `h.usageChunk`). */
export function chatChunk(
  h: ResponseHeader,
  delta: ChatCompletionChunk['choices'][0]['delta'],
  end: GenerateResult | null,
  logprobs: ChatCompletionLogprobs | null = null,
): ChatCompletionChunk {
  const out: ChatCompletionChunk = {
    id: h.id,
    object: 'chat.completion.chunk',
    created: h.created,
    model: h.model,
    choices: [{ index: 0, delta, finish_reason: end ? end.finish_reason : null, logprobs }],
    usage: end && !h.usageChunk ? usage(h, end) : null,
  };
  if (end && h.withIds) {
    out.choices[0]!.token_ids = end.ids;
    out.prompt_token_ids = end.prompt_ids;
  }
  return out;
}

/** OpenAI's `include_usage` chunk: after the finishing one, no choices, the usage. */
export function chatUsageChunk(h: ResponseHeader, r: GenerateResult): ChatCompletionChunk {
  return { id: h.id, object: 'chat.completion.chunk', created: h.created, model: h.model, choices: [], usage: usage(h, r) };
}

/** A whole raw completion (end given) or one streamed piece of it (end null). */
export function textCompletion(
  h: ResponseHeader,
  text: string,
  end: GenerateResult | null,
  logprobs: CompletionLogprobs | null = null,
): Completion {
  const finish: FinishReason | null = end ? end.finish_reason : null;
  const out: Completion = {
    id: h.id,
    object: 'text_completion',
    created: h.created,
    model: h.model,
    choices: [{ index: 0, text, finish_reason: finish, logprobs }],
    usage: end && !h.usageChunk ? usage(h, end) : null,
  };
  if (end && h.withIds) {
    out.choices[0]!.token_ids = end.ids;
    out.prompt_token_ids = end.prompt_ids;
  }
  return out;
}

/** `include_usage` for streamed raw completions. */
export function textUsageChunk(h: ResponseHeader, r: GenerateResult): Completion {
  return { id: h.id, object: 'text_completion', created: h.created, model: h.model, choices: [], usage: usage(h, r) };
}
