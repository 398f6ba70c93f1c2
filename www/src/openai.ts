// Requests in, OpenAI-shaped objects out: validation of the request fields the engine does not
// see, the body wasm gets, and the completion / chunk objects built from its result.

import { InvalidArgumentError } from './errors.js';
import type {
  ChatCompletion,
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
import type { WasmGenerateRequest, WasmGenerateResult } from './wasm_contract.js';

const SAMPLING_FIELDS: (keyof SamplingParams)[] = [
  'max_tokens',
  'temperature',
  'top_p',
  'top_k',
  'min_p',
  'seed',
  'stop',
  'presence_penalty',
  'frequency_penalty',
  'repetition_penalty',
  'logit_bias',
];
const ROLES = new Set(['system', 'user', 'assistant']);

/** Only the fields wasm knows, so OpenAI fields we do not use (user, tools: null...) pass quietly. */
function sampling(request: SamplingParams & { n?: number | undefined }): WasmGenerateRequest {
  if (request.n !== undefined && request.n !== null && request.n !== 1) {
    throw new InvalidArgumentError(`n = ${request.n}: Hearth generates one choice per request`);
  }
  const body: WasmGenerateRequest = {};
  for (const key of SAMPLING_FIELDS) {
    const value = request[key];
    if (value !== undefined && value !== null) (body as Record<string, unknown>)[key] = value;
  }
  return body;
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
function chatLogprobs(request: { logprobs?: boolean | null; top_logprobs?: number | null }): Partial<WasmGenerateRequest> {
  const { logprobs, top_logprobs: top } = request;
  if (logprobs !== undefined && logprobs !== null && typeof logprobs !== 'boolean') {
    throw new InvalidArgumentError(`logprobs = ${String(logprobs)}: must be true or false (chat); top_logprobs gives the count`);
  }
  if (top === undefined || top === null) return logprobs ? { logprobs: true } : {};
  const n = topLogprobsCount('top_logprobs', top);
  if (!logprobs) throw new InvalidArgumentError('top_logprobs needs logprobs: true');
  return { logprobs: true, top_logprobs: n };
}

export function chatBody(request: {
  messages: ChatMessage[];
  logprobs?: boolean | null;
  top_logprobs?: number | null;
} & SamplingParams & { n?: number }): WasmGenerateRequest {
  const { messages } = request;
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new InvalidArgumentError('messages must be a non-empty array of {role, content}');
  }
  messages.forEach((m, i) => {
    if (typeof m !== 'object' || m === null || !ROLES.has(m.role) || typeof m.content !== 'string') {
      throw new InvalidArgumentError(
        `messages[${i}] must be {role: 'system' | 'user' | 'assistant', content: string}`,
      );
    }
  });
  return {
    ...sampling(request),
    ...chatLogprobs(request),
    messages: messages.map((m) => ({ role: m.role, content: m.content })),
  };
}

export function completionBody(
  request: { prompt: string; logprobs?: number | null } & SamplingParams & { n?: number },
): WasmGenerateRequest {
  if (typeof request.prompt !== 'string') throw new InvalidArgumentError('prompt must be a string');
  // The legacy API's `logprobs` is the number of alternatives.
  const logprobs =
    request.logprobs === undefined || request.logprobs === null
      ? {}
      : { logprobs: true, top_logprobs: topLogprobsCount('logprobs', request.logprobs) };
  return { ...sampling(request), ...logprobs, prompt: request.prompt };
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
    const top: Record<string, number> = {};
    // Two ids with the same text (partial characters): the more likely one is kept.
    for (const t of e.top_logprobs) if (!(t.token in top)) top[t.token] = t.logprob;
    out.top_logprobs.push(top);
    out.text_offset.push(offset);
    offset += e.token.length;
  }
  return out;
}

/** Identity and timestamp shared by every object of one response. */
export interface ResponseHeader {
  id: string;
  created: number;
  model: string;
  withIds: boolean;
}

export function responseHeader(prefix: string, model: string, withIds: boolean): ResponseHeader {
  const random =
    typeof crypto !== 'undefined' && 'randomUUID' in crypto
      ? crypto.randomUUID().replaceAll('-', '')
      : Math.random().toString(36).slice(2);
  return { id: `${prefix}-${random}`, created: Math.floor(Date.now() / 1000), model, withIds };
}

export function usage(r: WasmGenerateResult): CompletionUsage {
  return {
    prompt_tokens: r.prompt_tokens,
    completion_tokens: r.completion_tokens,
    total_tokens: r.prompt_tokens + r.completion_tokens,
    extra: {
      prefill_tokens_per_s: r.prefill_tok_s,
      decode_tokens_per_s: r.decode_tok_s,
      decode_gpu_round_trips: r.decode_round_trips,
      time_to_first_token_ms: r.ttft_ms,
      gpu_round_trips: r.gpu.round_trips,
      gpu_bytes_read_back: r.gpu.bytes_read_back,
      host_encode_ms: r.gpu.encode_seconds * 1000,
      graphs_built: r.gpu.graphs_built,
    },
  };
}

export function chatCompletion(h: ResponseHeader, r: WasmGenerateResult): ChatCompletion {
  const out: ChatCompletion = {
    id: h.id,
    object: 'chat.completion',
    created: h.created,
    model: h.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: r.text },
        finish_reason: r.finish_reason,
        logprobs: chatLogprobsObject(r.logprobs),
      },
    ],
    usage: usage(r),
  };
  if (h.withIds) {
    out.choices[0]!.token_ids = r.ids;
    out.prompt_token_ids = r.prompt_ids;
  }
  return out;
}

export function chatChunk(
  h: ResponseHeader,
  delta: { role?: 'assistant'; content?: string },
  end: WasmGenerateResult | null,
  logprobs: ChatCompletionLogprobs | null = null,
): ChatCompletionChunk {
  const out: ChatCompletionChunk = {
    id: h.id,
    object: 'chat.completion.chunk',
    created: h.created,
    model: h.model,
    choices: [{ index: 0, delta, finish_reason: end ? end.finish_reason : null, logprobs }],
    usage: end ? usage(end) : null,
  };
  if (end && h.withIds) {
    out.choices[0]!.token_ids = end.ids;
    out.prompt_token_ids = end.prompt_ids;
  }
  return out;
}

/** A whole raw completion (end given) or one streamed piece of it (end null). */
export function textCompletion(
  h: ResponseHeader,
  text: string,
  end: WasmGenerateResult | null,
  logprobs: CompletionLogprobs | null = null,
): Completion {
  const finish: FinishReason | null = end ? end.finish_reason : null;
  const out: Completion = {
    id: h.id,
    object: 'text_completion',
    created: h.created,
    model: h.model,
    choices: [{ index: 0, text, finish_reason: finish, logprobs }],
    usage: end ? usage(end) : null,
  };
  if (end && h.withIds) {
    out.choices[0]!.token_ids = end.ids;
    out.prompt_token_ids = end.prompt_ids;
  }
  return out;
}
