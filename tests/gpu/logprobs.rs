//! The GPU sampler's log-probabilities (shaders/sample.wgsl with `logprobs`) against a
//! log-softmax computed here in f64 from the same row and a full sort: every step of a chain
//! reports the drawn id's logprob and the `top_logprobs` best tokens (logit descending, lower
//! id first among ties) within 1e-4, of the raw row whatever bias, mask, penalties or
//! temperature the draw used. The drawn ids stay the CPU sampler's.

use crate::common;

use std::collections::BTreeMap;

use common::kernels::{read_u32, u32_buffer};
use hearth::gpu::{GpuContext, PipelineCache};
use hearth::kernels::Dispatch;
use hearth::kernels::sample::{GpuSampler, MAX_STEPS};
use hearth::sample::{Sampler, SamplingParams, TokenLogprobs};

const TOLERANCE: f32 = 1e-4;

struct Rig {
    ctx: GpuContext,
    sampler: GpuSampler,
    logits: wgpu::Buffer,
    out: wgpu::Buffer,
    staging: wgpu::Buffer,
    steps: Vec<Dispatch>,
}

impl Rig {
    fn new(vocab: usize) -> Rig {
        let ctx = common::gpu();
        let cache = PipelineCache::default();
        let sampler = GpuSampler::new(&ctx, vocab as u32).unwrap();
        // The row at element 3 of a larger buffer: the raw reads honour the offset.
        let logits = ctx.f32_buffer("logits", vocab + 3);
        let out = u32_buffer(&ctx, &[0; MAX_STEPS]);
        let staging = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("logprobs staging"),
            size: GpuSampler::LOGPROBS_STAGING_BYTES,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let steps =
            (0..MAX_STEPS as u32).map(|j| pollster::block_on(sampler.dispatch(&ctx, &cache, &logits, 3, &out, j)).unwrap()).collect();
        Rig { ctx, sampler, logits, out, staging, steps }
    }

    /// `k` chained steps of a request on one row: the ids and each step's logprobs.
    fn run(
        &self,
        params: &SamplingParams,
        logits: &[f32],
        history: &[u32],
        mask: Option<&[u32]>,
        k: usize,
    ) -> (Vec<u32>, Vec<TokenLogprobs>) {
        self.ctx.queue.write_buffer(&self.logits, 12, bytemuck::cast_slice(logits));
        self.sampler.begin_request(&self.ctx.queue, params, history).unwrap();
        self.sampler.set_mask(&self.ctx.queue, mask).unwrap();
        let mut draws = Sampler::new(params.clone()).unwrap();
        let uniforms: Vec<f64> = (0..k).map(|_| draws.next_uniform().unwrap_or(0.0)).collect();
        self.sampler.write_steps(&self.ctx.queue, 0, &uniforms).unwrap();
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        for (j, d) in self.steps.iter().enumerate().take(k) {
            self.sampler.copy_step(&mut encoder, j);
            let mut pass = encoder.begin_compute_pass(&Default::default());
            d.record(&mut pass, 1);
        }
        let bytes = self.sampler.copy_logprobs(&mut encoder, k, &self.staging);
        self.ctx.queue.submit([encoder.finish()]);
        let ids = read_u32(&self.ctx, &self.out, k);
        let words: Vec<u32> = bytemuck::pod_collect_to_vec(&pollster::block_on(self.ctx.map_read_prefix(&self.staging, bytes)).unwrap());
        (ids, self.sampler.parse_logprobs(&words))
    }
}

/// The reference: log-softmax in f64 (max subtracted), and every id ranked by a full sort.
fn reference(logits: &[f32]) -> (Vec<f64>, Vec<u32>) {
    let max = logits.iter().map(|&l| f64::from(l)).fold(f64::NEG_INFINITY, f64::max);
    let log_norm = max + logits.iter().map(|&l| (f64::from(l) - max).exp()).sum::<f64>().ln();
    let lp = logits.iter().map(|&l| f64::from(l) - log_norm).collect();
    let mut order: Vec<u32> = (0..logits.len() as u32).collect();
    order.sort_by(|&a, &b| logits[b as usize].total_cmp(&logits[a as usize]).then(a.cmp(&b)));
    (lp, order)
}

fn close(got: f32, want: f64) -> bool {
    (want == f64::NEG_INFINITY && got == f32::NEG_INFINITY) || (f64::from(got) - want).abs() <= f64::from(TOLERANCE)
}

/// Runs `k` steps and checks every step's report against the reference and its id against
/// the CPU sampler.
fn check(rig: &Rig, params: &SamplingParams, logits: &[f32], history: &[u32], mask: Option<&[u32]>, k: usize, what: &str) {
    let (ids, reports) = rig.run(params, logits, history, mask, k);
    let (lp, order) = reference(logits);
    let mut cpu = Sampler::new(params.clone()).unwrap();
    let mut hist = history.to_vec();
    assert_eq!(reports.len(), k, "{what}");
    for (j, (&id, r)) in ids.iter().zip(&reports).enumerate() {
        let want_id = cpu.sample_masked(logits, &hist, mask).unwrap();
        hist.push(want_id);
        assert_eq!(id, want_id, "{what}: step {j} id");
        assert_eq!(r.id, id, "{what}: step {j} reports the drawn id");
        assert!(close(r.logprob, lp[id as usize]), "{what}: step {j} logprob {} vs {}", r.logprob, lp[id as usize]);
        let n = (params.top_logprobs as usize).min(logits.len());
        let top_ids: Vec<u32> = r.top.iter().map(|t| t.0).collect();
        assert_eq!(top_ids, order[..n], "{what}: step {j} top ids");
        for &(t, v) in &r.top {
            assert!(close(v, lp[t as usize]), "{what}: step {j} top {t}: {v} vs {}", lp[t as usize]);
        }
    }
}

fn logprobs(top_logprobs: u32, params: SamplingParams) -> SamplingParams {
    SamplingParams { logprobs: true, top_logprobs, ..params }
}

fn random_logits(rng: &mut common::Rng, n: usize, scale: f32) -> Vec<f32> {
    (0..n).map(|_| scale * rng.signed_unit()).collect()
}

/// Logits on a grid of 0.25: many ids share each value, so the top lists cut through ties.
fn tied_logits(rng: &mut common::Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| (rng.signed_unit() * 8.0).round() / 4.0).collect()
}

fn sampled() -> SamplingParams {
    SamplingParams { temperature: 0.8, top_k: 40, top_p: 0.95, min_p: 0.05, seed: Some(3), ..SamplingParams::default() }
}

#[test]
fn greedy_and_sampled_steps_report_the_raw_log_softmax() {
    let vocab = 1003;
    let rig = Rig::new(vocab);
    let mut rng = common::Rng(0x10b);
    for top in [0, 1, 7, 20] {
        for (what, params) in [("greedy", SamplingParams::default()), ("sampled", sampled())] {
            let params = logprobs(top, params);
            let what = format!("{what}, top {top}");
            check(&rig, &params, &random_logits(&mut rng, vocab, 12.0), &[], None, 3, &format!("{what}, peaked"));
            check(&rig, &params, &random_logits(&mut rng, vocab, 0.5), &[], None, 3, &format!("{what}, flat"));
            check(&rig, &params, &tied_logits(&mut rng, vocab), &[], None, 3, &format!("{what}, ties"));
        }
    }
}

#[test]
fn bias_mask_penalties_and_temperature_do_not_change_the_logprobs() {
    let vocab = 1003;
    let rig = Rig::new(vocab);
    let mut rng = common::Rng(0xb1a);
    let mut logits = tied_logits(&mut rng, vocab);
    for i in (0..vocab).step_by(11) {
        logits[i] = f32::NEG_INFINITY;
    }
    let mut mask = vec![0u32; vocab.div_ceil(32)];
    for id in (0..vocab).step_by(3) {
        mask[id / 32] |= 1 << (id % 32);
    }
    let params = SamplingParams {
        temperature: 1.7,
        repetition_penalty: 1.3,
        presence_penalty: 0.5,
        frequency_penalty: 0.3,
        logit_bias: BTreeMap::from([("6".to_string(), 100.0), ("9".to_string(), -100.0)]),
        seed: Some(11),
        ..SamplingParams::default()
    };
    let history: Vec<u32> = (0..30).map(|i| (i * 37) % vocab as u32).collect();
    // Five chained steps: each writes its own record, the penalties move the draws.
    check(&rig, &logprobs(20, params.clone()), &logits, &history, Some(&mask), 5, "everything on, masked");
    check(&rig, &logprobs(5, params), &logits, &history, None, 5, "everything on");
}

#[test]
fn large_vocabularies_and_a_vocabulary_smaller_than_top_logprobs() {
    let mut rng = common::Rng(0x262);
    for vocab in [49_152usize, 262_144] {
        let rig = Rig::new(vocab);
        check(&rig, &logprobs(20, SamplingParams::default()), &random_logits(&mut rng, vocab, 8.0), &[], None, 2, "greedy");
        check(&rig, &logprobs(20, sampled()), &tied_logits(&mut rng, vocab), &[], None, 2, "sampled, ties");
    }
    let rig = Rig::new(5);
    check(&rig, &logprobs(20, sampled()), &[0.5, 2.0, 0.5, 2.0, -1.0], &[], None, 4, "5 tokens, 20 asked");
}

#[test]
fn without_logprobs_nothing_is_copied() {
    let rig = Rig::new(64);
    let (_, reports) = rig.run(&SamplingParams::default(), &[0.0; 64], &[], None, 2);
    assert!(reports.is_empty());
    assert_eq!(rig.sampler.logprob_words(), None);
}
