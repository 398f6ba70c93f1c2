//! The CPU dequantisers against the independent `gguf` Python package.
//!
//! Each tests/fixtures/quant/<FORMAT>.json holds real blocks copied from a real GGUF
//! tensor and the values `gguf.quants.dequantize` gives for them
//! (scripts/fixtures/quant_fixtures.py).
//!
//! Tolerance: none. Results must be bit-identical, sign of zero included, because there is
//! at most one rounding per value on both sides. Every product is exact in f32 (24
//! significant bits): an f16 scale has at most 11, a sub-block scale at most 7 (Q6_K's
//! i8) and a code at most 7 (Q8_0's i8), and the widest product, Q6_K's `d * sc * q`, needs
//! 11 + 7 + 5 = 23. So Q4_0, Q5_0, Q8_0, Q3_K, Q6_K and the float formats are exact
//! outright, and the affine ones (Q4_1, Q5_1: `d*q + m`; Q2_K, Q4_K, Q5_K: `dl*q - ml`)
//! round once, in the final add, which IEEE defines exactly: evaluation order or an FMA
//! cannot change the result (the GPU kernels can be held to the same standard).
//!
//! The JSON numbers are the float32 values written as exact decimals; `fixture_values`
//! checks each one is an f32 (up to JSON parsing).

use crate::common;

use std::collections::BTreeSet;

use hearth::Error;
use hearth::gguf::GgufFile;
use hearth::quant::{DType, dequantize, dequantize_to_vec};

struct Fixture {
    model: String,
    tensor: String,
    first_block: u64,
    /// Requantised by scripts/fixtures/requantize.py rather than one of the shipped models.
    requantized: bool,
    bytes: Vec<u8>,
    values: Vec<f32>,
}

fn fixture(dtype: DType) -> Fixture {
    let rel = format!("quant/{}.json", dtype.name());
    let json = common::read_fixture_json(&rel);
    assert_eq!(json["dtype"], dtype.name(), "{rel}: dtype field");
    let source = &json["source"];
    let hex = json["bytes_hex"].as_str().unwrap_or_else(|| panic!("{rel}: bytes_hex"));
    Fixture {
        model: source["model"].as_str().unwrap_or_else(|| panic!("{rel}: source.model")).to_string(),
        tensor: source["tensor"].as_str().unwrap_or_else(|| panic!("{rel}: source.tensor")).to_string(),
        first_block: source["first_block"].as_u64().unwrap_or_else(|| panic!("{rel}: source.first_block")),
        requantized: source.get("requantized").is_some(),
        bytes: decode_hex(hex).unwrap_or_else(|| panic!("{rel}: bytes_hex is not hex")),
        values: fixture_values(&rel, &json["values"]),
    }
}

fn fixture_values(rel: &str, values: &serde_json::Value) -> Vec<f32> {
    let values = values.as_array().unwrap_or_else(|| panic!("{rel}: values"));
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let x = v.as_f64().unwrap_or_else(|| panic!("{rel}: values[{i}] = {v}"));
            // Each value must be an f32 written exactly. serde_json (without its
            // `float_roundtrip` feature) may parse a decimal to an f64 one or two f64 ulps
            // off, so accept that and no more: f32 neighbours are 2^29 f64 ulps apart, so
            // rounding to f32 then recovers the exact value the script wrote.
            let f = x as f32;
            let slack = x.abs() * 4.0 * f64::EPSILON;
            assert!((f64::from(f) - x).abs() <= slack, "{rel}: values[{i}] = {x} is not an f32");
            f
        })
        .collect()
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.len() % 2 != 0 {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect()
}

/// The fixture's blocks through `dequantize_to_vec` and `dequantize`, bit for bit.
fn check_against_reference(dtype: DType) {
    let fx = fixture(dtype);
    let n_blocks = fx.bytes.len() / dtype.block_bytes();
    assert_eq!(fx.bytes.len() % dtype.block_bytes(), 0, "{dtype}: fixture holds partial blocks");
    assert_eq!(fx.values.len(), n_blocks * dtype.block_size(), "{dtype}: fixture value count");
    // Enough blocks to mean something (see N_VALUES in the script).
    assert!(fx.values.len() >= 256, "{dtype}: only {} values in the fixture", fx.values.len());

    let got = dequantize_to_vec(dtype, &fx.bytes).expect("whole blocks must dequantise");
    assert_eq!(got.len(), fx.values.len());
    let mismatches: Vec<_> = got.iter().zip(&fx.values).enumerate().filter(|(_, (g, e))| g.to_bits() != e.to_bits()).collect();
    if let Some(&(i, (g, e))) = mismatches.first() {
        panic!(
            "{dtype}: {} of {} values differ from gguf.quants; first at {i} (block {}, element {}): got {g:e}, expected {e:e}",
            mismatches.len(),
            got.len(),
            i / dtype.block_size(),
            i % dtype.block_size()
        );
    }

    // The slice API writes the same values (and overwrites whatever was there).
    let mut out = vec![f32::NAN; fx.values.len()];
    dequantize(dtype, &fx.bytes, &mut out).expect("dequantize into a right-sized slice");
    assert!(out.iter().zip(&got).all(|(a, b)| a.to_bits() == b.to_bits()), "{dtype}: dequantize != dequantize_to_vec");
}

macro_rules! reference_tests {
    ($($name:ident => $dtype:ident,)*) => {
        $(
            #[test]
            fn $name() {
                check_against_reference(DType::$dtype);
            }
        )*
    };
}

reference_tests! {
    f32_matches_gguf => F32,
    f16_matches_gguf => F16,
    bf16_matches_gguf => BF16,
    q4_0_matches_gguf => Q4_0,
    q4_1_matches_gguf => Q4_1,
    q5_0_matches_gguf => Q5_0,
    q5_1_matches_gguf => Q5_1,
    q8_0_matches_gguf => Q8_0,
    q2_k_matches_gguf => Q2_K,
    q3_k_matches_gguf => Q3_K,
    q4_k_matches_gguf => Q4_K,
    q5_k_matches_gguf => Q5_K,
    q6_k_matches_gguf => Q6_K,
}

/// A format added to `DType::ALL` fails here until it has a fixture that matches, even
/// if nobody adds a line to `reference_tests!`.
#[test]
fn every_dtype_has_a_matching_fixture() {
    for dtype in DType::ALL {
        check_against_reference(dtype);
    }
}

/// The fixtures describe the real files: the same bytes sit at the named tensor and block
/// of the shipped models. Fixtures from requantised SmolLM2 files are not checked here:
/// those files are made by scripts/fixtures/requantize.py, which needs Python and
/// llama-cpp-python, and CI has neither (quant_fixtures.py checks them when it writes them).
#[test]
fn fixture_bytes_come_from_the_shipped_models() {
    let mut models_seen = BTreeSet::new();
    for dtype in DType::ALL {
        let fx = fixture(dtype);
        if !common::ALL_MODELS.contains(&fx.model.as_str()) {
            assert!(fx.requantized, "{dtype}: {} is neither a shipped model nor marked requantised", fx.model);
            continue;
        }
        let mut file = GgufFile::open(common::model_path(&fx.model)).expect("open model");
        let info = file.tensor_info(&fx.tensor).expect("fixture tensor exists").clone();
        assert_eq!(info.dtype, dtype, "{}: {} is {}", fx.model, fx.tensor, info.dtype);
        let offset = fx.first_block * dtype.block_bytes() as u64;
        let len = fx.bytes.len() as u64;
        assert!(offset + len <= info.n_bytes, "{dtype}: fixture blocks run past {}", fx.tensor);
        let bytes = file.read_range(info.start + offset, len).expect("read fixture range");
        assert!(bytes == fx.bytes, "{dtype}: bytes differ from {} {} block {}", fx.model, fx.tensor, fx.first_block);
        models_seen.insert(fx.model);
    }
    // Every shipped model backs at least one fixture, so this test cannot pass vacuously.
    let all: BTreeSet<String> = common::ALL_MODELS.iter().map(|m| m.to_string()).collect();
    assert_eq!(models_seen, all);
}

fn assert_invalid_argument(result: hearth::Result<impl std::fmt::Debug>, must_name: &[&str]) {
    match result {
        Err(Error::InvalidArgument(msg)) => {
            for s in must_name {
                assert!(msg.contains(s), "error `{msg}` should mention `{s}`");
            }
        }
        other => panic!("expected InvalidArgument naming {must_name:?}, got {other:?}"),
    }
}

#[test]
fn partial_blocks_are_an_error() {
    for dtype in DType::ALL {
        let block = dtype.block_bytes();
        // Every block is at least 2 bytes, so none of these is a whole number of blocks.
        for n_bytes in [block - 1, block + 1, 3 * block - 1] {
            let bytes = vec![0u8; n_bytes];
            let name = dtype.name();
            assert_invalid_argument(dequantize_to_vec(dtype, &bytes), &[name, &n_bytes.to_string()]);
            let mut out = vec![0.0; 1024];
            assert_invalid_argument(dequantize(dtype, &bytes, &mut out), &[name, &n_bytes.to_string()]);
        }
    }
}

#[test]
fn wrong_output_length_is_an_error() {
    for dtype in DType::ALL {
        let bytes = vec![0u8; 2 * dtype.block_bytes()];
        let n = 2 * dtype.block_size();
        for out_len in [0, n - 1, n + 1, 2 * n] {
            let mut out = vec![0.0; out_len];
            assert_invalid_argument(dequantize(dtype, &bytes, &mut out), &[dtype.name(), &bytes.len().to_string(), &out_len.to_string()]);
        }
    }
}

#[test]
fn empty_input_is_empty_output() {
    for dtype in DType::ALL {
        assert_eq!(dequantize_to_vec(dtype, &[]).expect("no blocks is fine"), Vec::<f32>::new());
        dequantize(dtype, &[], &mut []).expect("no blocks is fine");
    }
}
