// How the range kernels (shaders/attention_per_range.wgsl, shaders/attention_kv_group.wgsl)
// split a query's keys: assembled before either, after a generated `const RANGES: u32 = N;`.

// The fewest keys a range takes: a query takes the most ranges (a power of two up to RANGES)
// that leave each at least this many, so short contexts keep a thread per query.
const RANGE_MIN_KEYS: u32 = 16u;

// Ranges per query for a batch whose first query sees `n` keys (the same for the whole
// dispatch, so that a query's ranges are neighbouring lanes of one workgroup).
fn ranges_for(n: u32) -> u32 {
    var r = 1u;
    while (r * 2u <= RANGES && r * 2u * RANGE_MIN_KEYS <= n) {
        r *= 2u;
    }
    return r;
}
