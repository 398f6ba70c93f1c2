//! Where a layer's Q/K/V and gate/up projections are in the file: separate tensors, or row
//! ranges of one fused tensor (Phi-3: `attn_qkv` holds [q; k; v], and `ffn_up` holds
//! [gate; up] in 2·n_ff rows when there is no `ffn_gate`). The loader and the plan take the
//! same list of (tensor, rows) either way, a fused tensor's parts being row slices of it (a
//! row is whole blocks in every format), so a fused file goes through the same concatenation
//! at load as a split one.

use super::config::ModelConfig;
use crate::error::{Error, Result};
use crate::gguf::{GgufHeader, TensorInfo};

pub struct Projections {
    /// Q, K and V, each with the rows the metadata implies.
    pub qkv: [(TensorInfo, u32); 3],
    /// The bias of a fused `attn_qkv` is one vector, `attn_qkv.bias`.
    pub qkv_fused: bool,
    pub gate: TensorInfo,
    pub up: TensorInfo,
}

/// Layer `layer`'s projections, fused tensors sliced into their parts.
pub fn projections(header: &GgufHeader, cfg: &ModelConfig, layer: u32) -> Result<Projections> {
    let name = |s: &str| format!("blk.{layer}.{s}.weight");
    let get = |n: &str| header.tensor(n).cloned().ok_or_else(|| Error::MissingTensor { name: n.to_string() });
    let (d, q, kv, ff) = (cfg.d_model, cfg.q_dim(), cfg.kv_dim(), cfg.d_ff);
    let (qkv, qkv_fused) = match header.tensor(&name("attn_qkv")) {
        Some(fused) => {
            let [tq, tk, tv] = split_rows(fused, d, [q, kv, kv], "Q, K and V")?;
            ([(tq, q), (tk, kv), (tv, kv)], true)
        }
        None => ([(get(&name("attn_q"))?, q), (get(&name("attn_k"))?, kv), (get(&name("attn_v"))?, kv)], false),
    };
    let (gate, up) = match header.tensor(&name("ffn_gate")) {
        Some(gate) => (gate.clone(), get(&name("ffn_up"))?),
        None => {
            let [gate, up] = split_rows(&get(&name("ffn_up"))?, d, [ff, ff], "gate and up (the file has no ffn_gate)")?;
            (gate, up)
        }
    };
    Ok(Projections { qkv, qkv_fused, gate, up })
}

/// `t`, a `[Σ rows × cols]` matrix, as consecutive row ranges of `rows[i]` rows each. The
/// slices keep the fused tensor's name (errors and the upload's bookkeeping name the file's tensor).
fn split_rows<const N: usize>(t: &TensorInfo, cols: u32, rows: [u32; N], parts: &str) -> Result<[TensorInfo; N]> {
    let total: u64 = rows.iter().map(|&r| u64::from(r)).sum();
    if t.dims != [u64::from(cols), total] {
        return Err(Error::InvalidArgument(format!(
            "tensor `{}` has shape {:?}, the model's metadata implies {:?} ({parts} fused)",
            t.name,
            t.dims,
            [u64::from(cols), total]
        )));
    }
    // The header checked n_bytes against the dims: whole rows of equal size.
    let row_bytes = t.n_bytes / total;
    let mut start = t.start;
    Ok(rows.map(|r| {
        let slice = TensorInfo {
            name: t.name.clone(),
            dims: vec![u64::from(cols), u64::from(r)],
            dtype: t.dtype,
            start,
            n_elements: u64::from(cols) * u64::from(r),
            n_bytes: row_bytes * u64::from(r),
        };
        start += slice.n_bytes;
        slice
    }))
}
