//! Q4_0: 32 weights as 4-bit codes with one scale, `w = d * (q - 8)`.
//!
//! Block layout (18 bytes, byte-packed, little-endian):
//!
//! | offset | bytes | field                                                          |
//! |--------|-------|----------------------------------------------------------------|
//! | 0      | 2     | `d`: f16 scale                                                 |
//! | 2      | 16    | `qs`: byte `i` holds `q[i]` (low nibble) and `q[i + 16]` (high) |

use bytemuck::{Pod, Zeroable};

use super::DType;
use super::float::f16_value;

/// Weights per block.
pub const QK: usize = 32;

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct Block {
    pub d: [u8; 2],
    pub qs: [u8; QK / 2],
}

const _: () = assert!(size_of::<Block>() == DType::Q4_0.block_bytes());
const _: () = assert!(QK == DType::Q4_0.block_size());

pub fn dequantize_block(block: &Block, out: &mut [f32; QK]) {
    let d = f16_value(block.d);
    let (lo, hi) = out.split_at_mut(QK / 2);
    for ((&byte, lo), hi) in block.qs.iter().zip(lo).zip(hi) {
        *lo = d * f32::from((byte & 0x0F) as i8 - 8);
        *hi = d * f32::from((byte >> 4) as i8 - 8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_offset_by_8() {
        let mut qs = [0u8; QK / 2];
        qs[0] = 0xF0; // q[0] = 0, q[16] = 15
        qs[1] = 0x08; // q[1] = 8, q[17] = 0
        let block = Block { d: half::f16::from_f32(0.5).to_le_bytes(), qs };
        let mut out = [0.0; QK];
        dequantize_block(&block, &mut out);
        assert_eq!((out[0], out[16], out[1], out[17]), (-4.0, 3.5, 0.0, -4.0));
    }
}
