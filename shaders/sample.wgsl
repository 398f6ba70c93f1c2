// Sampling on the GPU: picks the next token from one row of logits with exactly the rules
// of the CPU sampler (src/sample/sampler.rs), so a decode step reads back one id and a
// decode chain can feed it straight into the next step.
//
// Order, as on the CPU: NaN/+inf check → logit bias → allowed-token mask (-inf) →
// penalties → greedy if temperature is 0 → top-k → top-p → min-p → temperature → one
// uniform draw walked along the cumulative weights, in rank order (logit descending, lower
// id first) when top-k or top-p filtered, in id order otherwise.
//
// Why no sort: a 262k vocabulary does not fit in workgroup memory and one workgroup (the
// only way to stay in one dispatch) sorts it slowly. Every filter instead keeps a *prefix of
// the rank order*, which is described by two numbers: a key K and an id cut c, the prefix
// being { key > K } ∪ { key == K, id < c }. Keys are the logits' bits mapped to u32 so that
// unsigned order is float order (-0 below +0, like the CPU's total_cmp). The largest K
// whose "measure of key >= K" reaches a need is found by a radix select over the key's 4
// bytes, one pass over the row per byte building a 256-bin histogram (largest_key): the
// measure is the count for top-k, the probability mass at temperature 1 for top-p, the mass
// at the temperature for the draw. The ties at K then take the lowest ids first: a per-thread count over
// contiguous id chunks and a prefix sum find the m-th one. min-p keeps every candidate with
// logit - max >= ln(min_p), which is upward closed, so the kept set stays a rank prefix.
// The id-order draw sums each thread's contiguous chunk, prefix-sums the chunk sums, and
// the thread whose range holds the draw walks its chunk.
//
// A sort after all, of a few: top-k and top-p usually keep a few dozen tokens near the top,
// and then one pass finds them, one gathers them into workgroup memory, and the filters and
// the draw run on them sorted there (shaders/sample_list.wgsl, assembled after this file);
// the radix walks over the row remain for rows where more than 1024 are in reach.
//
// Masses are exact integers: each weight exp((l - max) / t) in [0, 1] (the max weighs 1,
// as on the CPU) becomes a 64-bit fixed-point number with 44 fraction bits (two u32s), so
// sums are exact and independent of the reduction order, and prefix sums are monotone.
// The CPU sums the same f32 weights in f64, so the two agree unless the draw lands within
// about 1e-9 of the total of a boundary, or a weight's exp differs in its last bit (exp
// here is our own, accurate to about 1 ulp, instead of the driver's, which can be off by
// 1e-6 for large arguments). Weights below 2^-45 round to 0 here: such a token has a
// probability under 3e-14 on the CPU.
//
// The uniform u comes from the CPU's generator (Sampler::next_uniform) as a 64-bit fraction
// (exact, it has 53 bits); the drawn point is floor(u * total).
//
// Errors cannot be returned, so the output id is SENTINEL and `status` says why:
// [1, id, bits] a NaN or +inf logit in the input (lowest id), [2, id, bits] one after the
// penalties, [3, 0, 0] every token masked. A set status makes every later step of a chain
// write SENTINEL too, so the first error is the one reported. The CPU clears it per request.
//
// Log-probabilities (FLAG_LOGPROBS, OpenAI's logprobs/top_logprobs): before anything else
// the kernel takes the log-sum-exp of the *raw* row (before bias, mask, penalties and
// temperature, as OpenAI reports them; src/sample/logprobs.rs is the CPU reference) and the
// top_logprobs best raw logits (each thread keeps its own best N while the max pass walks the
// row, then N rounds of reductions over the threads' list heads merge them: two passes over
// the row in all), then writes the drawn id's logprob when it finishes. Record `step.lp_slot` of `lp` holds [id, logprob bits] then N
// pairs [id, logprob bits], so the CPU reads back exactly N + 1 pairs per token. The sum uses
// the same exact 64-bit fixed-point weights as the draw, so it does not depend on the
// reduction order.
//
// One workgroup of 256 threads, dispatch (1, 1, 1).
// Bindings: 0 place, 1 params, 2 step (uniforms); 3 logits, 4 work [ceil(vocab / 4)] vec4 scratch,
// 5 history [HISTORY_CAP] ring, 6 bias [(id, bias bits)], 7 mask [ceil(vocab / 32)], 8 out, 9 status [4],
// 10 lp [MAX_STEPS * 2 * (1 + MAX_TOP_LOGPROBS)] logprob records.

struct Place {
    logits_offset: u32,
    out_offset: u32,
    _pad0: u32,
    _pad1: u32,
}

struct Params {
    vocab: u32,
    top_k: u32,
    bias_count: u32,
    flags: u32,
    temperature: f32,
    min_p_ln: f32,
    repetition_penalty: f32,
    frequency_penalty: f32,
    presence_penalty: f32,
    top_p_lo: u32,
    top_p_hi: u32,
    top_logprobs: u32,
}

struct SampleStep {
    u_lo: u32,
    u_hi: u32,
    window_start: u32,
    window_len: u32,
    out_slot: u32,
    lp_slot: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> place: Place;
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<uniform> step: SampleStep;
@group(0) @binding(3) var<storage, read> logits: array<u32>;
@group(0) @binding(4) var<storage, read_write> work: array<vec4<u32>>;
@group(0) @binding(5) var<storage, read_write> history: array<u32>;
@group(0) @binding(6) var<storage, read> bias: array<vec2<u32>>;
@group(0) @binding(7) var<storage, read> mask: array<u32>;
@group(0) @binding(8) var<storage, read_write> out: array<u32>;
@group(0) @binding(9) var<storage, read_write> status: array<u32>;
@group(0) @binding(10) var<storage, read_write> lp: array<u32>;

const WG: u32 = 256u;
const SENTINEL: u32 = 0xffffffffu;
const FLAG_MASK: u32 = 1u;
const FLAG_PENALTIES: u32 = 2u;
const FLAG_TOP_P: u32 = 4u;
const FLAG_MIN_P: u32 = 8u;
const FLAG_LOGPROBS: u32 = 16u;
const WINDOW_CAP: u32 = 1024u;
// The history is a ring of this many slots (the window plus one chain's steps).
const HISTORY_CAP: u32 = 1040u;
const NEG_INF_BITS: u32 = 0xff800000u;
// key(-inf): a key above it is a token still in the running.
const KEY_NEG_INF: u32 = 0x007fffffu;

var<workgroup> red64: array<vec2<u32>, 256>;
var<workgroup> red32: array<u32, 256>;
var<workgroup> res64: vec2<u32>;
var<workgroup> res32: u32;
var<workgroup> win: array<u32, 1024>;
// largest_key's histogram of 64-bit measures (low and high words) and its cut.
var<workgroup> hist_lo: array<atomic<u32>, 256>;
var<workgroup> hist_hi: array<atomic<u32>, 256>;
var<workgroup> res_cut: vec2<u32>;
// The raw row's largest logit and ln(sum of exp(logit - lp_max)): logprob = l - lp_max - lp_ln_sum.
var<private> lp_max: f32;
var<private> lp_ln_sum: f32;
// This thread's best tokens of the raw row, (key, id), best first, `lp_len` of them.
const MAX_TOP_LOGPROBS: u32 = 20u;
var<private> lp_top: array<vec2<u32>, 20>;
var<private> lp_len: u32;

// ---- keys: u32 order == float order ----

fn key_of(bits: u32) -> u32 {
    if ((bits & 0x80000000u) != 0u) {
        return ~bits;
    }
    return bits | 0x80000000u;
}

fn keys(v: vec4<u32>) -> vec4<u32> {
    return vec4<u32>(key_of(v.x), key_of(v.y), key_of(v.z), key_of(v.w));
}

fn float_of(key: u32) -> f32 {
    if ((key & 0x80000000u) != 0u) {
        return bitcast<f32>(key & 0x7fffffffu);
    }
    return bitcast<f32>(~key);
}

// (top key, live tokens) with a quad of logit bits added.
fn with_quad(top_alive: vec2<u32>, v: vec4<u32>) -> vec2<u32> {
    let k4 = keys(v);
    let top = max(top_alive.x, max(max(k4.x, k4.y), max(k4.z, k4.w)));
    return vec2<u32>(top, top_alive.y + dot(select(vec4<u32>(0u), vec4<u32>(1u), k4 > vec4<u32>(KEY_NEG_INF)), vec4<u32>(1u)));
}

// NaN or +inf (-inf is a valid mask).
fn is_bad(bits: u32) -> bool {
    return (bits & 0x7fffffffu) >= 0x7f800000u && bits != NEG_INF_BITS;
}

// ---- 64-bit unsigned integers as (lo, hi) ----

fn add64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    let lo = a.x + b.x;
    return vec2<u32>(lo, a.y + b.y + select(0u, 1u, lo < a.x));
}

fn sub64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    return vec2<u32>(a.x - b.x, a.y - b.y - select(0u, 1u, a.x < b.x));
}

fn lt64(a: vec2<u32>, b: vec2<u32>) -> bool {
    return a.y < b.y || (a.y == b.y && a.x < b.x);
}

fn mul_wide(a: u32, b: u32) -> vec2<u32> {
    let a0 = a & 0xffffu;
    let a1 = a >> 16u;
    let b0 = b & 0xffffu;
    let b1 = b >> 16u;
    let p00 = a0 * b0;
    let mid = a0 * b1 + a1 * b0; // may wrap: the carry is worth 2^48
    let mid_carry = select(0u, 0x10000u, mid < a0 * b1);
    let lo = p00 + (mid << 16u);
    let hi = a1 * b1 + (mid >> 16u) + mid_carry + select(0u, 1u, lo < p00);
    return vec2<u32>(lo, hi);
}

// v * n (the callers keep it below 2^64).
fn mul64_u32(v: vec2<u32>, n: u32) -> vec2<u32> {
    let lo = mul_wide(v.x, n);
    return vec2<u32>(lo.x, lo.y + v.y * n);
}

// floor(v * f / 2^64): v times the fraction f / 2^64.
fn mul_frac(v: vec2<u32>, f: vec2<u32>) -> vec2<u32> {
    let a = mul_wide(v.x, f.x);
    let b = mul_wide(v.x, f.y);
    let c = mul_wide(v.y, f.x);
    let d = mul_wide(v.y, f.y);
    let s1 = a.y + b.x;
    let s2 = s1 + c.x;
    let carries = select(0u, 1u, s1 < a.y) + select(0u, 1u, s2 < s1);
    var r = add64(d, vec2<u32>(b.y, 0u));
    r = add64(r, vec2<u32>(c.y, 0u));
    return add64(r, vec2<u32>(carries, 0u));
}

fn approx(v: vec2<u32>) -> f32 {
    return f32(v.y) * 4294967296.0 + f32(v.x);
}

// ---- weights ----

// e^x for x <= 0, about 1 ulp: x = k ln2 + r with |r| <= ln2 / 2 (Cody-Waite, ln2 split so
// k * LN2_HI is exact), a degree-7 Taylor polynomial for e^r, then the exponent. exp(0) is
// exactly 1 like the CPU's.
fn exp_neg(x: f32) -> f32 {
    if (!(x > -104.0)) {
        return 0.0;
    }
    let k = round(x * 1.4426950408889634);
    let r = (x - k * 0.693145751953125) - k * 1.4286067653302226e-6;
    let q = 1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0))));
    let e = 1.0 + (r + r * r * (0.5 + r * q));
    return min(ldexp(e, i32(k)), 1.0);
}

// A weight in [0, 1] as a 64-bit fixed-point number with 44 fraction bits (round to nearest).
fn to_fixed(w: f32) -> vec2<u32> {
    let bits = bitcast<u32>(w);
    let e = i32((bits >> 23u) & 0xffu);
    if (e == 0) {
        return vec2<u32>(0u, 0u); // zero or subnormal
    }
    let m = (bits & 0x7fffffu) | 0x800000u;
    let s = e - 106; // w * 2^44 = m * 2^(e - 127 - 23 + 44)
    if (s >= 0) {
        let su = u32(s);
        return vec2<u32>(m << su, select(0u, m >> (32u - su), su > 0u));
    }
    let sh = u32(-s);
    if (sh >= 25u) {
        return vec2<u32>(0u, 0u);
    }
    return vec2<u32>((m + (1u << (sh - 1u))) >> sh, 0u);
}

// What the filters have kept so far, and how candidates are measured.
struct State {
    // The rank prefix: key > pk, or key == pk and id < pc.
    pk: u32,
    pc: u32,
    // Also require logit - mx >= p.min_p_ln.
    min_p: bool,
    // The largest logit (of the top candidate).
    mx: f32,
    // Measure by count (top-k) instead of weight.
    by_count: bool,
    // Temperature of the weights.
    t: f32,
}

fn is_candidate(st: State, i: u32, key: u32) -> bool {
    if (key < st.pk || (key == st.pk && i >= st.pc)) {
        return false;
    }
    return !st.min_p || float_of(key) - st.mx >= p.min_p_ln;
}

fn measure(st: State, key: u32) -> vec2<u32> {
    if (st.by_count) {
        return vec2<u32>(1u, 0u);
    }
    return to_fixed(exp_neg((float_of(key) - st.mx) / st.t));
}

// ---- workgroup reductions (call in uniform control flow; results are uniform) ----

fn sum64(lid: u32, v: vec2<u32>) -> vec2<u32> {
    red64[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) {
            red64[lid] = add64(red64[lid], red64[lid + s]);
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        res64 = red64[0];
    }
    return workgroupUniformLoad(&res64);
}

// op 0: sum, 1: max, 2: min.
fn reduce32(lid: u32, v: u32, op: u32) -> u32 {
    red32[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) {
            let a = red32[lid];
            let b = red32[lid + s];
            red32[lid] = select(select(min(a, b), max(a, b), op == 1u), a + b, op == 0u);
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        res32 = red32[0];
    }
    return workgroupUniformLoad(&res32);
}

// Exclusive prefix sums over the threads (Hillis-Steele); the total is left in res.
fn scan32(lid: u32, v: u32) -> u32 {
    red32[lid] = v;
    workgroupBarrier();
    for (var off = 1u; off < WG; off <<= 1u) {
        var t = red32[lid];
        if (lid >= off) {
            t += red32[lid - off];
        }
        workgroupBarrier();
        red32[lid] = t;
        workgroupBarrier();
    }
    return red32[lid] - v;
}

fn scan64(lid: u32, v: vec2<u32>) -> vec2<u32> {
    red64[lid] = v;
    workgroupBarrier();
    for (var off = 1u; off < WG; off <<= 1u) {
        var t = red64[lid];
        if (lid >= off) {
            t = add64(t, red64[lid - off]);
        }
        workgroupBarrier();
        red64[lid] = t;
        workgroupBarrier();
    }
    if (lid == WG - 1u) {
        res64 = red64[lid];
    }
    return sub64(red64[lid], v);
}

// `work` holds 4 tokens per element (padded with -inf), so a pass over the row loops a
// quarter as often: llvmpipe (lavapipe) silently stops a loop nest after 65,535 iterations
// per invocation, which 80 passes of 1,024 iterations over a 262k vocabulary would exceed.
fn quads() -> u32 {
    return (p.vocab + 3u) / 4u;
}

// This thread's contiguous chunk of quads, for everything that walks in id order.
fn chunk(lid: u32) -> vec2<u32> {
    let n = quads();
    let size = (n + WG - 1u) / WG;
    return vec2<u32>(min(lid * size, n), min((lid + 1u) * size, n));
}

// ---- passes over the row ----

// Measure of the candidates with key >= k.
fn measure_ge(lid: u32, st: State, k: u32) -> vec2<u32> {
    var acc = vec2<u32>(0u, 0u);
    for (var q = lid; q < quads(); q += WG) {
        acc = add64(acc, quad_measure_ge(st, k, q));
    }
    return sum64(lid, acc);
}

// The measure of quad q's candidates with key >= k. A loop, not four calls: every call site
// of the measure (an exp and a fixed-point conversion) is compiled again, which made
// SwiftShader's JIT, the one Chromium uses without a GPU, take seconds over this kernel.
fn quad_measure_ge(st: State, k: u32, q: u32) -> vec2<u32> {
    let v = work[q];
    var acc = vec2<u32>(0u, 0u);
    for (var j = 0u; j < 4u; j++) {
        acc = add64(acc, measure_one_ge(st, k, 4u * q + j, v[j]));
    }
    return acc;
}

fn measure_one_ge(st: State, k: u32, i: u32, bits: u32) -> vec2<u32> {
    let key = key_of(bits);
    if (key >= k && is_candidate(st, i, key)) {
        return measure(st, key);
    }
    return vec2<u32>(0u, 0u);
}

fn is_tie(st: State, k: u32, i: u32, bits: u32) -> u32 {
    let key = key_of(bits);
    return select(0u, 1u, key == k && is_candidate(st, i, key));
}

fn ties_in_quad(st: State, k: u32, q: u32) -> u32 {
    let v = work[q];
    return is_tie(st, k, 4u * q, v.x) + is_tie(st, k, 4u * q + 1u, v.y) + is_tie(st, k, 4u * q + 2u, v.z)
        + is_tie(st, k, 4u * q + 3u, v.w);
}

// The largest key K whose measure_ge(K) >= need (measure_ge is non-increasing in K, and
// the callers make sure K = 0 qualifies), and measure_ge(K + 1), the measure above it.
//
// A radix select over the key's four bytes, high to low: one pass over the row per byte
// builds a 256-bin histogram of the measure of the candidates that share the digits found
// so far, and the largest digit whose bins from the top (plus everything above the digits
// found so far) still reach `need` is the next digit. Four passes instead of the 32 of a
// bisection over the bits, with the same exact 64-bit measures, so the same K.
struct KeyCut {
    k: u32,
    above: vec2<u32>,
}

fn largest_key(lid: u32, st: State, need: vec2<u32>) -> KeyCut {
    var prefix = 0u;
    var above = vec2<u32>(0u, 0u);
    for (var d = 0u; d < 4u; d++) {
        let shift = 24u - 8u * d;
        // The digits already found: 0 bits in the first pass, 8, 16, then 24.
        let found = ~(0xffffffffu >> (8u * d));
        atomicStore(&hist_lo[lid], 0u);
        atomicStore(&hist_hi[lid], 0u);
        workgroupBarrier();
        // Runs of one bin are summed in registers before one atomic add: the high byte (sign
        // and exponent) puts most of a row in a few bins, which would serialise the atomics.
        var run_bin = 256u;
        var run = vec2<u32>(0u, 0u);
        for (var q = lid; q < quads(); q += WG) {
            let v = work[q];
            for (var j = 0u; j < 4u; j++) {
                let key = key_of(v[j]);
                if ((key & found) == prefix && is_candidate(st, 4u * q + j, key)) {
                    let bin = (key >> shift) & 0xffu;
                    if (bin != run_bin) {
                        hist_add(run_bin, run);
                        run_bin = bin;
                        run = vec2<u32>(0u, 0u);
                    }
                    run = add64(run, measure(st, key));
                }
            }
        }
        hist_add(run_bin, run);
        workgroupBarrier();
        // Thread i holds bin 255 - i: prefix sums over the threads are sums from the top bin.
        let bin_total = vec2<u32>(atomicLoad(&hist_lo[WG - 1u - lid]), atomicLoad(&hist_hi[WG - 1u - lid]));
        let from_top = scan64(lid, bin_total); // bins above this thread's
        let reaches = !lt64(add64(above, add64(from_top, bin_total)), need);
        // The qualifying threads are a suffix lid >= first; the digit is 255 - first.
        let first = WG - reduce32(lid, select(0u, 1u, reaches), 0u);
        if (lid == first) {
            res_cut = add64(above, from_top);
        }
        above = workgroupUniformLoad(&res_cut);
        prefix |= (WG - 1u - first) << shift;
    }
    return KeyCut(prefix, above);
}

// Adds a 64-bit measure to a histogram bin (bin 256: no run yet), exactly: a carry out of
// the low word goes into the high one.
fn hist_add(bin: u32, v: vec2<u32>) {
    if (bin > 255u || (v.x == 0u && v.y == 0u)) {
        return;
    }
    let old = atomicAdd(&hist_lo[bin], v.x);
    let carry = select(0u, 1u, old + v.x < old);
    if (v.y + carry != 0u) {
        atomicAdd(&hist_hi[bin], v.y + carry);
    }
}

fn count_ties(lid: u32, st: State, k: u32) -> u32 {
    var n = 0u;
    for (var q = lid; q < quads(); q += WG) {
        n += ties_in_quad(st, k, q);
    }
    return reduce32(lid, n, 0u);
}

// The id of the m-th (0-based) candidate with key k, in id order.
fn nth_tie(lid: u32, st: State, k: u32, m: u32) -> u32 {
    let c = chunk(lid);
    var n = 0u;
    for (var q = c.x; q < c.y; q++) {
        n += ties_in_quad(st, k, q);
    }
    let seen = scan32(lid, n);
    if (seen <= m && m < seen + n) {
        // The quad holding it, then the element (unrolled: no inner loop).
        var left = m - seen;
        for (var q = c.x; q < c.y; q++) {
            let here = ties_in_quad(st, k, q);
            if (left < here) {
                let v = work[q];
                let t = vec4<u32>(is_tie(st, k, 4u * q, v.x), is_tie(st, k, 4u * q + 1u, v.y), is_tie(st, k, 4u * q + 2u, v.z), 0u);
                var c4 = 3u;
                if (left < t.x + t.y + t.z) {
                    c4 = 2u;
                }
                if (left < t.x + t.y) {
                    c4 = 1u;
                }
                if (left < t.x) {
                    c4 = 0u;
                }
                res32 = 4u * q + c4;
                break;
            }
            left -= here;
        }
    }
    return workgroupUniformLoad(&res32);
}

// The smallest m >= 1 with m * w > d: a float estimate, corrected in exact integers.
fn first_exceeding(d: vec2<u32>, w: vec2<u32>) -> u32 {
    var m = u32(max(floor(approx(d) / approx(w)), 0.0)) + 1u;
    for (var i = 0; i < 4 && m > 1u && lt64(d, mul64_u32(w, m - 1u)); i++) {
        m -= 1u;
    }
    for (var i = 0; i < 4 && !lt64(d, mul64_u32(w, m)); i++) {
        m += 1u;
    }
    return m;
}

// The candidate at which a cumulative measure in rank order first reaches `need`; returns
// (key, id). For need = x + 1 that is the draw "first cumulative weight > x".
fn rank_walk(lid: u32, st: State, need: vec2<u32>) -> vec2<u32> {
    let cut = largest_key(lid, st, need);
    let k = cut.k;
    let above = cut.above;
    let ties = count_ties(lid, st, k);
    let w = measure(st, k);
    // need - above > 0: the m-th tie is the first with above + m * w >= need.
    let m = min(max(first_exceeding(sub64(sub64(need, above), vec2<u32>(1u, 0u)), w), 1u), ties);
    return vec2<u32>(k, nth_tie(lid, st, k, m - 1u));
}

// Token i's logit bits, masked (-inf past the vocabulary and where the mask forbids).
// NaN and +inf are kept so that pass A reports them even under the mask, as the CPU does.
fn load(i: u32) -> u32 {
    if (i >= p.vocab) {
        return NEG_INF_BITS;
    }
    let bits = logits[place.logits_offset + i];
    if ((p.flags & FLAG_MASK) != 0u && (mask[i / 32u] & (1u << (i % 32u))) == 0u && !is_bad(bits)) {
        return NEG_INF_BITS;
    }
    return bits;
}

fn fail(lid: u32, code: u32, id: u32, bits: u32) {
    if (lid == 0u) {
        status[0] = code;
        status[1] = id;
        status[2] = bits;
        out[place.out_offset] = SENTINEL;
    }
}

fn finish(lid: u32, id: u32) {
    if (lid == 0u) {
        out[place.out_offset] = id;
        history[step.out_slot % HISTORY_CAP] = id;
        if ((p.flags & FLAG_LOGPROBS) != 0u) {
            let base = lp_base();
            lp[base] = id;
            lp[base + 1u] = bitcast<u32>(raw_logprob(raw_key(id)));
        }
    }
}

// ---- log-probabilities of the raw row ----

fn lp_base() -> u32 {
    return step.lp_slot * 2u * (1u + p.top_logprobs);
}

// Token i's raw key (-inf past the vocabulary: never picked, weighs 0).
fn raw_key(i: u32) -> u32 {
    if (i >= p.vocab) {
        return KEY_NEG_INF;
    }
    return key_of(logits[place.logits_offset + i]);
}

fn raw_logprob(key: u32) -> f32 {
    return (float_of(key) - lp_max) - lp_ln_sum;
}

fn raw_weight(i: u32) -> vec2<u32> {
    return to_fixed(exp_neg(float_of(raw_key(i)) - lp_max));
}

// Whether (ka, ia) ranks before (kb, ib): logit descending, lower id first.
fn ranks_before(ka: u32, ia: u32, kb: u32, ib: u32) -> bool {
    return ka > kb || (ka == kb && ia < ib);
}

// Offers token i to this thread's top list (kept sorted, at most `n` long): an insertion is
// rare after the first few tokens, so the pass costs about one compare per token.
fn offer(i: u32, n: u32) {
    let key = raw_key(i);
    if (i >= p.vocab) {
        return;
    }
    if (lp_len == n) {
        let last = lp_top[n - 1u];
        if (!ranks_before(key, i, last.x, last.y)) {
            return;
        }
    } else {
        lp_len += 1u;
    }
    var j = lp_len - 1u;
    while (j > 0u && ranks_before(key, i, lp_top[j - 1u].x, lp_top[j - 1u].y)) {
        lp_top[j] = lp_top[j - 1u];
        j -= 1u;
    }
    lp_top[j] = vec2<u32>(key, i);
}

fn logprob_pass(lid: u32) {
    // One pass: the max, and each thread's own best `n` tokens.
    let n = min(p.top_logprobs, MAX_TOP_LOGPROBS);
    var my_top = 0u;
    lp_len = 0u;
    for (var q = lid; q < quads(); q += WG) {
        let i = 4u * q;
        my_top = max(my_top, max(max(raw_key(i), raw_key(i + 1u)), max(raw_key(i + 2u), raw_key(i + 3u))));
        if (n > 0u) {
            offer(i, n);
            offer(i + 1u, n);
            offer(i + 2u, n);
            offer(i + 3u, n);
        }
    }
    lp_max = float_of(reduce32(lid, my_top, 1u));
    var acc = vec2<u32>(0u, 0u);
    for (var q = lid; q < quads(); q += WG) {
        let i = 4u * q;
        acc = add64(acc, add64(add64(raw_weight(i), raw_weight(i + 1u)), add64(raw_weight(i + 2u), raw_weight(i + 3u))));
    }
    // The sum is >= 1 (the max weighs 1) in units of 2^-44.
    lp_ln_sum = log(approx(sum64(lid, acc)) * 5.684341886080802e-14);

    // The global top n is in the union of the threads' lists: n rounds of "the best head of
    // all lists", whose owner then moves to its next entry (no pass over the row).
    let base = lp_base() + 2u;
    var head = 0u;
    for (var r = 0u; r < n; r++) {
        var mine = vec2<u32>(0u, SENTINEL);
        if (head < lp_len) {
            mine = lp_top[head];
        }
        let k = reduce32(lid, mine.x, 1u);
        let id = reduce32(lid, select(SENTINEL, mine.y, mine.x == k), 2u);
        if (head < lp_len && mine.y == id) {
            head += 1u;
        }
        if (lid == 0u) {
            lp[base + 2u * r] = id;
            lp[base + 2u * r + 1u] = bitcast<u32>(raw_logprob(k));
        }
    }
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
    if (lid == 0u) {
        res32 = status[0];
    }
    if (workgroupUniformLoad(&res32) != 0u) {
        if (lid == 0u) {
            out[place.out_offset] = SENTINEL; // an earlier step of the chain failed
        }
        return;
    }
    if ((p.flags & FLAG_LOGPROBS) != 0u) {
        logprob_pass(lid);
    }

    // The row, checked, masked, into `work`; its top key and live tokens on the way (they
    // stand unless bias or penalties change the row).
    var first_bad = SENTINEL;
    var top_alive = vec2<u32>(0u, 0u); // the top key, the live tokens
    for (var q = lid; q < quads(); q += WG) {
        let v = vec4<u32>(load(4u * q), load(4u * q + 1u), load(4u * q + 2u), load(4u * q + 3u));
        let bad = vec4<bool>(is_bad(v.x), is_bad(v.y), is_bad(v.z), is_bad(v.w));
        if (any(bad)) {
            first_bad = min(first_bad, 4u * q + select(select(select(3u, 2u, bad.z), 1u, bad.y), 0u, bad.x));
        }
        work[q] = v;
        top_alive = with_quad(top_alive, v);
    }
    let bad_input = reduce32(lid, first_bad, 2u);
    if (bad_input != SENTINEL) {
        fail(lid, 1u, bad_input, logits[place.logits_offset + bad_input]);
        return;
    }
    storageBarrier();

    // Bias (distinct ids, checked on the CPU), on tokens not masked.
    for (var j = lid; j < p.bias_count; j += WG) {
        let b = bias[j];
        if (b.x < p.vocab && work[b.x / 4u][b.x % 4u] != NEG_INF_BITS) {
            work[b.x / 4u][b.x % 4u] = bitcast<u32>(bitcast<f32>(work[b.x / 4u][b.x % 4u]) + bitcast<f32>(b.y));
        }
    }
    storageBarrier();

    // Penalties: the first occurrence of each id in the window counts its run and writes it.
    let n = min(step.window_len, WINDOW_CAP);
    if ((p.flags & FLAG_PENALTIES) != 0u && n > 0u) {
        for (var j = lid; j < n; j += WG) {
            win[j] = history[(step.window_start + j) % HISTORY_CAP];
        }
        workgroupBarrier();
        var bad = SENTINEL;
        for (var j = lid; j < n; j += WG) {
            let id = win[j];
            var first = id < p.vocab;
            for (var q = 0u; q < j && first; q++) {
                first = win[q] != id;
            }
            if (first && work[id / 4u][id % 4u] != NEG_INF_BITS) {
                var count = 0u;
                for (var q = j; q < n; q++) {
                    count += select(0u, 1u, win[q] == id);
                }
                var l = bitcast<f32>(work[id / 4u][id % 4u]);
                if (l > 0.0) {
                    l /= p.repetition_penalty;
                } else {
                    l *= p.repetition_penalty;
                }
                l -= f32(count) * p.frequency_penalty + p.presence_penalty;
                let bits = bitcast<u32>(l);
                if (is_bad(bits)) {
                    bad = min(bad, id);
                }
                work[id / 4u][id % 4u] = bits;
            }
        }
        let bad_penalized = reduce32(lid, bad, 2u);
        if (bad_penalized != SENTINEL) {
            storageBarrier();
            fail(lid, 2u, bad_penalized, work[bad_penalized / 4u][bad_penalized % 4u]);
            return;
        }
        storageBarrier();
    }

    // The top key and how many tokens are alive, again where bias or penalties changed them.
    if (p.bias_count > 0u || ((p.flags & FLAG_PENALTIES) != 0u && n > 0u)) {
        top_alive = vec2<u32>(0u, 0u);
        for (var q = lid; q < quads(); q += WG) {
            top_alive = with_quad(top_alive, work[q]);
        }
    }
    let top = reduce32(lid, top_alive.x, 1u);
    let alive = reduce32(lid, top_alive.y, 0u);
    if (alive == 0u) {
        fail(lid, 3u, 0u, 0u);
        return;
    }
    let mx = float_of(top);

    if (p.temperature == 0.0) {
        // Greedy: the lowest id equal to the max as floats (so -0 ties with +0, like `>`).
        var best = SENTINEL;
        for (var q = lid; q < quads(); q += WG) {
            let v = work[q];
            let hit = (bitcast<vec4<f32>>(v) == vec4<f32>(mx)) & (keys(v) > vec4<u32>(KEY_NEG_INF));
            if (any(hit)) {
                best = min(best, 4u * q + select(select(select(3u, 2u, hit.z), 1u, hit.y), 0u, hit.x));
            }
        }
        finish(lid, reduce32(lid, best, 2u));
        return;
    }

    var st = State(KEY_NEG_INF, 0u, false, mx, true, 1.0);
    let top_p = (p.flags & FLAG_TOP_P) != 0u;
    let by_k = p.top_k != 0u && p.top_k < alive;
    // Usually the filters keep a few tokens near the top: then they all run on a sorted list
    // of those (shaders/sample_list.wgsl). Otherwise the cuts walk the row, and the list
    // takes over for min-p and the draw if few tokens are left.
    let near_first = (by_k && p.top_k <= LIST_CAP) || (!by_k && top_p);
    var near = Window(0u, false, vec2<u32>(0u, 0u), 0u);
    var on_list = List(st, SENTINEL, false);
    var want_list = false;
    if (near_first) {
        near = window_near_top(lid, st, top, by_k);
        if (near.fits) {
            want_list = true;
            on_list.st.pk = near.pk;
            on_list.st.pc = SENTINEL;
            on_list.top_k = select(SENTINEL, p.top_k, by_k);
            on_list.top_p = top_p;
        }
    }
    var sorted = false;
    // Top-p alone went through the window, which knows its row total and whether it keeps
    // more than the list holds.
    let top_p_alone = near_first && !by_k;
    if (!want_list) {
        if (by_k) {
            let cut = rank_walk(lid, st, vec2<u32>(p.top_k, 0u));
            st.pk = cut.x;
            st.pc = cut.y + 1u;
            sorted = true;
        }
        st.by_count = false;
        if (top_p) {
            var total = near.total;
            if (!top_p_alone) {
                total = measure_ge(lid, st, 0u);
            }
            let cut = rank_walk(lid, st, top_p_goal(total));
            st.pk = cut.x;
            st.pc = cut.y + 1u;
            sorted = true;
        }
        on_list.st = st;
        want_list = sorted && !(top_p_alone && near.inside >= LIST_CAP);
    }
    if (want_list) {
        let len = compact(lid, on_list.st);
        if (len <= LIST_CAP) {
            finish(lid, sample_list(lid, on_list, len, near.total));
            return;
        }
    }
    st.min_p = (p.flags & FLAG_MIN_P) != 0u;
    st.t = p.temperature;

    let u = vec2<u32>(step.u_lo, step.u_hi);
    if (sorted) {
        let total = measure_ge(lid, st, 0u);
        let x = mul_frac(total, u);
        finish(lid, rank_walk(lid, st, add64(x, vec2<u32>(1u, 0u))).y);
        return;
    }

    // Id order: chunk sums, their prefix sums, then one thread walks its chunk.
    let c = chunk(lid);
    var sum = vec2<u32>(0u, 0u);
    for (var q = c.x; q < c.y; q++) {
        sum = add64(sum, quad_measure_ge(st, 0u, q));
    }
    var cum = scan64(lid, sum);
    let x = mul_frac(workgroupUniformLoad(&res64), u);
    if (!lt64(x, cum) && lt64(x, add64(cum, sum))) {
        var found = false;
        for (var q = c.x; q < c.y && !found; q++) {
            let v = work[q];
            for (var j = 0u; j < 4u; j++) {
                let next = add64(cum, measure_one_ge(st, 0u, 4u * q + j, v[j]));
                // A zero weight never holds x: cum does not move past it.
                if (lt64(x, next)) {
                    res32 = 4u * q + j;
                    found = true;
                    break;
                }
                cum = next;
            }
        }
    }
    finish(lid, workgroupUniformLoad(&res32));
}
