//! Q5_0: 32 weights as 5-bit codes with one scale, `w = d * (q - 16)`.
//!
//! Block layout (22 bytes, byte-packed, little-endian):
//!
//! | offset | bytes | field                                                              |
//! |--------|-------|--------------------------------------------------------------------|
//! | 0      | 2     | `d`: f16 scale                                                     |
//! | 2      | 4     | `qh`: u32, bit `i` is bit 4 of `q[i]`                              |
//! | 6      | 16    | `qs`: byte `i` holds the low 4 bits of `q[i]` and of `q[i + 16]` (high nibble) |

use bytemuck::{Pod, Zeroable};

use super::DType;
use super::float::f16_value;

/// Weights per block.
pub const QK: usize = 32;

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct Block {
    pub d: [u8; 2],
    pub qh: [u8; 4],
    pub qs: [u8; QK / 2],
}

const _: () = assert!(size_of::<Block>() == DType::Q5_0.block_bytes());
const _: () = assert!(QK == DType::Q5_0.block_size());

/// The 5-bit codes of a Q5_0 or Q5_1 block, in weight order.
pub(super) fn codes(qh: [u8; 4], qs: &[u8; QK / 2]) -> [u8; QK] {
    let qh = u32::from_le_bytes(qh);
    let mut q = [0u8; QK];
    for (i, &byte) in qs.iter().enumerate() {
        let high = |j: usize| (((qh >> j) & 1) as u8) << 4;
        q[i] = (byte & 0x0F) | high(i);
        q[i + QK / 2] = (byte >> 4) | high(i + QK / 2);
    }
    q
}

pub fn dequantize_block(block: &Block, out: &mut [f32; QK]) {
    let d = f16_value(block.d);
    for (y, q) in out.iter_mut().zip(codes(block.qh, &block.qs)) {
        *y = d * f32::from(q as i8 - 16);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn high_bits_come_from_qh() {
        // q[0] = 0b1_0000 (16 -> 0), q[31] = 0b1_1111 (31 -> 15), q[1] = 0 (-> -16).
        let mut qs = [0u8; QK / 2];
        qs[15] = 0xF0;
        let block = Block { d: half::f16::from_f32(1.0).to_le_bytes(), qh: (1u32 | 1 << 31).to_le_bytes(), qs };
        let mut out = [0.0; QK];
        dequantize_block(&block, &mut out);
        assert_eq!((out[0], out[31], out[1]), (0.0, 15.0, -16.0));
    }
}
