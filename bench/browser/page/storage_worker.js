// Where should a model's weights live in the browser? Times the two stores Hearth could use
// for a file of `mib` MiB written as it arrives, in 1 MiB parts, then read back in order:
//   cache: the Cache API, one entry per part (what www/src/parts_store.ts does today);
//   opfs:  the origin private file system, one file written and read through a sync access
//          handle (workers only; the fastest OPFS path).
// Every byte is touched on read (a checksum), so no store can skip the copy.

const PART = 1 << 20;

function part(i) {
  const bytes = new Uint8Array(PART);
  const words = new Uint32Array(bytes.buffer);
  for (let j = 0; j < words.length; j += 1024) words[j] = i * 7919 + j;
  return bytes;
}

function checksum(bytes, sum) {
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2);
  for (let j = 0; j < words.length; j += 1024) sum = (sum + words[j]) >>> 0;
  return sum;
}

async function cacheRun(mib) {
  await caches.delete('storage-bench');
  const cache = await caches.open('storage-bench');
  const t0 = performance.now();
  for (let i = 0; i < mib; i++) await cache.put(`https://bench.invalid/part/${i}`, new Response(part(i)));
  const t1 = performance.now();
  let sum = 0;
  for (let i = 0; i < mib; i++) {
    const r = await cache.match(`https://bench.invalid/part/${i}`);
    sum = checksum(new Uint8Array(await r.arrayBuffer()), sum);
  }
  const t2 = performance.now();
  await caches.delete('storage-bench');
  return { write_ms: t1 - t0, read_ms: t2 - t1, sum };
}

async function opfsRun(mib) {
  const root = await navigator.storage.getDirectory();
  await root.removeEntry('storage-bench.bin').catch(() => {});
  const file = await root.getFileHandle('storage-bench.bin', { create: true });
  const handle = await file.createSyncAccessHandle();
  const t0 = performance.now();
  for (let i = 0; i < mib; i++) handle.write(part(i), { at: i * PART });
  handle.flush();
  const t1 = performance.now();
  let sum = 0;
  const buf = new Uint8Array(PART);
  for (let i = 0; i < mib; i++) {
    handle.read(buf, { at: i * PART });
    sum = checksum(buf, sum);
  }
  const t2 = performance.now();
  handle.close();
  await root.removeEntry('storage-bench.bin');
  return { write_ms: t1 - t0, read_ms: t2 - t1, sum };
}

self.onmessage = async ({ data: { store, mib } }) => {
  try {
    const r = store === 'cache' ? await cacheRun(mib) : await opfsRun(mib);
    self.postMessage({ ok: true, ...r });
  } catch (e) {
    self.postMessage({ ok: false, error: String(e) });
  }
};
