// Requests in, OpenAI-shaped objects out: validation of the request fields the engine does not
// see, the body wasm gets, and the completion / chunk objects built from its result.

import { InvalidArgumentError } from './errors.js';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatMessage,
  Completion,
  CompletionUsage,
  FinishReason,
  SamplingParams,
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

export function chatBody(request: {
  messages: ChatMessage[];
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
  return { ...sampling(request), messages: messages.map((m) => ({ role: m.role, content: m.content })) };
}

export function completionBody(request: { prompt: string } & SamplingParams & { n?: number }): WasmGenerateRequest {
  if (typeof request.prompt !== 'string') throw new InvalidArgumentError('prompt must be a string');
  return { ...sampling(request), prompt: request.prompt };
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
        logprobs: null,
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
): ChatCompletionChunk {
  const out: ChatCompletionChunk = {
    id: h.id,
    object: 'chat.completion.chunk',
    created: h.created,
    model: h.model,
    choices: [{ index: 0, delta, finish_reason: end ? end.finish_reason : null, logprobs: null }],
    usage: end ? usage(end) : null,
  };
  if (end && h.withIds) {
    out.choices[0]!.token_ids = end.ids;
    out.prompt_token_ids = end.prompt_ids;
  }
  return out;
}

/** A whole raw completion (end given) or one streamed piece of it (end null). */
export function textCompletion(h: ResponseHeader, text: string, end: WasmGenerateResult | null): Completion {
  const finish: FinishReason | null = end ? end.finish_reason : null;
  const out: Completion = {
    id: h.id,
    object: 'text_completion',
    created: h.created,
    model: h.model,
    choices: [{ index: 0, text, finish_reason: finish, logprobs: null }],
    usage: end ? usage(end) : null,
  };
  if (end && h.withIds) {
    out.choices[0]!.token_ids = end.ids;
    out.prompt_token_ids = end.prompt_ids;
  }
  return out;
}
