// A streaming chat on hearth-llm: the engine in a worker, OpenAI-shaped requests, the reply
// shown as it streams. `?model=URL` picks the GGUF (default: SmolLM2-135M-Instruct).
import { CreateWorkerEngine, HearthError } from 'hearth-llm';
import type { ChatCompletionRequestStreaming, ResponseFormat } from 'hearth-llm';

const DEFAULT_MODEL =
  'https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct-GGUF/resolve/main/smollm2-135m-instruct-q4_1.gguf';
const modelUrl = new URLSearchParams(location.search).get('model') ?? DEFAULT_MODEL;

/** "Reply in JSON": the reply is held to this schema token by token, so it always parses. */
const REPLY_FORMAT: ResponseFormat = {
  type: 'json_schema',
  json_schema: {
    name: 'reply',
    strict: true,
    schema: {
      type: 'object',
      properties: {
        answer: { type: 'string', maxLength: 40 },
        mood: { enum: ['happy', 'neutral', 'sad'] },
      },
      required: ['answer', 'mood'],
      additionalProperties: false,
    },
  },
};

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $<HTMLParagraphElement>('status');
const reply = $<HTMLPreElement>('reply');
const send = $<HTMLButtonElement>('send');

const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
const engine = await CreateWorkerEngine(worker);

try {
  await engine.load(modelUrl, {
    onProgress: ({ loadedBytes, totalBytes }) => {
      status.textContent = `loading the model… ${Math.round((100 * loadedBytes) / (totalBytes || 1))}%`;
    },
  });
  status.textContent = 'ready';
  send.disabled = false;
} catch (e) {
  status.textContent = e instanceof HearthError ? `${e.name}: ${e.message}` : String(e);
}

$<HTMLFormElement>('chat').addEventListener('submit', async (event) => {
  event.preventDefault();
  const content = $<HTMLInputElement>('message').value;
  const json = $<HTMLInputElement>('json').checked;
  send.disabled = true;
  status.textContent = 'generating';
  reply.textContent = '';
  const request: ChatCompletionRequestStreaming = {
    messages: [{ role: 'user', content }],
    max_tokens: 64,
    temperature: 0,
    stream: true,
    ...(json ? { response_format: REPLY_FORMAT } : {}),
  };
  try {
    for await (const chunk of await engine.chat.completions.create(request)) {
      reply.textContent += chunk.choices[0]?.delta.content ?? '';
    }
    status.textContent = 'ready';
  } catch (e) {
    status.textContent = e instanceof HearthError ? `${e.name}: ${e.message}` : String(e);
  } finally {
    send.disabled = false;
  }
});
