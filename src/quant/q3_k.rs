//! Q3_K: 256 weights in 16 sub-blocks of 16, 3-bit signed codes with a 6-bit signed
//! scale per sub-block and one f16 super-block scale: `w = (d * (sc - 32)) * q`, where
//! `q` in -4..4 is the 2 low bits minus 4 unless the high bit is *set*.
//!
//! Block layout (110 bytes, byte-packed, little-endian):
//!
//! | offset | bytes | field                                                         |
//! |--------|-------|---------------------------------------------------------------|
//! | 0      | 32    | `hmask`: high bits; weight `i` uses bit `i / 32` of `hmask[i % 32]` |
//! | 32     | 64    | `qs`: 2 low bits; weight `i = 128 h + 32 j + l` is bits `2j..2j+2` of `qs[32 h + l]` |
//! | 96     | 12    | `scales`: sixteen 6-bit scales, see [`unpack_scales`]         |
//! | 108    | 2     | `d`: f16 super-block scale                                    |

use bytemuck::{Pod, Zeroable};

use super::float::f16_value;
use super::{DType, QK_K};

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct Block {
    pub hmask: [u8; QK_K / 8],
    pub qs: [u8; QK_K / 4],
    pub scales: [u8; 12],
    pub d: [u8; 2],
}

const _: () = assert!(size_of::<Block>() == DType::Q3_K.block_bytes());
const _: () = assert!(QK_K == DType::Q3_K.block_size());

/// The sixteen scales, already shifted to -32..32. Scale `s` has its low 4 bits in
/// nibble `s / 8` of byte `s % 8` and its high 2 bits at bit `2 (s / 4)` of byte `8 + s % 4`:
///
/// ```text
/// byte 0..8   IIIIAAAA  JJJJBBBB  ...  PPPPHHHH   low bits: A..H scales 0..7, I..P 8..15
/// byte 8..12  MMIIEEAA  NNJJFFBB  OOKKGGCC  PPLLHHDD   high bits
/// ```
pub fn unpack_scales(scales: &[u8; 12]) -> [i8; 16] {
    std::array::from_fn(|s| {
        let low = (scales[s % 8] >> (4 * (s / 8))) & 0x0F;
        let high = (scales[8 + s % 4] >> (2 * (s / 4))) & 0x03;
        (low | (high << 4)) as i8 - 32
    })
}

pub fn dequantize_block(block: &Block, out: &mut [f32; QK_K]) {
    let d = f16_value(block.d);
    let dl = unpack_scales(&block.scales).map(|sc| d * f32::from(sc));
    for (i, y) in out.iter_mut().enumerate() {
        let (h, j, l) = (i / 128, i / 32 % 4, i % 32);
        let low = ((block.qs[32 * h + l] >> (2 * j)) & 3) as i8;
        let high_set = (block.hmask[l] >> (i / 32)) & 1 == 1;
        let q = if high_set { low } else { low - 4 };
        *y = dl[i / 16] * f32::from(q);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_unpack_to_signed_six_bits() {
        let mut s = [0u8; 12];
        s[0] = 0x0F; // scale 0 low = 15, scale 8 low = 0
        s[8] = 0b11_00_00_11; // scale 0 high = 3, scale 12 high = 3
        s[4] = 0xA0; // scale 12 low = 10
        let u = unpack_scales(&s);
        assert_eq!((u[0], u[8], u[12], u[1]), (63 - 32, -32, 0b11_1010 - 32, -32));
    }
}
