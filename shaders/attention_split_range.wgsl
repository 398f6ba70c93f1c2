// Split-K ("flash-decoding") attention, shared part: the parameters and how a query's
// visible keys are cut into ranges. Prepended to shaders/attention_split.wgsl (one
// workgroup per range) and shaders/attention_split_merge.wgsl (which combines the ranges),
// so the two cannot disagree on where a range starts.
//
// Query token t (position pos = step.pos0 + t) sees positions first ..= pos (first from the
// sliding window, 0 without one). Those n keys are cut into ranges of
// max(min_keys, ceil(n / max_splits)) keys: at most max_splits ranges, so a decode step
// at any context keeps n_heads × max_splits workgroups busy, and none shorter than min_keys,
// so short contexts do not pay a merge per handful of keys. Everything here depends only on
// uniforms and the workgroup id, so loop bounds built from it are uniform. Each kernel
// declares its own bindings, `p: Params` and `step: Step` among them.

struct Params {
    n_heads: u32,
    n_kv_heads: u32,
    window: u32,
    scale: f32,
    max_splits: u32, // ranges per (token, head): the partial records each has
    min_keys: u32,   // fewest keys in a range (at least 1)
    _pad0: u32,
    _pad1: u32,
}

const V4: u32 = HEAD_DIM / 4u; // vec4s per head
// One partial record per (token, head, range): V4 vec4s of softmax-weighted values, then
// (range max, sum of exp(score - range max), 0, 0).
const RECORD: u32 = V4 + 1u;
const LOWEST: f32 = -3.4e38; // below any score; exp(LOWEST - s) is 0

struct KeyRanges {
    first: u32, // the first visible position
    len: u32,   // keys per range (the last may be shorter)
    count: u32, // ranges holding at least one key
}

fn key_ranges(pos: u32) -> KeyRanges {
    var first = 0u;
    if (p.window > 0u && pos + 1u > p.window) {
        first = pos + 1u - p.window;
    }
    let n = pos + 1u - first;
    let len = max(max(p.min_keys, 1u), (n + p.max_splits - 1u) / p.max_splits);
    return KeyRanges(first, len, (n + len - 1u) / len);
}

// Index of the first vec4 of the partial record of (token t, head h, range s).
fn record_at(t: u32, h: u32, s: u32) -> u32 {
    return ((t * p.n_heads + h) * p.max_splits + s) * RECORD;
}
