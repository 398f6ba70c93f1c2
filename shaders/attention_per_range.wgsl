// Attention for decode on CPU-like devices: RANGES threads per query (token, head), each
// walking one range of its keys alone with q and the weighted values in registers
// (walk_keys, which `per_query` in shaders/attention.wgsl runs over all of them), then one merge of the ranges'
// partial softmaxes through workgroup memory.
// Why: `per_query` runs a decode step as n_heads threads in one workgroup, so on lavapipe one
// core walks every key of every head in series (SmolLM2 at 1,024 tokens of context: ~5 ms a
// layer, more than its matmuls). Here a long context is n_heads workgroups of RANGES lanes,
// all the cores and every SIMD lane busy, and still one dispatch (a split-K pass and a merge pass,
// shaders/attention_split.wgsl, cost a second dispatch a layer, which on lavapipe in a VM is
// ~0.1-0.3 ms: more than short contexts gain). One barrier, after the key loop: on lavapipe a
// barrier makes the shader a coroutine, which here only costs the merge.
//
// Assembled after shaders/attention_common.wgsl and shaders/attention.wgsl (V4, bindings,
// first_visible, walk_keys), a generated `const RANGES: u32 = N;` (threads per query, a power
// of two) and shaders/attention_ranges.wgsl (ranges_for). Only for head_dim <= 64
// (attention::PER_QUERY_MAX_HEAD_DIM: llvmpipe's loop limit).
// Dispatch (n_tokens × n_heads, 1, 1): enough workgroups for RANGES lanes per query; with
// fewer ranges (short contexts) the queries pack into the first ones and the rest return.

var<workgroup> range_max: array<f32, RANGES>;
var<workgroup> range_sum: array<f32, RANGES>;
var<workgroup> range_acc: array<vec4<f32>, RANGES * V4>;

@compute @workgroup_size(RANGES)
fn per_range(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let n_queries = step.n_tokens * p.n_heads;
    let ranges = ranges_for(step.pos0 + 1u - first_visible(step.pos0));
    // Lane slot s is range s % ranges of query s / ranges (query i = t * n_heads + h).
    if (wid.x * RANGES >= n_queries * ranges) {
        return; // a whole workgroup past the last query (uniform)
    }
    let slot = wid.x * RANGES + lid;
    let i = slot / ranges;
    let r = slot % ranges;
    let in_batch = i < n_queries;
    var run = RunningSoftmax(LOWEST, 0.0);
    var acc: array<vec4<f32>, V4>;
    if (in_batch) {
        let pos = step.pos0 + i / p.n_heads;
        let first = first_visible(pos);
        let len = (pos + 1u - first + ranges - 1u) / ranges;
        let lo = first + r * len;
        run = walk_keys(i, lo, min(lo + len, pos + 1u), &acc); // the last ranges may be empty
    }
    if (ranges == 1u) {
        // A thread per query (short contexts): nothing to merge (uniform: no barrier).
        if (in_batch) {
            for (var d = 0u; d < V4; d++) {
                out[i * V4 + d] = acc[d] / run.exp_sum;
            }
        }
        return;
    }
    range_max[lid] = run.max_score;
    range_sum[lid] = run.exp_sum;
    for (var d = 0u; d < V4; d++) {
        range_acc[lid * V4 + d] = acc[d];
    }
    workgroupBarrier();
    if (!in_batch) {
        return;
    }

    // Range k holds max m_k, sum l_k = Σ exp(score - m_k) and values a_k; with M the largest
    // m_k the output is Σ a_k exp(m_k - M) / Σ l_k exp(m_k - M) (an empty range has m_k =
    // LOWEST: weight 0). The query's lanes share its output vec4s: r, r + ranges, ...
    let lane0 = lid - r;
    var big_m = LOWEST;
    for (var k = 0u; k < ranges; k++) {
        big_m = max(big_m, range_max[lane0 + k]);
    }
    var total = 0.0;
    for (var k = 0u; k < ranges; k++) {
        total += range_sum[lane0 + k] * exp(range_max[lane0 + k] - big_m);
    }
    for (var d = r; d < V4; d += ranges) {
        var v = vec4<f32>(0.0);
        for (var k = 0u; k < ranges; k++) {
            v += range_acc[(lane0 + k) * V4 + d] * exp(range_max[lane0 + k] - big_m);
        }
        out[i * V4 + d] = v / total;
    }
}
