//! A minimal GGUF v3 writer for building small and deliberately broken files in tests.
//! Written from the spec, independently of the reader it tests.

pub enum Val<'a> {
    U32(u32),
    Str(&'a str),
    StrArray(&'a [&'a str]),
    /// Raw bytes after the type tag, for values a well-behaved writer would not produce.
    Raw(u32, Vec<u8>),
}

pub struct Tensor<'a> {
    pub name: &'a str,
    pub dims: Vec<u64>,
    pub ggml_type: u32,
    pub offset: u64,
}

pub struct GgufWriter {
    pub version: u32,
    pub alignment: u64,
}

impl Default for GgufWriter {
    fn default() -> Self {
        GgufWriter { version: 3, alignment: 32 }
    }
}

pub fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend((s.len() as u64).to_le_bytes());
    out.extend(s.as_bytes());
}

impl GgufWriter {
    /// Header + tensor infos, padded to the alignment, then `data`.
    pub fn write(&self, kvs: &[(&str, Val)], tensors: &[Tensor], data: &[u8]) -> Vec<u8> {
        let mut out = b"GGUF".to_vec();
        out.extend(self.version.to_le_bytes());
        out.extend((tensors.len() as u64).to_le_bytes());
        out.extend((kvs.len() as u64).to_le_bytes());
        for (key, val) in kvs {
            put_str(&mut out, key);
            match val {
                Val::U32(v) => {
                    out.extend(4u32.to_le_bytes());
                    out.extend(v.to_le_bytes());
                }
                Val::Str(s) => {
                    out.extend(8u32.to_le_bytes());
                    put_str(&mut out, s);
                }
                Val::StrArray(items) => {
                    out.extend(9u32.to_le_bytes());
                    out.extend(8u32.to_le_bytes());
                    out.extend((items.len() as u64).to_le_bytes());
                    for s in *items {
                        put_str(&mut out, s);
                    }
                }
                Val::Raw(tag, bytes) => {
                    out.extend(tag.to_le_bytes());
                    out.extend(bytes);
                }
            }
        }
        for t in tensors {
            put_str(&mut out, t.name);
            out.extend((t.dims.len() as u32).to_le_bytes());
            for d in &t.dims {
                out.extend(d.to_le_bytes());
            }
            out.extend(t.ggml_type.to_le_bytes());
            out.extend(t.offset.to_le_bytes());
        }
        while out.len() as u64 % self.alignment != 0 {
            out.push(0);
        }
        out.extend(data);
        out
    }
}
