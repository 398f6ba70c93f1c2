//! The unquantised formats, stored as "blocks" of one little-endian element:
//!
//! | format | bytes | element                                                    |
//! |--------|-------|------------------------------------------------------------|
//! | F32    | 4     | IEEE binary32                                              |
//! | F16    | 2     | IEEE binary16                                              |
//! | BF16   | 2     | bfloat16: the top 16 bits of a binary32 (same exponent)    |
//!
//! Every conversion here is exact (binary16 and bfloat16 are subsets of binary32).

use super::DType;

const _: () = assert!(size_of::<[u8; 4]>() == DType::F32.block_bytes() && DType::F32.block_size() == 1);
const _: () = assert!(size_of::<[u8; 2]>() == DType::F16.block_bytes() && DType::F16.block_size() == 1);
const _: () = assert!(size_of::<[u8; 2]>() == DType::BF16.block_bytes() && DType::BF16.block_size() == 1);

/// One F32 element from its little-endian bytes.
pub fn f32_value(bytes: [u8; 4]) -> f32 {
    f32::from_le_bytes(bytes)
}

/// One F16 element from its little-endian bytes. The quantised formats store their
/// scales this way too.
pub fn f16_value(bytes: [u8; 2]) -> f32 {
    half::f16::from_le_bytes(bytes).to_f32()
}

/// One BF16 element from its little-endian bytes.
pub fn bf16_value(bytes: [u8; 2]) -> f32 {
    // bfloat16 is the high half of a binary32, so widening is a shift, NaN payloads included.
    f32::from_bits(u32::from(u16::from_le_bytes(bytes)) << 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_bit_patterns() {
        assert_eq!(f32_value(1.5f32.to_le_bytes()), 1.5);
        assert_eq!(f16_value([0x00, 0x3c]), 1.0);
        assert_eq!(f16_value([0x00, 0xc0]), -2.0);
        assert_eq!(f16_value([0x01, 0x00]), 2f32.powi(-24)); // smallest subnormal
        assert_eq!(f16_value([0x00, 0x7c]), f32::INFINITY);
        assert_eq!(bf16_value([0x80, 0x3f]), 1.0);
        assert_eq!(bf16_value([0x49, 0x40]), f32::from_bits(0x4049_0000)); // ~3.14
        assert_eq!(bf16_value([0x00, 0x80]).to_bits(), (-0.0f32).to_bits());
    }
}
