// Causal grouped-query attention over the KV cache, one path for prefill and decode.
// Query token t (position pos = step.pos0 + t) of head h attends to cached positions
// max(0, pos + 1 - window) ..= pos (window = 0: no limit), using kv head h / group.
// Keys are visited in tiles of 64 with an online softmax (running max and sum), so no
// score buffer is needed and any context length works.
// Bindings:
//   q:       [n_tokens × n_heads × head_dim] f32
//   k_cache, v_cache: [n_ctx × n_kv_heads × head_dim] f32
//   out:     [n_tokens × n_heads × head_dim] f32
// Dispatch: (n_heads, n_tokens). head_dim <= 256.

struct Params {
    n_heads: u32,
    n_kv_heads: u32,
    head_dim: u32,
    window: u32,
    scale: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

struct Step {
    pos0: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k_cache: array<f32>;
@group(0) @binding(2) var<storage, read> v_cache: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;
@group(0) @binding(5) var<uniform> step: Step;

const TILE: u32 = 64u;
const MAX_DIMS_PER_THREAD: u32 = 4u; // head_dim <= 4 * 64

var<workgroup> q_shared: array<f32, 256>;
var<workgroup> scores: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let h = wid.x;
    let t = wid.y;
    let pos = step.pos0 + t;
    let kvh = h / (p.n_heads / p.n_kv_heads);
    let kv_stride = p.n_kv_heads * p.head_dim;
    let q_base = (t * p.n_heads + h) * p.head_dim;
    for (var d = lid; d < p.head_dim; d += TILE) {
        q_shared[d] = q[q_base + d];
    }
    var first = 0u;
    if (p.window > 0u && pos + 1u > p.window) {
        first = pos + 1u - p.window;
    }
    workgroupBarrier();

    var m = -3.4e38;          // running max of the scores
    var l = 0.0;              // running sum of exp(score - m)
    var acc: array<f32, 4>;   // this thread's output dims: lid, lid + 64, ...
    for (var start = first; start <= pos; start += TILE) {
        // One score per thread.
        let j = start + lid;
        var s = -3.4e38;
        if (j <= pos) {
            let kb = j * kv_stride + kvh * p.head_dim;
            var dot = 0.0;
            for (var d = 0u; d < p.head_dim; d++) {
                dot += q_shared[d] * k_cache[kb + d];
            }
            s = dot * p.scale;
        }
        scores[lid] = s;
        workgroupBarrier();
        let n = min(TILE, pos + 1u - start);
        var tile_max = m;
        for (var i = 0u; i < n; i++) {
            tile_max = max(tile_max, scores[i]);
        }
        let correction = exp(m - tile_max);
        l *= correction;
        for (var r = 0u; r < MAX_DIMS_PER_THREAD; r++) {
            acc[r] *= correction;
        }
        for (var i = 0u; i < n; i++) {
            let e = exp(scores[i] - tile_max);
            l += e;
            let vb = (start + i) * kv_stride + kvh * p.head_dim;
            for (var r = 0u; r < MAX_DIMS_PER_THREAD; r++) {
                let d = lid + r * TILE;
                if (d < p.head_dim) {
                    acc[r] += e * v_cache[vb + d];
                }
            }
        }
        m = tile_max;
        workgroupBarrier();
    }
    for (var r = 0u; r < MAX_DIMS_PER_THREAD; r++) {
        let d = lid + r * TILE;
        if (d < p.head_dim) {
            out[q_base + d] = acc[r] / l;
        }
    }
}
