//! Tensor formats: the `DType` registry and, one file per block family, the byte layout
//! of each block with a CPU reference dequantiser (the ground truth the GPU kernels are
//! tested against).
//!
//! Each quantised format's module has a `Block` type (`#[repr(C)]`, alignment 1, exactly
//! the GGUF bytes, so it can be viewed straight from any `&[u8]` of whole blocks) and
//! `dequantize_block(&Block, &mut [f32; N])`. [`dequantize`] is the one place that maps a
//! `DType` to its block code.

pub mod chunk_group;
mod dtype;
pub mod float;
pub mod gpu_layout;
pub mod k_scales;
pub mod q2_k;
pub mod q3_k;
pub mod q4_0;
pub mod q4_1;
pub mod q4_k;
pub mod q5_0;
pub mod q5_1;
pub mod q5_k;
pub mod q6_k;
pub mod q8_0;
pub mod raw_chunks;
pub mod shader;

pub use dtype::{DType, QK_K, ggml_type_name};

use crate::error::{Error, Result};

/// Dequantise `bytes`, a whole number of `dtype` blocks as stored in GGUF, into `out`,
/// which must hold exactly as many values as the blocks do.
pub fn dequantize(dtype: DType, bytes: &[u8], out: &mut [f32]) -> Result<()> {
    let n_values = values_in(dtype, bytes.len())?;
    if out.len() != n_values {
        return Err(Error::InvalidArgument(format!(
            "dequantize {dtype}: {} bytes hold {n_values} values, but the output has room for {}",
            bytes.len(),
            out.len()
        )));
    }
    match dtype {
        DType::F32 => each_block(dtype, bytes, out, |b: &[u8; 4], y: &mut [f32; 1]| y[0] = float::f32_value(*b)),
        DType::F16 => each_block(dtype, bytes, out, |b: &[u8; 2], y: &mut [f32; 1]| y[0] = float::f16_value(*b)),
        DType::BF16 => each_block(dtype, bytes, out, |b: &[u8; 2], y: &mut [f32; 1]| y[0] = float::bf16_value(*b)),
        DType::Q4_0 => each_block(dtype, bytes, out, q4_0::dequantize_block),
        DType::Q4_1 => each_block(dtype, bytes, out, q4_1::dequantize_block),
        DType::Q5_0 => each_block(dtype, bytes, out, q5_0::dequantize_block),
        DType::Q5_1 => each_block(dtype, bytes, out, q5_1::dequantize_block),
        DType::Q8_0 => each_block(dtype, bytes, out, q8_0::dequantize_block),
        DType::Q2_K => each_block(dtype, bytes, out, q2_k::dequantize_block),
        DType::Q3_K => each_block(dtype, bytes, out, q3_k::dequantize_block),
        DType::Q4_K => each_block(dtype, bytes, out, q4_k::dequantize_block),
        DType::Q5_K => each_block(dtype, bytes, out, q5_k::dequantize_block),
        DType::Q6_K => each_block(dtype, bytes, out, q6_k::dequantize_block),
    }
}

/// [`dequantize`] into a new vector.
pub fn dequantize_to_vec(dtype: DType, bytes: &[u8]) -> Result<Vec<f32>> {
    let mut out = vec![0.0; values_in(dtype, bytes.len())?];
    dequantize(dtype, bytes, &mut out)?;
    Ok(out)
}

/// How many values `n_bytes` of `dtype` hold, or an error if that is not whole blocks.
fn values_in(dtype: DType, n_bytes: usize) -> Result<usize> {
    let block_bytes = dtype.block_bytes();
    if n_bytes % block_bytes != 0 {
        return Err(Error::InvalidArgument(format!(
            "dequantize {dtype}: {n_bytes} bytes is not a whole number of {block_bytes}-byte blocks"
        )));
    }
    // A Q2_K block holds ~3 values per byte, so a (theoretical) huge slice could overflow.
    (n_bytes / block_bytes)
        .checked_mul(dtype.block_size())
        .ok_or_else(|| Error::InvalidArgument(format!("dequantize {dtype}: {n_bytes} bytes hold more values than fit in memory")))
}

/// Runs `f` on every block of `bytes` and its `N` outputs. The caller has checked the
/// lengths; the casts check again rather than assume it (alignment is never an issue:
/// blocks have alignment 1 and `[f32; N]` that of `f32`).
fn each_block<B: bytemuck::Pod, const N: usize>(dtype: DType, bytes: &[u8], out: &mut [f32], f: impl Fn(&B, &mut [f32; N])) -> Result<()>
where
    [f32; N]: bytemuck::Pod,
{
    let (n_bytes, n_out) = (bytes.len(), out.len());
    let mismatch =
        |e: bytemuck::PodCastError| Error::InvalidArgument(format!("dequantize {dtype}: {n_bytes} bytes into {n_out} values: {e:?}"));
    let blocks: &[B] = bytemuck::try_cast_slice(bytes).map_err(mismatch)?;
    let outs: &mut [[f32; N]] = bytemuck::try_cast_slice_mut(out).map_err(mismatch)?;
    for (block, y) in blocks.iter().zip(outs) {
        f(block, y);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unaligned_input_is_fine() {
        // A Q8_0 block at an odd address: GGUF blocks are byte-packed.
        let mut bytes = [0u8; 1 + 34];
        bytes[1..3].copy_from_slice(&half::f16::from_f32(2.0).to_le_bytes());
        bytes[3] = 0xFF; // -1
        let v = dequantize_to_vec(DType::Q8_0, &bytes[1..]).unwrap();
        assert_eq!(v.len(), 32);
        assert_eq!(v[0], -2.0);
    }
}
