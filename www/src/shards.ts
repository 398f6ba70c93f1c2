// Sharded GGUF models, as llama.cpp's gguf-split writes them: `NAME-00001-of-00003.gguf`, ...
// `load()` of the first shard's URL reads that shard's header, learns from `split.count` how
// many shards there are and names the others by the same convention (or takes the list given
// as `shards`). Every shard is opened like a single-file model (so the cache keeps each under
// its own URL and a cut download resumes), the front of each stream is read until its header is
// complete, the core joins the headers (src/gguf/split.rs: one model, in order, no tensor
// twice) and allocates the weights, and then the shards' data sections stream into it one
// after the other. JS memory holds the headers and one batch, never a shard.

import { absoluteUrl } from './cache.js';
import { InvalidArgumentError, ModelFormatError } from './errors.js';
import type { ShardPlace } from './generated/wire.js';
import type { OpenedSource } from './source.js';
import type { WasmEngineInstance } from './wasm_contract.js';

/** `NAME-0000i-of-0000N.gguf`: shard i (from 1) of N. */
const SHARD_NAME = /-(\d{5})-of-(\d{5})\.gguf$/;

/** Whether a URL names the first shard of a sharded model (query and fragment ignored). */
export function isFirstShard(url: string): boolean {
  const m = SHARD_NAME.exec(new URL(url).pathname);
  return m !== null && m[1] === '00001';
}

/** The URLs of all `count` shards, from the first one's (same directory, query and fragment). */
export function shardUrls(first: string, count: number): string[] {
  const url = new URL(first);
  if (!SHARD_NAME.test(url.pathname)) {
    throw new InvalidArgumentError(
      `${first}: the model is split into ${count} files (split.count); load the first, named NAME-00001-of-${pad(count)}.gguf, or list them in \`shards\``,
    );
  }
  return Array.from({ length: count }, (_, i) => {
    const u = new URL(url);
    u.pathname = url.pathname.replace(SHARD_NAME, `-${pad(i + 1)}-of-${pad(count)}.gguf`);
    return u.href;
  });
}

function pad(n: number): string {
  return String(n).padStart(5, '0');
}

/** A shard opened and read up to the end of its header, with its place in the model. */
export interface ShardHead extends ShardPlace {
  opened: OpenedSource;
  reader: ReadableStreamDefaultReader<Uint8Array>;
  /** The bytes read so far: the whole header and perhaps the first tensor bytes. */
  head: Uint8Array;
}

/**
 * Reads the front of `opened`'s stream until the core has its whole header. The header is
 * parsed again only when the bytes have reached what the last parse asked for and doubled,
 * so a header of several MB arriving in small chunks is parsed a few times.
 */
export async function readShardHead(engine: WasmEngineInstance, opened: OpenedSource, label: string): Promise<ShardHead> {
  const reader = opened.stream.getReader();
  const parts: Uint8Array[] = [];
  let length = 0;
  let want = 1;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) {
      reader.cancel().catch(() => {});
      throw new ModelFormatError(`${label}: the file ends inside its GGUF header (${length} bytes)`);
    }
    parts.push(value);
    length += value.byteLength;
    if (length < want) continue;
    const head = joinBytes(parts, length);
    parts.splice(0, parts.length, head);
    const info = engine.shardHeader(head, opened.totalBytes);
    if ('need_bytes' in info) {
      want = Math.max(info.need_bytes, 2 * length);
      continue;
    }
    return { opened, reader, head, ...info };
  }
}

/**
 * Opens every shard (through `open`, which keeps what it opened for the caller to fail on an
 * error) and reads its header: the first one's says how many shards to expect (`urls` when the
 * caller listed them must have that many, the first being `first`). Returns the shards in order.
 */
export async function openShards(
  engine: WasmEngineInstance,
  first: string,
  urls: string[] | undefined,
  open: (url: string) => Promise<OpenedSource>,
): Promise<ShardHead[]> {
  const heads: ShardHead[] = [];
  try {
    heads.push(await readShardHead(engine, await open(first), first));
    const count = heads[0].split_count;
    const all = urls ? urls.map((u) => absoluteUrl(u)) : shardUrls(first, count);
    if (all.length !== count || all[0] !== first) {
      throw new InvalidArgumentError(
        `${first} says the model has ${count} shards (split.count); \`shards\` lists ${all.length}${all[0] === first ? '' : ' and does not start with the URL loaded'}`,
      );
    }
    for (const url of all.slice(1)) heads.push(await readShardHead(engine, await open(url), url));
    return heads;
  } catch (e) {
    for (const h of heads) h.reader.cancel().catch(() => {});
    throw e;
  }
}

function joinBytes(parts: Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
