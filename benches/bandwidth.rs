//! The device's read bandwidth as a compute shader sees it (benches/support/read_reduce.rs):
//! a read-reduce over a large buffer in four access patterns, the ceiling the decode GEMVs
//! (`cargo bench --bench kernels`, its "weight GB/s" column and its "decode GEMVs" line, which
//! measures the same in its own run) are set against. Then what one load instruction costs by
//! where it reads from (benches/support/load_costs.rs): on CPU-like devices that, more than
//! bytes, sets the matmuls' speed.
//!
//!     cargo bench --bench bandwidth [-- --mib 16,64,256 --workgroup 256]

#[path = "support/load_costs.rs"]
mod load_costs;
#[path = "support/read_reduce.rs"]
mod read_reduce;

use hearth::gpu::GpuContext;
use load_costs::{Source, per_lane_load_ns, stream_in_windows};
use read_reduce::{Pattern, seconds_per_read};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let sizes: Vec<u64> =
        arg("--mib").unwrap_or_else(|| "16,64,256".into()).split(',').map(|v| v.parse().expect("--mib: whole numbers")).collect();
    let workgroup: u32 = arg("--workgroup").map(|v| v.parse().expect("--workgroup: a whole number")).unwrap_or(256);
    let ctx = pollster::block_on(GpuContext::new(Default::default())).expect("a GPU adapter");
    println!("device: {}; read-reduce, workgroups of {workgroup}", ctx.describe());
    println!("\n| buffer MiB | pattern | µs per read | GB/s |");
    println!("|---:|---|---:|---:|");
    for mib in sizes {
        for pattern in Pattern::ALL.into_iter().chain([Pattern::SliceWords]) {
            match seconds_per_read(&ctx, pattern, mib << 20, workgroup) {
                Some(s) => println!("| {mib} | {} | {:.1} | {:.1} |", pattern.name(), s * 1e6, (mib << 20) as f64 / s / 1e9),
                None => {
                    println!("| {mib} | {} | (over the device's binding or texture limits) | |", pattern.name())
                }
            }
        }
    }
    println!("\n| load | same index in every thread: ns per vec4 per thread | an index per thread: ns |");
    println!("|---|---:|---:|");
    for source in Source::ALL {
        println!("| {} | {:.2} | {:.2} |", source.name(), per_lane_load_ns(&ctx, source, false), per_lane_load_ns(&ctx, source, true));
    }
    println!("\n| 32 MiB read in 64 KiB windows, a dispatch each | GB/s |");
    println!("|---|---:|");
    for source in Source::ALL {
        match stream_in_windows(&ctx, source) {
            Some(gbs) => println!("| {} | {gbs:.2} |", source.name()),
            None => println!("| {} | (uniform bindings under 64 KiB here) |", source.name()),
        }
    }
}
