//! Q5_1: 32 weights as 5-bit codes with a scale and an offset, `w = d * q + m`.
//!
//! Block layout (24 bytes, byte-packed, little-endian):
//!
//! | offset | bytes | field                                                              |
//! |--------|-------|--------------------------------------------------------------------|
//! | 0      | 2     | `d`: f16 scale                                                     |
//! | 2      | 2     | `m`: f16 offset (the block minimum)                                |
//! | 4      | 4     | `qh`: u32, bit `i` is bit 4 of `q[i]`                              |
//! | 8      | 16    | `qs`: byte `i` holds the low 4 bits of `q[i]` and of `q[i + 16]` (high nibble) |

use bytemuck::{Pod, Zeroable};

use super::DType;
use super::float::f16_value;
use super::q5_0::codes;

/// Weights per block.
pub const QK: usize = 32;

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct Block {
    pub d: [u8; 2],
    pub m: [u8; 2],
    pub qh: [u8; 4],
    pub qs: [u8; QK / 2],
}

const _: () = assert!(size_of::<Block>() == DType::Q5_1.block_bytes());
const _: () = assert!(QK == DType::Q5_1.block_size());

pub fn dequantize_block(block: &Block, out: &mut [f32; QK]) {
    let d = f16_value(block.d);
    let m = f16_value(block.m);
    for (y, q) in out.iter_mut().zip(codes(block.qh, &block.qs)) {
        // `d * q` is exact in f32 (11 + 5 significant bits), so the add is the only rounding.
        *y = d * f32::from(q) + m;
    }
}
