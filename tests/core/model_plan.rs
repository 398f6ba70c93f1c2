//! Fit before fetch: the plan made from a GGUF header alone equals, buffer for buffer in
//! total, what a real load allocates (weights, KV cache, activations), on each family's tiny
//! model and with matrices split across bindings; a context that does not fit is refused
//! before any weight is allocated, with the largest context that fits, and that one loads.

use crate::common;

use common::model_checks::load_with;
use hearth::gpu::GpuOptions;
use hearth::model::{DeviceLimits, ModelOptions, Plan};

fn header(path: &std::path::Path) -> hearth::gguf::GgufHeader {
    hearth::gguf::GgufFile::open(path).unwrap().header().clone()
}

/// Plans and loads `path` at `n_ctx` under `max_storage_binding` (None: the device's) and
/// compares the plan with the buffers the load made.
fn plan_equals_load(path: &std::path::Path, n_ctx: u32, max_storage_binding: Option<u64>) -> Plan {
    let ctx = common::gpu_with(GpuOptions { max_storage_binding, ..Default::default() });
    let options = ModelOptions { n_ctx: Some(n_ctx), ..Default::default() };
    let plan = hearth::model::plan(&header(path), DeviceLimits::of(&ctx), options).unwrap();
    assert!(plan.fits, "{plan:?}");
    let model = load_with(&ctx, path, options);
    let (activation_bytes, batch) = model.activation_bytes();
    let name = path.display();
    assert_eq!(plan.context_length, model.n_ctx(), "{name}");
    assert_eq!(plan.weight_bytes, model.weight_bytes(), "{name}: weights");
    assert_eq!(plan.kv_cache_bytes, model.kv_cache_bytes(), "{name}: KV cache");
    assert_eq!((plan.activation_bytes, plan.batch), (activation_bytes, batch), "{name}: activations");
    assert_eq!(plan.total_bytes, plan.weight_bytes + plan.kv_cache_bytes + plan.activation_bytes);
    plan
}

#[test]
fn the_plan_is_what_a_load_allocates_for_each_family() {
    // tiny-llama: every weight format; tiny-qwen2: QKV biases; tiny-gemma3: q/k norms, post norms;
    // tiny-llama3: RoPE factors; tiny-phi3: fused Q/K/V and gate/up, LongRoPE's long factors.
    let families = [("tiny-llama", 256), ("tiny-qwen2", 100), ("tiny-gemma3", 1024), ("tiny-llama3", 64), ("tiny-phi3", 512)];
    for (name, n_ctx) in families {
        plan_equals_load(&common::fixture_path(&format!("tiny/{name}.gguf")), n_ctx, None);
    }
    let plan = plan_equals_load(&common::model_path("tiny-chat-random.gguf"), 300, None);
    // 2 layers × (keys + values) × 300 tokens × 32 values (1 KV head of 32) × 2 bytes (f16).
    assert_eq!(plan.kv_cache_bytes, 2 * 2 * 300 * 32 * 2);
}

#[test]
fn the_plan_follows_matrices_split_across_bindings() {
    // A 24 KiB limit splits tiny-llama's 1,003-row embedding and unfuses gate/up (2 × 160
    // rows of 96 values); 48 tokens of the f16 cache (48 × 32 values × 2 bytes = 3 KiB) fit.
    let plan = plan_equals_load(&common::fixture_path("tiny/tiny-llama.gguf"), 48, Some(24 << 10));
    assert!(plan.largest_buffer_bytes <= 24 << 10, "{plan:?}");
}

#[test]
fn a_context_too_large_is_refused_from_the_header_with_the_largest_that_fits() {
    let path = common::model_path("tiny-chat-random.gguf");
    // The limit lies between the logits row (49,152 × 4 = 196,608 bytes, must fit) and the
    // cache of one layer's keys at 2048 tokens.
    let ctx = common::gpu_with(GpuOptions { max_storage_binding: Some(200_000), ..Default::default() });
    let limits = DeviceLimits::of(&ctx);
    assert_eq!(limits.max_storage_binding, 200_000);
    // With an f32 cache a token of one layer's keys is 32 × 4 = 128 bytes: 2048 of them are
    // 262,144 > 200,000; floor(200,000 / 128) = 1,562 tokens fit.
    let f32_cache = |n_ctx| ModelOptions { n_ctx: Some(n_ctx), kv_precision: hearth::model::KvPrecision::F32 };
    let refused = hearth::model::plan(&header(&path), limits, f32_cache(2048)).unwrap();
    assert!(!refused.fits);
    assert_eq!(refused.largest_context, Some(1562));
    assert_eq!(refused.reasons.len(), 1, "{refused:?}");
    assert!(refused.reasons[0].contains("262144-byte") && refused.reasons[0].contains("200000 bytes"), "{refused:?}");

    // The streaming load refuses it on the header alone, with the same figures.
    let bytes = std::fs::read(&path).unwrap();
    let header_len = hearth::gguf::GgufHeader::parse_complete(&bytes).unwrap().data_offset as usize;
    let mut stream = hearth::model::ModelStream::new(&ctx, bytes.len() as u64, f32_cache(2048));
    let err = pollster::block_on(stream.push(&bytes[..header_len])).expect_err("refused on the header");
    assert!(matches!(err, hearth::Error::DoesNotFit { largest_context: Some(1562), .. }), "{err:?}");
    // And the largest context it names does load.
    let model = load_with(&ctx, &path, f32_cache(1562));
    assert_eq!(model.n_ctx(), 1562);
}

/// Phi-3's fused `ffn_up` must hold gate and up (2 · n_ff rows) when the file has no
/// `ffn_gate`: one of n_ff rows is refused from the header with a typed error naming the tensor
/// and both shapes, before anything is allocated.
#[test]
fn a_fused_ffn_up_of_the_wrong_height_is_refused_naming_the_tensor() {
    use common::gguf_writer::{GgufWriter, Tensor, Val};
    let kvs = [
        ("general.architecture", Val::Str("phi3")),
        ("phi3.block_count", Val::U32(1)),
        ("phi3.embedding_length", Val::U32(32)),
        ("phi3.feed_forward_length", Val::U32(64)),
        ("phi3.attention.head_count", Val::U32(2)),
        ("phi3.context_length", Val::U32(64)),
        ("phi3.vocab_size", Val::U32(8)),
    ];
    let tensors = [
        Tensor { name: "blk.0.attn_qkv.weight", dims: vec![32, 96], ggml_type: 0, offset: 0 },
        Tensor { name: "blk.0.ffn_up.weight", dims: vec![32, 64], ggml_type: 0, offset: 32 * 96 * 4 },
    ];
    let bytes = GgufWriter::default().write(&kvs, &tensors, &vec![0; (32 * 96 + 32 * 64) * 4]);
    let hearth::gguf::Parsed::Complete(header) = hearth::gguf::GgufHeader::parse(&bytes, Some(bytes.len() as u64)).unwrap() else {
        panic!("incomplete header")
    };
    let limits = DeviceLimits { max_storage_binding: 1 << 30, max_buffer_size: 1 << 30 };
    let err = hearth::model::plan(&header, limits, ModelOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, hearth::Error::InvalidArgument(_)), "{err:?}");
    assert!(msg.contains("blk.0.ffn_up.weight") && msg.contains("[32, 64]") && msg.contains("[32, 128]"), "{msg}");
}

/// The bytes a decode step reads (src/model/traffic.rs, from the tensors in the header) against
/// the plan (from the model's config): a model whose output head is its embedding reads every
/// weight buffer the load makes; one with its own head reads all but the embedding, of which one
/// row. In the GPU layout the three real models read at most 1.1x what their GGUF holds.
#[test]
fn decode_traffic_is_every_weight_once_plus_the_context() {
    let limits = DeviceLimits { max_storage_binding: 1 << 30, max_buffer_size: 1 << 30 };
    for (file, tied) in [(common::SMOLLM2, true), (common::QWEN25, false), (common::GEMMA3, true)] {
        let header = header(&common::model_path(file));
        let cfg = hearth::model::ModelConfig::from_metadata(&header.metadata).unwrap();
        let plan = hearth::model::plan(&header, limits, ModelOptions { n_ctx: Some(1024), ..Default::default() }).unwrap();
        let t = hearth::model::decode_traffic(&header, &cfg, 1000);
        let embedding = header.tensor("token_embd.weight").unwrap();
        let embedding_gpu = hearth::quant::gpu_layout::gpu_bytes(embedding.dtype, embedding.n_bytes as usize) as u64;
        let rows = embedding.dims[1];
        let expected = if tied { plan.weight_bytes } else { plan.weight_bytes - embedding_gpu + embedding_gpu / rows };
        assert_eq!(t.weights_read, expected, "{file}");
        // Keys and values, f16, of every layer (Gemma 3: five in six layers see a 512-token window).
        let keys: u64 = (0..cfg.n_layers).map(|l| if cfg.layer_attention(l).window > 0 { 512 } else { 1000 }).sum();
        assert_eq!(t.kv_read, keys * 2 * u64::from(cfg.kv_dim()) * 2, "{file}");
        assert!(t.weights_minimum < t.weights_read && t.ratio() < 1.1, "{file}: {t:?}, ratio {}", t.ratio());
        eprintln!("{file}: decode at 1000 tokens reads {} + {} bytes, {:.4}x the minimum", t.weights_read, t.kv_read, t.ratio());
    }
}
