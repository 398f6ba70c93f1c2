// What the bench driver (bench/browser/run.mjs) calls through page.evaluate().
import * as hearth from './hearth_runner.js';
import * as wllama from './wllama_runner.js';
import { fitPrompt } from './fit_prompt.js';
import { PASSAGE } from './prompt.js';

window.bench = {
  isolated: () => window.crossOriginIsolated,
  /** The WebGPU adapter as the page sees it (wgpu's adapter info is empty in browsers). */
  async gpuAdapter() {
    const i = (await navigator.gpu.requestAdapter())?.info;
    return i ? [i.vendor, i.architecture, i.description].filter(Boolean).join(' ') : 'none';
  },
  hearth,
  wllama,
  fitPrompt: (target) => fitPrompt(PASSAGE, target, hearth.countTokens),
};
window.benchReady = true;
