//! A GGUF file on disk (native only): reads just enough of the file to parse the header,
//! then reads tensors on demand. The whole file is never loaded into memory. A sharded model
//! (`NAME-00001-of-0000N.gguf`, see split.rs) opens from its first shard and reads as one
//! file: the first shard's header, then every shard's data section.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::header::{GgufHeader, Parsed};
use super::split::{self, Shard};
use super::tensor::TensorInfo;
use crate::error::{Error, Result};

/// First read size; most headers (SmolLM2: ~2 MiB) need one or two reads.
const FIRST_READ: u64 = 1 << 20;

pub struct GgufFile {
    path: PathBuf,
    /// One per shard (one for an unsplit file), in order.
    parts: Vec<Part>,
    len: u64,
    header: GgufHeader,
}

/// A shard's file and where its data section lies, in the file and in the joined one.
struct Part {
    path: PathBuf,
    file: File,
    data_offset: u64,
    /// Where this part's data section starts in the joined file.
    joined_start: u64,
}

impl GgufFile {
    /// Opens a GGUF file, or a sharded model from its first shard.
    pub fn open(path: impl AsRef<Path>) -> Result<GgufFile> {
        let path = path.as_ref().to_path_buf();
        let (file, len, header) = Self::open_one(&path)?;
        let count = split::split_count(&header.metadata)?;
        if count == 1 {
            let part = Part { path: path.clone(), file, data_offset: header.data_offset, joined_start: header.data_offset };
            return Ok(GgufFile { path, parts: vec![part], len, header });
        }
        let names = split::shard_names(&path.to_string_lossy(), count)?;
        let mut files = vec![file];
        let mut shards = vec![Shard { name: names[0].clone(), header, len }];
        for name in &names[1..] {
            let (file, len, header) = Self::open_one(Path::new(name))?;
            files.push(file);
            shards.push(Shard { name: name.clone(), header, len });
        }
        let joined = split::join(&shards)?;
        let parts = files
            .into_iter()
            .zip(&shards)
            .zip(&joined.data_starts)
            .map(|((file, shard), &joined_start)| Part {
                path: PathBuf::from(&shard.name),
                file,
                data_offset: shard.header.data_offset,
                joined_start,
            })
            .collect();
        Ok(GgufFile { path, parts, len: joined.len, header: joined.header })
    }

    fn open_one(path: &Path) -> Result<(File, u64, GgufHeader)> {
        let path = path.to_path_buf();
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
        Ok((file, len, header))
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

    /// Bytes `start..start + len` of the (joined) file.
    pub fn read_range(&mut self, start: u64, len: u64) -> Result<Vec<u8>> {
        if start.checked_add(len).is_none_or(|end| end > self.len) {
            return Err(Error::InvalidArgument(format!("range {start}+{len} is outside {} ({} bytes)", self.path.display(), self.len)));
        }
        let mut out = vec![0u8; len as usize];
        let mut done = 0usize;
        while done < out.len() {
            let pos = start + done as u64;
            // The part holding `pos`: the last whose data starts at or before it (the first
            // part also holds the header bytes before its data).
            let i = self.parts.iter().rposition(|p| p.joined_start <= pos).unwrap_or(0);
            let end_of_part = self.parts.get(i + 1).map_or(self.len, |next| next.joined_start);
            let n = (end_of_part - pos).min((out.len() - done) as u64) as usize;
            let part = &mut self.parts[i];
            let io = |source| Error::Io { path: part.path.clone(), source };
            part.file.seek(SeekFrom::Start(pos + part.data_offset - part.joined_start)).map_err(io)?;
            part.file.read_exact(&mut out[done..done + n]).map_err(io)?;
            done += n;
        }
        Ok(out)
    }

    /// How many files the model is stored in (1 unless sharded).
    pub fn shard_count(&self) -> usize {
        self.parts.len()
    }
}
