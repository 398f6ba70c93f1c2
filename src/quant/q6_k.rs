//! Q6_K: 256 weights in 16 sub-blocks of 16, 6-bit codes with a signed 8-bit scale per
//! sub-block and one f16 super-block scale: `w = (d * sc) * (q - 32)`.
//!
//! Block layout (210 bytes, byte-packed, little-endian):
//!
//! | offset | bytes | field                                                          |
//! |--------|-------|----------------------------------------------------------------|
//! | 0      | 128   | `ql`: low 4 bits, see below                                    |
//! | 128    | 64    | `qh`: high 2 bits, see below                                   |
//! | 192    | 16    | `scales`: i8 scale of sub-block `i / 16`                       |
//! | 208    | 2     | `d`: f16 super-block scale                                     |
//!
//! Weight `i = 128 h + r` (half `h` < 2, `r` < 128) has its low bits in nibble `r / 64`
//! of `ql[64 h + r % 64]` and its high bits at bit `2 (r / 32)` of `qh[32 h + r % 32]`.

use bytemuck::{Pod, Zeroable};

use super::float::f16_value;
use super::{DType, QK_K};

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct Block {
    pub ql: [u8; QK_K / 2],
    pub qh: [u8; QK_K / 4],
    pub scales: [i8; QK_K / 16],
    pub d: [u8; 2],
}

const _: () = assert!(size_of::<Block>() == DType::Q6_K.block_bytes());
const _: () = assert!(QK_K == DType::Q6_K.block_size());

pub fn dequantize_block(block: &Block, out: &mut [f32; QK_K]) {
    let d = f16_value(block.d);
    // Exact in f32 (11 + 7 + 5 significant bits), so the order of the products is free.
    let dl = block.scales.map(|sc| d * f32::from(sc));
    for (i, y) in out.iter_mut().enumerate() {
        let (h, r) = (i / 128, i % 128);
        let low = (block.ql[64 * h + r % 64] >> (4 * (r / 64))) & 0x0F;
        let high = (block.qh[32 * h + r % 32] >> (2 * (r / 32))) & 0x03;
        let q = (low | (high << 4)) as i8 - 32;
        *y = dl[i / 16] * f32::from(q);
    }
}
