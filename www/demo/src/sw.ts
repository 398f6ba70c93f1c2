// The demo's service worker: keeps the app shell (HTML, JS, wasm, CSS, icons) so the page
// opens with the network off. Model weights are not its business: hearth-llm keeps those
// in its own Cache API entries and reads them without a request.
//
// PRECACHE and VERSION are filled in by build-demo.mjs: the shell's files and a hash of
// their contents, so a new build installs a fresh cache and drops the old one.

declare const PRECACHE: string[];
declare const VERSION: string;
const sw = self as unknown as ServiceWorkerGlobalScope;

const PREFIX = 'hearth-demo-shell-';
const CACHE = PREFIX + VERSION;
const shellUrls = new Set(PRECACHE.map((path) => new URL(path, sw.registration.scope).href));

sw.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll([...shellUrls]))
      .then(() => sw.skipWaiting()),
  );
});

sw.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith(PREFIX) && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => sw.clients.claim()),
  );
});

sw.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  url.search = '';
  // The page itself (any query string) and the shell's files come from the cache first.
  const key = request.mode === 'navigate' ? new URL('./', sw.registration.scope).href : url.href;
  if (!shellUrls.has(key) && !(request.mode === 'navigate' && url.href.startsWith(sw.registration.scope))) return;
  event.respondWith(
    caches.open(CACHE).then(async (cache) => (await cache.match(key)) ?? fetch(request)),
  );
});

export {};
