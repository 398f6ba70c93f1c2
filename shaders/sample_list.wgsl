// The candidate list of shaders/sample.wgsl (assembled after it): when the rank filters keep
// at most LIST_CAP candidates, only those matter once they are known.
//
// Without it every filter after the first walked the whole row again (four radix passes plus
// two tie passes each, with an exp per token in every pass that measures by weight): the
// llama.cpp defaults (top-k 40, top-p 0.95, min-p 0.05) made ~20 passes over a 262k row.
// Now one pass bins the row by distance below the top (window_near_top) and finds the nearest
// bins that hold top-k's k candidates or top-p's mass; when they hold at most LIST_CAP, one
// pass compacts them into workgroup memory, a bitonic sort puts them in rank order (logit
// descending, lower id first), and top-k (a prefix), top-p, min-p and the draw walk 4 list
// positions per thread (sample_list). When the window holds more (a flat row under top-p
// alone, thousands of ties at the top), the cuts walk the row as before and the list takes
// over for min-p and the draw if the cuts leave at most LIST_CAP. The masses are the same
// exact 64-bit sums over the same candidates, so the ids are the full path's.
//
// Each call site of a measure (an exp and a fixed-point conversion) or of a reduction with
// barriers is compiled again: the walks are one loop for that reason (SwiftShader, Chromium's
// WebGPU without a GPU, takes seconds to compile this kernel).

const LIST_CAP: u32 = 1024u; // 4 positions per thread (WG = 256)

// The list: keys in `win` (the penalty window's ids are no longer needed by then; workgroup
// memory is 16 KiB at the least), ids in `list_id`.
var<workgroup> list_id: array<u32, 1024>;
var<workgroup> list_len: atomic<u32>;
var<workgroup> list_pick_at: u32;

// Top-p's goal: the mass `total * top_p`, at least one unit (the top candidate stays).
fn top_p_goal(total: vec2<u32>) -> vec2<u32> {
    var goal = mul_frac(total, vec2<u32>(p.top_p_lo, p.top_p_hi));
    if (goal.x == 0u && goal.y == 0u) {
        goal.x = 1u;
    }
    return goal;
}

// The candidates of `st` into the list, in no particular order (the first LIST_CAP found
// where there are more); returns how many there are (uniform).
fn compact(lid: u32, st: State) -> u32 {
    if (lid == 0u) {
        atomicStore(&list_len, 0u);
    }
    workgroupBarrier();
    for (var q = lid; q < quads(); q += WG) {
        let v = work[q];
        for (var j = 0u; j < 4u; j++) {
            let key = key_of(v[j]);
            if (is_candidate(st, 4u * q + j, key)) {
                let at = atomicAdd(&list_len, 1u);
                if (at < LIST_CAP) {
                    win[at] = key;
                    list_id[at] = 4u * q + j;
                }
            }
        }
    }
    workgroupBarrier();
    if (lid == 0u) {
        list_pick_at = atomicLoad(&list_len);
    }
    return workgroupUniformLoad(&list_pick_at);
}

// Sorts the first `len` list entries into rank order: a bitonic sort over the next power of
// two, padded with key 0 (below -inf's key, so after every candidate).
fn sort_list(lid: u32, len: u32) {
    var size = 2u;
    while (size < len) {
        size <<= 1u;
    }
    for (var i = len + lid; i < size; i += WG) {
        win[i] = 0u;
        list_id[i] = SENTINEL;
    }
    workgroupBarrier();
    for (var k = 2u; k <= size; k <<= 1u) {
        for (var j = k >> 1u; j > 0u; j >>= 1u) {
            // Each pair (i, i ^ j) is compared by the thread that owns its lower index.
            for (var i = lid; i < size; i += WG) {
                let o = i ^ j;
                if (o > i) {
                    let i_first = ranks_before(win[i], list_id[i], win[o], list_id[o]);
                    // Runs of k alternate between rank order and its reverse until the last.
                    if (i_first != ((i & k) == 0u)) {
                        let key = win[i];
                        let id = list_id[i];
                        win[i] = win[o];
                        list_id[i] = list_id[o];
                        win[o] = key;
                        list_id[o] = id;
                    }
                }
            }
            workgroupBarrier();
        }
    }
}

// This thread's 4 list positions' measures (0 at and past `len`).
fn list_measures(lid: u32, st: State, len: u32) -> array<vec2<u32>, 4> {
    var w: array<vec2<u32>, 4>;
    for (var j = 0u; j < 4u; j++) {
        let at = 4u * lid + j;
        w[j] = vec2<u32>(0u, 0u);
        if (at < len) {
            w[j] = measure(st, win[at]);
        }
    }
    return w;
}

// The list position where the cumulative measure in rank order first reaches `need` (> 0,
// at most the total): this thread's measures `w` and the sum of the threads' before it.
fn list_pick(lid: u32, w: array<vec2<u32>, 4>, before: vec2<u32>, need: vec2<u32>) -> u32 {
    let sum = add64(add64(w[0], w[1]), add64(w[2], w[3]));
    workgroupBarrier(); // every thread has read list_pick_at's last value
    if (lt64(before, need) && !lt64(add64(before, sum), need)) {
        var cum = before;
        for (var j = 0u; j < 4u; j++) {
            cum = add64(cum, w[j]);
            if (!lt64(cum, need)) {
                list_pick_at = 4u * lid + j;
                break;
            }
        }
    }
    return workgroupUniformLoad(&list_pick_at);
}

// What main leaves to the list: its candidates, and the filters still to apply on it.
struct List {
    // The candidates (compact() gathers them): every live token with key >= st.pk, or
    // (after cuts over the row) st's rank prefix; the top logit in st.mx.
    st: State,
    // Keep the first top_k of them (SENTINEL: all).
    top_k: u32,
    // Top-p still to do (on the kept ones).
    top_p: bool,
}

// The rest of the request on the `len` candidates compact() gathered: sorts them, then
// top-k, top-p, min-p and the draw; returns the drawn id. `row_total`: the row's mass at
// temperature 1 when top-p has no top-k before it (its goal is a fraction of the whole row).
fn sample_list(lid: u32, l: List, len: u32, row_total: vec2<u32>) -> u32 {
    sort_list(lid, len);
    var st = l.st;
    st.by_count = false; // weights at temperature 1
    var keep = min(len, l.top_k);
    // Two walks along the list, written as one loop so that the measures (an exp each) are
    // compiled once: 0 top-p at temperature 1 (if asked), 1 the draw at the temperature.
    for (var walk = 0u; walk < 2u; walk++) {
        if (walk == 0u && !l.top_p) {
            continue;
        }
        if (walk == 1u) {
            keep = min_p_prefix(lid, st, keep);
            st.t = p.temperature;
        }
        let w = list_measures(lid, st, keep);
        let sum = add64(add64(w[0], w[1]), add64(w[2], w[3]));
        let before = scan64(lid, sum);
        let total = workgroupUniformLoad(&res64);
        var need = add64(mul_frac(total, vec2<u32>(step.u_lo, step.u_hi)), vec2<u32>(1u, 0u));
        if (walk == 0u) {
            need = top_p_goal(select(row_total, total, l.top_k != SENTINEL));
        }
        let at = list_pick(lid, w, before, need);
        if (walk == 0u) {
            keep = at + 1u;
        } else {
            return list_id[at];
        }
    }
    return SENTINEL; // not reached: walk 1 returns
}

// How many of the first `len` list positions min-p keeps (logit - max >= ln(min_p): a prefix
// of the rank order); `len` without min-p.
fn min_p_prefix(lid: u32, st: State, len: u32) -> u32 {
    if ((p.flags & FLAG_MIN_P) == 0u) {
        return len;
    }
    var n = 0u;
    for (var j = 0u; j < 4u; j++) {
        let at = 4u * lid + j;
        if (at < len && float_of(win[at]) - st.mx >= p.min_p_ln) {
            n += 1u;
        }
    }
    return reduce32(lid, n, 0u);
}

// ---- the window near the top: which candidates can the rank filters keep? ----
//
// One pass sorts every candidate into a bin by its distance below the top key, d = top -
// key (keys are monotone in the logit, so a bin boundary is a rank-order boundary): d < 8
// exactly, then 8 bins per power of two (240 bins in all). The counts (and for top-p, the
// masses at temperature 1) per bin give the nearest bins that hold top-k's k candidates or
// top-p's mass; when those bins hold at most LIST_CAP candidates, they are the list, and
// the filters themselves run on it.

var<workgroup> hist_count: array<atomic<u32>, 256>;

fn distance_bin(d: u32) -> u32 {
    if (d < 8u) {
        return d;
    }
    let m = firstLeadingBit(d); // 3 ..= 31
    return 8u * (m - 2u) + ((d >> (m - 3u)) & 7u);
}

// The largest distance in bin b (wraps to 0xffffffff for the last bin).
fn bin_last_distance(b: u32) -> u32 {
    if (b < 8u) {
        return b;
    }
    let m = b / 8u + 2u;
    return ((9u + b % 8u) << (m - 3u)) - 1u;
}

struct Window {
    // The list: candidates with key >= pk; `fits`: at most LIST_CAP of them.
    pk: u32,
    fits: bool,
    // Top-p alone: the whole row's mass at temperature 1 (top-p's goal is a fraction of it).
    total: vec2<u32>,
    // Candidates in the bins nearer than the last: all of them are kept.
    inside: u32,
}

// `st`: every live token (by count), `top`: the top key; `by_k`: top-k cuts (else top-p
// alone).
fn window_near_top(lid: u32, st: State, top: u32, by_k: bool) -> Window {
    atomicStore(&hist_count[lid], 0u);
    atomicStore(&hist_lo[lid], 0u);
    atomicStore(&hist_hi[lid], 0u);
    workgroupBarrier();
    let by_weight = State(st.pk, st.pc, false, st.mx, false, 1.0);
    for (var q = lid; q < quads(); q += WG) {
        let v = work[q];
        for (var j = 0u; j < 4u; j++) {
            let key = key_of(v[j]);
            if (is_candidate(st, 4u * q + j, key)) {
                let bin = distance_bin(top - key);
                atomicAdd(&hist_count[bin], 1u);
                if (!by_k) {
                    hist_add(bin, measure(by_weight, key));
                }
            }
        }
    }
    workgroupBarrier();
    // Thread i holds bin i: inclusive prefix sums run from the top outwards.
    let count = atomicLoad(&hist_count[lid]);
    let mass = vec2<u32>(atomicLoad(&hist_lo[lid]), atomicLoad(&hist_hi[lid]));
    let count_within = scan32(lid, count) + count;
    let mass_within = add64(scan64(lid, mass), mass);
    let total = workgroupUniformLoad(&res64);
    var reaches = count_within >= p.top_k;
    if (!by_k) {
        reaches = !lt64(mass_within, top_p_goal(total));
    }
    // The nearest bin that reaches: the threads that reach are a suffix lid >= b.
    let b = WG - reduce32(lid, select(0u, 1u, reaches), 0u);
    if (lid == b) {
        res_cut = vec2<u32>(count_within, count_within - count);
    }
    let n_inside = workgroupUniformLoad(&res_cut);
    let last = bin_last_distance(b);
    return Window(max(select(top - last, 0u, last > top), KEY_NEG_INF + 1u), n_inside.x <= LIST_CAP, total, n_inside.y);
}
