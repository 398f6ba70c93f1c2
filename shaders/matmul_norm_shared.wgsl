// The sums of shaders/matmul_norm.wgsl when a workgroup's threads share each token row
// (NORM_SHARED): NORM_LANES consecutive threads per row, summed through workgroup memory.

var<workgroup> norm_partial: array<f32, WG>;

// The sum of `v` over each row's NORM_LANES consecutive threads, returned to all of them.
// Every thread of the workgroup must call it.
fn sum_over_lanes(v: f32, lid: u32) -> f32 {
    norm_partial[lid] = v;
    workgroupBarrier();
    for (var s = NORM_LANES / 2u; s > 0u; s >>= 1u) {
        if (lid % NORM_LANES < s) {
            norm_partial[lid] += norm_partial[lid + s];
        }
        workgroupBarrier();
    }
    let total = norm_partial[lid - lid % NORM_LANES];
    workgroupBarrier(); // read by all before the next call overwrites
    return total;
}

// Makes the norm_scale (and post_scale) that lane 0 of each row wrote visible to all.
fn norm_barrier() {
    workgroupBarrier();
}
