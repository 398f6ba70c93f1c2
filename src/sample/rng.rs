//! The sampler's seeded random number generator: PCG64 (PCG XSL-RR 128/64), the generator
//! behind numpy's `np.random.PCG64`, written here so the crate needs no RNG dependency.
//!
//! Only integer arithmetic (wrapping `u128` multiply-add, a xor and a rotation), so the same
//! seed gives bit-identical output on every target, wasm32 included. The tests compare raw
//! outputs and floats against numpy (tests/fixtures/sample/pcg64.json).

/// PCG's default 128-bit LCG multiplier (the one numpy's PCG64 uses).
const MULTIPLIER: u128 = 0x2360_ED05_1FC6_5DA4_4385_DF64_9FCC_F645;

#[derive(Debug, Clone)]
pub struct Pcg64 {
    state: u128,
    /// Stream increment; must be odd for the LCG to have full period.
    inc: u128,
}

impl Pcg64 {
    /// A generator in exactly this state, as numpy's `bit_generator.state = {"state": {"state":
    /// state, "inc": inc}}`. `inc` is forced odd.
    pub fn from_state(state: u128, inc: u128) -> Self {
        Pcg64 { state, inc: inc | 1 }
    }

    /// A generator from a 64-bit user seed. The seed is expanded with SplitMix64 into the
    /// 128-bit state and stream, so nearby seeds (1, 2, 3, ...) give unrelated sequences.
    pub fn from_seed(seed: u64) -> Self {
        let mut sm = SplitMix64(seed);
        let state = (u128::from(sm.next()) << 64) | u128::from(sm.next());
        let inc = (u128::from(sm.next()) << 64) | u128::from(sm.next());
        Pcg64::from_state(state, inc)
    }

    /// Next 64 random bits: advance the LCG, then output the xor of the state's halves rotated
    /// by its top 6 bits (numpy's `random_raw`).
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_mul(MULTIPLIER).wrapping_add(self.inc);
        let folded = ((self.state >> 64) as u64) ^ (self.state as u64);
        folded.rotate_right((self.state >> 122) as u32)
    }

    /// Uniform in [0, 1) with 53 random bits (numpy's `Generator.random()` on this generator).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014), used only to spread a user seed over PCG's state.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// A seed for `seed: None`. Native: mixes the clock with std's per-process random hash keys.
/// wasm32: 8 bytes from the page's `crypto.getRandomValues`, since there std's hash keys are
/// fixed and it has no clock, so every page load would otherwise sample the same "random"
/// reply. Without a `crypto` object (not a browser) it falls back to a per-call counter
/// mixed with `Date.now()`.
pub fn entropy_seed() -> u64 {
    #[cfg(target_arch = "wasm32")]
    if let Some(seed) = browser_random_u64() {
        return seed;
    }
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(CALLS.fetch_add(1, Ordering::Relaxed));
    #[cfg(not(target_arch = "wasm32"))]
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    #[cfg(target_arch = "wasm32")]
    h.write_u64(js_sys::Date::now().to_bits());
    h.finish()
}

#[cfg(target_arch = "wasm32")]
mod browser {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        /// `crypto.getRandomValues(buf)` on the global scope (page or worker); throws (caught)
        /// where there is no `crypto`.
        #[wasm_bindgen(catch, js_namespace = crypto, js_name = getRandomValues)]
        pub fn get_random_values(buf: &mut [u8]) -> Result<JsValue, JsValue>;
    }
}

#[cfg(target_arch = "wasm32")]
fn browser_random_u64() -> Option<u64> {
    let mut bytes = [0u8; 8];
    browser::get_random_values(&mut bytes).ok()?;
    Some(u64::from_le_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_published_sequence() {
        // The published reference outputs for seed 1234567 (Rosetta Code task
        // "Pseudo-random numbers/Splitmix64").
        let mut sm = SplitMix64(1234567);
        let got: Vec<u64> = (0..5).map(|_| sm.next()).collect();
        assert_eq!(got, [6457827717110365317, 3203168211198807973, 9817491932198370423, 4593380528125082431, 16408922859458223821]);
    }

    #[test]
    fn same_seed_same_stream_different_seed_different_stream() {
        let draw = |seed| {
            let mut r = Pcg64::from_seed(seed);
            (0..64).map(|_| r.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
    }

    #[test]
    fn floats_are_in_unit_interval() {
        let mut r = Pcg64::from_seed(0);
        for _ in 0..10_000 {
            let x = r.next_f64();
            assert!((0.0..1.0).contains(&x));
        }
    }
}
