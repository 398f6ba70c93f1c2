//! Q8_0: 32 weights as signed bytes with one scale, `w = d * q`.
//!
//! Block layout (34 bytes, byte-packed, little-endian):
//!
//! | offset | bytes | field                    |
//! |--------|-------|--------------------------|
//! | 0      | 2     | `d`: f16 scale           |
//! | 2      | 32    | `qs`: `q[i]` as i8       |

use bytemuck::{Pod, Zeroable};

use super::DType;
use super::float::f16_value;

/// Weights per block.
pub const QK: usize = 32;

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct Block {
    pub d: [u8; 2],
    pub qs: [i8; QK],
}

const _: () = assert!(size_of::<Block>() == DType::Q8_0.block_bytes());
const _: () = assert!(QK == DType::Q8_0.block_size());

pub fn dequantize_block(block: &Block, out: &mut [f32; QK]) {
    let d = f16_value(block.d);
    for (y, &q) in out.iter_mut().zip(&block.qs) {
        *y = d * f32::from(q);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_scale_gives_the_codes() {
        let mut qs = [0i8; QK];
        for (i, q) in qs.iter_mut().enumerate() {
            *q = (i as i32 * 8 - 128) as i8; // -128 ..= 120: both signs and the i8 minimum
        }
        let block = Block { d: half::f16::from_f32(1.0).to_le_bytes(), qs };
        let mut out = [0.0; QK];
        dequantize_block(&block, &mut out);
        assert_eq!(out, qs.map(f32::from));
    }
}
