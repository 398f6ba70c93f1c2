// Split-K ("flash-decoding") attention, first pass: one workgroup per (head, key range,
// token) computes the range's partial softmax — its max score, the sum of exp(score - max)
// and the exp-weighted sum of the values — and stores it as one record for
// shaders/attention_split_merge.wgsl. With a workgroup per query (shaders/attention.wgsl)
// a decode step is only n_heads workgroups each walking every key in series; cut into
// ranges it is n_heads × max_splits, which fills a large GPU at any context length.
//
// Assembled after `const HEAD_DIM: u32 = N;` (a multiple of 4, at most 256), the cache's
// reader (src/kernels/kv.rs: KvQuad, bindings 1 and 2, key_dot_shared, v_quad) and
// shaders/attention_split_range.wgsl.
// Dispatch (n_heads, max_splits, n_tokens); ranges past the query's last key return at once.
// Bindings:
//   q:        [n_tokens × n_heads × head_dim] f32
//   1, 2:     keys, values: [n_ctx × n_kv_heads × head_dim] in the cache's precision and store
//   partials: [n_tokens × n_heads × max_splits] records of RECORD vec4s

@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> partials: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> p: Params;
@group(0) @binding(5) var<uniform> step: Step;

const WG: u32 = 64u; // threads, and keys scored per tile (one each)
// The value pass splits the workgroup into GROUPS groups of V4 threads, thread d of a group
// owning output dims 4d .. 4d + 3 and the group every GROUPS-th key of the tile: 4 groups
// for 64-dim heads, 1 for 256. Threads past GROUPS × V4 (odd head sizes) only score.
const GROUPS: u32 = WG / V4;

var<workgroup> q_shared: array<vec4<f32>, 64>;
var<workgroup> scratch: array<f32, WG>;        // scores, then their tree maximum
var<workgroup> weights: array<f32, WG>;        // exp(score - running max) of the tile's keys
var<workgroup> acc_shared: array<vec4<f32>, WG>;
var<workgroup> sum_shared: array<f32, WG>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let h = wid.x;
    let s = wid.y;
    let t = wid.z;
    let pos = step.pos0 + t;
    let r = key_ranges(pos);
    if (s >= r.count) {
        return; // uniform: the merge reads only the first r.count records
    }
    let lo = r.first + s * r.len;
    let hi = min(lo + r.len, pos + 1u); // exclusive
    let kv_base = (h / (p.n_heads / p.n_kv_heads)) * V4;
    let kv_stride = p.n_kv_heads * V4;
    if (lid < V4) {
        q_shared[lid] = q[(t * p.n_heads + h) * V4 + lid] * p.scale;
    }
    workgroupBarrier();

    let g = lid / V4; // this thread's key group in the value pass
    let d = lid % V4; // and its output vec4
    var m = LOWEST;            // running max of the range's scores
    var l = 0.0;               // running sum of exp(score - m) over this group's keys
    var acc = vec4<f32>(0.0);  // running exp-weighted sum of this group's values, dims 4d..
    for (var start = lo; start < hi; start += WG) {
        let j = start + lid;
        var score = LOWEST;
        if (j < hi) {
            score = key_dot_shared(j, kv_base, kv_stride);
        }
        // The tile's max by a tree over the workgroup.
        scratch[lid] = score;
        workgroupBarrier();
        for (var width = WG / 2u; width > 0u; width >>= 1u) {
            if (lid < width) {
                scratch[lid] = max(scratch[lid], scratch[lid + width]);
            }
            workgroupBarrier();
        }
        let new_m = max(m, scratch[0]);
        weights[lid] = exp(score - new_m); // 0 for keys past the range
        workgroupBarrier();
        let correction = exp(m - new_m);
        l *= correction;
        acc *= correction;
        let n = min(WG, hi - start);
        if (g < GROUPS) {
            for (var i = g; i < n; i += GROUPS) {
                let e = weights[i];
                l += e;
                acc += e * kv_unpack4(v_quad(start + i, kv_base + d, kv_stride));
            }
        }
        m = new_m;
        workgroupBarrier(); // scratch and weights are rewritten by the next tile
    }

    // Sum the groups' values and weights.
    acc_shared[lid] = acc;
    sum_shared[lid] = l;
    workgroupBarrier();
    let record = record_at(t, h, s);
    if (lid < V4) {
        var total = vec4<f32>(0.0);
        for (var k = 0u; k < GROUPS; k++) {
            total += acc_shared[k * V4 + lid];
        }
        partials[record + lid] = total;
    }
    if (lid == 0u) {
        var total = 0.0;
        for (var k = 0u; k < GROUPS; k++) {
            total += sum_shared[k * V4];
        }
        partials[record + V4] = vec4<f32>(m, total, 0.0, 0.0);
    }
}
