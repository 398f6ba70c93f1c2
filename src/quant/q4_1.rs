//! Q4_1: 32 weights as 4-bit codes with a scale and an offset, `w = d * q + m`.
//!
//! Block layout (20 bytes, byte-packed, little-endian):
//!
//! | offset | bytes | field                                                          |
//! |--------|-------|----------------------------------------------------------------|
//! | 0      | 2     | `d`: f16 scale                                                 |
//! | 2      | 2     | `m`: f16 offset (the block minimum)                            |
//! | 4      | 16    | `qs`: byte `i` holds `q[i]` (low nibble) and `q[i + 16]` (high) |

use bytemuck::{Pod, Zeroable};

use super::DType;
use super::float::f16_value;

/// Weights per block.
pub const QK: usize = 32;

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct Block {
    pub d: [u8; 2],
    pub m: [u8; 2],
    pub qs: [u8; QK / 2],
}

const _: () = assert!(size_of::<Block>() == DType::Q4_1.block_bytes());
const _: () = assert!(QK == DType::Q4_1.block_size());

pub fn dequantize_block(block: &Block, out: &mut [f32; QK]) {
    let d = f16_value(block.d);
    let m = f16_value(block.m);
    let (lo, hi) = out.split_at_mut(QK / 2);
    for ((&byte, lo), hi) in block.qs.iter().zip(lo).zip(hi) {
        // `d * q` is exact in f32 (11 + 4 significant bits), so the add is the only rounding.
        *lo = d * f32::from(byte & 0x0F) + m;
        *hi = d * f32::from(byte >> 4) + m;
    }
}
