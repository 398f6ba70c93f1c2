//! Parsing a GGUF header (magic, version, metadata, tensor infos) from a byte prefix.
//!
//! Layout (v2/v3, little-endian): "GGUF" | u32 version | u64 tensor_count | u64 kv_count |
//! kv_count × (string key, u32 type, value) | tensor_count × (string name, u32 n_dims,
//! n_dims × u64 dim, u32 ggml_type, u64 offset) | padding to `general.alignment` | data.

use super::metadata::Metadata;
use super::reader::{Reader, Step, Stop};
use super::tensor::TensorInfo;
use super::value::{MetaArray, MetaValue, ValueType};
use crate::error::{Error, Result};
use crate::quant::{DType, ggml_type_name};

const MAGIC: &[u8; 4] = b"GGUF";
/// ggml's GGML_MAX_DIMS.
const MAX_DIMS: u32 = 4;
/// Nested arrays deeper than this are rejected (no real file nests at all; this bounds recursion).
const MAX_ARRAY_NESTING: u32 = 8;
const DEFAULT_ALIGNMENT: u64 = 32;
const ALIGNMENT_KEY: &str = "general.alignment";

/// A parsed header. Tensor data is not read: `TensorInfo::start` says where each tensor lies.
#[derive(Clone, Debug)]
pub struct GgufHeader {
    pub version: u32,
    pub metadata: Metadata,
    pub tensors: Vec<TensorInfo>,
    pub alignment: u64,
    /// Absolute byte offset of the tensor data section (header end rounded up to `alignment`).
    pub data_offset: u64,
}

/// The outcome of parsing a prefix.
#[derive(Clone, Debug)]
pub enum Parsed {
    Complete(GgufHeader),
    /// The prefix ends inside the header: call again with at least `total_bytes` bytes.
    NeedMore {
        total_bytes: u64,
    },
}

impl GgufHeader {
    /// Parses the header from `prefix`, the first bytes of a GGUF file.
    ///
    /// `file_len` is the whole file's length when it is known (a local file, or a download
    /// with a Content-Length). With it, a read past the end is `Error::Truncated` and every
    /// tensor's data range is checked against it; without it, a short prefix gives
    /// `Parsed::NeedMore`.
    pub fn parse(prefix: &[u8], file_len: Option<u64>) -> Result<Parsed> {
        if let Some(len) = file_len {
            if (prefix.len() as u64) > len {
                return Err(Error::InvalidArgument(format!("prefix of {} bytes is longer than the file length {len}", prefix.len())));
            }
        }
        check_magic(prefix, file_len)?;
        // Two passes over the same code: the first skims arrays (lengths only, nothing
        // allocated) so that a truncated or oversized header is rejected cheaply, before the
        // second pass allocates for its strings and arrays.
        let parsed = parse_after_magic(prefix, file_len, Pass::Skim).and_then(|_| parse_after_magic(prefix, file_len, Pass::Build));
        match parsed {
            Ok(header) => Ok(Parsed::Complete(header)),
            Err(Stop::NeedMore(total_bytes)) => Ok(Parsed::NeedMore { total_bytes }),
            Err(Stop::Fail(e)) => Err(e),
        }
    }

    /// Parses a complete file held in memory.
    pub fn parse_complete(bytes: &[u8]) -> Result<GgufHeader> {
        match Self::parse(bytes, Some(bytes.len() as u64))? {
            Parsed::Complete(h) => Ok(h),
            Parsed::NeedMore { .. } => {
                unreachable!("a known file length turns every short read into Truncated")
            }
        }
    }

    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// One past the last byte of tensor data (the file must be at least this long).
    pub fn data_end(&self) -> u64 {
        self.tensors.iter().map(TensorInfo::end).max().unwrap_or(self.data_offset)
    }
}

fn check_magic(prefix: &[u8], file_len: Option<u64>) -> Result<()> {
    let n = prefix.len().min(4);
    if prefix[..n] != MAGIC[..n] || (n < 4 && file_len.is_some_and(|l| l < 4)) {
        let found = if prefix.is_empty() { "an empty file".to_string() } else { format!("{:02x?}", &prefix[..n]) };
        return Err(Error::NotGguf { found });
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// Walk the structure, skipping array contents; metadata arrays come out empty.
    Skim,
    Build,
}

fn parse_after_magic(prefix: &[u8], file_len: Option<u64>, pass: Pass) -> Step<GgufHeader> {
    let mut r = Reader::new(prefix, file_len);
    r.bytes(4, &|| "magic".into())?;
    let version = r.u32(&|| "version".into())?;
    if version != 2 && version != 3 {
        return Err(Error::UnsupportedGgufVersion { version }.into());
    }
    let tensor_count_at = r.pos();
    let tensor_count = r.u64(&|| "tensor count".into())?;
    let kv_count_at = r.pos();
    let kv_count = r.u64(&|| "metadata count".into())?;

    // Each entry takes some minimum number of bytes: reject impossible counts up front.
    r.need(kv_count.saturating_mul(8 + 4 + 1), &|| format!("{kv_count} metadata entries (count at byte {kv_count_at})"))?;
    let mut metadata = Metadata::default();
    let mut alignment_at = None;
    for i in 0..kv_count {
        let key_at = r.pos();
        let key = r.string(&|| format!("key of metadata entry {i}"))?;
        let tag_at = r.pos();
        let tag = r.u32(&|| format!("type of metadata `{key}`"))?;
        let ty =
            ValueType::from_tag(tag).ok_or_else(|| Error::corrupt(tag_at, format!("metadata `{key}` has unknown value type {tag}")))?;
        if key == ALIGNMENT_KEY {
            alignment_at = Some(r.pos());
        }
        let value = match (ty, pass) {
            (ValueType::Array, Pass::Skim) => {
                skim_array(&mut r, &key, 0)?;
                MetaValue::Array(MetaArray::U8(Vec::new()))
            }
            _ => read_value(&mut r, ty, &key, 0)?,
        };
        if !metadata.insert(key.clone(), value) {
            return Err(Error::corrupt(key_at, format!("duplicate metadata key `{key}`")).into());
        }
    }

    let alignment = match metadata.get(ALIGNMENT_KEY) {
        None => DEFAULT_ALIGNMENT,
        Some(MetaValue::U32(a)) if *a != 0 && a.is_power_of_two() => u64::from(*a),
        Some(other) => {
            return Err(Error::corrupt(
                alignment_at.unwrap_or(0),
                format!("`{ALIGNMENT_KEY}` must be a non-zero power of two u32, found {other:?}"),
            )
            .into());
        }
    };

    // Smallest tensor info: empty name (8) + n_dims (4) + type (4) + offset (8).
    r.need(tensor_count.saturating_mul(24), &|| format!("{tensor_count} tensor infos (count at byte {tensor_count_at})"))?;
    let mut raw = Vec::new();
    for i in 0..tensor_count {
        raw.push(read_tensor_info(&mut r, i)?);
    }
    let header_end = r.pos();
    let data_offset = header_end.div_ceil(alignment) * alignment;
    let tensors = raw.into_iter().map(|t| t.validate(data_offset, alignment, file_len)).collect::<Result<Vec<_>>>()?;
    check_no_overlap(&tensors)?;
    Ok(GgufHeader { version, metadata, tensors, alignment, data_offset })
}

fn read_value(r: &mut Reader, ty: ValueType, key: &str, depth: u32) -> Step<MetaValue> {
    let what = || format!("value of metadata `{key}`");
    Ok(match ty {
        ValueType::U8 => MetaValue::U8(r.u8(&what)?),
        ValueType::I8 => MetaValue::I8(r.u8(&what)? as i8),
        ValueType::U16 => MetaValue::U16(r.u16(&what)?),
        ValueType::I16 => MetaValue::I16(r.u16(&what)? as i16),
        ValueType::U32 => MetaValue::U32(r.u32(&what)?),
        ValueType::I32 => MetaValue::I32(r.u32(&what)? as i32),
        ValueType::U64 => MetaValue::U64(r.u64(&what)?),
        ValueType::I64 => MetaValue::I64(r.u64(&what)? as i64),
        ValueType::F32 => MetaValue::F32(f32::from_bits(r.u32(&what)?)),
        ValueType::F64 => MetaValue::F64(f64::from_bits(r.u64(&what)?)),
        ValueType::Bool => MetaValue::Bool(read_bool(r, key)?),
        ValueType::String => MetaValue::String(r.string(&what)?),
        ValueType::Array => MetaValue::Array(read_array(r, key, depth)?),
    })
}

fn read_bool(r: &mut Reader, key: &str) -> Step<bool> {
    let at = r.pos();
    match r.u8(&|| format!("value of metadata `{key}`"))? {
        0 => Ok(false),
        1 => Ok(true),
        b => Err(Error::corrupt(at, format!("metadata `{key}` is a bool with byte value {b}")).into()),
    }
}

/// An array: u32 element type, u64 count, elements. Nested arrays repeat this per element.
fn read_array(r: &mut Reader, key: &str, depth: u32) -> Step<MetaArray> {
    if depth >= MAX_ARRAY_NESTING {
        return Err(Error::corrupt(r.pos(), format!("metadata `{key}` nests arrays deeper than {MAX_ARRAY_NESTING}")).into());
    }
    let tag_at = r.pos();
    let tag = r.u32(&|| format!("element type of metadata `{key}`"))?;
    let ty =
        ValueType::from_tag(tag).ok_or_else(|| Error::corrupt(tag_at, format!("metadata `{key}` is an array of unknown type {tag}")))?;
    let count_at = r.pos();
    let n = r.u64(&|| format!("length of metadata `{key}`"))?;
    // Checked before any allocation: the elements cannot take fewer bytes than this.
    r.need(n.saturating_mul(ty.min_encoded_len()), &|| format!("{n} elements of metadata `{key}` (length at byte {count_at})"))?;
    let n = n as usize; // fits: n elements of >= 1 byte are inside the prefix
    let what = || format!("element of metadata `{key}`");
    macro_rules! fixed {
        ($variant:ident, $read:ident, $conv:expr) => {{
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push($conv(r.$read(&what)?));
            }
            MetaArray::$variant(v)
        }};
    }
    Ok(match ty {
        ValueType::U8 => fixed!(U8, u8, |x| x),
        ValueType::I8 => fixed!(I8, u8, |x| x as i8),
        ValueType::U16 => fixed!(U16, u16, |x| x),
        ValueType::I16 => fixed!(I16, u16, |x| x as i16),
        ValueType::U32 => fixed!(U32, u32, |x| x),
        ValueType::I32 => fixed!(I32, u32, |x| x as i32),
        ValueType::U64 => fixed!(U64, u64, |x| x),
        ValueType::I64 => fixed!(I64, u64, |x| x as i64),
        ValueType::F32 => fixed!(F32, u32, f32::from_bits),
        ValueType::F64 => fixed!(F64, u64, f64::from_bits),
        ValueType::Bool => {
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(read_bool(r, key)?);
            }
            MetaArray::Bool(v)
        }
        ValueType::String => {
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(r.string(&what)?);
            }
            MetaArray::String(v)
        }
        ValueType::Array => {
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(read_array(r, key, depth + 1)?);
            }
            MetaArray::Array(v)
        }
    })
}

/// Steps over an array without allocating: fixed-size elements in one jump, strings and
/// nested arrays by their lengths. Element values (UTF-8, bool bytes) are checked by the
/// build pass.
fn skim_array(r: &mut Reader, key: &str, depth: u32) -> Step<()> {
    if depth >= MAX_ARRAY_NESTING {
        return Err(Error::corrupt(r.pos(), format!("metadata `{key}` nests arrays deeper than {MAX_ARRAY_NESTING}")).into());
    }
    let tag_at = r.pos();
    let tag = r.u32(&|| format!("element type of metadata `{key}`"))?;
    let ty =
        ValueType::from_tag(tag).ok_or_else(|| Error::corrupt(tag_at, format!("metadata `{key}` is an array of unknown type {tag}")))?;
    let count_at = r.pos();
    let n = r.u64(&|| format!("length of metadata `{key}`"))?;
    let what = || format!("{n} elements of metadata `{key}` (length at byte {count_at})");
    r.need(n.saturating_mul(ty.min_encoded_len()), &what)?;
    match ty {
        ValueType::String => r.skip_strings(n, &what)?,
        ValueType::Array => {
            for _ in 0..n {
                skim_array(r, key, depth + 1)?;
            }
        }
        // Fixed size: min_encoded_len is the exact size, already checked by need().
        _ => {
            r.bytes(n * ty.min_encoded_len(), &what)?;
        }
    }
    Ok(())
}

/// A tensor info as read, before it is checked against the rest of the header.
struct RawTensorInfo {
    name: String,
    dims: Vec<u64>,
    type_id: u32,
    offset: u64,
    at: u64,
}

fn read_tensor_info(r: &mut Reader, index: u64) -> Step<RawTensorInfo> {
    let at = r.pos();
    let name = r.string(&|| format!("name of tensor {index}"))?;
    let n_dims_at = r.pos();
    let n_dims = r.u32(&|| format!("dimension count of tensor `{name}`"))?;
    if n_dims > MAX_DIMS {
        return Err(Error::corrupt(n_dims_at, format!("tensor `{name}` has {n_dims} dimensions (at most {MAX_DIMS})")).into());
    }
    let mut dims = Vec::with_capacity(n_dims as usize);
    for _ in 0..n_dims {
        dims.push(r.u64(&|| format!("dimensions of tensor `{name}`"))?);
    }
    let type_id = r.u32(&|| format!("type of tensor `{name}`"))?;
    let offset = r.u64(&|| format!("data offset of tensor `{name}`"))?;
    Ok(RawTensorInfo { name, dims, type_id, offset, at })
}

impl RawTensorInfo {
    fn validate(self, data_offset: u64, alignment: u64, file_len: Option<u64>) -> Result<TensorInfo> {
        let RawTensorInfo { name, dims, type_id, offset, at } = self;
        let dtype = DType::from_ggml_type_id(type_id).ok_or_else(|| Error::UnsupportedTensorType {
            tensor: name.clone(),
            type_id,
            type_name: ggml_type_name(type_id),
        })?;
        let n_elements = dims
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| Error::corrupt(at, format!("tensor `{name}` dimensions {dims:?} overflow the element count")))?;
        let row = dims.first().copied().unwrap_or(1);
        if row % dtype.block_size() as u64 != 0 {
            return Err(Error::corrupt(
                at,
                format!("tensor `{name}` rows of {row} elements are not a whole number of {dtype} blocks ({})", dtype.block_size()),
            ));
        }
        let n_bytes = dtype.bytes_for(n_elements).ok_or_else(|| Error::corrupt(at, format!("tensor `{name}` byte size overflows")))?;
        if offset % alignment != 0 {
            return Err(Error::corrupt(at, format!("tensor `{name}` data offset {offset} is not a multiple of the alignment {alignment}")));
        }
        let start = data_offset
            .checked_add(offset)
            .filter(|s| s.checked_add(n_bytes).is_some())
            .ok_or_else(|| Error::corrupt(at, format!("tensor `{name}` data offset {offset} overflows")))?;
        if let Some(file_len) = file_len {
            if start + n_bytes > file_len {
                return Err(Error::Truncated {
                    what: format!("data of tensor `{name}` ({dtype}, {dims:?})"),
                    offset: start,
                    needed: n_bytes,
                    file_len,
                });
            }
        }
        Ok(TensorInfo { name, dims, dtype, start, n_elements, n_bytes })
    }
}

fn check_no_overlap(tensors: &[TensorInfo]) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for t in tensors {
        if !seen.insert(t.name.as_str()) {
            return Err(Error::corrupt(t.start, format!("duplicate tensor name `{}`", t.name)));
        }
    }
    let mut by_start: Vec<&TensorInfo> = tensors.iter().collect();
    by_start.sort_by_key(|t| t.start);
    for pair in by_start.windows(2) {
        if pair[0].end() > pair[1].start {
            return Err(Error::corrupt(pair[1].start, format!("data of tensors `{}` and `{}` overlap", pair[0].name, pair[1].name)));
        }
    }
    Ok(())
}
