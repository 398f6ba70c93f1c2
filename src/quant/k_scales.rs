//! The 6-bit scales and mins shared by Q4_K and Q5_K: eight (scale, min) pairs, one per
//! 32-weight sub-block, packed into 12 bytes. Bit by bit (upper case = high bits,
//! `A`..`H` the scales of sub-blocks 0..7, lower case the mins):
//!
//! ```text
//! byte 0..4   EEAAAAAA  FFBBBBBB  GGCCCCCC  HHDDDDDD   scales 0..3, high bits of scales 4..7
//! byte 4..8   eeaaaaaa  ffbbbbbb  ggcccccc  hhdddddd   mins 0..3, high bits of mins 4..7
//! byte 8..12  eeeeEEEE  ffffFFFF  ggggGGGG  hhhhHHHH   low 4 bits of scales and mins 4..7
//! ```

/// Bytes of packed scales in a Q4_K or Q5_K block.
pub const K_SCALE_SIZE: usize = 12;

/// `(scale, min)` of sub-block `j` (0..8), each in 0..64.
pub fn scale_min(scales: &[u8; K_SCALE_SIZE], j: usize) -> (u8, u8) {
    if j < 4 {
        (scales[j] & 0x3F, scales[j + 4] & 0x3F)
    } else {
        let low = scales[j + 4];
        ((low & 0x0F) | ((scales[j - 4] >> 6) << 4), (low >> 4) | ((scales[j] >> 6) << 4))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpacks_all_bits() {
        // Sub-block 5: scale 0b10_0110 (low 0110 in byte 9, high 10 in byte 1),
        // min 0b01_1001 (low 1001 in byte 9's high nibble, high 01 in byte 5).
        let mut s = [0u8; K_SCALE_SIZE];
        s[9] = 0b1001_0110;
        s[1] = 0b10_000000 | 0x15; // low six bits: scale of sub-block 1
        s[5] = 0b01_000000 | 0x2A; // low six bits: min of sub-block 1
        assert_eq!(scale_min(&s, 5), (0b10_0110, 0b01_1001));
        assert_eq!(scale_min(&s, 1), (0x15, 0x2A));
        assert_eq!(scale_min(&s, 0), (0, 0));
    }
}
