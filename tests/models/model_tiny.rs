//! Shape checks on tiny synthetic models, in seconds instead of on the real 100-500 MB ones:
//! odd sizes (vocabularies of 1,003 and 515 rows, ff 160, grouped-query heads), every weight
//! format Hearth reads (F32, F16, BF16, Q4_0..Q8_0 in tiny-llama; Q2_K..Q6_K in tiny-gemma3),
//! Qwen2's biases, Gemma 3's 256-dim heads and sliding window (32 tokens) over 600 tokens in
//! prefill and decode, and matrices split across storage bindings with all-position logits
//! computed in batches. Every position's argmax and full logit rows are compared with the exact
//! f32 numpy reference (scripts/fixtures/numpy_llama.py).
//! Models and fixtures: tests/fixtures/tiny/, made by scripts/fixtures/tiny_models.py.
//! The newer families (tiny-qwen3, tiny-smollm3, tiny-llama3, tiny-phi3) come from transformers
//! models converted by llama.cpp's converter, and are checked against transformers' logits and
//! greedy path and llama.cpp's Q8_0 greedy path (scripts/fixtures/tiny_families.py).

use crate::common;

use common::model_checks::{ids_of, load_with};
use hearth::gpu::{GpuContext, GpuOptions, Tuning};
use hearth::model::{KvPrecision, Logits, Model, ModelOptions};
use serde_json::Value;

/// Both sides compute in f32 from the same dequantised weights, differing only in summation
/// order and exp/sin/cos/tanh. The reference itself moves by at most 3.1e-6 (llama), 2.3e-6
/// (qwen2), 8.0e-6 (gemma3) between f32 and f64 (recorded in the fixtures), and Hearth on
/// lavapipe differs from it by at most 1.1e-5 (gemma3, 600 tokens). 1e-4 leaves ~10x room for
/// other devices' rounding and still sees small slips: an RMSNorm epsilon of 1e-5 instead of
/// 1e-6 moves tiny-gemma3's logits by 6e-4, a RoPE base 1% off by 1e-2, a window off by one
/// by 0.5 to 3, the other RoPE pairing by 2.5 to 3.5 (each measured on the reference).
const TOLERANCE: f32 = 1e-4;

struct Fixture {
    name: String,
    ids: Vec<u32>,
    argmax: Vec<u32>,
    margin: Vec<f32>,
    /// (position, full logits row).
    rows: Vec<(usize, Vec<f32>)>,
}

fn fixture(name: &str) -> Fixture {
    let fx = common::read_fixture_json(&format!("tiny/{name}.json"));
    let floats = |v: &Value| v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect::<Vec<f32>>();
    let rows = fx["rows"].as_array().unwrap().iter().map(|r| (r["pos"].as_u64().unwrap() as usize, floats(&r["logits"]))).collect();
    Fixture { name: name.into(), ids: ids_of(&fx["ids"]), argmax: ids_of(&fx["argmax"]), margin: floats(&fx["top2_margin"]), rows }
}

fn open(name: &str, max_storage_binding: Option<u64>, n_ctx: u32) -> (GpuContext, Model) {
    open_tuned(name, max_storage_binding, n_ctx, None)
}

/// `open` with the kernel variants of `tuning` instead of the device's.
fn open_tuned(name: &str, max_storage_binding: Option<u64>, n_ctx: u32, tuning: Option<Tuning>) -> (GpuContext, Model) {
    let ctx = common::gpu_with(GpuOptions { max_storage_binding, tuning });
    // An f32 cache, as the reference (scripts/fixtures/tiny_models.py says why).
    let options = ModelOptions { n_ctx: Some(n_ctx), kv_precision: KvPrecision::F32 };
    let model = load_with(&ctx, &common::fixture_path(&format!("tiny/{name}.gguf")), options);
    (ctx, model)
}

/// The reference's argmax at `pos`, unless its top-2 margin is within rounding of a tie.
fn check_argmax(fx: &Fixture, pos: usize, got: u32) {
    if fx.margin[pos] > 2.0 * TOLERANCE {
        assert_eq!(got, fx.argmax[pos], "{}: argmax at position {pos} (reference margin {})", fx.name, fx.margin[pos]);
    }
}

/// The fixture's full row at `pos`, within `TOLERANCE`; returns the worst difference.
fn check_row(fx: &Fixture, pos: usize, got: &[f32]) -> f32 {
    let want = &fx.rows.iter().find(|(p, _)| *p == pos).unwrap().1;
    assert_eq!(got.len(), want.len());
    let mut worst = 0f32;
    for (id, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= TOLERANCE, "{}: position {pos}, logit[{id}] = {g}, reference {w}", fx.name);
        worst = worst.max((g - w).abs());
    }
    worst
}

/// Runs the first `n` prompt tokens in one `forward` with all-position logits and checks
/// every position's argmax and the stored rows among them.
fn check_prompt(model: &mut Model, fx: &Fixture, n: usize) {
    let vocab = model.config.vocab as usize;
    let out = pollster::block_on(model.forward(&fx.ids[..n], Logits::All, true)).unwrap();
    let logits = out.logits.unwrap();
    assert_eq!(logits.len(), n * vocab);
    for (pos, row) in logits.chunks(vocab).enumerate() {
        check_argmax(fx, pos, hearth::sample::argmax(row));
    }
    check_argmax(fx, n - 1, out.argmax);
    let mut worst = 0f32;
    for (pos, _) in fx.rows.iter().filter(|(p, _)| *p < n) {
        worst = worst.max(check_row(fx, *pos, &logits[pos * vocab..(pos + 1) * vocab]));
    }
    eprintln!("{}: {n} tokens, worst logit difference {worst:.2e} (tolerance {TOLERANCE:.0e})", fx.name);
}

/// The GPU tuning's kernel variants, forced on whatever device runs the tests, with the CPU
/// tuning's other shapes: split-K attention (cut finely: ranges of 2 or more keys, so short
/// contexts are cut into several too) and tiled attention for larger batches, the
/// register-tiled GEMM for batches with the GPU tuning's tiles and column split, the norms as
/// matmul prologues (gemma3: its post-norms added by the next matmul) and SwiftShader's loops
/// unrolled in the source (here the decode matmuls: batches take the GEMM).
const GPU_VARIANTS: Tuning = Tuning {
    attention_split_max: 8,
    attention_split_min_keys: 2,
    attention_tiled: true,
    attention_thread_per_query: false,
    matmul_gemm: true,
    matmul_gemm_tile_rows: Tuning::GPU.matmul_gemm_tile_rows,
    matmul_gemm_tile_tokens: Tuning::GPU.matmul_gemm_tile_tokens,
    matmul_gemm_thread_rows: Tuning::GPU.matmul_gemm_thread_rows,
    matmul_gemm_thread_tokens: Tuning::GPU.matmul_gemm_thread_tokens,
    matmul_gemm_k_split: Tuning::GPU.matmul_gemm_k_split,
    matmul_norm_prologue: true,
    unroll_loops: true,
    ..Tuning::CPU
};

/// Prefills the first `n` prompt tokens, then decodes the next ones up to position `end`
/// (exclusive) one at a time, checking the argmax at every position and the fixture's rows
/// among the decoded ones.
fn check_decode(model: &mut Model, fx: &Fixture, n: usize, end: usize) {
    let out = pollster::block_on(model.forward(&fx.ids[..n], Logits::Last, false)).unwrap();
    check_argmax(fx, n - 1, out.argmax);
    let mut worst = 0f32;
    for pos in n..end {
        let has_row = fx.rows.iter().any(|(p, _)| *p == pos);
        let out = pollster::block_on(model.forward(&fx.ids[pos..=pos], Logits::Last, has_row)).unwrap();
        check_argmax(fx, pos, out.argmax);
        if let Some(logits) = out.logits {
            worst = worst.max(check_row(fx, pos, &logits));
        }
    }
    eprintln!("{}: decode from {n} to {end}, worst logit difference {worst:.2e}", fx.name);
}

/// Asserts that each of `matrices` is stored in at least three buffers.
fn assert_split(model: &Model, matrices: &[&str]) {
    let split = model.split_matrices();
    eprintln!("split matrices: {split:?}");
    for m in matrices {
        assert!(split.iter().any(|(name, parts)| name == m && *parts >= 3), "{m} not split in 3 or more: {split:?}");
    }
}

#[test]
fn tiny_llama_every_format_odd_vocab_matches_reference() {
    let fx = fixture("tiny-llama");
    let (_ctx, mut model) = open("tiny-llama", None, 256);
    check_prompt(&mut model, &fx, fx.ids.len());
}

#[test]
fn tiny_qwen2_biases_neox_rope_matches_reference() {
    let fx = fixture("tiny-qwen2");
    let (_ctx, mut model) = open("tiny-qwen2", None, 256);
    check_prompt(&mut model, &fx, fx.ids.len());
}

/// 600 tokens in three batches: the five local layers' 32-token window and the global layer
/// over all keys (its 256-dim heads read past 512 keys), k-quant matrices.
#[test]
fn tiny_gemma3_prefill_600_tokens_past_the_window_matches_reference() {
    let fx = fixture("tiny-gemma3");
    let (_ctx, mut model) = open("tiny-gemma3", None, 1024);
    check_prompt(&mut model, &fx, fx.ids.len());
}

/// Prefill 560 tokens, then decode the last 40 one at a time: the decode path's window and
/// positions past it.
#[test]
fn tiny_gemma3_decode_past_the_window_matches_reference() {
    let fx = fixture("tiny-gemma3");
    let (_ctx, mut model) = open("tiny-gemma3", None, 1024);
    let (prefill, decode) = fx.ids.split_at(560);
    let out = pollster::block_on(model.forward(prefill, Logits::Last, false)).unwrap();
    check_argmax(&fx, 559, out.argmax);
    let mut last = Vec::new();
    for (i, &id) in decode.iter().enumerate() {
        let pos = prefill.len() + i;
        let out = pollster::block_on(model.forward(&[id], Logits::Last, pos == fx.ids.len() - 1)).unwrap();
        check_argmax(&fx, pos, out.argmax);
        last = out.logits.unwrap_or_default();
    }
    let worst = check_row(&fx, fx.ids.len() - 1, &last);
    eprintln!("tiny-gemma3 decode: worst logit difference at position 599 {worst:.2e}");
    assert_eq!(model.graphs_built(), 0, "prefill and decode ran on the graphs built at load");
}

/// The graphs built at load serve every batch size: the prompt fed in chunks of 3, 1, 7, 2,
/// 5, 16 ... tokens (the token count in the step uniform, the prefill graph built for 256)
/// gives the reference's argmax after every chunk, and its logits where the fixture has a
/// row, without building any graph.
#[test]
fn tiny_qwen2_prompt_in_chunks_of_every_size_runs_on_the_load_time_graphs() {
    let fx = fixture("tiny-qwen2");
    let (_ctx, mut model) = open("tiny-qwen2", None, 256);
    let sizes = [3usize, 1, 7, 2, 5, 16, 4, 1, 9];
    let (mut start, mut rows_checked) = (0, 0);
    for &size in sizes.iter().cycle() {
        if start >= fx.ids.len() {
            break;
        }
        let end = (start + size).min(fx.ids.len());
        let last = end - 1;
        let has_row = fx.rows.iter().any(|(p, _)| *p == last);
        let out = pollster::block_on(model.forward(&fx.ids[start..end], Logits::Last, has_row)).unwrap();
        check_argmax(&fx, last, out.argmax);
        if let Some(logits) = out.logits {
            check_row(&fx, last, &logits);
            rows_checked += 1;
        }
        start = end;
    }
    assert!(rows_checked > 0, "no chunk ended at a position the fixture has a row for");
    assert_eq!(model.graphs_built(), 0);
}

/// A 24 KiB binding limit: the F16 embedding (192-byte rows) and the Q8_0 output (108-byte
/// rows) split into 8 and 5 buffers, and 6 rows of logits fit, so 40 tokens run as
/// 6 × 6 + 4. The 48-token KV cache (6 KiB per layer) still fits. With `GPU_VARIANTS`:
/// every format through the GEMM, and batches this small take split-K attention (it serves
/// up to 8 queries).
#[test]
fn tiny_llama_split_matrices_and_batched_logits_match_reference() {
    let fx = fixture("tiny-llama");
    let (_ctx, mut model) = open_tuned("tiny-llama", Some(24 << 10), 48, Some(GPU_VARIANTS));
    assert_split(&model, &["token_embd.weight", "output.weight"]);
    assert_eq!(model.max_batch(Logits::All).unwrap(), 6);
    check_prompt(&mut model, &fx, fx.ids.len());
}

/// A 48 KiB binding limit: the tied Q8_0 embedding (144-byte rows in the GPU layout) splits
/// into 341 + 341 + 341 + 1 rows, and 12 rows of logits fit, so 44 tokens (12 past the
/// window) run as 12 × 3 + 8. The KV cache of 48 tokens (1 KiB each) just fits; the
/// 600-token prompt would not. With `GPU_VARIANTS`: the k-quants and the GELU epilogue
/// through the GEMM, split attention over 256-dim heads in batches.
#[test]
fn tiny_gemma3_split_matrices_and_batched_logits_match_reference() {
    let fx = fixture("tiny-gemma3");
    let (_ctx, mut model) = open_tuned("tiny-gemma3", Some(48 << 10), 48, Some(GPU_VARIANTS));
    assert_split(&model, &["token_embd.weight"]);
    assert_eq!(model.max_batch(Logits::All).unwrap(), 12);
    check_prompt(&mut model, &fx, 44);
}

/// Split-K decode attention (`GPU_VARIANTS`): gemma3 decodes 14 tokens across its 32-token
/// window with 256-dim heads on one kv head, checked at the fixture rows 31, 32 and 43.
/// Batches of split attention and the GEMM with every format are in the two
/// `..._split_matrices_and_batched_logits_...` tests.
#[test]
fn tiny_gemma3_decode_with_split_attention_matches_reference() {
    let fx = fixture("tiny-gemma3");
    let (_ctx, mut model) = open_tuned("tiny-gemma3", None, 48, Some(GPU_VARIANTS));
    check_decode(&mut model, &fx, 30, 44);
}

/// The decode GEMVs' input from a uniform and from a storage binding
/// (`Tuning::matmul_x_uniform`, which the host decides by default), each forced: tiny-llama
/// (every weight format, an odd vocabulary) prefilled to position 8, then decoded one token at
/// a time to the end of the fixture, each position's argmax and the fixture's rows checked.
#[test]
fn tiny_llama_decode_with_the_input_from_a_uniform_or_storage_matches_reference() {
    let fx = fixture("tiny-llama");
    for x_uniform in [true, false] {
        let (_ctx, mut model) = open_tuned("tiny-llama", None, 256, Some(Tuning { matmul_x_uniform: x_uniform, ..Tuning::CPU }));
        check_decode(&mut model, &fx, 8, fx.ids.len());
    }
}

/// The matmuls reading their weights from texture mirrors (`Tuning::matmul_w_texture`, which
/// the host decides by default; the storage path is every other test's `Tuning::CPU`), forced:
/// tiny-llama (every weight format, Q/K/V and gate/up stacked in shared buffers, an odd
/// vocabulary) prefilled to position 8, then decoded one token at a time to the end of the
/// fixture, each position's argmax and the fixture's rows checked.
#[test]
fn tiny_llama_with_the_weights_from_textures_matches_reference() {
    let fx = fixture("tiny-llama");
    let (ctx, mut model) = open_tuned("tiny-llama", None, 256, Some(Tuning { matmul_w_texture: true, ..Tuning::CPU }));
    assert!(ctx.tuning.matmul_w_texture);
    check_decode(&mut model, &fx, 8, fx.ids.len());
    // The buffers behind the mirrors are gone, all but the embedding's (stacked Q/K/V and
    // gate/up share one buffer and its mirror); a new batch shape (all logits, a graph built
    // now) still runs from the mirrors.
    let (released, kept) = model.released_weight_buffers();
    assert_eq!(kept, ["token_embd.weight"], "released: {released:?}");
    assert!(released.iter().any(|m| m.contains("attn_v")) && released.iter().any(|m| m.contains("ffn_up")), "{released:?}");
    model.reset();
    check_prompt(&mut model, &fx, fx.ids.len());
}

/// Greedy ids from `prompt`: one prefill, then one decode step per token.
fn greedy(model: &mut Model, prompt: &[u32], n: usize) -> Vec<u32> {
    model.reset();
    let mut got = vec![pollster::block_on(model.forward(prompt, Logits::Last, false)).unwrap().argmax];
    while got.len() < n {
        got.push(pollster::block_on(model.forward(&[*got.last().unwrap()], Logits::Last, false)).unwrap().argmax);
    }
    got
}

/// `got` equals `want` up to the first step whose reference top-2 margin is under `tie`: past a
/// near-tie the two paths may part, and everything after depends on the pick.
fn check_path(what: &str, got: &[u32], want: &[u32], margins: &[f32], tie: f32) {
    match (0..want.len()).find(|&i| got[i] != want[i]) {
        None => eprintln!("{what}: {} greedy tokens equal", want.len()),
        Some(i) => {
            assert!(margins[i] < tie, "{what}: step {i}: Hearth {} vs {} (reference margin {})", got[i], want[i], margins[i]);
            eprintln!("{what}: parts at step {i}, where the reference's margin is {} (< {tie})", margins[i]);
        }
    }
}

/// A family's tiny model (scripts/fixtures/tiny_families.py: a transformers model of the real
/// config.json's shape, converted by llama.cpp's converter): every position's argmax and the
/// stored logit rows of the F32 file against transformers' f32 forward pass; the greedy path
/// against transformers' (ties aside); and the Q8_0 file's greedy path against llama.cpp's,
/// which may part only where llama.cpp's margin is under 0.1 (its 8-bit activations, see
/// tests/common/model_checks.rs).
fn check_family(name: &str) {
    let fx = fixture(name);
    let json = common::read_fixture_json(&format!("tiny/{name}.json"));
    let floats = |v: &Value| v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect::<Vec<f32>>();
    let n_ctx = json["n_ctx"].as_u64().unwrap() as u32;
    let prompt = ids_of(&json["greedy_prompt"]);
    let (_ctx, mut model) = open(name, None, n_ctx);
    check_prompt(&mut model, &fx, fx.ids.len());
    let want = ids_of(&json["hf_greedy"]);
    let got = greedy(&mut model, &prompt, want.len());
    check_path(&format!("{name} vs transformers"), &got, &want, &floats(&json["hf_greedy_margin"]), 2.0 * TOLERANCE);
    drop(model);
    let (_ctx, mut q8) = open(&format!("{name}-q8_0"), None, n_ctx);
    let want = ids_of(&json["llama_cpp_q8_0_greedy"]);
    let got = greedy(&mut q8, &prompt, want.len());
    check_path(&format!("{name}-q8_0 vs llama.cpp"), &got, &want, &floats(&json["llama_cpp_q8_0_greedy_margin"]), 0.1);
}

/// Qwen3: per-head q/k RMSNorm before NeoX RoPE, no biases, head_dim 32 ≠ d_model / heads, tied
/// output.
#[test]
fn tiny_qwen3_matches_transformers_and_llama_cpp() {
    check_family("tiny-qwen3");
}

/// SmolLM3: llama's graph whose 4th layer (of 4) applies no RoPE.
#[test]
fn tiny_smollm3_no_rope_layer_matches_transformers_and_llama_cpp() {
    check_family("tiny-smollm3");
}

/// Llama 3.x: llama3 RoPE scaling as the converter writes it (the `rope_freqs` factors: 1,
/// 2.89, then 32 for the long wavelengths of this tiny model's original context of 64), output
/// tied to `token_embd`.
#[test]
fn tiny_llama3_rope_freqs_tied_output_matches_transformers_and_llama_cpp() {
    check_family("tiny-llama3");
}

/// Phi-4-mini's shape: fused attn_qkv and gate/up (2·n_ff rows of ffn_up), NeoX RoPE on 12 of
/// 16 dimensions, LongRoPE's short factors (a context of 256, the original one) and its
/// attention factor, tied output.
#[test]
fn tiny_phi3_fused_longrope_short_matches_transformers_and_llama_cpp() {
    check_family("tiny-phi3");
}

/// LongRoPE's long factors: loaded with a context of 512, past the original 256, as llama.cpp
/// chooses; transformers uses them for a sequence longer than 256, so the fixture's 300-token
/// prompt checks them at every position.
#[test]
fn tiny_phi3_longrope_long_factors_past_the_original_context_match_transformers() {
    let json = common::read_fixture_json("tiny/tiny-phi3.json");
    let long = &json["long"];
    let floats = |v: &Value| v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect::<Vec<f32>>();
    let rows = long["rows"].as_array().unwrap().iter().map(|r| (r["pos"].as_u64().unwrap() as usize, floats(&r["logits"]))).collect();
    let fx = Fixture {
        name: "tiny-phi3 (long)".into(),
        ids: ids_of(&long["ids"]),
        argmax: ids_of(&long["argmax"]),
        margin: floats(&long["top2_margin"]),
        rows,
    };
    let (_ctx, mut model) = open("tiny-phi3", None, long["n_ctx"].as_u64().unwrap() as u32);
    check_prompt(&mut model, &fx, fx.ids.len());
}
