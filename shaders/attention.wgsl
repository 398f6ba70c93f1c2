// Causal grouped-query attention over the KV cache, for prefill and decode alike.
// Query token t (position pos = step.pos0 + t) of head h attends to cached positions
// max(0, pos + 1 - window) ..= pos (window = 0: no limit), using kv head h / group, with
// an online softmax (running max and sum), so no score buffer is needed and any context
// length works.
//
// Assembled after a generated `const HEAD_DIM: u32 = N;` (a multiple of 4, at most 256), the
// cache's reader (src/kernels/kv.rs: KvQuad, kv_unpack4, v_quad, key_dot, key_dot_shared,
// add_value) and
// shaders/attention_common.wgsl (parameters, bindings, the window rule).
// Two entry points, picked per device (Tuning::attention_thread_per_query):
//   main:      a workgroup per (head, token); its 64 threads score 64 keys at a time and
//              share the output dims. Dispatch (n_heads, n_tokens). Suits GPUs.
//   per_query: a thread per (token, head), walking its keys alone with q and the output
//              in registers: no barriers and 4-wide loads, which suits CPU-like devices
//              (lavapipe runs a workgroup as SIMD lanes and pays for every barrier and
//              every load). Dispatch (ceil(n_tokens * n_heads / 64)). Past 64 dims its
//              row walks are unrolled in the source: see PER_QUERY_ROLLED_MAX_HEAD_DIM in
//              src/kernels/attention.rs (llvmpipe's loop limit).
// Bindings:
//   q:       [n_tokens × n_heads × head_dim] f32
//   1, 2:    keys, values: [n_ctx × n_kv_heads × head_dim] in the cache's precision and
//            store (shaders/rope_store.wgsl), read a quad (v_quad) or a row (key_dot,
//            add_value) at a time
//   out:     [n_tokens × n_heads × head_dim] f32

const V4: u32 = HEAD_DIM / 4u; // vec4s per head
const TILE: u32 = 64u;

var<workgroup> q_shared: array<vec4<f32>, 64>;
var<workgroup> weights: array<f32, 64>;
var<workgroup> tile_max: f32;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let h = wid.x;
    let t = wid.y;
    let pos = step.pos0 + t;
    let kv_base = (h / (p.n_heads / p.n_kv_heads)) * V4;
    let kv_stride = p.n_kv_heads * V4;
    let q_base = (t * p.n_heads + h) * V4;
    if (lid < V4) {
        q_shared[lid] = q[q_base + lid] * p.scale;
    }
    workgroupBarrier();

    var m = LOWEST;            // running max of the scores
    var l = 0.0;               // running sum of exp(score - m)
    var acc = vec4<f32>(0.0);  // output dims 4 lid .. 4 lid + 3 (threads lid < V4)
    for (var start = first_visible(pos); start <= pos; start += TILE) {
        // One key per thread.
        let j = start + lid;
        var s = LOWEST;
        if (j <= pos) {
            s = key_dot_shared(j, kv_base, kv_stride);
        }
        weights[lid] = s;
        workgroupBarrier();
        let n = min(TILE, pos + 1u - start);
        if (lid == 0u) {
            var mx = m;
            for (var i = 0u; i < n; i++) {
                mx = max(mx, weights[i]);
            }
            tile_max = mx;
        }
        workgroupBarrier();
        let new_m = tile_max;
        weights[lid] = exp(s - new_m); // 0 for keys past pos
        workgroupBarrier();
        let correction = exp(m - new_m);
        l *= correction;
        acc *= correction;
        for (var i = 0u; i < n; i++) {
            let e = weights[i];
            l += e;
            if (lid < V4) {
                acc += e * kv_unpack4(v_quad(start + i, kv_base + lid, kv_stride));
            }
        }
        m = new_m;
        workgroupBarrier();
    }
    if (lid < V4) {
        out[q_base + lid] = acc / l;
    }
}

@compute @workgroup_size(64)
fn per_query(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x; // t * n_heads + h
    if (i >= step.n_tokens * p.n_heads) {
        return;
    }
    let pos = step.pos0 + i / p.n_heads;
    var acc: array<vec4<f32>, V4>;
    let run = walk_keys(i, first_visible(pos), pos + 1u, &acc);
    for (var d = 0u; d < V4; d++) {
        out[i * V4 + d] = acc[d] / run.exp_sum;
    }
}

// One thread's online softmax over keys lo .. hi - 1 of query i (= t * n_heads + h), with q
// and the weighted values in registers: `per_query` here and `per_range`
// (shaders/attention_per_range.wgsl). Adds exp(score - max) · v to `acc` (zeroed by the
// caller) and returns the max score and the sum of exp(score - max) (LOWEST and 0 for no
// keys).
struct RunningSoftmax {
    max_score: f32,
    exp_sum: f32,
}

fn walk_keys(i: u32, lo: u32, hi: u32, acc: ptr<function, array<vec4<f32>, V4>>) -> RunningSoftmax {
    let h = i % p.n_heads;
    let kv_base = (h / (p.n_heads / p.n_kv_heads)) * V4;
    let kv_stride = p.n_kv_heads * V4;
    var qv: array<vec4<f32>, V4>;
    for (var d = 0u; d < V4; d++) {
        qv[d] = q[i * V4 + d] * p.scale;
    }
    var m = LOWEST;
    var l = 0.0;
    for (var j = lo; j < hi; j++) {
        let s = key_dot(&qv, j, kv_base, kv_stride);
        let new_m = max(m, s);
        let correction = exp(m - new_m);
        let e = exp(s - new_m);
        l = l * correction + e;
        add_value(acc, j, kv_base, kv_stride, correction, e);
        m = new_m;
    }
    return RunningSoftmax(m, l);
}
