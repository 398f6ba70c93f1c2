// The step between the Q/K/V projections and attention, in one dispatch: per head, the
// optional per-head RMSNorm (Gemma 3, Qwen3: q_norm, k_norm), RoPE on queries and keys, and
// the append of keys and values to the KV cache. Reads the projections' one `qkv` row per
// token (queries, then keys, then values) and writes the rotated queries for attention and
// the cache rows at positions step.pos0 .. step.pos0 + n_tokens (those at or past n_ctx are
// dropped).
//
// RoPE: pair i (0 .. n_rot/2) of a head turns by pos * inv_freq[i]:
//   normal (llama, GGUF's permuted Q/K): the pair is (x[2i], x[2i + 1])
//   neox (qwen2, gemma3):                the pair is (x[i], x[i + n_rot/2])
// Dimensions n_rot .. head_dim are left as they are. The rotated pairs are multiplied by
// mscale (LongRoPE's attention factor; 1 otherwise), as llama.cpp's and transformers' RoPE do.
//
// Two entry points (Tuning::rope_store_workgroup_per_head picks):
//   main:     a thread per (token, head): the norm's sum over the head needs no barrier, and
//             each output pair (elements 2j, 2j + 1, one cache word) is computed from the
//             inputs alone. Best where a workgroup runs as one CPU core's SIMD lanes.
//   per_head: a workgroup of 64 per (token, head), its threads striding over the head's
//             elements, the norm's sum reduced in workgroup memory. On a GPU a decode step
//             has only n_heads + 2 n_kv_heads (6 for Gemma 3) heads: a thread each left
//             all but a handful of lanes idle, walking 256 elements in series.
// Loop bounds are at most head_dim (256): ~700 iterations per invocation, far below
// llvmpipe's 65,535 (see kernels::attention::PER_QUERY_MAX_HEAD_DIM).
//
// Assembled after the cache's writer (src/kernels/kv.rs, `KvFormat::writer_wgsl`): KvPair,
// kv_pack, the key and value bindings 5 and 6, and k_store / v_store, which write
// KV_STORE_PAIRS pairs at once (4, a texel, to a texture cache; head_dim is then a multiple of 8).
// Bindings:
//   qkv:      [n_tokens × (n_heads + 2 n_kv_heads) × head_dim] f32
//   q_norm, k_norm: [head_dim] f32 (read only when qk_norm = 1)
//   inv_freq: [n_rot / 2] f32
//   q:        [n_tokens × n_heads × head_dim] f32, out
//   5, 6:     keys, values: [n_ctx × n_kv_heads × head_dim / 2] KvPair
// Dispatch: main: ceil(n_tokens × (n_heads + 2 n_kv_heads) / 64) workgroups; per_head: one
// per (token, head), split over x and y past 65,535 (index x + y × num_workgroups.x).

struct Params {
    n_heads: u32,
    n_kv_heads: u32,
    head_dim: u32,
    n_rot: u32,
    neox: u32,
    qk_norm: u32,
    eps: f32,
    n_ctx: u32,
    mscale: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read> qkv: array<f32>;
@group(0) @binding(1) var<storage, read> q_norm: array<f32>;
@group(0) @binding(2) var<storage, read> k_norm: array<f32>;
@group(0) @binding(3) var<storage, read> inv_freq: array<f32>;
@group(0) @binding(4) var<storage, read_write> q: array<f32>;
@group(0) @binding(7) var<uniform> p: Params;
@group(0) @binding(8) var<uniform> step: Step;

// Element e of the head starting at `src`, normalised (inv = 1/rms, 1 without a norm).
fn normed(src: u32, e: u32, is_q: bool, inv: f32) -> f32 {
    var v = qkv[src + e] * inv;
    if (p.qk_norm == 1u) {
        v *= select(k_norm[e], q_norm[e], is_q);
    }
    return v;
}

// Element e after RoPE at position pos.
fn rotated(src: u32, e: u32, is_q: bool, inv: f32, pos: u32) -> f32 {
    let x = normed(src, e, is_q, inv);
    if (e >= p.n_rot) {
        return x;
    }
    let half = p.n_rot / 2u;
    var i = e / 2u;            // pair index
    var first = e % 2u == 0u;  // x is the pair's first element
    var partner = e ^ 1u;
    if (p.neox == 1u) {
        i = e % half;
        first = e < half;
        partner = select(e - half, e + half, first);
    }
    let y = normed(src, partner, is_q, inv);
    let angle = f32(pos) * inv_freq[i];
    let c = cos(angle) * p.mscale;
    let s = sin(angle) * p.mscale;
    // (x0, x1) -> (x0 c - x1 s, x0 s + x1 c)
    return select(y * s + x * c, x * c - y * s, first);
}

// Pairs j .. j + KV_STORE_PAIRS - 1 of value head h (h counts every head of the qkv row)
// into the cache at pos, as they are.
fn store_values(src: u32, pos: u32, h: u32, j: u32) {
    let pairs = p.head_dim / 2u;
    var w: array<KvPair, KV_STORE_PAIRS>;
    for (var u = 0u; u < KV_STORE_PAIRS; u++) {
        let e = src + 2u * (j + u);
        w[u] = kv_pack(vec2<f32>(qkv[e], qkv[e + 1u]));
    }
    v_store(pos, (h - p.n_heads - p.n_kv_heads) * pairs + j, p.n_kv_heads * pairs, w);
}

// Pairs j .. j + KV_STORE_PAIRS - 1 of key head h, normalised (inv) and rotated, into the
// cache at pos.
fn store_keys(src: u32, pos: u32, h: u32, j: u32, inv: f32) {
    let pairs = p.head_dim / 2u;
    var w: array<KvPair, KV_STORE_PAIRS>;
    for (var u = 0u; u < KV_STORE_PAIRS; u++) {
        let e = 2u * (j + u);
        w[u] = kv_pack(vec2<f32>(rotated(src, e, false, inv, pos), rotated(src, e + 1u, false, inv, pos)));
    }
    k_store(pos, (h - p.n_heads) * pairs + j, p.n_kv_heads * pairs, w);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let heads = p.n_heads + 2u * p.n_kv_heads;
    let i = gid.x;
    if (i >= step.n_tokens * heads) {
        return;
    }
    let t = i / heads;
    let h = i % heads;
    let pos = step.pos0 + t;
    let src = i * p.head_dim; // = (t * heads + h) * head_dim
    let pairs = p.head_dim / 2u;
    let is_q = h < p.n_heads;
    if (h >= p.n_heads + p.n_kv_heads) {
        // A value head: stored as it is.
        if (pos < p.n_ctx) {
            for (var j = 0u; j < pairs; j += KV_STORE_PAIRS) {
                store_values(src, pos, h, j);
            }
        }
        return;
    }
    var inv = 1.0;
    if (p.qk_norm == 1u) {
        var ss = 0.0;
        for (var e = 0u; e < p.head_dim; e++) {
            let v = qkv[src + e];
            ss += v * v;
        }
        inv = inverseSqrt(ss / f32(p.head_dim) + p.eps);
    }
    if (is_q) {
        let dst = (t * p.n_heads + h) * p.head_dim;
        for (var e = 0u; e < p.head_dim; e++) {
            q[dst + e] = rotated(src, e, true, inv, pos);
        }
    } else if (pos < p.n_ctx) {
        for (var j = 0u; j < pairs; j += KV_STORE_PAIRS) {
            store_keys(src, pos, h, j, inv);
        }
    }
}

var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64)
fn per_head(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let heads = p.n_heads + 2u * p.n_kv_heads;
    // Everything up to the barriers depends on the workgroup only: the whole workgroup takes
    // the same branches (uniform control flow for workgroupBarrier).
    let i = wid.x + wid.y * nwg.x;
    if (i >= step.n_tokens * heads) {
        return;
    }
    let t = i / heads;
    let h = i % heads;
    let pos = step.pos0 + t;
    let src = i * p.head_dim;
    let pairs = p.head_dim / 2u;
    let is_q = h < p.n_heads;
    if (h >= p.n_heads + p.n_kv_heads) {
        if (pos < p.n_ctx) {
            for (var j = lid * KV_STORE_PAIRS; j < pairs; j += 64u * KV_STORE_PAIRS) {
                store_values(src, pos, h, j);
            }
        }
        return;
    }
    var inv = 1.0;
    if (p.qk_norm == 1u) {
        var ss = 0.0;
        for (var e = lid; e < p.head_dim; e += 64u) {
            let v = qkv[src + e];
            ss += v * v;
        }
        partial[lid] = ss;
        workgroupBarrier();
        for (var s = 32u; s > 0u; s >>= 1u) {
            if (lid < s) {
                partial[lid] += partial[lid + s];
            }
            workgroupBarrier();
        }
        inv = inverseSqrt(partial[0] / f32(p.head_dim) + p.eps);
    }
    if (is_q) {
        let dst = (t * p.n_heads + h) * p.head_dim;
        for (var e = lid; e < p.head_dim; e += 64u) {
            q[dst + e] = rotated(src, e, true, inv, pos);
        }
    } else if (pos < p.n_ctx) {
        for (var j = lid * KV_STORE_PAIRS; j < pairs; j += 64u * KV_STORE_PAIRS) {
            store_keys(src, pos, h, j, inv);
        }
    }
}
