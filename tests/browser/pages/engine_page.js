// Helpers the tests call through page.evaluate(). Everything model-related goes through the
// public package API, imported the way an app would.

try {
  window.hearth = await import('hearth-llm');
} catch (e) {
  window.hearthLoadError = String(e?.stack ?? e);
  throw e;
}
const hearth = window.hearth;

/** 'worker': CreateWorkerEngine with tests/browser/pages/worker.js; 'page': in-thread Engine. */
window.newEngine = (kind, options = {}) =>
  kind === 'worker'
    ? hearth.CreateWorkerEngine(new Worker('/pages/worker.js', { type: 'module' }), options)
    : hearth.CreateEngine(options);

/** A thrown value as plain data, with the hearth-llm classes it is an instance of. */
window.describeError = (e) => ({
  name: e?.name,
  message: String(e?.message ?? e),
  reason: e?.reason,
  classes: Object.keys(hearth).filter((k) => /Error$/.test(k) && e instanceof hearth[k]),
});

/** requestAnimationFrame timestamps, to show the main thread kept painting. */
const frames = { on: false, times: [] };
window.frames = {
  start() {
    frames.times = [];
    frames.on = true;
    const tick = (t) => {
      if (!frames.on) return;
      frames.times.push(t);
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  },
  /** {count, seconds, longestGapMs} since start(). */
  stop() {
    frames.on = false;
    const t = frames.times;
    let gap = 0;
    for (let i = 1; i < t.length; i++) gap = Math.max(gap, t[i] - t[i - 1]);
    return { count: t.length, seconds: t.length ? (t[t.length - 1] - t[0]) / 1000 : 0, longestGapMs: gap };
  },
};

window.hearthReady = true;
