//! Fit before fetch: the GPU memory a load will take, from the GGUF header alone, against a
//! device's limits. Every figure comes from the sizing functions the allocation itself uses
//! (`GpuMatrix::part_sizes`, `KvCache::layer_buffer_bytes`, `Arena::capacity_for` /
//! `bytes_for`), so a browser can refuse a model, or propose a shorter context, before it
//! downloads the weights.

use serde::Serialize;

use super::arena::Arena;
use super::config::ModelConfig;
use super::kv_cache::KvCache;
use super::{DEFAULT_CONTEXT, DEFAULT_KV_BUDGET, KvPrecision, MAX_BATCH, MIN_DEFAULT_CONTEXT, ModelOptions};
use crate::error::{Error, Result};
use crate::gguf::{GgufHeader, TensorInfo};
use crate::gpu::{GpuContext, GpuMatrix, RowStack};

/// The device limits a plan is made against (WebGPU names them the same).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceLimits {
    /// The largest buffer one storage binding may cover.
    pub max_storage_binding: u64,
    /// The largest buffer the device creates.
    pub max_buffer_size: u64,
}

impl DeviceLimits {
    /// The limits a model on `ctx` is allocated under.
    pub fn of(ctx: &GpuContext) -> DeviceLimits {
        DeviceLimits { max_storage_binding: ctx.max_storage_binding, max_buffer_size: ctx.limits.max_buffer_size }
    }

    /// Every buffer Hearth makes is bound as storage, so the smaller limit bounds each one.
    fn per_buffer(&self) -> u64 {
        self.max_storage_binding.min(self.max_buffer_size)
    }
}

/// What a load needs and whether this device can give it (`hearth plan --json`, and
/// `engine.plan()` in the browser).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(rename = "ModelPlan"))]
pub struct Plan {
    /// Bytes of the file's header (where the tensor data starts): all a plan reads.
    pub header_bytes: u64,
    /// The context the load would use (the option, else `default_context`).
    pub context_length: u32,
    /// The model's trained context: the most `context_length` may be.
    pub trained_context_length: u32,
    /// Weight matrices in their GPU layout (repacked, split across bindings) and norm/bias
    /// vectors as f32.
    pub weight_bytes: u64,
    /// Keys and values of every layer at `context_length`.
    pub kv_cache_bytes: u64,
    /// The activation arena at `batch` tokens.
    pub activation_bytes: u64,
    pub total_bytes: u64,
    /// Tokens per forward pass (`MAX_BATCH`, fewer where a binding cannot hold that many rows).
    pub batch: u32,
    /// The largest single buffer the load makes.
    pub largest_buffer_bytes: u64,
    pub max_storage_binding: u64,
    pub max_buffer_size: u64,
    pub fits: bool,
    /// Why it does not fit, one line each (empty when it does).
    pub reasons: Vec<String>,
    /// The longest context that would fit, when only the context is in the way (or it fits).
    pub largest_context: Option<u32>,
}

impl Plan {
    /// `Err(Error::DoesNotFit)` naming the reasons and the largest context, unless it fits.
    pub fn check(&self) -> Result<()> {
        if self.fits {
            return Ok(());
        }
        Err(Error::DoesNotFit { reason: self.reasons.join("; "), largest_context: self.largest_context })
    }
}

/// Plans a load of the model `header` describes with `options` on a device with `limits`.
/// Errors only where the load itself would refuse the file or the options (bad metadata, a
/// context of 0 or over the trained one); not fitting is `fits: false`.
pub fn plan(header: &GgufHeader, limits: DeviceLimits, options: ModelOptions) -> Result<Plan> {
    let cfg = ModelConfig::from_metadata(&header.metadata)?;
    let context_length = requested_context(&cfg, options)?;
    let per_buffer = limits.per_buffer();
    let mut reasons = Vec::new();

    let mut weights = WeightSizes { header, limit: per_buffer, bytes: 0, largest: 0 };
    weights.walk(&cfg, context_length)?;
    if weights.largest > per_buffer {
        reasons.push(format!(
            "a weight buffer that cannot be split further (one matrix row, or a norm/bias vector) takes {} bytes, \
             over this device's storage-binding limit of {per_buffer} bytes",
            weights.largest
        ));
    }

    let layer_kv = KvCache::layer_buffer_bytes(&cfg, context_length, options.kv_precision);
    let kv_cache_bytes = 2 * u64::from(cfg.n_layers) * layer_kv;
    let kv_refusal = kv_cache_refusal(&cfg, context_length, options.kv_precision, per_buffer);
    let kv_fits = kv_refusal.is_none();
    reasons.extend(kv_refusal);

    let batch = Arena::capacity_for(&cfg, per_buffer, MAX_BATCH as u32);
    let logits_row = u64::from(cfg.vocab) * 4;
    if logits_row > per_buffer {
        reasons.push(format!(
            "the `logits` of one token take {logits_row} bytes, over this device's storage-binding limit of {per_buffer} bytes"
        ));
    }
    if batch == 0 {
        reasons.push(format!("one token's widest activation row does not fit this device's storage-binding limit of {per_buffer} bytes"));
    }
    let activation_bytes = Arena::bytes_for(&cfg, batch.max(1));
    let largest_activation = [cfg.d_model, cfg.q_dim() + 2 * cfg.kv_dim(), cfg.d_ff]
        .into_iter()
        .map(|w| u64::from(w) * u64::from(batch.max(1)) * 4)
        .chain([logits_row])
        .max()
        .unwrap_or(0);

    let others_fit = reasons.len() == usize::from(!kv_fits);
    let largest_context = others_fit.then(|| largest_context(&cfg, options.kv_precision, per_buffer)).flatten();
    Ok(Plan {
        header_bytes: header.data_offset,
        context_length,
        trained_context_length: cfg.n_ctx_train,
        weight_bytes: weights.bytes,
        kv_cache_bytes,
        activation_bytes,
        total_bytes: weights.bytes + kv_cache_bytes + activation_bytes,
        batch,
        largest_buffer_bytes: weights.largest.max(layer_kv).max(largest_activation),
        max_storage_binding: limits.max_storage_binding,
        max_buffer_size: limits.max_buffer_size,
        fits: reasons.is_empty(),
        reasons,
        largest_context,
    })
}

/// The context a load uses: the option, else `default_context`; refused when 0 or over the
/// trained maximum.
pub(crate) fn requested_context(cfg: &ModelConfig, options: ModelOptions) -> Result<u32> {
    let n_ctx = options.n_ctx.unwrap_or_else(|| default_context(cfg, options.kv_precision));
    if n_ctx == 0 {
        return Err(Error::InvalidArgument("context length 0: a context holds at least 1 token".into()));
    }
    if n_ctx > cfg.n_ctx_train {
        return Err(Error::InvalidArgument(format!(
            "context length {n_ctx} is over the model's trained maximum of {} tokens",
            cfg.n_ctx_train
        )));
    }
    Ok(n_ctx)
}

/// The context when the caller chooses none: the model's trained context up to
/// `DEFAULT_CONTEXT` (8192), halved while its KV cache would take more than
/// `DEFAULT_KV_BUDGET` (256 MiB), but not below `MIN_DEFAULT_CONTEXT` (2048). With the f16
/// cache the small models keep 8192 (SmolLM2-135M 180 MiB, Qwen2.5-0.5B 96 MiB, Gemma 3 270M
/// 144 MiB); a 3.8B Phi-3.5 (384 KiB a token) gets 2048.
pub(crate) fn default_context(cfg: &ModelConfig, precision: KvPrecision) -> u32 {
    let kv_bytes = |n: u32| 2 * u64::from(cfg.n_layers) * KvCache::layer_buffer_bytes(cfg, n, precision);
    let mut n = DEFAULT_CONTEXT.min(cfg.n_ctx_train);
    while n / 2 >= MIN_DEFAULT_CONTEXT && kv_bytes(n) > DEFAULT_KV_BUDGET {
        n /= 2;
    }
    n
}

/// Why a context's KV cache does not fit: a layer's key (or value) buffer, one binding each,
/// over `limit` bytes; `None` when it fits.
pub(crate) fn kv_cache_refusal(cfg: &ModelConfig, n_ctx: u32, precision: KvPrecision, limit: u64) -> Option<String> {
    let layer_bytes = KvCache::layer_buffer_bytes(cfg, n_ctx, precision);
    (layer_bytes > limit).then(|| {
        format!(
            "a context of {n_ctx} tokens needs {layer_bytes}-byte key/value caches per layer, over this device's \
             storage-binding limit of {limit} bytes"
        )
    })
}

/// The longest context (up to the trained one) whose KV cache fits `limit`, if any does.
pub(crate) fn largest_context(cfg: &ModelConfig, precision: KvPrecision, limit: u64) -> Option<u32> {
    let n = KvCache::max_context(cfg, precision, limit).min(u64::from(cfg.n_ctx_train));
    (n > 0).then_some(n as u32)
}

/// The sizes of the buffers `ModelWeights::declare` allocates, tensor by tensor in the same
/// order and with the same concatenation rules (the plan test compares the total with a real
/// load's buffers, so a change to one without the other fails there).
struct WeightSizes<'a> {
    header: &'a GgufHeader,
    limit: u64,
    bytes: u64,
    /// The largest single buffer.
    largest: u64,
}

impl WeightSizes<'_> {
    fn walk(&mut self, cfg: &ModelConfig, n_ctx: u32) -> Result<()> {
        let (d, q, kv, ff, vocab) = (cfg.d_model, cfg.q_dim(), cfg.kv_dim(), cfg.d_ff, cfg.vocab);
        let (qk_norm, post_norms) = (cfg.family.qk_norm, cfg.family.post_norms);
        for i in 0..cfg.n_layers {
            let n = |s: &str| format!("blk.{i}.{s}.weight");
            let b = |s: &str| format!("blk.{i}.{s}.bias");
            let p = super::fused::projections(self.header, cfg, i)?;
            self.vector(d);
            self.concat_rows(&p.qkv, d)?;
            self.matrix(&n("attn_output"), d, q)?;
            match p.qkv_fused {
                true => self.opt_vector(&b("attn_qkv"), q + 2 * kv),
                false => self.concat_opt_vectors(&[(&b("attn_q"), q), (&b("attn_k"), kv), (&b("attn_v"), kv)]),
            }
            self.opt_vector(&b("attn_output"), d);
            if qk_norm {
                self.vector(cfg.head_dim);
                self.vector(cfg.head_dim);
            }
            if post_norms {
                self.vector(d);
            }
            self.vector(d);
            self.gate_up(&p.gate, &p.up, ff, d)?;
            self.matrix(&n("ffn_down"), d, ff)?;
            if post_norms {
                self.vector(d);
            }
        }
        if self.header.tensor("output.weight").is_some() {
            self.matrix("output.weight", vocab, d)?;
        }
        self.matrix("token_embd.weight", vocab, d)?;
        self.opt_vector("output.bias", vocab);
        self.vector(d);
        if super::rope::factors_tensor(self.header, cfg, n_ctx).is_some() {
            self.vector(cfg.n_rot / 2);
        }
        Ok(())
    }

    fn add(&mut self, bytes: u64) {
        self.bytes += bytes;
        self.largest = self.largest.max(bytes);
    }

    fn dtype(&self, name: &str) -> Result<crate::quant::DType> {
        Ok(self.header.tensor(name).ok_or_else(|| Error::MissingTensor { name: name.to_string() })?.dtype)
    }

    fn parts(&self, name: &str, dtype: crate::quant::DType, rows: u32, cols: u32) -> Result<Vec<u64>> {
        Ok(GpuMatrix::part_sizes(name, dtype, rows, cols, self.limit)?.into_iter().map(|(_, _, size)| size).collect())
    }

    fn matrix(&mut self, name: &str, rows: u32, cols: u32) -> Result<()> {
        let dtype = self.dtype(name)?;
        self.matrix_parts(name, dtype, rows, cols)
    }

    fn matrix_parts(&mut self, name: &str, dtype: crate::quant::DType, rows: u32, cols: u32) -> Result<()> {
        for size in self.parts(name, dtype, rows, cols)? {
            self.add(size);
        }
        Ok(())
    }

    /// As `Loader::concat_rows`: each run of consecutive tensors in one format is one matrix,
    /// all in one buffer where they fit one binding (`RowStack`).
    fn concat_rows(&mut self, tensors: &[(TensorInfo, u32)], cols: u32) -> Result<()> {
        let mut runs: Vec<(crate::quant::DType, u32, &str)> = Vec::new();
        for (info, rows) in tensors {
            match runs.last_mut() {
                Some((d, r, _)) if *d == info.dtype => *r += rows,
                _ => runs.push((info.dtype, *rows, &info.name)),
            }
        }
        if !self.stack(&runs, cols)? {
            for (dtype, rows, name) in runs {
                self.matrix_parts(name, dtype, rows, cols)?;
            }
        }
        Ok(())
    }

    /// As `RowStack::allocate`: one buffer for all runs where they fit one binding (true);
    /// else nothing is added (false).
    fn stack(&mut self, runs: &[(crate::quant::DType, u32, &str)], cols: u32) -> Result<bool> {
        let mut sizes = Vec::new();
        for &(dtype, rows, name) in runs {
            sizes.push(self.parts(name, dtype, rows, cols)?.iter().sum::<u64>());
        }
        let fits = RowStack::fits(self.limit, &sizes);
        if fits {
            self.add(RowStack::stacked_bytes(&sizes));
        }
        Ok(fits)
    }

    /// As `Loader::gate_up`: one `[2 rows × cols]` buffer when both fit one binding, else two
    /// matrices.
    fn gate_up(&mut self, gate: &TensorInfo, up: &TensorInfo, rows: u32, cols: u32) -> Result<()> {
        let runs = if gate.dtype == up.dtype {
            vec![(gate.dtype, 2 * rows, gate.name.as_str())]
        } else {
            vec![(gate.dtype, rows, gate.name.as_str()), (up.dtype, rows, up.name.as_str())]
        };
        if !self.stack(&runs, cols)? {
            self.matrix_parts(&gate.name, gate.dtype, rows, cols)?;
            self.matrix_parts(&up.name, up.dtype, rows, cols)?;
        }
        Ok(())
    }

    /// An f32 vector (`GpuContext::f32_buffer`: at least one value).
    fn vector(&mut self, n: u32) {
        self.add(u64::from(n.max(1)) * 4);
    }

    fn opt_vector(&mut self, name: &str, n: u32) {
        if self.header.tensor(name).is_some() {
            self.vector(n);
        }
    }

    fn concat_opt_vectors(&mut self, tensors: &[(&str, u32)]) {
        if tensors.iter().any(|(name, _)| self.header.tensor(name).is_some()) {
            self.vector(tensors.iter().map(|(_, n)| n).sum());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::default_context;
    use crate::gguf::MetaValue;
    use crate::model::KvPrecision;
    use crate::model::config::{ModelConfig, tests::gemma3_meta_with};

    /// A Gemma 3 shape of 18 layers, 8 query heads and `kv_heads` key/value heads of 256, and a
    /// trained context.
    fn config(kv_heads: u32, trained: u32) -> ModelConfig {
        let overrides = vec![
            ("gemma3.attention.head_count", MetaValue::U32(8)),
            ("gemma3.attention.head_count_kv", MetaValue::U32(kv_heads)),
            ("gemma3.context_length", MetaValue::U32(trained)),
        ];
        ModelConfig::from_metadata(&gemma3_meta_with(18, Some(512), overrides)).unwrap()
    }

    #[test]
    fn the_default_context_is_8192_halved_past_a_256_mib_cache_down_to_2048() {
        // 1 KV head: 18 layers × (K + V) × 256 values × 2 bytes = 18 KiB a token; 8192 = 144 MiB.
        assert_eq!(default_context(&config(1, 32768), KvPrecision::F16), 8192);
        // In f32 that is 288 MiB: 4096 (144 MiB).
        assert_eq!(default_context(&config(1, 32768), KvPrecision::F32), 4096);
        // 4 KV heads: 72 KiB a token; 8192 = 576 MiB, 4096 = 288 MiB, then the floor of 2048.
        assert_eq!(default_context(&config(4, 32768), KvPrecision::F16), 2048);
        // The model's own context when it is shorter.
        assert_eq!(default_context(&config(1, 1024), KvPrecision::F16), 1024);
        // 8 KV heads and 3000 trained: 422 MiB, but half of it would be under the floor of 2048.
        assert_eq!(default_context(&config(8, 3000), KvPrecision::F16), 3000);
    }
}
