// A static file server for the browser tests, on 127.0.0.1 and a random port. It counts the
// requests per path, so tests can check what the page fetched (and what it did not).
//
//   /www/...          the built package (www/dist/), e.g. /www/index.js
//   /pages/...        test pages (tests/browser/pages/)
//   /demo/...         the built demo site (www/demo-dist/; /demo/ is its index.html)
//   /example/...      the Vite example app as built (www/examples/vite-chat/dist/)
//   /models/NAME      models/NAME from the repo (real GGUF files)
//   /bytes/NAME       in-memory files a test registered with serveBytes()
//   /prefix/N/NAME    the first N bytes of models/NAME (a truncated download)
//   /gzip/NAME        models/NAME gzip-encoded without Content-Length when the client accepts
//                     gzip, as `vite preview` serves it; "Range: bytes=0-" gets a 206
//
// Models (/models/) are served like a CDN serves files: ETag and Last-Modified, HEAD, and
// "Range: bytes=S-" (or "bytes=S-E") answered with 206 unless an If-Range names another version. Tests can
// cut the next transfer of a path short (cutNext: the connection drops after a fraction of
// the file), change a file's version (bumpVersion: a new ETag) and read the body bytes sent.

import { createReadStream, statSync } from 'node:fs';
import http from 'node:http';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = join(here, '..', '..');

const ROOTS = {
  www: join(repoRoot, 'www', 'dist'),
  pages: join(here, 'pages'),
  demo: join(repoRoot, 'www', 'demo-dist'),
  example: join(repoRoot, 'www', 'examples', 'vite-chat', 'dist'),
  models: join(repoRoot, 'models'),
};

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.gguf': 'application/octet-stream',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.webmanifest': 'application/manifest+json',
};

export class TestServer {
  /** path -> number of requests received for it */
  counts = new Map();
  /** path -> body bytes sent for it */
  bytesSent = new Map();
  #bytes = new Map();
  /** path -> fraction of the file after which the next transfer is cut */
  #cuts = new Map();
  /** path -> bytes per second the next transfers of it are held to */
  #rates = new Map();
  /** path -> version number, part of the ETag */
  #versions = new Map();
  #server = null;
  origin = '';

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

  /** Serves `bytes` at /bytes/NAME. */
  serveBytes(name, bytes) {
    this.#bytes.set(name, Buffer.from(bytes));
    return `${this.origin}/bytes/${name}`;
  }

  /** The next GET of `path` sends `fraction` of the file, then drops the connection. */
  cutNext(path, fraction) {
    this.#cuts.set(path, fraction);
  }

  /** Transfers of `path` go at most `bytesPerSecond` from now on (null: full speed), as over
   * a real network, so a client that stops reading early is seen in `bytesSent`. */
  throttle(path, bytesPerSecond) {
    if (bytesPerSecond === null) this.#rates.delete(path);
    else this.#rates.set(path, bytesPerSecond);
  }

  /** The file at `path` counts as a new version from now on (another ETag). */
  bumpVersion(path) {
    this.#versions.set(path, (this.#versions.get(path) ?? 0) + 1);
  }

  /** Requests so far for paths starting with `prefix`. */
  requestsUnder(prefix) {
    let n = 0;
    for (const [path, count] of this.counts) if (path.startsWith(prefix)) n += count;
    return n;
  }

  /** Requests so far that were for anything but test pages and the package (i.e. models). */
  modelRequests() {
    return ['/models/', '/bytes/', '/prefix/', '/gzip/'].reduce((n, p) => n + this.requestsUnder(p), 0);
  }

  #handle(req, res) {
    const path = decodeURIComponent(new URL(req.url, this.origin).pathname);
    this.counts.set(path, (this.counts.get(path) ?? 0) + 1);
    const [, root, ...rest] = path.split('/');
    const name = rest.join('/');
    // The package and pages may be cached by the browser's HTTP cache between tests of one
    // context; models must not be (the test of Hearth's own cache needs honest counts).
    const headers = { 'Cache-Control': 'no-store' };

    if (root === 'bytes' && this.#bytes.has(name)) {
      const body = this.#bytes.get(name);
      res.writeHead(200, { ...headers, 'Content-Type': TYPES['.gguf'], 'Content-Length': body.length });
      res.end(body);
      return;
    }
    if (root === 'prefix') {
      const [count, ...file] = rest;
      const full = this.#file(ROOTS.models, file.join('/'));
      const n = Number(count);
      if (!full || !Number.isSafeInteger(n) || n < 1 || n > full.size) return this.#notFound(res);
      res.writeHead(200, { ...headers, 'Content-Type': TYPES['.gguf'], 'Content-Length': n });
      createReadStream(full.path, { start: 0, end: n - 1 }).pipe(res);
      return;
    }
    if (root === 'gzip') {
      const full = this.#file(ROOTS.models, name);
      if (!full) return this.#notFound(res);
      // Like compression middleware: gzip whenever the client accepts it (Chromium asks for
      // identity on range requests), Content-Length only when not compressing.
      const range = req.headers.range === 'bytes=0-';
      const gzip = /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
      res.writeHead(range ? 206 : 200, {
        ...headers,
        'Content-Type': TYPES['.gguf'],
        ...(gzip ? { 'Content-Encoding': 'gzip' } : { 'Content-Length': full.size }),
        ...(range ? { 'Content-Range': `bytes 0-${full.size - 1}/${full.size}` } : {}),
      });
      const body = createReadStream(full.path);
      (gzip ? body.pipe(createGzip({ level: 1 })) : body).pipe(res);
      return;
    }
    // A folder URL means its index.html (the demo is opened as /demo/).
    const file = ROOTS[root] ? this.#file(ROOTS[root], name === '' || name.endsWith('/') ? `${name}index.html` : name) : null;
    if (!file) return this.#notFound(res);
    if (root === 'models') return this.#serveModel(req, res, path, file, headers);
    res.writeHead(200, {
      ...headers,
      'Content-Type': TYPES[extname(file.path)] ?? 'application/octet-stream',
      'Content-Length': file.size,
    });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file.path).pipe(res);
  }

  #serveModel(req, res, path, file, headers) {
    const version = this.#versions.get(path) ?? 0;
    const etag = `"${file.size}-v${version}"`;
    const validators = { ETag: etag, 'Last-Modified': new Date(Date.UTC(2026, 0, 1 + version)).toUTCString() };
    // "bytes=S-" (resuming) and "bytes=S-E" (a header fetched alone: engine.plan).
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    const start = range && (!ifRange || ifRange === etag) ? Number(range[1]) : null;
    if (start !== null && start >= file.size) {
      res.writeHead(416, { ...headers, 'Content-Range': `bytes */${file.size}` });
      return res.end();
    }
    const from = start ?? 0;
    const last = start !== null && range[2] !== '' ? Math.min(Number(range[2]), file.size - 1) : file.size - 1;
    res.writeHead(start === null ? 200 : 206, {
      ...headers,
      ...validators,
      'Accept-Ranges': 'bytes',
      'Content-Type': TYPES['.gguf'],
      'Content-Length': last + 1 - from,
      ...(start === null ? {} : { 'Content-Range': `bytes ${from}-${last}/${file.size}` }),
    });
    if (req.method === 'HEAD') return res.end();
    const cut = this.#cuts.get(path);
    this.#cuts.delete(path);
    const end = cut === undefined ? last : Math.floor(file.size * cut) - 1;
    const rate = this.#rates.get(path);
    const body = createReadStream(file.path, { start: from, end: Math.max(from, end), highWaterMark: 64 << 10 });
    body.on('data', (chunk) => this.bytesSent.set(path, (this.bytesSent.get(path) ?? 0) + chunk.length));
    // A client that goes away stops the file read (and the count).
    res.on('close', () => body.destroy());
    if (rate !== undefined && cut === undefined) {
      // Written by hand, not piped: pipe() resumes the file on every 'drain', past the pause.
      body.on('data', (chunk) => {
        body.pause();
        res.write(chunk);
        setTimeout(() => body.resume(), (chunk.length / rate) * 1000);
      });
      body.on('end', () => res.end());
      return;
    }
    if (cut === undefined) return body.pipe(res);
    // Send the first part, then close the connection mid-body, as a dropped network does.
    // The socket is ended (FIN after every byte written), not destroyed: a reset discards
    // what the kernel has not sent yet, and the test counts the bytes the client got.
    body.pipe(res, { end: false });
    body.on('end', () => res.socket?.end());
  }

  /** A regular file under `root` (never outside it), or null. */
  #file(root, name) {
    const path = normalize(join(root, name));
    if (!path.startsWith(root + sep)) return null;
    try {
      const st = statSync(path);
      return st.isFile() ? { path, size: st.size } : null;
    } catch {
      return null;
    }
  }

  #notFound(res) {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not found');
  }
}
