//! Q2_K: 256 weights in 16 sub-blocks of 16, 2-bit codes with a 4-bit scale and a 4-bit
//! min per sub-block, themselves scaled by two f16 super-block factors:
//! `w = (d * sc) * q - (dmin * m)`.
//!
//! Block layout (84 bytes, byte-packed, little-endian):
//!
//! | offset | bytes | field                                                        |
//! |--------|-------|--------------------------------------------------------------|
//! | 0      | 16    | `scales`: sub-block `s` has `sc` in the low nibble, `m` high  |
//! | 16     | 64    | `qs`: 2-bit codes, see below                                 |
//! | 80     | 2     | `d`: f16 scale of the scales                                 |
//! | 82     | 2     | `dmin`: f16 scale of the mins                                |
//!
//! Weight `i = 128 h + 32 j + l` (half `h` < 2, `j` < 4, `l` < 32) is bits `2j..2j+2` of
//! `qs[32 h + l]`; it belongs to sub-block `i / 16`.

use bytemuck::{Pod, Zeroable};

use super::float::f16_value;
use super::{DType, QK_K};

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct Block {
    pub scales: [u8; QK_K / 16],
    pub qs: [u8; QK_K / 4],
    pub d: [u8; 2],
    pub dmin: [u8; 2],
}

const _: () = assert!(size_of::<Block>() == DType::Q2_K.block_bytes());
const _: () = assert!(QK_K == DType::Q2_K.block_size());

pub fn dequantize_block(block: &Block, out: &mut [f32; QK_K]) {
    let d = f16_value(block.d);
    let dmin = f16_value(block.dmin);
    for (i, y) in out.iter_mut().enumerate() {
        let (h, j, l) = (i / 128, i / 32 % 4, i % 32);
        let q = (block.qs[32 * h + l] >> (2 * j)) & 3;
        let sm = block.scales[i / 16];
        // Products are exact in f32 (11 + 4 + 2 significant bits); only the subtraction rounds.
        let dl = d * f32::from(sm & 0x0F);
        let ml = dmin * f32::from(sm >> 4);
        *y = dl * f32::from(q) - ml;
    }
}
