// Which fields of an OpenAI request Hearth takes. Every field is one of: passed to the engine,
// read by the package, bookkeeping that cannot change the output (ignored), or refused with an
// InvalidArgumentError naming it. Refusing beats dropping: a request for JSON output or tool
// calls that silently got plain text would look like a model failure, and a misspelt field
// would look like a sampler bug. `null` means "not given", as in OpenAI's API.

import { InvalidArgumentError } from './errors.js';

export type RequestKind = 'chat' | 'completion';

/** Sampling fields the engine (wasm's SamplingParams) takes as they are. */
export const SAMPLING_FIELDS = [
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
  'penalty_last_n',
  'logit_bias',
  'stop_token_ids',
  'response_format',
] as const;

/** Fields the package reads itself (and turns into engine fields where needed). */
const PACKAGE_FIELDS: Record<RequestKind, readonly string[]> = {
  chat: ['messages', 'logprobs', 'top_logprobs', 'max_completion_tokens', 'tools', 'tool_choice', 'parallel_tool_calls'],
  completion: ['prompt', 'logprobs'],
};
const COMMON_FIELDS = ['model', 'n', 'stream', 'stream_options', 'signal', 'return_token_ids'];

/** OpenAI bookkeeping with no effect on the text (storage, billing, abuse tracking). */
const IGNORED_FIELDS = ['user', 'store', 'metadata', 'service_tier', 'safety_identifier', 'prompt_cache_key'];

/**
 * OpenAI features Hearth does not implement, accepted only at the value that asks for nothing
 * (`undefined` here: any non-null value is refused).
 */
const UNSUPPORTED: Record<string, ((value: unknown) => boolean) | undefined> = {
  functions: undefined,
  function_call: (v) => v === 'none',
  audio: undefined,
  modalities: (v) => Array.isArray(v) && v.length === 1 && v[0] === 'text',
  prediction: undefined,
  web_search_options: undefined,
  reasoning_effort: undefined,
  verbosity: undefined,
  echo: (v) => v === false,
  best_of: (v) => v === 1,
  suffix: undefined,
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Throws InvalidArgumentError for the first field of `request` Hearth does not take. */
export function checkFields(request: object, kind: RequestKind): void {
  const known = new Set<string>([...SAMPLING_FIELDS, ...PACKAGE_FIELDS[kind], ...COMMON_FIELDS, ...IGNORED_FIELDS]);
  for (const [field, value] of Object.entries(request)) {
    if (value === undefined || value === null || known.has(field)) continue;
    if (field in UNSUPPORTED) {
      if (UNSUPPORTED[field]?.(value)) continue;
      throw new InvalidArgumentError(`${field} is not supported by Hearth (${describe(field)})`);
    }
    const other = PACKAGE_FIELDS[kind === 'chat' ? 'completion' : 'chat'].includes(field);
    throw new InvalidArgumentError(
      other
        ? `${field} is a field of ${kind === 'chat' ? 'completions' : 'chat completions'} requests, not of this one`
        : `unknown request field ${field}`,
    );
  }
  checkStreamOptions(request as { stream?: unknown; stream_options?: unknown });
}

function describe(field: string): string {
  switch (field) {
    case 'functions':
    case 'function_call':
      return "the deprecated functions API; use tools and tool_choice";
    default:
      return 'not implemented';
  }
}

/** OpenAI's `stream_options`: only with `stream: true`, and only `include_usage`. */
function checkStreamOptions(request: { stream?: unknown; stream_options?: unknown }): void {
  const options = request.stream_options;
  if (options === undefined || options === null) return;
  if (request.stream !== true) throw new InvalidArgumentError('stream_options is only allowed with stream: true');
  if (!isRecord(options)) throw new InvalidArgumentError('stream_options must be an object');
  for (const [key, value] of Object.entries(options)) {
    if (key !== 'include_usage') throw new InvalidArgumentError(`stream_options.${key} is not supported by Hearth`);
    if (value !== undefined && value !== null && typeof value !== 'boolean') {
      throw new InvalidArgumentError(`stream_options.include_usage = ${String(value)}: must be true or false`);
    }
  }
}
