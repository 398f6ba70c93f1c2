// The native CLI (target/release/hearth, Vulkan: lavapipe on machines without a GPU) as the
// reference for what the browser must produce: the same shaders, the same sampler.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './server.js';

/** HEARTH_CLI (scripts/test.sh sets it), else the release build. */
export const CLI = process.env.HEARTH_CLI ?? join(repoRoot, 'target', 'release', 'hearth');

/** `hearth generate --json` for one prompt: {prompt_ids, ids, text, finish_reason, ...}. */
export function cliGenerate({ model, prompt, chat = false, chatTemplateFile = null, maxTokens, extraArgs = [] }) {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: cargo build --release --bin hearth (or set HEARTH_CLI)`);
  const args = ['generate', '--json', '--model', join(repoRoot, 'models', model), '-n', String(maxTokens)];
  if (chat) args.push('--chat');
  if (chatTemplateFile) args.push('--chat-template', chatTemplateFile);
  args.push(...extraArgs, prompt);
  // stderr is captured (Mesa's lavapipe prints warnings there) and shown only on failure.
  try {
    const out = execFileSync(CLI, args, { encoding: 'utf8', timeout: 300_000, stdio: ['ignore', 'pipe', 'pipe'] });
    return JSON.parse(out);
  } catch (e) {
    throw new Error(`${CLI} ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}`);
  }
}

/** `hearth tokenize --json`: the ids of `text`, or with `messages` those of the chat prompt. */
export function cliTokenize({ model, text = null, messages = null }) {
  const args = ['tokenize', '--json', '--model', join(repoRoot, 'models', model)];
  if (messages) args.push('--messages', JSON.stringify(messages));
  else args.push(text);
  return JSON.parse(runCli(args));
}

function runCli(args) {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: cargo build --release --bin hearth (or set HEARTH_CLI)`);
  try {
    return execFileSync(CLI, args, { encoding: 'utf8', timeout: 300_000, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new Error(`${CLI} ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}`);
  }
}

/** `hearth plan --json` for a device with the given limits (no GPU opened). */
export function cliPlan({ model, contextLength, maxStorageBinding, maxBufferSize }) {
  const args = ['plan', '--json', '--model', join(repoRoot, 'models', model)];
  if (contextLength !== undefined) args.push('--ctx', String(contextLength));
  args.push('--max-storage-binding', String(maxStorageBinding), '--max-buffer-size', String(maxBufferSize));
  return JSON.parse(runCli(args));
}
