// The OpenAI-shaped engine API, written once over a Backend: the in-thread Engine and the
// WorkerEngine differ only in where the backend runs.

import type { Backend, RuntimeStats } from './backend.js';
import { AbortError, abortMessage } from './errors.js';
import {
  type ResponseHeader,
  chatBody,
  chatChunk,
  chatCompletion,
  chatLogprobsObject,
  chatUsageChunk,
  chunkToolCall,
  completionBody,
  completionLogprobsObject,
  responseHeader,
  textCompletion,
  textUsageChunk,
  tokenArrived,
  toolFields,
  wireMessages,
} from './openai.js';
import { PushIterator } from './push_iterator.js';
import type {
  AdapterInfo,
  ChatCompletion,
  ChatCompletionTool,
  ChatCompletionToolChoice,
  ChatMessage,
  ChatCompletionChunk,
  ChatCompletionRequest,
  Completion,
  CompletionChunk,
  CompletionRequest,
  EngineInterface,
  LoadOptions,
  ModelInfo,
  ModelPlan,
  ModelSource,
  PlanOptions,
} from './types.js';
import type { GenerateRequest, GenerateResult, StreamPiece } from './generated/wire.js';

export class EngineBase implements EngineInterface {
  private info: ModelInfo | null = null;

  readonly chat: EngineInterface['chat'];
  readonly completions: EngineInterface['completions'];

  constructor(protected readonly backend: Backend) {
    this.chat = {
      completions: { create: ((r: ChatCompletionRequest) => this.createChat(r)) as EngineInterface['chat']['completions']['create'] },
    };
    this.completions = {
      create: ((r: CompletionRequest) => this.createCompletion(r)) as EngineInterface['completions']['create'],
    };
  }

  get modelInfo(): ModelInfo | null {
    return this.info;
  }

  /** Resolves once WebGPU and the wasm are ready; rejects with WebGPUUnavailableError. */
  ready(): Promise<void> {
    return this.backend.ready();
  }

  adapterInfo(): Promise<AdapterInfo> {
    return this.backend.adapterInfo();
  }

  async load(source: ModelSource, options: LoadOptions = {}): Promise<ModelInfo> {
    this.info = null; // a failed load leaves no model loaded (the old one is dropped first)
    this.info = await this.backend.load(source, options);
    return this.info;
  }

  /**
   * What loading `source` would take on this GPU (weights, KV cache at the context asked
   * for, activations) and whether it fits, from the file's header alone: a URL's first MBs
   * by HTTP Range requests (or the cache). Null when the server cannot send part of the file.
   */
  plan(source: ModelSource, options: PlanOptions = {}): Promise<ModelPlan | null> {
    return this.backend.plan(source, options);
  }

  async unload(): Promise<void> {
    this.info = null;
    await this.backend.unload();
  }

  /**
   * Test hook: loses the GPU device now, as a driver reset or a phone reclaiming a background
   * tab's GPU would. The running request fails with DeviceLostError; the next one runs on a
   * new device with the model loaded again (from the cache for a URL).
   */
  debugLoseDevice(): void {
    this.backend.loseDevice();
  }

  interrupt(): void {
    this.backend.interrupt();
  }

  /**
   * The tokens a prompt takes: a string as a completion prompt would be tokenised (BOS as the
   * model says), messages as a chat request renders them (the model's template with the
   * generation prompt). A request fits when this plus its max_tokens is within
   * `modelInfo.n_ctx`; otherwise it fails with ContextWindowExceededError.
   */
  countTokens(
    input: string | ChatMessage[],
    tools: { tools?: ChatCompletionTool[] | null; tool_choice?: ChatCompletionToolChoice | null } = {},
  ): Promise<number> {
    if (typeof input === 'string') return this.backend.countTokens({ prompt: input });
    try {
      return this.backend.countTokens({ messages: wireMessages(input), ...toolFields(tools) });
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Memory figures for diagnostics (e.g. peak wasm heap while loading). */
  stats(): Promise<RuntimeStats> {
    return this.backend.stats();
  }

  dispose(): void {
    this.info = null;
    this.backend.dispose();
  }

  /** OpenAI echoes the request's `model`; without one, the loaded model's name. */
  private modelName(request: { model?: string | null | undefined }): string {
    return String(request.model ?? this.info?.name ?? 'hearth');
  }

  private header(prefix: string, request: ChatCompletionRequest | CompletionRequest, arrival: number): ResponseHeader {
    const usageChunk = request.stream === true && request.stream_options?.include_usage === true;
    return responseHeader(prefix, this.modelName(request), request.return_token_ids === true, arrival, usageChunk);
  }

  private async createChat(
    request: ChatCompletionRequest,
  ): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>> {
    const arrival = performance.now();
    const body = chatBody(request);
    const header = this.header('chatcmpl', request, arrival);
    if (!request.stream) {
      return chatCompletion(header, await this.backend.generate(body, () => tokenArrived(header), request.signal));
    }
    let first = true;
    return this.stream<ChatCompletionChunk>(body, request.signal, header, {
      // Content, and the calls' pieces as the model writes them (OpenAI's delta.tool_calls).
      piece: ({ text, logprobs, tool_calls }) => {
        const delta: ChatCompletionChunk['choices'][0]['delta'] = first ? { role: 'assistant', content: text } : { content: text };
        if (tool_calls.length) delta.tool_calls = tool_calls.map(chunkToolCall);
        first = false;
        return chatChunk(header, delta, null, chatLogprobsObject(logprobs && [logprobs]));
      },
      end: (result) => chatChunk(header, first ? { role: 'assistant', content: '' } : {}, result),
      usage: (result) => chatUsageChunk(header, result),
    });
  }

  private async createCompletion(request: CompletionRequest): Promise<Completion | AsyncIterable<CompletionChunk>> {
    const arrival = performance.now();
    const body = completionBody(request);
    const header = this.header('cmpl', request, arrival);
    if (!request.stream) {
      const result = await this.backend.generate(body, () => tokenArrived(header), request.signal);
      return textCompletion(header, result.text, result, completionLogprobsObject(result.logprobs));
    }
    let offset = 0;
    return this.stream<CompletionChunk>(body, request.signal, header, {
      piece: ({ text, logprobs }) => {
        const chunk = textCompletion(header, text, null, completionLogprobsObject(logprobs && [logprobs], offset));
        offset += logprobs?.token.length ?? 0;
        return chunk;
      },
      end: (result) => textCompletion(header, '', result),
      usage: (result) => textUsageChunk(header, result),
    });
  }

  /**
   * Starts a generation (queued) and returns its chunks as an async iterator: one chunk per
   * piece of text as wasm finalises it, then a last chunk with finish_reason and usage.
   * Leaving the `for await` early stops the generation; the user's signal ends the iterator
   * at once with AbortError (chunks produced but not yet read are dropped: greedy decoding
   * makes up to 16 tokens per GPU round trip, and the worker sees the abort between two).
   */
  private stream<T>(
    body: GenerateRequest,
    userSignal: AbortSignal | undefined,
    header: ResponseHeader,
    make: {
      piece: (piece: StreamPiece) => T;
      end: (result: GenerateResult) => T;
      usage: (result: GenerateResult) => T;
    },
  ): AsyncIterable<T> {
    const own = new AbortController();
    const chunks = new PushIterator<T>(() => own.abort(new AbortError('the stream was closed by its reader')));
    const forward = () => {
      own.abort(userSignal?.reason);
      chunks.abort(new AbortError(abortMessage(userSignal!)));
    };
    if (userSignal?.aborted) forward();
    userSignal?.addEventListener('abort', forward, { once: true });
    this.backend
      .generate(
        body,
        (piece) => {
          tokenArrived(header);
          // wasm reports the first token even before it has text (to time it): no chunk for that.
          if (piece.text || piece.logprobs || piece.tool_calls.length) chunks.push(make.piece(piece));
        },
        own.signal,
      )
      .then(
        (result) => {
          chunks.push(make.end(result));
          if (header.usageChunk) chunks.push(make.usage(result));
          chunks.end();
        },
        (error: unknown) => {
          chunks.fail(userSignal?.aborted ? new AbortError(abortMessage(userSignal)) : error);
        },
      )
      .finally(() => userSignal?.removeEventListener('abort', forward));
    return chunks;
  }
}
