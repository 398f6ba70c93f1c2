// Decode attention on CPU-like devices, a kv head's queries together: RANGES lanes per
// (token, kv head), each walking one range of that head's keys for all GROUP query heads that
// share it, then one merge per query of the ranges' partial softmaxes through workgroup memory,
// as shaders/attention_per_range.wgsl does for one query a lane.
// Why: there every query head fetches and unpacks its kv head's keys and values itself, so a
// kv head's cache is read GROUP times (3 in SmolLM2, 7 in Qwen2.5); on lavapipe a texel fetch
// is ~40 instructions for the SIMD lanes and the f16 unpacks as many again, which at long
// contexts made attention more than half a decode step. Here each key and value row is
// fetched and unpacked once, then used by GROUP dots and GROUP weighted sums.
//
// Assembled after shaders/attention_common.wgsl, shaders/attention.wgsl (V4, bindings,
// first_visible, RunningSoftmax), the cache's row readers (src/kernels/kv.rs: key_row,
// value_row), generated `const RANGES: u32 = N;` and `const GROUP: u32 = G;` (n_heads /
// n_kv_heads) and shaders/attention_ranges.wgsl (ranges_for). Only for head_dim <= 64 (a
// lane holds GROUP query rows and GROUP output rows; llvmpipe's loop limit, as per_range).
// Two entry points: per_range_group, dispatch (n_tokens × n_kv_heads, 1, 1): enough workgroups
// for RANGES lanes per unit (token, kv head); with fewer ranges (short contexts) the units pack
// into the first ones and the rest return; and per_query_group (at the end), a thread per unit. Each query's arithmetic is walk_keys' (shaders/attention.wgsl), in the same order.

var<workgroup> range_max: array<f32, RANGES * GROUP>;
var<workgroup> range_sum: array<f32, RANGES * GROUP>;
var<workgroup> range_acc: array<vec4<f32>, RANGES * GROUP * V4>;

// The lane's queries (scaled), its weighted values, and the key or value row at hand.
// Module-scope so that the helpers below take only a query's index: each is then one call in
// the loops over the group, which stay short enough to be unrolled (src/gpu/unroll.rs), every
// index a constant and the rows in registers.
var<private> group_q: array<vec4<f32>, GROUP * V4>;
var<private> group_acc: array<vec4<f32>, GROUP * V4>;
var<private> kv_row: array<vec4<f32>, V4>;

// Query g's score against kv_row (the key), summed in key_dot's order (KV_DOT_IN_PAIRS: a
// texel's two quads at a time), so that a score is walk_keys' to the bit.
fn group_score(g: u32) -> f32 {
    var dot4 = vec4<f32>(0.0);
    if (KV_DOT_IN_PAIRS) {
        for (var c = 0u; c < V4 / 2u; c++) {
            dot4 += group_q[g * V4 + 2u * c] * kv_row[2u * c] + group_q[g * V4 + 2u * c + 1u] * kv_row[2u * c + 1u];
        }
    } else {
        for (var d = 0u; d < V4; d++) {
            dot4 += group_q[g * V4 + d] * kv_row[d];
        }
    }
    return (dot4.x + dot4.y) + (dot4.z + dot4.w);
}

// Query g's output row rescaled by `correction` plus e times kv_row (the value): add_value's.
fn group_add_value(g: u32, correction: f32, e: f32) {
    for (var d = 0u; d < V4; d++) {
        group_acc[g * V4 + d] = group_acc[g * V4 + d] * correction + e * kv_row[d];
    }
}

// The online softmax of queries q0 .. q0 + GROUP - 1 (of one token, sharing the kv head whose
// rows start at vec4 kv_base) over keys lo .. hi - 1: run[g] and group_acc[g V4 ..] as
// walk_keys (shaders/attention.wgsl) gives them for query q0 + g.
fn walk_keys_group(q0: u32, kv_base: u32, lo: u32, hi: u32, run: ptr<function, array<RunningSoftmax, GROUP>>) {
    let kv_stride = p.n_kv_heads * V4;
    for (var g = 0u; g < GROUP; g++) {
        for (var d = 0u; d < V4; d++) {
            group_q[g * V4 + d] = q[(q0 + g) * V4 + d] * p.scale;
        }
    }
    var correction: array<f32, GROUP>;
    var e: array<f32, GROUP>;
    for (var j = lo; j < hi; j++) {
        kv_row = key_row(j, kv_base, kv_stride);
        for (var g = 0u; g < GROUP; g++) {
            let s = group_score(g);
            let m = (*run)[g].max_score;
            let new_m = max(m, s);
            correction[g] = exp(m - new_m);
            e[g] = exp(s - new_m);
            (*run)[g] = RunningSoftmax(new_m, (*run)[g].exp_sum * correction[g] + e[g]);
        }
        kv_row = value_row(j, kv_base, kv_stride);
        for (var g = 0u; g < GROUP; g++) {
            group_add_value(g, correction[g], e[g]);
        }
    }
}

@compute @workgroup_size(RANGES)
fn per_range_group(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let n_units = step.n_tokens * p.n_kv_heads;
    let ranges = ranges_for(step.pos0 + 1u - first_visible(step.pos0));
    // Lane slot s is range s % ranges of unit s / ranges (unit u = t * n_kv_heads + kv head).
    if (wid.x * RANGES >= n_units * ranges) {
        return; // a whole workgroup past the last unit (uniform)
    }
    let slot = wid.x * RANGES + lid;
    let u = slot / ranges;
    let r = slot % ranges;
    let in_batch = u < n_units;
    let t = u / p.n_kv_heads;
    let kv_head = u % p.n_kv_heads;
    // The group's first query: heads kv_head * GROUP .. share kv head kv_head.
    let q0 = t * p.n_heads + kv_head * GROUP;
    var run: array<RunningSoftmax, GROUP>;
    for (var g = 0u; g < GROUP; g++) {
        run[g] = RunningSoftmax(LOWEST, 0.0);
    }
    if (in_batch) {
        let pos = step.pos0 + t;
        let first = first_visible(pos);
        let len = (pos + 1u - first + ranges - 1u) / ranges;
        let lo = first + r * len;
        walk_keys_group(q0, kv_head * V4, lo, min(lo + len, pos + 1u), &run); // the last ranges may be empty
    }
    if (ranges == 1u) {
        // A thread per unit (short contexts): nothing to merge (uniform: no barrier).
        if (in_batch) {
            for (var g = 0u; g < GROUP; g++) {
                for (var d = 0u; d < V4; d++) {
                    out[(q0 + g) * V4 + d] = group_acc[g * V4 + d] / run[g].exp_sum;
                }
            }
        }
        return;
    }
    for (var g = 0u; g < GROUP; g++) {
        range_max[lid * GROUP + g] = run[g].max_score;
        range_sum[lid * GROUP + g] = run[g].exp_sum;
    }
    for (var g = 0u; g < GROUP; g++) {
        for (var d = 0u; d < V4; d++) {
            range_acc[(lid * GROUP + g) * V4 + d] = group_acc[g * V4 + d];
        }
    }
    workgroupBarrier();
    if (!in_batch) {
        return;
    }

    // As per_range's merge, for each query g of the unit: range k holds max m_k, sum l_k and
    // values a_k; with M the largest m_k the output is Σ a_k exp(m_k - M) / Σ l_k exp(m_k - M).
    // The unit's lanes share its output vec4s: r, r + ranges, ...
    let lane0 = lid - r;
    for (var g = 0u; g < GROUP; g++) {
        var big_m = LOWEST;
        for (var k = 0u; k < ranges; k++) {
            big_m = max(big_m, range_max[(lane0 + k) * GROUP + g]);
        }
        var total = 0.0;
        for (var k = 0u; k < ranges; k++) {
            total += range_sum[(lane0 + k) * GROUP + g] * exp(range_max[(lane0 + k) * GROUP + g] - big_m);
        }
        for (var d = r; d < V4; d += ranges) {
            var v = vec4<f32>(0.0);
            for (var k = 0u; k < ranges; k++) {
                v += range_acc[((lane0 + k) * GROUP + g) * V4 + d] * exp(range_max[(lane0 + k) * GROUP + g] - big_m);
            }
            out[(q0 + g) * V4 + d] = v / total;
        }
    }
}

// A thread per unit (token, kv head) walking all its keys (CPU-like devices' batches, where
// per_query would take a thread per query): no ranges, no merge. Workgroups of 16 rather than
// per_query's 64: a batch has n_heads / n_kv_heads times fewer threads here, and under the
// causal mask later tokens' threads walk more keys, so small workgroups keep the CPU's threads
// evenly busy. Dispatch (ceil(n_tokens × n_kv_heads / 16), 1, 1).
@compute @workgroup_size(16)
fn per_query_group(@builtin(global_invocation_id) gid: vec3<u32>) {
    let u = gid.x;
    if (u >= step.n_tokens * p.n_kv_heads) {
        return;
    }
    let t = u / p.n_kv_heads;
    let kv_head = u % p.n_kv_heads;
    let q0 = t * p.n_heads + kv_head * GROUP;
    let pos = step.pos0 + t;
    var run: array<RunningSoftmax, GROUP>;
    for (var g = 0u; g < GROUP; g++) {
        run[g] = RunningSoftmax(LOWEST, 0.0);
    }
    walk_keys_group(q0, kv_head * V4, first_visible(pos), pos + 1u, &run);
    for (var g = 0u; g < GROUP; g++) {
        for (var d = 0u; d < V4; d++) {
            out[(q0 + g) * V4 + d] = group_acc[g * V4 + d] / run[g].exp_sum;
        }
    }
}
