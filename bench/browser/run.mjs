#!/usr/bin/env node
// Hearth next to wllama in one headless Chromium (WebGPU on SwiftShader), same GGUF, same
// prompt text, greedy decoding. Prints a markdown table of medians and ratios Hearth/wllama.
// Usage (scripts/bench.sh --browser installs and builds what this needs, then runs it):
//   node bench/browser/run.mjs [--runs 3] [--prompt-tokens 128] [--gen-tokens 128]
//        [--threads 2] [--wllama-webgpu] [--tune KEY=VALUE,...] [--json FILE] [MODEL.gguf ...]
// --tune: kernel shapes changed for Hearth (the engine's `tune` option, as the CLI's `--tune`),
// to compare a variant with the default in the same Chromium, one run each.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { basename, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { launch } from './chromium.mjs';
import { BenchServer } from './server.mjs';
import { commonPrefix, summarize, table } from './report.mjs';

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: 'string', default: '3' },
    'prompt-tokens': { type: 'string', default: '128' },
    'gen-tokens': { type: 'string', default: '128' },
    threads: { type: 'string', default: '2' },
    // ggml's WebGPU backend (on the same SwiftShader) instead of wllama's CPU build.
    'wllama-webgpu': { type: 'boolean', default: false },
    tune: { type: 'string' },
    json: { type: 'string' },
  },
});
const runs = Number(opt.runs);
const promptTokens = Number(opt['prompt-tokens']);
const genTokens = Number(opt['gen-tokens']);
const threads = Number(opt.threads);
const gpu = opt['wllama-webgpu'];
const peerName = gpu ? 'wllama (WebGPU)' : 'wllama';
const models = (positionals.length ? positionals : ['models/smollm2-135m-instruct-q4_1.gguf']).map((m) =>
  resolve(process.cwd(), m),
);

const log = (...a) => console.error('bench:', ...a);
for (const m of models) {
  if (!existsSync(m)) {
    console.error(`bench: ${m}: no such file (scripts/fetch-models.sh makes models/)`);
    process.exit(1);
  }
}

const server = await new BenchServer(models).start();
const rows = [];
const raw = [];
let environment = null;
try {
  for (const [i, model] of models.entries()) {
    const browser = await launch();
    try {
      const page = await browser.newPage();
      page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error' || process.env.HEARTH_VERBOSE) console.error(`[page ${m.type()}] ${m.text()}`);
      });
      await page.goto(`${server.origin}/page/`);
      await page.waitForFunction(() => window.benchReady === true, null, { timeout: 30_000 });
      const isolated = await page.evaluate(() => window.bench.isolated());
      if (!isolated) throw new Error('the page is not cross-origin isolated: wllama would run one thread');
      const adapter = await page.evaluate(() => window.bench.gpuAdapter());
      const url = server.modelUrl(i);
      const name = basename(model);

      log(`${name}: loading in Hearth ...`);
      const h = await page.evaluate(([u, tune]) => window.bench.hearth.load(u, tune), [url, opt.tune]);
      log(`${name}: Hearth loaded in ${(h.loadMs / 1000).toFixed(1)} s on ${adapter} (to Hearth: ${JSON.stringify(h.adapter)}); cutting the prompt to ${promptTokens} tokens ...`);
      const prompt = await page.evaluate((n) => window.bench.fitPrompt(n), promptTokens);
      log(`${name}: prompt is ${prompt.tokens} tokens for Hearth; loading in ${peerName} ...`);
      const w = await page.evaluate(([u, o]) => window.bench.wllama.load(u, o), [url, { threads, gpu }]);
      log(`${name}: ${peerName} loaded in ${(w.loadMs / 1000).toFixed(1)} s, ${w.threads} thread(s), multithread ${w.multithread}`);
      environment ??= { chromium: browser.version(), adapter, hearthAdapter: h.adapter, hearthTune: opt.tune ?? null, isolated, wllamaThreads: w.threads, wllamaMultithread: w.multithread };

      const hearthRuns = [];
      const peerRuns = [];
      const one = async (who, into, gen = genTokens) => {
        const r = await page.evaluate(([k, t, g]) => window.bench[k].run(t, g), [who, prompt.text, gen]);
        into?.push(r);
        log(`${name}: ${who}${into ? '' : ' (warm-up)'}: prefill ${r.prefillTokens} tok ${r.prefillTokS.toFixed(1)} tok/s, decode ${r.genTokens} tok ${r.decodeTokS.toFixed(1)} tok/s, ${r.finishReason}, wall ${(r.wallMs / 1000).toFixed(1)} s`);
        return r;
      };
      // Warm-up (shader compiles, first allocations): a full prefill, a short decode.
      const warm = Math.min(genTokens, 16);
      await one('hearth', null, warm);
      await one('wllama', null, warm);
      // Interleaved, each side going first in turn: drift in the machine's load (it may be
      // shared) falls on both alike.
      for (let k = 0; k < runs; k++) {
        if (k % 2 === 0) {
          await one('hearth', hearthRuns);
          await one('wllama', peerRuns);
        } else {
          await one('wllama', peerRuns);
          await one('hearth', hearthRuns);
        }
      }
      const agree = commonPrefix(hearthRuns[0].text, peerRuns[0].text);
      log(`${name}: greedy texts agree on the first ${agree} of ${hearthRuns[0].text.length} characters`);
      rows.push(summarize(name, hearthRuns, peerRuns));
      raw.push({ model: name, prompt, hearth: { load: h, runs: hearthRuns }, wllama: { load: w, runs: peerRuns }, textsAgreeChars: agree });
      await page.evaluate(async () => {
        window.bench.hearth.dispose();
        await window.bench.wllama.dispose();
      });
    } finally {
      await browser.close();
    }
  }
} finally {
  await server.stop();
}

const wllamaVersion = JSON.parse(readFileSync(new URL('./node_modules/@wllama/wllama/package.json', import.meta.url))).version;
const la = loadavg().map((x) => x.toFixed(1)).join(' ');
console.log(
  `Hearth on ${environment.adapter} (WebGPU${opt.tune ? `, --tune ${opt.tune}` : ''}); ${peerName} ${wllamaVersion}, ${environment.wllamaThreads} thread(s) ` +
    `(crossOriginIsolated ${environment.isolated}); ${environment.chromium} headless; ${cpus()[0]?.model ?? '?'}, ` +
    `${cpus().length} cores; load average ${la}; median of ${runs} runs, ${promptTokens}-token prompt, ${genTokens} greedy tokens.\n`,
);
console.log(table(rows, peerName));
if (opt.json) writeFileSync(opt.json, JSON.stringify({ date: new Date().toISOString(), environment, rows, raw }, null, 2));
