//! Q4_K: 256 weights in 8 sub-blocks of 32, 4-bit codes with a 6-bit scale and a 6-bit
//! min per sub-block, scaled by two f16 super-block factors:
//! `w = (d * sc) * q - (dmin * m)`.
//!
//! Block layout (144 bytes, byte-packed, little-endian):
//!
//! | offset | bytes | field                                                         |
//! |--------|-------|---------------------------------------------------------------|
//! | 0      | 2     | `d`: f16 scale of the scales                                  |
//! | 2      | 2     | `dmin`: f16 scale of the mins                                 |
//! | 4      | 12    | `scales`: eight (sc, m) pairs, see [`super::k_scales`]        |
//! | 16     | 128   | `qs`: weight `i = 64 c + 32 n + l` is nibble `n` of `qs[32 c + l]` |
//!
//! Weight `i` belongs to sub-block `i / 32`.

use bytemuck::{Pod, Zeroable};

use super::float::f16_value;
use super::k_scales::{K_SCALE_SIZE, scale_min};
use super::{DType, QK_K};

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct Block {
    pub d: [u8; 2],
    pub dmin: [u8; 2],
    pub scales: [u8; K_SCALE_SIZE],
    pub qs: [u8; QK_K / 2],
}

const _: () = assert!(size_of::<Block>() == DType::Q4_K.block_bytes());
const _: () = assert!(QK_K == DType::Q4_K.block_size());

pub fn dequantize_block(block: &Block, out: &mut [f32; QK_K]) {
    let d = f16_value(block.d);
    let dmin = f16_value(block.dmin);
    for (s, sub) in out.chunks_exact_mut(32).enumerate() {
        let (sc, m) = scale_min(&block.scales, s);
        // Products are exact in f32 (11 + 6 + 4 significant bits); only the subtraction rounds.
        let dl = d * f32::from(sc);
        let ml = dmin * f32::from(m);
        let (c, n) = (s / 2, s % 2);
        for (y, &byte) in sub.iter_mut().zip(&block.qs[32 * c..32 * c + 32]) {
            let q = (byte >> (4 * n)) & 0x0F;
            *y = dl * f32::from(q) - ml;
        }
    }
}
