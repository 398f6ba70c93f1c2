// Serves the built demo (www/demo-dist/) and the test models (models/ at the repo root, as
// /models/) on http://127.0.0.1:PORT — the main job of scripts/demo.sh. WebGPU needs a
// secure context, which localhost is. Usage: node serve-demo.mjs [--port 8080] [--host 127.0.0.1]

import { createReadStream, statSync } from 'node:fs';
import http from 'node:http';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const www = join(dirname(fileURLToPath(import.meta.url)), '..');
const site = join(www, 'demo-dist');
const models = join(www, '..', 'models');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const port = Number(arg('--port', process.env.PORT ?? 8080));
const host = arg('--host', '127.0.0.1');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
  '.gguf': 'application/octet-stream',
};

/** The file under `root` for a URL path, or null (no escaping the root with ..). */
function resolve(root, rel) {
  const path = normalize(join(root, rel));
  return path === root || path.startsWith(root + sep) ? path : null;
}

const server = http.createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  const file = path.startsWith('/models/') ? resolve(models, path.slice('/models/'.length)) : resolve(site, path === '/' ? 'index.html' : path.slice(1));
  let stat = null;
  try {
    stat = file && statSync(file);
  } catch {
    stat = null;
  }
  if (!stat || !stat.isFile()) {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`not found: ${path}\n`);
    return;
  }
  res.writeHead(200, {
    'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
    'Content-Length': stat.size,
    // The shell must be revalidated (the service worker keeps the offline copy).
    'Cache-Control': 'no-cache',
  });
  if (req.method === 'HEAD') res.end();
  else createReadStream(file).pipe(res);
});
server.listen(port, host, () => {
  console.log(`Hearth demo: http://${host}:${server.address().port}/`);
});
