//! The key/value section of a GGUF header, in file order, with typed accessors that turn
//! a missing key or a wrong type into an error naming the key.

use std::collections::HashMap;

use super::value::{MetaArray, MetaValue};
use crate::error::{Error, Result};

#[derive(Clone, Debug, Default)]
pub struct Metadata {
    entries: Vec<(String, MetaValue)>,
    index: HashMap<String, usize>,
}

impl Metadata {
    /// Adds a key; returns `false` (and keeps the first value) if the key was already there.
    /// Public so metadata can be built by hand (tests, synthetic models).
    pub fn insert(&mut self, key: String, value: MetaValue) -> bool {
        if self.index.contains_key(&key) {
            return false;
        }
        self.index.insert(key.clone(), self.entries.len());
        self.entries.push((key, value));
        true
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries in file order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &MetaValue)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn get(&self, key: &str) -> Option<&MetaValue> {
        self.index.get(key).map(|&i| &self.entries[i].1)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.index.contains_key(key)
    }

    fn require(&self, key: &str) -> Result<&MetaValue> {
        self.get(key).ok_or_else(|| Error::MissingMetadata { key: key.to_string() })
    }

    fn typed<'a, T>(&'a self, key: &str, expected: &'static str, convert: impl Fn(&'a MetaValue) -> Option<T>) -> Result<Option<T>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => convert(v).map(Some).ok_or_else(|| Error::MetadataType { key: key.to_string(), expected, found: v.describe() }),
        }
    }

    /// `general.architecture`, e.g. `llama`.
    pub fn architecture(&self) -> Result<&str> {
        self.str("general.architecture")
    }

    /// `{architecture}.{suffix}`, e.g. `arch_key("block_count")` → `llama.block_count`.
    pub fn arch_key(&self, suffix: &str) -> Result<String> {
        Ok(format!("{}.{suffix}", self.architecture()?))
    }

    pub fn str(&self, key: &str) -> Result<&str> {
        self.opt_str(key)?.ok_or_else(|| self.missing(key))
    }
    pub fn opt_str(&self, key: &str) -> Result<Option<&str>> {
        self.typed(key, "a string", MetaValue::as_str)
    }

    /// Any non-negative integer type.
    pub fn u64(&self, key: &str) -> Result<u64> {
        self.opt_u64(key)?.ok_or_else(|| self.missing(key))
    }
    pub fn opt_u64(&self, key: &str) -> Result<Option<u64>> {
        self.typed(key, "a non-negative integer", MetaValue::as_u64)
    }

    /// Any integer type that fits in u32.
    pub fn u32(&self, key: &str) -> Result<u32> {
        self.opt_u32(key)?.ok_or_else(|| self.missing(key))
    }
    pub fn opt_u32(&self, key: &str) -> Result<Option<u32>> {
        self.typed(key, "an integer in u32 range", |v| v.as_u64().and_then(|x| u32::try_from(x).ok()))
    }

    /// f32 or f64.
    pub fn f32(&self, key: &str) -> Result<f32> {
        self.opt_f32(key)?.ok_or_else(|| self.missing(key))
    }
    pub fn opt_f32(&self, key: &str) -> Result<Option<f32>> {
        self.typed(key, "a float", MetaValue::as_f32)
    }

    pub fn bool(&self, key: &str) -> Result<bool> {
        self.opt_bool(key)?.ok_or_else(|| self.missing(key))
    }
    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>> {
        self.typed(key, "a bool", MetaValue::as_bool)
    }

    pub fn array(&self, key: &str) -> Result<&MetaArray> {
        self.require(key)?.as_array().ok_or_else(|| self.wrong(key, "an array"))
    }

    pub fn str_array(&self, key: &str) -> Result<&[String]> {
        self.opt_str_array(key)?.ok_or_else(|| self.missing(key))
    }
    pub fn opt_str_array(&self, key: &str) -> Result<Option<&[String]>> {
        self.typed(key, "an array of string", |v| match v {
            MetaValue::Array(MetaArray::String(s)) => Some(s.as_slice()),
            _ => None,
        })
    }

    pub fn opt_f32_array(&self, key: &str) -> Result<Option<&[f32]>> {
        self.typed(key, "an array of f32", |v| match v {
            MetaValue::Array(MetaArray::F32(s)) => Some(s.as_slice()),
            _ => None,
        })
    }

    /// An integer array of any width, widened to i64.
    pub fn opt_int_array(&self, key: &str) -> Result<Option<Vec<i64>>> {
        self.typed(key, "an array of integers", |v| v.as_array().and_then(MetaArray::to_i64_vec))
    }

    fn missing(&self, key: &str) -> Error {
        Error::MissingMetadata { key: key.to_string() }
    }

    fn wrong(&self, key: &str, expected: &'static str) -> Error {
        let found = self.get(key).map(MetaValue::describe).unwrap_or_default();
        Error::MetadataType { key: key.to_string(), expected, found }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_accessors_name_the_key() {
        let mut m = Metadata::default();
        m.insert("general.architecture".into(), MetaValue::String("llama".into()));
        m.insert("llama.block_count".into(), MetaValue::U32(30));
        m.insert("llama.rope.freq_base".into(), MetaValue::F32(10000.0));
        assert!(!m.insert("llama.block_count".into(), MetaValue::U32(1)));
        assert_eq!(m.u32(&m.arch_key("block_count").unwrap()).unwrap(), 30);
        assert_eq!(m.f32("llama.rope.freq_base").unwrap(), 10000.0);
        let err = m.u32("llama.context_length").unwrap_err();
        assert!(err.to_string().contains("llama.context_length"), "{err}");
        let err = m.str("llama.block_count").unwrap_err();
        assert!(matches!(err, Error::MetadataType { .. }), "{err}");
        assert!(err.to_string().contains("u32"), "{err}");
    }
}
