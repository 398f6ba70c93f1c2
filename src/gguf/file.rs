//! A GGUF file on disk (native only): reads just enough of the file to parse the header,
//! then reads tensors on demand. The whole file is never loaded into memory.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::header::{GgufHeader, Parsed};
use super::tensor::TensorInfo;
use crate::error::{Error, Result};

/// First read size; most headers (SmolLM2: ~2 MiB) need one or two reads.
const FIRST_READ: u64 = 1 << 20;

pub struct GgufFile {
    path: PathBuf,
    file: File,
    len: u64,
    header: GgufHeader,
}

impl GgufFile {
    pub fn open(path: impl AsRef<Path>) -> Result<GgufFile> {
        let path = path.as_ref().to_path_buf();
        let io = |source| Error::Io { path: path.clone(), source };
        let mut file = File::open(&path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let mut prefix = Vec::new();
        let mut want = FIRST_READ.min(len);
        let header = loop {
            let have = prefix.len() as u64;
            (&mut file).take(want - have).read_to_end(&mut prefix).map_err(io)?;
            match GgufHeader::parse(&prefix, Some(len))? {
                Parsed::Complete(h) => break h,
                // Cannot happen with a known length, but a file that shrank while we read it could.
                Parsed::NeedMore { total_bytes } if total_bytes <= want => {
                    return Err(Error::InvalidArgument(format!("{} changed while it was read", path.display())));
                }
                Parsed::NeedMore { total_bytes } => want = total_bytes.max(want * 2).min(len),
            }
        };
        Ok(GgufFile { path, file, len, header })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn header(&self) -> &GgufHeader {
        &self.header
    }

    pub fn tensor_info(&self, name: &str) -> Result<&TensorInfo> {
        self.header.tensor(name).ok_or_else(|| Error::MissingTensor { name: name.to_string() })
    }

    /// The raw (still quantised) bytes of a tensor.
    pub fn read_tensor(&mut self, info: &TensorInfo) -> Result<Vec<u8>> {
        self.read_range(info.start, info.n_bytes)
    }

    pub fn read_range(&mut self, start: u64, len: u64) -> Result<Vec<u8>> {
        if start.checked_add(len).is_none_or(|end| end > self.len) {
            return Err(Error::InvalidArgument(format!("range {start}+{len} is outside {} ({} bytes)", self.path.display(), self.len)));
        }
        let io = |source| Error::Io { path: self.path.clone(), source };
        let mut out = vec![0u8; len as usize];
        self.file.seek(SeekFrom::Start(start)).map_err(io)?;
        self.file.read_exact(&mut out).map_err(io)?;
        Ok(out)
    }
}
