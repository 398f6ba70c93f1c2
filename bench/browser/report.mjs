// Medians and the markdown table the bench prints.

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The same value in every run prints once; differing values print as a range. */
function spread(xs) {
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return lo === hi ? String(lo) : `${lo}-${hi}`;
}

/** Prompt tokens, and how many the prefill ran where fewer (Hearth keeps a shared BOS cached). */
function tokens(runs) {
  const prompt = spread(runs.map((r) => r.promptTokens));
  const fed = spread(runs.map((r) => r.prefillTokens));
  return fed === prompt ? prompt : `${prompt} (${fed} run)`;
}

const f1 = (x) => x.toFixed(1);
const f2 = (x) => x.toFixed(2);

/** One row's numbers from the runs of both runtimes on one model. */
export function summarize(model, hearthRuns, peerRuns) {
  const m = (runs, key) => median(runs.map((r) => r[key]));
  const h = { prefill: m(hearthRuns, 'prefillTokS'), decode: m(hearthRuns, 'decodeTokS') };
  const w = { prefill: m(peerRuns, 'prefillTokS'), decode: m(peerRuns, 'decodeTokS') };
  return {
    model,
    hearth: h,
    peer: w,
    prefillRatio: h.prefill / w.prefill,
    decodeRatio: h.decode / w.decode,
    promptTokens: `${tokens(hearthRuns)} / ${tokens(peerRuns)}`,
    genTokens: `${spread(hearthRuns.map((r) => r.genTokens))} / ${spread(peerRuns.map((r) => r.genTokens))}`,
    // Round trips per generated token (the first token comes from the prefill).
    roundTripsPerToken: median(hearthRuns.map((r) => r.roundTrips / r.genTokens)),
    // Host encode time and bytes read back per generated token (the prefill adds one pass).
    hostEncodeMsPerToken: median(hearthRuns.map((r) => r.hostEncodeMs / r.genTokens)),
    bytesPerToken: median(hearthRuns.map((r) => r.bytesReadBack / r.genTokens)),
  };
}

export function table(rows, peerName) {
  const lines = [
    `| model | prompt tokens H / W | generated H / W | Hearth prefill tok/s | ${peerName} prefill tok/s | Hearth decode tok/s | ${peerName} decode tok/s | prefill ratio | decode ratio | Hearth GPU round trips / token | Hearth bytes read back / token | Hearth host encode ms / token |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.model} | ${r.promptTokens} | ${r.genTokens} | ${f1(r.hearth.prefill)} | ${f1(r.peer.prefill)} | ` +
        `${f1(r.hearth.decode)} | ${f1(r.peer.decode)} | ${f2(r.prefillRatio)} | ${f2(r.decodeRatio)} | ${f2(r.roundTripsPerToken)} | ${f1(r.bytesPerToken)} | ${f2(r.hostEncodeMsPerToken)} |`,
    );
  }
  return lines.join('\n');
}

/** How many leading characters two generated texts share (both greedy: a sanity check). */
export function commonPrefix(a, b) {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}
