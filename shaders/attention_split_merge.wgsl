// Split-K attention, second pass: combines the partial records that
// shaders/attention_split.wgsl left for each (token, head) into the attention output.
// Range s holds max m_s, sum l_s = Σ exp(score - m_s) and values a_s = Σ exp(score - m_s) v;
// with M the largest m_s, the output is Σ a_s exp(m_s - M) / Σ l_s exp(m_s - M).
//
// Assembled like shaders/attention_split.wgsl (HEAD_DIM, shaders/attention_split_range.wgsl).
// Dispatch (n_heads, n_tokens); thread d < V4 owns output dims 4d .. 4d + 3. Its loops run
// over at most max_splits records.
// Bindings:
//   partials: [n_tokens × n_heads × max_splits] records of RECORD vec4s
//   out:      [n_tokens × n_heads × head_dim] f32

@group(0) @binding(0) var<storage, read> partials: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> p: Params;
@group(0) @binding(3) var<uniform> step: Step;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let h = wid.x;
    let t = wid.y;
    if (lid >= V4) {
        return;
    }
    let r = key_ranges(step.pos0 + t);
    let base = record_at(t, h, 0u);
    var big_m = LOWEST;
    for (var s = 0u; s < r.count; s++) {
        big_m = max(big_m, partials[base + s * RECORD + V4].x);
    }
    var l = 0.0;
    var acc = vec4<f32>(0.0);
    for (var s = 0u; s < r.count; s++) {
        let record = base + s * RECORD;
        let stats = partials[record + V4];
        let w = exp(stats.x - big_m);
        l += stats.y * w;
        acc += partials[record + lid] * w;
    }
    out[(t * p.n_heads + h) * V4 + lid] = acc / l;
}
