//! The GGUF reader on the three real models, checked against the header facts the
//! independent `gguf` Python package reads (tests/fixtures/gguf/, made by
//! scripts/fixtures/gguf_fixtures.py).

use crate::common;

use hearth::gguf::{GgufFile, GgufHeader, MetaArray, MetaValue, Parsed};
use serde_json::Value;

fn fixture(model: &str) -> Value {
    common::read_fixture_json(&format!("gguf/{}.json", model.trim_end_matches(".gguf")))
}

/// Compares one metadata value with the fixture's JSON description of it.
fn check_value(key: &str, ours: &MetaValue, expected: &Value) {
    let ty = expected["type"].as_str().unwrap();
    match (ours, ty) {
        (MetaValue::Array(arr), "array") => {
            assert_eq!(arr.len() as u64, expected["len"].as_u64().unwrap(), "{key}: length");
            assert_eq!(arr.element_type().name(), expected["element_type"].as_str().unwrap(), "{key}: element type");
            let elems = array_as_json(arr);
            match expected.get("value") {
                Some(all) => assert_eq!(&Value::Array(elems), all, "{key}"),
                None => {
                    assert_eq!(&elems[0], &expected["first"], "{key}: first element");
                    assert_eq!(elems.last().unwrap(), &expected["last"], "{key}: last element");
                }
            }
        }
        (v, ty) => {
            assert_eq!(v.value_type().name(), ty, "{key}: type");
            assert_eq!(scalar_as_json(v), expected["value"], "{key}: value");
        }
    }
}

fn scalar_as_json(v: &MetaValue) -> Value {
    match v {
        MetaValue::String(s) => Value::from(s.as_str()),
        MetaValue::Bool(b) => Value::from(*b),
        MetaValue::F32(f) => Value::from(f64::from(*f)),
        MetaValue::F64(f) => Value::from(*f),
        other => match other.as_i64() {
            Some(i) => Value::from(i),
            None => Value::from(other.as_u64().unwrap()),
        },
    }
}

fn array_as_json(a: &MetaArray) -> Vec<Value> {
    match a {
        MetaArray::String(v) => v.iter().map(|s| Value::from(s.as_str())).collect(),
        MetaArray::F32(v) => v.iter().map(|&f| Value::from(f64::from(f))).collect(),
        MetaArray::F64(v) => v.iter().map(|&f| Value::from(f)).collect(),
        MetaArray::Bool(v) => v.iter().map(|&b| Value::from(b)).collect(),
        MetaArray::Array(_) => panic!("nested arrays are not in the real models"),
        ints => ints.to_i64_vec().unwrap().into_iter().map(Value::from).collect(),
    }
}

#[test]
fn headers_match_the_gguf_python_reader() {
    for model in common::ALL_MODELS {
        let file = GgufFile::open(common::model_path(model)).unwrap();
        let h = file.header();
        let fx = fixture(model);
        assert_eq!(u64::from(h.version), fx["version"].as_u64().unwrap(), "{model}");
        assert_eq!(h.alignment, fx["alignment"].as_u64().unwrap(), "{model}");
        assert_eq!(h.data_offset, fx["data_offset"].as_u64().unwrap(), "{model}");
        assert_eq!(h.metadata.len() as u64, fx["kv_count"].as_u64().unwrap(), "{model}");
        for (key, expected) in fx["metadata"].as_object().unwrap() {
            let ours = h.metadata.get(key).unwrap_or_else(|| panic!("{model}: missing {key}"));
            check_value(key, ours, expected);
        }
        let tensors = fx["tensors"].as_array().unwrap();
        assert_eq!(h.tensors.len(), tensors.len(), "{model}");
        for (t, e) in h.tensors.iter().zip(tensors) {
            assert_eq!(t.name, e["name"].as_str().unwrap());
            let dims: Vec<u64> = e["dims"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap()).collect();
            assert_eq!(t.dims, dims, "{}", t.name);
            assert_eq!(t.dtype.name(), e["type"].as_str().unwrap(), "{}", t.name);
            assert_eq!(t.start, e["start"].as_u64().unwrap(), "{}", t.name);
            assert_eq!(t.n_elements, e["n_elements"].as_u64().unwrap(), "{}", t.name);
            assert_eq!(t.n_bytes, e["n_bytes"].as_u64().unwrap(), "{}", t.name);
        }
        assert!(h.data_end() <= file.len());
    }
}

#[test]
fn typed_accessors_on_a_real_model() {
    let file = GgufFile::open(common::model_path(common::SMOLLM2)).unwrap();
    let m = &file.header().metadata;
    assert_eq!(m.architecture().unwrap(), "llama");
    assert_eq!(m.u32(&m.arch_key("block_count").unwrap()).unwrap(), 30);
    assert_eq!(m.u64("llama.embedding_length").unwrap(), 576);
    assert_eq!(m.str_array("tokenizer.ggml.tokens").unwrap().len(), 49152);
    assert!(!m.bool("tokenizer.ggml.add_bos_token").unwrap());
    let e = m.str("llama.block_count").unwrap_err();
    assert!(e.to_string().contains("llama.block_count") && e.to_string().contains("u32"), "{e}");
    assert!(file.tensor_info("no.such.tensor").is_err());
}

/// The browser parses while downloading: feed a growing prefix, as `NeedMore` asks, with
/// the total length unknown, and end with the same header as a one-shot parse.
#[test]
fn parses_from_a_growing_prefix_with_unknown_length() {
    for model in common::ALL_MODELS {
        let file = GgufFile::open(common::model_path(model)).unwrap();
        let mut f = GgufFile::open(common::model_path(model)).unwrap();
        let all = f.read_range(0, file.header().data_offset + 64).unwrap();
        let mut have = 16usize;
        let mut rounds = 0;
        let header = loop {
            rounds += 1;
            match GgufHeader::parse(&all[..have], None).unwrap() {
                Parsed::Complete(h) => break h,
                Parsed::NeedMore { total_bytes } => {
                    assert!(total_bytes as usize > have, "{model}: NeedMore must ask for more than it has");
                    // Grow geometrically, as a downloader receiving chunks would.
                    have = (total_bytes as usize).max(have * 2).min(all.len());
                }
            }
        };
        assert!(rounds > 1, "{model}: a 16-byte prefix cannot hold a header");
        assert_eq!(header.data_offset, file.header().data_offset);
        assert_eq!(header.tensors, file.header().tensors);
        assert_eq!(header.metadata.len(), file.header().metadata.len());
    }
}

#[test]
fn reads_tensor_bytes_at_the_right_place() {
    // The first bytes of token_embd.weight (Q8_0 in SmolLM2): the block scale is an f16
    // and the 32 quants follow. The python reader gives the same start offset (fixture);
    // here we check that reading there gives a block whose scale is a finite, small f16.
    let mut f = GgufFile::open(common::model_path(common::SMOLLM2)).unwrap();
    let t = f.tensor_info("token_embd.weight").unwrap().clone();
    assert_eq!(t.dtype, hearth::quant::DType::Q8_0);
    let bytes = f.read_tensor(&t).unwrap();
    assert_eq!(bytes.len() as u64, t.n_bytes);
    let d = half::f16::from_le_bytes([bytes[0], bytes[1]]).to_f32();
    assert!(d.is_finite() && d.abs() < 1.0, "scale {d}");
    assert!(f.read_range(f.len() - 1, 2).is_err());
}
