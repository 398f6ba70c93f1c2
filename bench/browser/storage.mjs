// The Cache API against OPFS for model weights, in the bench's headless Chromium: write a file
// of N MiB in 1 MiB parts, then read it back, each store in turn, median of RUNS (see
// page/storage_worker.js). Answers issue 15's "an OPFS store if it is clearly better".
//
//   node bench/browser/storage.mjs [--mib 256] [--runs 3]

import { launch } from './chromium.mjs';
import { BenchServer } from './server.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const mib = arg('--mib', 256);
const runs = arg('--runs', 3);
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

const server = await new BenchServer([]).start();
const browser = await launch();
try {
  const page = await browser.newPage();
  await page.goto(`${server.origin}/page/storage.html`);
  const results = { cache: [], opfs: [] };
  for (let r = 0; r < runs; r++) {
    for (const store of ['cache', 'opfs']) {
      const out = await page.evaluate(([s, m]) => window.runStore(s, m), [store, mib]);
      if (!out.ok) throw new Error(`${store}: ${out.error}`);
      results[store].push(out);
    }
  }
  console.log(`${mib} MiB in 1 MiB parts, median of ${runs} (Chromium ${browser.version()})`);
  console.log('| store | write MB/s | read MB/s | write ms (all runs) | read ms (all runs) |');
  console.log('|---|---:|---:|---|---|');
  for (const [store, rs] of Object.entries(results)) {
    const mbs = (ms) => ((mib * 1.048576) / (ms / 1000)).toFixed(0);
    const w = rs.map((r) => r.write_ms);
    const rd = rs.map((r) => r.read_ms);
    console.log(`| ${store} | ${mbs(median(w))} | ${mbs(median(rd))} | ${w.map((v) => v.toFixed(0)).join(', ')} | ${rd.map((v) => v.toFixed(0)).join(', ')} |`);
  }
} finally {
  await browser.close();
  await server.stop();
}
