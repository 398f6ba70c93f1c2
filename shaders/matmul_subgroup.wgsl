// The sum of a row's THREADS_PER_ROW lanes in shaders/matmul.wgsl through subgroup shuffles
// (SUBGROUP_REDUCE), where the device has subgroups (src/kernels/matmul.rs decides): a
// butterfly over the row's consecutive lanes, after which every lane holds the sum, with no
// workgroup memory and no barriers (the workgroup-memory tree takes 2 + log2(THREADS_PER_ROW)
// barriers per output). Needs the row's lanes in one subgroup: subgroups of at least
// THREADS_PER_ROW invocations made of consecutive invocation indices (how Vulkan, Metal and
// D3D12 drivers lay out a one-dimensional workgroup).
// Without subgroups this file is left out and a stub stands in (never called).

fn row_sum_in_subgroup(v: f32) -> f32 {
    var s = v;
    for (var mask = THREADS_PER_ROW / 2u; mask > 0u; mask >>= 1u) {
        s += subgroupShuffleXor(s, mask);
    }
    return s;
}
