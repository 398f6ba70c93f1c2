//! Sharded GGUF, as llama.cpp's gguf-split writes it: `NAME-00001-of-00003.gguf`, ... Each
//! shard is a GGUF of its own with `split.no` (0-based), `split.count` and
//! `split.tensors.count` (tensors in all shards); the first carries the model's metadata.
//! Hearth joins the shards into one header over a *virtual file*: the first shard's bytes up
//! to its data section, then every shard's data section in order. Tensor offsets are moved
//! into that space, so everything downstream (streaming uploads, `read_range`) sees one file.

use super::header::GgufHeader;
use super::metadata::Metadata;
use crate::error::{Error, Result};

pub const SPLIT_COUNT_KEY: &str = "split.count";
pub const SPLIT_NO_KEY: &str = "split.no";
pub const SPLIT_TENSORS_KEY: &str = "split.tensors.count";
/// llama.cpp's limit on shards (its names have five digits).
const MAX_SHARDS: u32 = 99_999;

/// How many shards the model has (1 when the file is not split).
pub fn split_count(meta: &Metadata) -> Result<u32> {
    let count = meta.opt_u32(SPLIT_COUNT_KEY)?.unwrap_or(1);
    if count == 0 || count > MAX_SHARDS {
        return Err(Error::MetadataValue {
            key: SPLIT_COUNT_KEY.into(),
            value: count.to_string(),
            expected: format!("between 1 and {MAX_SHARDS}"),
        });
    }
    Ok(count)
}

/// The names of all `count` shards, from the first one's (`...-00001-of-0000N.gguf`).
pub fn shard_names(first: &str, count: u32) -> Result<Vec<String>> {
    let suffix = format!("-00001-of-{count:05}.gguf");
    let Some(stem) = first.strip_suffix(&suffix) else {
        return Err(Error::InvalidArgument(format!(
            "{first}: the model is split into {count} files ({SPLIT_COUNT_KEY}), named like llama.cpp's gguf-split \
             does: open the first, ending in `{suffix}`"
        )));
    };
    Ok((1..=count).map(|i| format!("{stem}-{i:05}-of-{count:05}.gguf")).collect())
}

/// One parsed shard: its header and its file's length.
pub struct Shard {
    pub name: String,
    pub header: GgufHeader,
    pub len: u64,
}

/// The shards as one file: the joined header, the virtual length, and where each shard's
/// data section starts in the virtual file.
pub struct Joined {
    pub header: GgufHeader,
    pub len: u64,
    pub data_starts: Vec<u64>,
}

/// Checks the shards belong together (count, numbers, tensor total, no tensor twice) and
/// joins them.
pub fn join(shards: &[Shard]) -> Result<Joined> {
    let first = shards.first().ok_or_else(|| Error::InvalidArgument("no shards to join".into()))?;
    let count = split_count(&first.header.metadata)?;
    if shards.len() as u64 != u64::from(count) {
        return Err(Error::InvalidArgument(format!(
            "{}: {SPLIT_COUNT_KEY} is {count}, but {} shards were given",
            first.name,
            shards.len()
        )));
    }
    let mut header = first.header.clone();
    header.tensors.clear();
    let mut data_starts = Vec::with_capacity(shards.len());
    let mut next = first.header.data_offset;
    let mut names = std::collections::HashSet::new();
    for (i, shard) in shards.iter().enumerate() {
        let meta = &shard.header.metadata;
        let no = meta.opt_u32(SPLIT_NO_KEY)?.unwrap_or(0);
        let its_count = split_count(meta)?;
        if no as usize != i || its_count != count {
            return Err(Error::MetadataValue {
                key: SPLIT_NO_KEY.into(),
                value: format!("{no} (of {its_count}) in {}", shard.name),
                expected: format!("{i} (of {count}): the shards are not one model's, or not in order"),
            });
        }
        data_starts.push(next);
        let data_len = shard.len.checked_sub(shard.header.data_offset).ok_or_else(|| Error::Corrupt {
            offset: shard.header.data_offset,
            reason: format!("{}: data section starts past the end of the file", shard.name),
        })?;
        for t in &shard.header.tensors {
            if !names.insert(t.name.clone()) {
                return Err(Error::Corrupt { offset: t.start, reason: format!("tensor `{}` is in two shards ({})", t.name, shard.name) });
            }
            let mut t = t.clone();
            t.start = t.start - shard.header.data_offset + next;
            header.tensors.push(t);
        }
        next += data_len;
    }
    if let Some(total) = first.header.metadata.opt_u64(SPLIT_TENSORS_KEY)? {
        if total != header.tensors.len() as u64 {
            return Err(Error::MetadataValue {
                key: SPLIT_TENSORS_KEY.into(),
                value: total.to_string(),
                expected: format!("the {} tensors the {count} shards hold", header.tensors.len()),
            });
        }
    }
    Ok(Joined { header, len: next, data_starts })
}
