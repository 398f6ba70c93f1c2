//! shaders/sample.wgsl against the CPU `Sampler` (the reference): for many parameter sets,
//! seeds and vocabulary sizes, a chain of k GPU steps (each step's id written into the
//! history ring for the next step's penalties, uniforms pre-drawn with
//! `Sampler::next_uniform`) must give exactly the ids of k CPU `sample_masked` calls with the
//! same seed and the same growing history. Errors come back as the CPU sampler's messages.

use crate::common;

use std::collections::BTreeMap;

use common::kernels::{read_u32, u32_buffer};
use hearth::Error;
use hearth::gpu::{GpuContext, PipelineCache};
use hearth::kernels::Dispatch;
use hearth::kernels::sample::{GpuSampler, MAX_STEPS, SENTINEL};
use hearth::sample::{Sampler, SamplingParams};

/// A GPU sampler for one vocabulary with a logits buffer and one dispatch per chain step
/// (step j writes its id to out[j]).
struct Rig {
    ctx: GpuContext,
    sampler: GpuSampler,
    logits: wgpu::Buffer,
    out: wgpu::Buffer,
    steps: Vec<Dispatch>,
    vocab: usize,
}

impl Rig {
    fn new(vocab: usize) -> Rig {
        let ctx = common::gpu();
        let cache = PipelineCache::default();
        let sampler = GpuSampler::new(&ctx, vocab as u32).unwrap();
        // The row sits at element 5 of a larger buffer, so the offset is exercised.
        let logits = ctx.f32_buffer("logits", vocab + 9);
        let out = u32_buffer(&ctx, &[0; MAX_STEPS]);
        let steps =
            (0..MAX_STEPS as u32).map(|j| pollster::block_on(sampler.dispatch(&ctx, &cache, &logits, 5, &out, j)).unwrap()).collect();
        Rig { ctx, sampler, logits, out, steps, vocab }
    }

    /// Writes the row and starts a request.
    fn begin(&self, params: &SamplingParams, logits: &[f32], history: &[u32], mask: Option<&[u32]>) {
        assert_eq!(logits.len(), self.vocab);
        self.ctx.queue.write_buffer(&self.logits, 20, bytemuck::cast_slice(logits));
        self.sampler.begin_request(&self.ctx.queue, params, history).unwrap();
        self.sampler.set_mask(&self.ctx.queue, mask).unwrap();
    }

    /// Runs `uniforms.len()` chained steps of the request from `first_step`; the raw ids.
    fn chain(&self, first_step: u32, uniforms: &[f64]) -> Vec<u32> {
        self.sampler.write_steps(&self.ctx.queue, first_step, uniforms).unwrap();
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        for (j, d) in self.steps.iter().enumerate().take(uniforms.len()) {
            self.sampler.copy_step(&mut encoder, j);
            let mut pass = encoder.begin_compute_pass(&Default::default());
            d.record(&mut pass, 1);
        }
        self.ctx.queue.submit([encoder.finish()]);
        read_u32(&self.ctx, &self.out, uniforms.len())
    }

    fn check(&self, id: u32) -> hearth::Result<u32> {
        pollster::block_on(self.sampler.check(&self.ctx, id))
    }
}

/// `steps` tokens sampled on the GPU in chains of up to 16, compared with the CPU sampler
/// given the same seed and the history grown by each id.
fn compare(rig: &Rig, params: &SamplingParams, logits: &[f32], history: &[u32], mask: Option<&[u32]>, steps: usize, what: &str) {
    let mut cpu = Sampler::new(params.clone()).unwrap();
    let mut draws = Sampler::new(params.clone()).unwrap();
    rig.begin(params, logits, history, mask);
    let mut hist = history.to_vec();
    let mut done = 0;
    while done < steps {
        let k = (steps - done).min(MAX_STEPS);
        let uniforms: Vec<f64> = (0..k).map(|_| draws.next_uniform().unwrap_or(0.0)).collect();
        let ids = rig.chain(done as u32, &uniforms);
        for (j, &id) in ids.iter().enumerate() {
            let want = cpu.sample_masked(logits, &hist, mask).unwrap();
            assert_eq!(
                id,
                want,
                "{what}: step {} of {steps}, seed {:?}, vocab {}, logit gpu {} cpu {}",
                done + j,
                params.seed,
                rig.vocab,
                logits[id.min(rig.vocab as u32 - 1) as usize],
                logits[want as usize]
            );
            hist.push(want);
        }
        done += k;
    }
}

fn random_logits(rng: &mut common::Rng, n: usize, scale: f32) -> Vec<f32> {
    (0..n).map(|_| scale * rng.signed_unit()).collect()
}

/// Logits on a grid of 0.25 in [-2, 2]: every value is shared by many ids, so every cut
/// falls inside a group of ties.
fn tied_logits(rng: &mut common::Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| (rng.signed_unit() * 8.0).round() / 4.0).collect()
}

fn at(temperature: f32) -> SamplingParams {
    SamplingParams { temperature, ..SamplingParams::default() }
}

/// The parameter sets every vocabulary goes through.
fn parameter_sets() -> Vec<(&'static str, SamplingParams)> {
    let d = SamplingParams::default;
    vec![
        ("greedy", d()),
        ("temperature 1", at(1.0)),
        ("temperature 0.7", at(0.7)),
        ("temperature 1.8", at(1.8)),
        ("top_k 1", SamplingParams { top_k: 1, ..at(1.0) }),
        ("top_k 5", SamplingParams { top_k: 5, ..at(1.0) }),
        ("top_k 40", SamplingParams { top_k: 40, ..at(0.9) }),
        ("top_k >= vocab", SamplingParams { top_k: 1 << 21, ..at(1.0) }),
        ("top_p 0.1", SamplingParams { top_p: 0.1, ..at(1.0) }),
        ("top_p 0.9", SamplingParams { top_p: 0.9, ..at(1.2) }),
        ("top_p 0.999", SamplingParams { top_p: 0.999, ..at(1.0) }),
        ("min_p 0.05", SamplingParams { min_p: 0.05, ..at(1.0) }),
        ("min_p 0.5", SamplingParams { min_p: 0.5, ..at(1.5) }),
        ("llama.cpp defaults", SamplingParams { top_k: 40, top_p: 0.95, min_p: 0.05, ..at(0.8) }),
        ("top_k + top_p", SamplingParams { top_k: 100, top_p: 0.5, ..at(1.0) }),
        (
            "penalties",
            SamplingParams { repetition_penalty: 1.3, presence_penalty: 0.5, frequency_penalty: 0.25, penalty_last_n: 8, ..at(1.0) },
        ),
        ("greedy penalties", SamplingParams { repetition_penalty: 1.5, frequency_penalty: 0.5, penalty_last_n: 64, ..d() }),
        (
            "penalties + filters",
            SamplingParams { repetition_penalty: 1.1, presence_penalty: 0.3, top_k: 40, top_p: 0.95, min_p: 0.05, ..at(0.8) },
        ),
    ]
}

/// A history with repeated ids, so the penalties count runs.
fn history(rng: &mut common::Rng, vocab: usize, len: usize) -> Vec<u32> {
    let few: Vec<u32> = (0..6).map(|_| (rng.next_u64() % vocab as u64) as u32).collect();
    (0..len).map(|i| if i % 3 == 0 { (rng.next_u64() % vocab as u64) as u32 } else { few[i % few.len()] }).collect()
}

#[test]
fn chains_match_the_cpu_sampler_over_a_small_vocabulary() {
    let vocab = 1003;
    let rig = Rig::new(vocab);
    let mut rng = common::Rng(0x5a3);
    for (what, params) in parameter_sets() {
        for seed in 0..4u64 {
            let params = SamplingParams { seed: Some(seed), ..params.clone() };
            let hist = history(&mut rng, vocab, 20);
            // Peaked (most of the mass on a few tokens), flat, and tied rows.
            compare(&rig, &params, &random_logits(&mut rng, vocab, 12.0), &hist, None, 6, &format!("{what}, peaked"));
            compare(&rig, &params, &random_logits(&mut rng, vocab, 1.0), &hist, None, 6, &format!("{what}, flat"));
            compare(&rig, &params, &tied_logits(&mut rng, vocab), &hist, None, 6, &format!("{what}, ties"));
        }
    }
}

#[test]
fn masks_bias_and_infinities_match_the_cpu_sampler() {
    let vocab = 1003;
    let rig = Rig::new(vocab);
    let mut rng = common::Rng(0xb1a5);
    let mut logits = tied_logits(&mut rng, vocab);
    // -inf entries (a masked vocabulary tail, and scattered ones) and -0.0 next to +0.0.
    for i in (0..vocab).step_by(7).chain(990..vocab) {
        logits[i] = f32::NEG_INFINITY;
    }
    logits[3] = -0.0;
    logits[4] = 0.0;
    // Allowed: every third token, plus a word boundary case (ids 31, 32) and the last id.
    let mut mask = vec![0u32; vocab.div_ceil(32)];
    for id in (0..vocab).step_by(3).chain([31, 32, vocab - 1]) {
        mask[id / 32] |= 1 << (id % 32);
    }
    let bias = BTreeMap::from([("10".to_string(), 5.0), ("11".to_string(), -100.0), ("12".to_string(), 2.5), ("14".to_string(), 100.0)]);
    for (what, params) in parameter_sets() {
        for seed in 0..3u64 {
            let params = SamplingParams { seed: Some(seed), ..params.clone() };
            let hist = history(&mut rng, vocab, 12);
            compare(&rig, &params, &logits, &hist, None, 5, &format!("{what}, -inf entries"));
            compare(&rig, &params, &logits, &hist, Some(&mask), 5, &format!("{what}, mask"));
            let biased = SamplingParams { logit_bias: bias.clone(), ..params.clone() };
            compare(&rig, &biased, &random_logits(&mut rng, vocab, 3.0), &hist, None, 5, &format!("{what}, logit_bias"));
        }
    }
    // -0.0 and +0.0 as the top: greedy takes the lower id (they are equal as floats), the
    // rank order puts +0.0 first (total order), as on the CPU.
    let mut zeros = vec![-1.0f32; vocab];
    zeros[100] = -0.0;
    zeros[200] = 0.0;
    compare(&rig, &at(0.0), &zeros, &[], None, 1, "greedy -0.0 vs +0.0");
    compare(&rig, &SamplingParams { top_k: 1, seed: Some(1), ..at(1.0) }, &zeros, &[], None, 1, "top_k 1 -0.0 vs +0.0");
}

#[test]
fn penalties_follow_the_history_ring_over_many_chains() {
    // A window of 1000 over a history of 1010 ids, then 40 steps (three chains): the ring
    // of 1040 slots wraps, and flat logits make every repeated id matter.
    let vocab = 1003;
    let rig = Rig::new(vocab);
    let mut rng = common::Rng(0x717);
    let logits = random_logits(&mut rng, vocab, 0.5);
    let hist = history(&mut rng, vocab, 1010);
    for (seed, temperature) in [(1u64, 0.0f32), (2, 1.0)] {
        let params = SamplingParams {
            frequency_penalty: 0.4,
            presence_penalty: 0.2,
            repetition_penalty: 1.2,
            penalty_last_n: 1000,
            seed: Some(seed),
            ..at(temperature)
        };
        compare(&rig, &params, &logits, &hist, None, 40, "long window");
    }
}

#[test]
fn larger_vocabularies_match_the_cpu_sampler() {
    let mut rng = common::Rng(0x262);
    for (vocab, cases) in [(49_152usize, 4usize), (262_144, 1)] {
        let rig = Rig::new(vocab);
        // More than the GPU's candidate list holds (1024): top-k walks the whole row, then
        // top-p leaves few enough for the list (a vocabulary of 1003 never gets here).
        let mut sets = parameter_sets();
        sets.push(("top_k 1500 + top_p 0.5", SamplingParams { top_k: 1500, top_p: 0.5, ..at(1.0) }));
        let picks =
            ["greedy", "temperature 1", "llama.cpp defaults", "top_p 0.9", "min_p 0.05", "penalties + filters", "top_k 1500 + top_p 0.5"];
        for (what, params) in sets.iter().filter(|(w, _)| picks.contains(w)) {
            for seed in 0..cases as u64 {
                let params = SamplingParams { seed: Some(seed), ..params.clone() };
                let hist = history(&mut rng, vocab, 16);
                compare(&rig, &params, &random_logits(&mut rng, vocab, 8.0), &hist, None, 3, &format!("{what}, random"));
            }
        }
        // Thousands of ties at the top: more than the candidate list holds, so the top-k cut
        // walks the whole row before the list takes the 40.
        let params = SamplingParams { seed: Some(5), top_k: 40, top_p: 0.95, min_p: 0.05, ..at(0.8) };
        compare(&rig, &params, &tied_logits(&mut rng, vocab), &[], None, 3, "llama.cpp defaults, ties");
        // Flat over the whole vocabulary in id order: the draw's boundaries are dense.
        let params = SamplingParams { seed: Some(9), ..at(1.0) };
        compare(&rig, &params, &random_logits(&mut rng, vocab, 0.1), &[], None, 4, "flat");
    }
}

fn gpu_error(rig: &Rig, params: &SamplingParams, logits: &[f32], history: &[u32], mask: Option<&[u32]>) -> (Vec<u32>, String) {
    rig.begin(params, logits, history, mask);
    let mut draws = Sampler::new(params.clone()).unwrap();
    let uniforms: Vec<f64> = (0..3).map(|_| draws.next_uniform().unwrap_or(0.0)).collect();
    let ids = rig.chain(0, &uniforms);
    let message = match rig.check(ids[0]) {
        Err(Error::InvalidArgument(m)) => m,
        other => panic!("expected InvalidArgument, got {other:?}"),
    };
    (ids, message)
}

fn cpu_error(params: &SamplingParams, logits: &[f32], history: &[u32], mask: Option<&[u32]>) -> String {
    match Sampler::new(params.clone()).unwrap().sample_masked(logits, history, mask) {
        Err(Error::InvalidArgument(m)) => m,
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
}

/// What, params, logits, history, mask.
type ErrorCase<'a> = (&'static str, SamplingParams, Vec<f32>, Vec<u32>, Option<&'a [u32]>);

#[test]
fn errors_are_the_cpu_sampler_errors() {
    let vocab = 300;
    let rig = Rig::new(vocab);
    let base: Vec<f32> = (0..vocab).map(|i| (i % 17) as f32 * 0.1).collect();
    let with = |pairs: &[(usize, f32)]| {
        let mut l = base.clone();
        pairs.iter().for_each(|&(i, v)| l[i] = v);
        l
    };
    let none = vec![0u32; vocab.div_ceil(32)];
    let cases: Vec<ErrorCase> = vec![
        ("NaN", at(1.0), with(&[(250, f32::NAN), (70, f32::NAN)]), vec![], None),
        ("+inf", at(0.0), with(&[(5, f32::INFINITY)]), vec![], None),
        ("NaN under the mask", at(1.0), with(&[(9, f32::NAN)]), vec![], Some(&none)),
        ("all -inf", at(1.0), vec![f32::NEG_INFINITY; vocab], vec![], None),
        ("all -inf greedy", at(0.0), vec![f32::NEG_INFINITY; vocab], vec![], None),
        ("all masked", at(0.7), base.clone(), vec![], Some(&none)),
        (
            "overflow after the penalties",
            SamplingParams { repetition_penalty: 0.5, ..at(1.0) },
            with(&[(40, 3e38), (20, 3.2e38)]),
            vec![40, 1, 20],
            None,
        ),
    ];
    for (what, params, logits, history, mask) in cases {
        let (ids, gpu) = gpu_error(&rig, &params, &logits, &history, mask);
        assert_eq!(gpu, cpu_error(&params, &logits, &history, mask), "{what}");
        // The failed step stops the chain: every later step reports it too.
        assert_eq!(ids, [SENTINEL; 3], "{what}");
    }
    // The next request starts clean.
    compare(&rig, &SamplingParams { seed: Some(5), ..at(1.0) }, &base, &[], None, 2, "after an error");
}

#[test]
fn bad_requests_are_typed_errors() {
    let ctx = common::gpu();
    assert!(matches!(GpuSampler::new(&ctx, 0), Err(Error::InvalidArgument(_))));
    assert!(matches!(GpuSampler::new(&ctx, (1 << 19) + 1), Err(Error::InvalidArgument(_))));
    let s = GpuSampler::new(&ctx, 100).unwrap();
    let q = &ctx.queue;
    let invalid = |r: hearth::Result<()>, needle: &str| match r {
        Err(Error::InvalidArgument(m)) => assert!(m.contains(needle), "{m}"),
        other => panic!("expected InvalidArgument containing {needle:?}, got {other:?}"),
    };
    let biased = SamplingParams { logit_bias: BTreeMap::from([("100".to_string(), 1.0)]), ..at(1.0) };
    invalid(s.begin_request(q, &biased, &[]), "logit_bias token id 100 is outside the vocabulary of 100");
    let pen = SamplingParams { presence_penalty: 0.5, ..at(1.0) };
    invalid(s.begin_request(q, &pen, &[1, 100]), "history token id 100");
    invalid(s.begin_request(q, &SamplingParams { penalty_last_n: 2000, ..pen.clone() }, &[]), "penalty_last_n 2000");
    invalid(s.begin_request(q, &SamplingParams { top_p: 2.0, ..at(1.0) }, &[]), "top_p");
    // The CPU sampler agrees on the out-of-vocabulary ids.
    let cpu = |p: &SamplingParams, h: &[u32]| match Sampler::new(p.clone()).unwrap().sample(&[0.0; 100], h) {
        Err(Error::InvalidArgument(m)) => m,
        other => panic!("{other:?}"),
    };
    assert!(cpu(&biased, &[]).contains("logit_bias token id 100 is outside the vocabulary of 100"));
    assert!(cpu(&pen, &[1, 100]).contains("history token id 100"));
    s.begin_request(q, &at(1.0), &[]).unwrap();
    invalid(s.set_mask(q, Some(&[0; 3])), "mask has 3 words, a vocabulary of 100 needs 4");
    invalid(s.write_steps(q, 0, &[]), "0 steps");
    invalid(s.write_steps(q, 0, &[0.5; 17]), "17 steps");
    invalid(s.write_steps(q, 0, &[1.0]), "uniform 1");
    invalid(s.write_steps(q, 0, &[f64::NAN]), "uniform NaN");
    let small = ctx.f32_buffer("small", 50);
    let out = u32_buffer(&ctx, &[0]);
    let cache = PipelineCache::default();
    assert!(matches!(pollster::block_on(s.dispatch(&ctx, &cache, &small, 0, &out, 0)), Err(Error::InvalidArgument(_))));
}
