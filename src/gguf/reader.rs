//! A bounds-checked little-endian reader over a byte *prefix* of a GGUF file.
//!
//! Every read first asks `need(n)`. When the bytes are not there yet it reports how many
//! bytes in total the parse needs (`Stop::NeedMore`), unless the file length is known and
//! the read would pass it (`Error::Truncated`), or the header would grow past
//! `MAX_HEADER_BYTES` (`Error::TooLarge`). Lengths and counts are checked this way before
//! anything is allocated for them, so a corrupt length can never cause a huge allocation.

use crate::error::Error;

/// The most bytes a GGUF header (metadata + tensor infos) may take. Real headers are far
/// smaller (Gemma 3's 262k-token vocabulary is ~6 MiB); this bounds a corrupt length field.
pub const MAX_HEADER_BYTES: u64 = 256 << 20;

/// Why a parse stopped early.
#[derive(Debug)]
pub(crate) enum Stop {
    /// The prefix is too short: at least this many bytes (from the start of the file) are needed.
    NeedMore(u64),
    Fail(Error),
}

impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        Stop::Fail(e)
    }
}

pub(crate) type Step<T> = std::result::Result<T, Stop>;

pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    file_len: Option<u64>,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8], file_len: Option<u64>) -> Self {
        Reader { buf, pos: 0, file_len }
    }

    pub fn pos(&self) -> u64 {
        self.pos as u64
    }

    /// Ensures `n` more bytes are available; `what` names the field for error messages.
    pub fn need(&self, n: u64, what: &dyn Fn() -> String) -> Step<()> {
        let offset = self.pos();
        let end = offset.checked_add(n);
        if let Some(end) = end {
            if end <= self.buf.len() as u64 {
                return Ok(());
            }
        }
        if let Some(file_len) = self.file_len {
            if end.is_none_or(|e| e > file_len) {
                return Err(Error::Truncated { what: what(), offset, needed: n, file_len }.into());
            }
        }
        match end {
            Some(end) if end <= MAX_HEADER_BYTES => Err(Stop::NeedMore(end)),
            _ => Err(Error::TooLarge { what: what(), offset, claimed: n, limit: MAX_HEADER_BYTES }.into()),
        }
    }

    pub fn bytes(&mut self, n: u64, what: &dyn Fn() -> String) -> Step<&'a [u8]> {
        self.need(n, what)?;
        let start = self.pos;
        self.pos += n as usize; // fits: need() checked it against buf.len()
        Ok(&self.buf[start..self.pos])
    }

    pub fn array<const N: usize>(&mut self, what: &dyn Fn() -> String) -> Step<[u8; N]> {
        let b = self.bytes(N as u64, what)?;
        Ok(b.try_into().expect("bytes() returned N bytes"))
    }

    pub fn u8(&mut self, what: &dyn Fn() -> String) -> Step<u8> {
        Ok(self.array::<1>(what)?[0])
    }
    pub fn u16(&mut self, what: &dyn Fn() -> String) -> Step<u16> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }
    pub fn u32(&mut self, what: &dyn Fn() -> String) -> Step<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }
    pub fn u64(&mut self, what: &dyn Fn() -> String) -> Step<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// Steps over `n` strings without allocating. A tight loop over the length prefixes
    /// (skimming a 262k-token vocabulary is the bulk of a header parse); when a string runs
    /// past the bytes at hand, the ordinary reads produce the error or `NeedMore`.
    pub fn skip_strings(&mut self, n: u64, what: &dyn Fn() -> String) -> Step<()> {
        for _ in 0..n {
            let rest = &self.buf[self.pos..];
            let len = rest.get(..8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")));
            match len.and_then(|l| usize::try_from(l).ok()).filter(|&l| l <= rest.len() - 8) {
                Some(len) => self.pos += 8 + len,
                None => {
                    // Not all at hand: the checked reads report the error or `NeedMore`.
                    let len = self.u64(what)?;
                    self.bytes(len, what)?;
                }
            }
        }
        Ok(())
    }

    /// A GGUF string: u64 byte length, then UTF-8 bytes (no terminator).
    pub fn string(&mut self, what: &dyn Fn() -> String) -> Step<String> {
        let len = self.u64(&|| format!("length of {}", what()))?;
        let offset = self.pos();
        let bytes = self.bytes(len, what)?;
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_owned()),
            Err(e) => Err(Error::corrupt(offset, format!("{} is not valid UTF-8 ({e})", what())).into()),
        }
    }
}
