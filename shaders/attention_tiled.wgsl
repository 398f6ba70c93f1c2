// Causal grouped-query attention for batches (prefill) on GPUs, tiled: a workgroup takes
// QUERIES consecutive query tokens of one head, stages BLOCK_KEYS keys and values of the
// cache in workgroup memory once, and every query of the tile scores them from there, so a
// key is read from memory once per QUERIES queries instead of once per query (as in
// shaders/attention.wgsl's `main`, a workgroup per query). Each query keeps its own online
// softmax (running max and sum) in registers: no score buffer, any context length.
// Same rule as shaders/attention.wgsl: query t (position pos = step.pos0 + t) of head h sees
// cached positions max(0, pos + 1 - window) ..= pos (window = 0: no limit) of kv head
// h / group.
//
// Assembled after generated constants (src/kernels/attention_tiled.rs), the cache's reader
// (src/kernels/kv.rs: KvQuad, kv_unpack4, k_quad, v_quad) and
// shaders/attention_common.wgsl:
//   HEAD_DIM     a multiple of 4, at most 256;
//   LANES        threads per query (1, 2 or 4, dividing HEAD_DIM / 4), each owning
//                HEAD_DIM / LANES of the query and output dims (registers: 2 × HEAD_DIM /
//                LANES floats), their partial scores added through workgroup memory;
//   BLOCK_KEYS   keys staged per step;
//   PARTIAL_LEN  64 × BLOCK_KEYS with LANES > 1 (the partial scores), else 1.
// 64 threads: 64 / LANES queries per workgroup. Dispatch (n_heads, ceil(n_tokens / QUERIES)).
// The workgroup walks the keys from its first query's first visible one to its last query's
// position: uniform bounds (barriers; lavapipe counts loop iterations, so the tests run it
// there too). Keys a query must not see score LOWEST and weigh 0; queries past the batch
// repeat its last one and write nothing.
// Parameters, bindings and the window rule: shaders/attention_common.wgsl.

const V4: u32 = HEAD_DIM / 4u;     // vec4s per head
const QV: u32 = V4 / LANES;         // vec4s of a query (and its output) per thread
const QUERIES: u32 = 64u / LANES;   // queries per workgroup
const BK: u32 = BLOCK_KEYS;

// Key kk of the step at [kk * V4 + d], d the key's vec4.
var<workgroup> k_tile: array<KvQuad, BK * V4>;
var<workgroup> v_tile: array<KvQuad, BK * V4>;
// Thread lid's partial score of key kk at [lid * BK + kk] (LANES > 1).
var<workgroup> partial: array<f32, PARTIAL_LEN>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let h = wid.x;
    let t0 = wid.y * QUERIES;
    let qi = lid / LANES;
    let lane = lid % LANES;
    let t = min(t0 + qi, step.n_tokens - 1u);
    let pos = step.pos0 + t;
    let my_first = first_visible(pos);
    let kv_base = (h / (p.n_heads / p.n_kv_heads)) * V4;
    let kv_stride = p.n_kv_heads * V4;
    let q_base = (t * p.n_heads + h) * V4 + lane * QV;
    let own = lane * QV; // this thread's first vec4 within a key

    var qv: array<vec4<f32>, QV>;
    for (var d = 0u; d < QV; d++) {
        qv[d] = q[q_base + d] * p.scale;
    }
    // The workgroup's keys: uniform across it.
    let lo = first_visible(step.pos0 + t0);
    let hi = step.pos0 + min(t0 + QUERIES, step.n_tokens) - 1u;

    var m = LOWEST;            // running max of the scores
    var l = 0.0;               // running sum of exp(score - m)
    var acc: array<vec4<f32>, QV>;
    for (var start = lo; start <= hi; start += BK) {
        // Stage the step's keys and values (rows past hi repeat it: never weighed).
        for (var i = lid; i < BK * V4; i += 64u) {
            let j = min(start + i / V4, hi);
            k_tile[i] = k_quad(j, kv_base + i % V4, kv_stride);
            v_tile[i] = v_quad(j, kv_base + i % V4, kv_stride);
        }
        workgroupBarrier();

        var s = array<f32, BK>();
        for (var kk = 0u; kk < BK; kk++) {
            var dot4 = vec4<f32>(0.0);
            for (var d = 0u; d < QV; d++) {
                dot4 += qv[d] * kv_unpack4(k_tile[kk * V4 + own + d]);
            }
            s[kk] = (dot4.x + dot4.y) + (dot4.z + dot4.w);
        }
        if (LANES > 1u) {
            // Each lane holds part of every score: add the query's lanes, in lane order.
            for (var kk = 0u; kk < BK; kk++) {
                partial[lid * BK + kk] = s[kk];
            }
            workgroupBarrier();
            for (var kk = 0u; kk < BK; kk++) {
                var total = 0.0;
                for (var ln = 0u; ln < LANES; ln++) {
                    total += partial[(qi * LANES + ln) * BK + kk];
                }
                s[kk] = total;
            }
        }

        var new_m = m;
        for (var kk = 0u; kk < BK; kk++) {
            let j = start + kk;
            if (j < my_first || j > pos) {
                s[kk] = LOWEST;
            }
            new_m = max(new_m, s[kk]);
        }
        let correction = exp(m - new_m);
        l *= correction;
        for (var d = 0u; d < QV; d++) {
            acc[d] *= correction;
        }
        for (var kk = 0u; kk < BK; kk++) {
            let e = select(0.0, exp(s[kk] - new_m), s[kk] > LOWEST);
            l += e;
            for (var d = 0u; d < QV; d++) {
                acc[d] += e * kv_unpack4(v_tile[kk * V4 + own + d]);
            }
        }
        m = new_m;
        workgroupBarrier(); // the tiles (and partial scores) are rewritten next step
    }
    if (t0 + qi < step.n_tokens) {
        for (var d = 0u; d < QV; d++) {
            out[q_base + d] = acc[d] / l;
        }
    }
}
