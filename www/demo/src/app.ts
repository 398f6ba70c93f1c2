// The Hearth demo: a chat page on the hearth-llm package. The engine runs in a Web Worker
// (worker.ts) so the page stays responsive; weights are cached by the package (Cache API)
// and the app shell by the service worker (sw.ts), so after one visit it works offline.
//
// `document.body.dataset.state` says where the page is ('starting', 'no-webgpu', 'idle',
// 'loading', 'ready', 'generating', 'load-error'): people see it in the UI, tests wait on it.

import {
  CreateWorkerEngine,
  checkWebGPU,
  deleteModelFromCache,
  hasModelInCache,
  listCachedModels,
  type ChatMessage,
  type LoadProgress,
  type ModelInfo,
  type ModelSource,
  type WorkerEngine,
} from 'hearth-llm';
import { fitConversation } from './context_policy.js';
import { renderMarkdown } from './markdown.js';

const params = new URLSearchParams(location.search);
/** The default model: served next to the demo (scripts/demo.sh), or `?model=URL`. */
const DEFAULT_MODEL = new URL(params.get('model') ?? 'models/smollm2-135m-instruct-q4_1.gguf', location.href).href;
const LAST_MODEL_KEY = 'hearth-demo:last-model';
/** `?ctx=N`: the context length to load models with (default: the package's). */
const CONTEXT_LENGTH = params.has('ctx') ? Number(params.get('ctx')) : undefined;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  device: $<HTMLSpanElement>('device'),
  settingsToggle: $<HTMLButtonElement>('settings-toggle'),
  settings: $<HTMLElement>('settings'),
  modelForm: $<HTMLFormElement>('model-form'),
  modelChoice: $<HTMLSelectElement>('model-choice'),
  modelUrl: $<HTMLInputElement>('model-url'),
  loadButton: $<HTMLButtonElement>('load-button'),
  modelFile: $<HTMLInputElement>('model-file'),
  progress: $<HTMLDivElement>('progress'),
  progressBar: $<HTMLProgressElement>('progress-bar'),
  progressText: $<HTMLSpanElement>('progress-text'),
  modelStatus: $<HTMLParagraphElement>('model-status'),
  error: $<HTMLParagraphElement>('error'),
  storage: $<HTMLSpanElement>('storage'),
  cacheList: $<HTMLUListElement>('cache-list'),
  temperature: $<HTMLInputElement>('temperature'),
  topP: $<HTMLInputElement>('top-p'),
  maxTokens: $<HTMLInputElement>('max-tokens'),
  systemPrompt: $<HTMLTextAreaElement>('system-prompt'),
  clearChat: $<HTMLButtonElement>('clear-chat'),
  chat: $<HTMLElement>('chat'),
  composer: $<HTMLFormElement>('composer'),
  prompt: $<HTMLTextAreaElement>('prompt'),
  send: $<HTMLButtonElement>('send'),
  stop: $<HTMLButtonElement>('stop'),
};

type PageState = 'starting' | 'no-webgpu' | 'idle' | 'loading' | 'ready' | 'generating' | 'load-error';

let engine: WorkerEngine | null = null;
let model: ModelInfo | null = null;
let history: ChatMessage[] = [];

function setState(state: PageState): void {
  document.body.dataset.state = state;
  const generating = state === 'generating';
  const canChat = model !== null && (state === 'ready' || generating);
  ui.prompt.disabled = !canChat;
  ui.prompt.placeholder = canChat ? 'Message (Enter sends, Shift+Enter for a new line)' : 'Load a model to start';
  ui.send.disabled = !canChat || generating;
  ui.stop.disabled = !generating;
  const canLoad = engine !== null && state !== 'loading' && !generating;
  ui.loadButton.disabled = !canLoad;
  ui.modelFile.disabled = !canLoad;
}

function showError(message: string | null): void {
  ui.error.hidden = message === null;
  ui.error.textContent = message ?? '';
}

/** "ModelFormatError: ..." for the package's typed errors, the message otherwise. */
function describe(error: unknown): string {
  if (error instanceof Error) return error.name && error.name !== 'Error' ? `${error.name}: ${error.message}` : error.message;
  return String(error);
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0)} MB`;
}

// ---- model loading -------------------------------------------------------------------

const PHASE_WORDS: Record<LoadProgress['phase'], string> = {
  download: 'Downloading',
  upload: 'Loading from cache to the GPU',
  compile: 'Compiling shaders',
};

function showProgress(p: LoadProgress): void {
  ui.progress.hidden = false;
  ui.progressBar.value = p.totalBytes > 0 ? p.loadedBytes / p.totalBytes : 0;
  ui.progressText.textContent =
    p.phase === 'compile' ? `${PHASE_WORDS.compile}…` : `${PHASE_WORDS[p.phase]} ${megabytes(p.loadedBytes)} / ${megabytes(p.totalBytes)}`;
}

async function loadModel(source: ModelSource): Promise<void> {
  if (!engine) return;
  const label = typeof source === 'string' || source instanceof URL ? String(source) : (source as File).name ?? 'a file';
  showError(null);
  model = null;
  setState('loading');
  ui.modelStatus.textContent = `Loading ${label}…`;
  const started = performance.now();
  try {
    model = await engine.load(source, {
      onProgress: showProgress,
      ...(CONTEXT_LENGTH === undefined ? {} : { contextLength: CONTEXT_LENGTH }),
    });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const params = model.parameter_count >= 1e9 ? `${(model.parameter_count / 1e9).toFixed(1)}B` : `${Math.round(model.parameter_count / 1e6)}M`;
    ui.modelStatus.textContent = `${model.name ?? label} · ${model.architecture} · ${params} parameters · context ${model.n_ctx} · loaded in ${seconds} s`;
    if (typeof source === 'string') localStorage.setItem(LAST_MODEL_KEY, source);
    setState('ready');
    ui.prompt.focus();
  } catch (e) {
    ui.modelStatus.textContent = '';
    showError(`Could not load ${label}. ${describe(e)}`);
    setState('load-error');
  } finally {
    ui.progress.hidden = true;
    void refreshCacheList();
  }
}

function chosenUrl(): string | null {
  if (ui.modelChoice.value === 'default') return DEFAULT_MODEL;
  const text = ui.modelUrl.value.trim();
  if (!text) return null;
  try {
    return new URL(text, location.href).href;
  } catch {
    return null;
  }
}

// ---- cache and storage ---------------------------------------------------------------

async function refreshCacheList(): Promise<void> {
  const entries = await listCachedModels().catch(() => []);
  ui.cacheList.replaceChildren(
    ...entries.map(({ url, bytes }) => {
      const li = document.createElement('li');
      const name = document.createElement('span');
      name.className = 'url';
      name.textContent = url;
      const size = document.createElement('span');
      size.className = 'muted small';
      size.textContent = megabytes(bytes);
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.textContent = 'Delete';
      remove.addEventListener('click', async () => {
        await deleteModelFromCache(url);
        await refreshCacheList();
      });
      li.append(name, size, remove);
      return li;
    }),
  );
  if (entries.length === 0) {
    const li = document.createElement('li');
    li.className = 'muted small';
    li.textContent = 'None yet: a model is cached the first time it loads from a URL.';
    ui.cacheList.append(li);
  }
  const estimate = await navigator.storage?.estimate?.().catch(() => null);
  const persisted = await navigator.storage?.persisted?.().catch(() => false);
  ui.storage.textContent = estimate
    ? `(${megabytes(estimate.usage ?? 0)} used of ${megabytes(estimate.quota ?? 0)}${persisted ? ', persistent' : ''})`
    : '';
}

// ---- chat ----------------------------------------------------------------------------

function addMessage(role: 'user' | 'assistant', text: string): { root: HTMLDivElement; body: HTMLDivElement } {
  const root = document.createElement('div');
  root.className = `message ${role}`;
  const body = document.createElement('div');
  body.className = 'body';
  // The user's words are shown exactly as typed; the model's go through the DOM-only
  // Markdown renderer. Neither is ever parsed as HTML.
  if (role === 'user') body.textContent = text;
  else body.append(renderMarkdown(text));
  root.append(body);
  ui.chat.append(root);
  root.scrollIntoView({ block: 'end' });
  return { root, body };
}

/** A note in the chat (not a message: never sent to the model), placed before `before`. */
function addNote(text: string, before: HTMLElement): void {
  const note = document.createElement('p');
  note.className = 'context-note';
  note.setAttribute('role', 'note');
  note.textContent = text;
  ui.chat.insertBefore(note, before);
}

function numberSetting(input: HTMLInputElement, fallback: number): number {
  const v = Number(input.value);
  return Number.isFinite(v) ? v : fallback;
}

async function send(): Promise<void> {
  const text = ui.prompt.value.trim();
  if (!engine || !model || !text || document.body.dataset.state === 'generating') return;
  ui.prompt.value = '';
  showError(null);
  const asked = addMessage('user', text);
  history.push({ role: 'user', content: text });
  const reply = addMessage('assistant', '');
  reply.root.classList.add('streaming');
  setState('generating');

  const system = ui.systemPrompt.value.trim();
  const maxTokens = Math.max(1, Math.round(numberSetting(ui.maxTokens, 256)));
  let content = '';
  let failed = false;
  let frame = 0;
  const render = () => {
    frame = 0;
    reply.body.replaceChildren(renderMarkdown(content));
    reply.root.scrollIntoView({ block: 'end' });
  };
  try {
    const fitted = await fitConversation(
      (m) => engine!.countTokens(m),
      system ? { role: 'system', content: system } : null,
      history,
      maxTokens,
      model.n_ctx,
    );
    if (fitted.dropped > 0) {
      history.splice(0, fitted.dropped);
      addNote(
        `${fitted.dropped} earlier message${fitted.dropped === 1 ? '' : 's'} no longer fit the model's context of ` +
          `${model.n_ctx} tokens (with ${maxTokens} for the reply) and ${fitted.dropped === 1 ? 'was' : 'were'} left out; ` +
          'the model no longer sees them.',
        asked.root,
      );
    }
    const stream = await engine.chat.completions.create({
      messages: fitted.messages,
      stream: true,
      temperature: numberSetting(ui.temperature, 0.7),
      top_p: numberSetting(ui.topP, 0.95),
      max_tokens: maxTokens,
    });
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice?.delta.content) {
        content += choice.delta.content;
        frame ||= requestAnimationFrame(render);
      }
      if (chunk.usage) {
        const extra = chunk.usage.extra;
        const stats = document.createElement('div');
        stats.className = 'stats';
        const stopped = choice?.finish_reason === 'abort' ? ' · stopped' : choice?.finish_reason === 'length' ? ' · token limit' : '';
        stats.textContent =
          `${chunk.usage.completion_tokens} tokens · ${extra.decode_tokens_per_s.toFixed(1)} tok/s · ` +
          `first token after ${Math.round(extra.time_to_first_token_ms)} ms${stopped}`;
        reply.root.append(stats);
      }
    }
  } catch (e) {
    showError(describe(e));
    failed = true;
  } finally {
    if (frame) cancelAnimationFrame(frame);
    render();
    reply.root.classList.remove('streaming');
    if (failed) {
      // The failed turn leaves the history: kept, it would go into every later request (an
      // over-long message would make each of them fail too). The question stays on screen,
      // marked, and back in the input to edit or resend.
      history.pop();
      asked.root.classList.add('failed');
      if (!content) reply.root.remove();
      if (!ui.prompt.value) ui.prompt.value = text;
    } else {
      history.push({ role: 'assistant', content });
    }
    setState(model ? 'ready' : 'idle');
    ui.prompt.focus();
  }
}

function stop(): void {
  if (document.body.dataset.state === 'generating') engine?.interrupt();
}

// ---- wiring --------------------------------------------------------------------------

function wire(): void {
  ui.settingsToggle.addEventListener('click', () => {
    ui.settings.hidden = !ui.settings.hidden;
    ui.settingsToggle.setAttribute('aria-expanded', String(!ui.settings.hidden));
  });
  ui.modelChoice.addEventListener('change', () => {
    ui.modelUrl.hidden = ui.modelChoice.value !== 'url';
    if (!ui.modelUrl.hidden) ui.modelUrl.focus();
  });
  ui.modelForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const url = chosenUrl();
    if (url) void loadModel(url);
    else showError('Enter the URL of a .gguf file.');
  });
  ui.modelFile.addEventListener('change', () => {
    const file = ui.modelFile.files?.[0];
    if (file) void loadModel(file);
    ui.modelFile.value = '';
  });
  ui.composer.addEventListener('submit', (event) => {
    event.preventDefault();
    void send();
  });
  ui.prompt.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      void send();
    }
  });
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') stop();
  });
  ui.stop.addEventListener('click', stop);
  ui.clearChat.addEventListener('click', () => {
    if (document.body.dataset.state === 'generating') return;
    history = [];
    ui.chat.replaceChildren();
  });
  // Drag and drop a .gguf anywhere on the page.
  document.addEventListener('dragover', (event) => {
    event.preventDefault();
    document.body.classList.add('dragging');
  });
  document.addEventListener('dragleave', () => document.body.classList.remove('dragging'));
  document.addEventListener('drop', (event) => {
    event.preventDefault();
    document.body.classList.remove('dragging');
    const file = event.dataTransfer?.files[0];
    if (file && ui.loadButton.disabled === false) void loadModel(file);
  });
}

async function start(): Promise<void> {
  wire();
  setState('starting');
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('sw.js').catch((e) => console.warn(`service worker: ${describe(e)}`));
  }
  // Ask the browser not to evict the cached weights under storage pressure.
  void navigator.storage?.persist?.().then(() => refreshCacheList());
  void refreshCacheList();
  try {
    await checkWebGPU();
  } catch (e) {
    showError(`WebGPU is not available, so models cannot run here. ${describe(e)}`);
    setState('no-webgpu');
    return;
  }
  try {
    engine = await CreateWorkerEngine(new Worker(new URL('./worker.js', import.meta.url), { type: 'module' }));
    const gpu = await engine.adapterInfo();
    const kind = gpu.deviceType === 'Cpu' ? 'a software (CPU) WebGPU adapter' : 'a WebGPU device';
    ui.device.textContent = `on ${gpu.name || kind}${gpu.features.includes('shader-f16') ? ' (f16)' : ''}`;
  } catch (e) {
    showError(`Could not start the engine. ${describe(e)}`);
    setState('no-webgpu');
    return;
  }
  setState('idle');
  // Come back to the model used last time, when it is in the cache (works offline).
  const last = localStorage.getItem(LAST_MODEL_KEY);
  if (last && last !== DEFAULT_MODEL) {
    ui.modelChoice.value = 'url';
    ui.modelUrl.hidden = false;
    ui.modelUrl.value = last;
  }
  if (last && (await hasModelInCache(last))) await loadModel(last);
}

void start();
