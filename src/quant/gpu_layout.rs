//! The GPU layout of each format: GGUF blocks are byte-packed (a Q4_0 block is 18 bytes),
//! but WGSL reads storage buffers as `array<u32>`. At upload every block is repacked so it
//! starts on a 4-byte boundary, moving nothing but inserting 2 pad bytes where needed:
//! - Q4_0, Q5_0, Q8_0 (an f16 scale, then u32-aligned data in the GGUF order shifted by 2):
//!   2 pad bytes after the scale, so the quants are word-aligned.
//! - Q3_K (blocks of 110 bytes ending in an f16): 2 pad bytes at the end.
//! - Q6_K (210 bytes ending in an f16): 14 pad bytes at the end, 224 bytes = 14 texels of 16
//!   bytes, so that where the matmuls read the weights from a texture (lavapipe) every block
//!   and its 32-byte runs of low and high bits start on a texel: a chunk then takes 6 texel
//!   fetches rather than 8 (src/gpu/pipelines.rs, matmul_w_binding). 6.7% more bytes for
//!   the Q6_K matrices, which a GPU reading buffers never reads.
//! - every other format is already a whole number of words per block (or, for F16/BF16,
//!   two elements per word) and is copied as it is.
//!
//! The shader snippets in `shaders/quant/` document the word offsets they read.

use super::DType;
use crate::error::{Error, Result};

/// Where a block's pad bytes go, if anywhere: 2 after the scale, or this many at the end.
enum Pad {
    None,
    AfterScale,
    AtEnd(usize),
}

fn pad(dtype: DType) -> Pad {
    match dtype {
        DType::Q4_0 | DType::Q5_0 | DType::Q8_0 => Pad::AfterScale,
        DType::Q3_K => Pad::AtEnd(2),
        DType::Q6_K => Pad::AtEnd(14),
        _ => Pad::None,
    }
}

/// Bytes per block in the GPU layout (a multiple of 4 for every quantised format).
pub const fn gpu_block_bytes(dtype: DType) -> usize {
    match dtype {
        DType::Q4_0 | DType::Q5_0 | DType::Q8_0 | DType::Q3_K => dtype.block_bytes() + 2,
        DType::Q6_K => dtype.block_bytes() + 14,
        _ => dtype.block_bytes(),
    }
}

/// Bytes that `n_bytes` of GGUF data take in the GPU layout, rounded up to whole words.
pub fn gpu_bytes(dtype: DType, n_bytes: usize) -> usize {
    (n_bytes / dtype.block_bytes() * gpu_block_bytes(dtype)).next_multiple_of(4)
}

/// Appends the GPU layout of whole blocks `src` to `dst`. Works on any run of whole
/// blocks, so a tensor can be repacked chunk by chunk as it streams in.
pub fn repack_into(dtype: DType, src: &[u8], dst: &mut Vec<u8>) -> Result<()> {
    let bb = dtype.block_bytes();
    if src.len() % bb != 0 {
        return Err(Error::InvalidArgument(format!("{dtype} data of {} bytes is not a whole number of {bb}-byte blocks", src.len())));
    }
    dst.reserve(gpu_bytes(dtype, src.len()));
    match pad(dtype) {
        Pad::None => dst.extend_from_slice(src),
        Pad::AfterScale => {
            for block in src.chunks_exact(bb) {
                dst.extend_from_slice(&block[..2]);
                dst.extend_from_slice(&[0, 0]);
                dst.extend_from_slice(&block[2..]);
            }
        }
        Pad::AtEnd(n) => {
            for block in src.chunks_exact(bb) {
                dst.extend_from_slice(block);
                dst.extend(std::iter::repeat_n(0, n));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_quantised_gpu_block_is_whole_words() {
        for d in DType::ALL {
            if d.is_quantized() {
                assert_eq!(gpu_block_bytes(d) % 4, 0, "{d}");
            }
        }
    }

    #[test]
    fn q8_0_scale_stays_first_and_quants_move_by_two() {
        let mut block = vec![0xAA, 0xBB];
        block.extend(0u8..32);
        let mut out = Vec::new();
        repack_into(DType::Q8_0, &block, &mut out).unwrap();
        assert_eq!(&out[..4], &[0xAA, 0xBB, 0, 0]);
        assert_eq!(&out[4..], &block[2..]);
        assert!(repack_into(DType::Q8_0, &block[..33], &mut out).is_err());
    }
}
