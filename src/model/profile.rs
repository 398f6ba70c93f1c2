//! GPU time per dispatch of one forward pass, from timestamp queries: each dispatch is
//! recorded in a compute pass of its own that writes a timestamp at its start and end. That
//! serialises the dispatches (a real pass lets the GPU overlap neighbours), so the sum is an
//! upper bound of a normal run; the split between op kinds is what the profile is for.
//! Needs the adapter's `timestamp-query` feature (most native GPUs; Chrome behind a flag).

use super::graph::Graph;
use super::stats::DispatchTime;
use super::{Logits, Model};
use crate::error::{Error, Result};
use crate::gpu::GpuContext;
use crate::kernels::step::Step;

/// WebGPU's limit on queries in one query set.
const MAX_QUERIES: u32 = 4096;

impl Model {
    /// Runs `ids` (at most one batch) like `forward(ids, Logits::Last, false)`, appending them
    /// to the cache, and returns every dispatch's GPU time. Errors without timestamp queries.
    pub async fn profile_forward(&mut self, ids: &[u32]) -> Result<Vec<DispatchTime>> {
        let n = ids.len() as u32;
        if self.n_past + n > self.kv.n_ctx {
            return Err(super::graph::context_full(self.n_past, ids.len(), self.kv.n_ctx));
        }
        if let Some(&bad) = ids.iter().find(|&&id| id >= self.config.vocab) {
            return Err(Error::InvalidArgument(format!("token id {bad} is outside the vocabulary of {}", self.config.vocab)));
        }
        let graph = self.graph(n, Logits::Last);
        graph.check_batch(n)?;
        let times = profile(&self.ctx, graph, &self.step, ids, self.n_past).await?;
        self.n_past += n;
        Ok(times)
    }
}

async fn profile(ctx: &GpuContext, graph: &Graph, step: &wgpu::Buffer, ids: &[u32], pos0: u32) -> Result<Vec<DispatchTime>> {
    if !ctx.features.timestamps {
        return Err(Error::InvalidArgument(format!("{} has no timestamp queries, so no GPU times per dispatch", ctx.describe())));
    }
    let n = ids.len() as u32;
    // The dispatches this batch runs (a matmul's windows past it record nothing).
    let dispatches: Vec<_> = graph.dispatches.iter().filter(|d| d.runs(n)).collect();
    let count = dispatches.len() as u32 * 2;
    if count > MAX_QUERIES {
        return Err(Error::InvalidArgument(format!("{} dispatches need more than {MAX_QUERIES} timestamp queries", count / 2)));
    }
    let queries = ctx.device.create_query_set(&wgpu::QuerySetDescriptor { label: Some("profile"), ty: wgpu::QueryType::Timestamp, count });
    let bytes = u64::from(count) * 8;
    let resolved = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("profile timestamps"),
        size: bytes,
        usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let staging = super::arena::staging(ctx, "profile staging", bytes);
    ctx.queue.write_buffer(&graph.ids, 0, bytemuck::cast_slice(ids));
    ctx.queue.write_buffer(step, 0, bytemuck::bytes_of(&Step::new(pos0, n)));
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    for (i, d) in dispatches.iter().enumerate() {
        let timestamp_writes = wgpu::ComputePassTimestampWrites {
            query_set: &queries,
            beginning_of_pass_write_index: Some(2 * i as u32),
            end_of_pass_write_index: Some(2 * i as u32 + 1),
        };
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: None, timestamp_writes: Some(timestamp_writes) });
        d.record(&mut pass, n);
    }
    encoder.resolve_query_set(&queries, 0..count, &resolved, 0);
    encoder.copy_buffer_to_buffer(&resolved, 0, &staging, 0, bytes);
    ctx.queue.submit([encoder.finish()]);
    let ticks: Vec<u64> = bytemuck::pod_collect_to_vec(&ctx.map_read(&staging).await?);
    let ns_per_tick = f64::from(ctx.queue.get_timestamp_period());
    Ok(dispatches
        .iter()
        .zip(ticks.chunks(2))
        .map(|(d, t)| DispatchTime {
            name: d.name().to_string(),
            kind: d.kind().to_string(),
            gpu_seconds: t[1].saturating_sub(t[0]) as f64 * ns_per_tick * 1e-9,
        })
        .collect())
}
