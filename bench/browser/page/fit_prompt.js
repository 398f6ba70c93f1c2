// Cuts the passage to the longest prefix that a tokenizer makes exactly `target` tokens of:
// a binary search over whole words, then trimming the last word letter by letter (a word can
// be several tokens). `count` is the runtime's own tokenizer, so no tokenizer is copied here.

export async function fitPrompt(passage, target, count) {
  const words = passage.split(' ');
  const text = (k) => words.slice(0, k).join(' ');
  // Smallest k whose prefix has at least `target` tokens. Every word is at least one token,
  // so k <= target: the search never pays a prefill of the whole passage.
  let lo = 1;
  let hi = Math.min(words.length, target);
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((await count(text(mid))) >= target) hi = mid;
    else lo = mid + 1;
  }
  const n = await count(text(lo));
  if (n < target) throw new Error(`the passage has fewer than ${target} tokens`);
  if (n === target) return { text: text(lo), tokens: n };
  const head = text(lo - 1);
  const last = words[lo - 1];
  for (let j = last.length - 1; j >= 1; j--) {
    const candidate = `${head} ${last.slice(0, j)}`;
    const m = await count(candidate);
    if (m === target) return { text: candidate, tokens: m };
    if (m < target) break;
  }
  // No exact cut: the closest prefix below the target.
  return { text: head, tokens: await count(head) };
}
