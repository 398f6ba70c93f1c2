// The bench's static server, on 127.0.0.1 and a random port. Every response carries
// COOP/COEP so the page is cross-origin isolated: wllama needs SharedArrayBuffer for its
// threads, and without isolation it silently falls back to one thread.
//
//   /page/...     the bench page (bench/browser/page/)
//   /hearth/...   the built hearth-llm package (www/dist/)
//   /wllama/...   wllama's ES module build (node_modules/@wllama/wllama/esm/)
//   /model/N      the N-th model file given to the bench (any path on disk), with Range support

import { createReadStream, statSync } from 'node:fs';
import http from 'node:http';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = join(here, '..', '..');

const ROOTS = {
  page: join(here, 'page'),
  hearth: join(repoRoot, 'www', 'dist'),
  wllama: join(here, 'node_modules', '@wllama', 'wllama', 'esm'),
};

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.map': 'application/json',
};

const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

export class BenchServer {
  origin = '';
  #models;
  #server = null;

  /** `models`: absolute paths, served as /model/0, /model/1, ... */
  constructor(models) {
    this.#models = models;
  }

  modelUrl(index) {
    return `${this.origin}/model/${index}`;
  }

  async start() {
    this.#server = http.createServer((req, res) => this.#handle(req, res));
    await new Promise((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${this.#server.address().port}`;
    return this;
  }

  async stop() {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  #handle(req, res) {
    const path = decodeURIComponent(new URL(req.url, this.origin).pathname);
    const [, root, ...rest] = path.split('/');
    const name = rest.join('/');
    let file = null;
    if (root === 'model') {
      const model = this.#models[Number(name)];
      file = model ? fileInfo(model) : null;
    } else if (ROOTS[root]) {
      file = fileUnder(ROOTS[root], name === '' ? 'index.html' : name);
    }
    if (!file) {
      res.writeHead(404, { ...ISOLATION, 'Content-Type': 'text/plain' });
      res.end('not found');
      return;
    }
    const type = TYPES[extname(file.path)] ?? 'application/octet-stream';
    const range = parseRange(req.headers.range, file.size);
    if (range === 'invalid') {
      res.writeHead(416, { ...ISOLATION, 'Content-Range': `bytes */${file.size}` });
      res.end();
      return;
    }
    const [start, end] = range ?? [0, file.size - 1];
    res.writeHead(range ? 206 : 200, {
      ...ISOLATION,
      'Content-Type': type,
      'Content-Length': end - start + 1,
      'Accept-Ranges': 'bytes',
      ...(range ? { 'Content-Range': `bytes ${start}-${end}/${file.size}` } : {}),
    });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file.path, { start, end }).pipe(res);
  }
}

/** One "bytes=a-b" / "bytes=a-" / "bytes=-n" range as [start, end], null for none. */
function parseRange(header, size) {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'invalid';
  let start, end;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  return start <= end && start < size ? [start, end] : 'invalid';
}

function fileInfo(path) {
  try {
    const st = statSync(path);
    return st.isFile() ? { path, size: st.size } : null;
  } catch {
    return null;
  }
}

/** A regular file under `root` (never outside it), or null. */
function fileUnder(root, name) {
  const path = normalize(join(root, name));
  return path.startsWith(root + sep) ? fileInfo(path) : null;
}
