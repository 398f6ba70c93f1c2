//! Turns a stream of token byte pieces into text without ever splitting a UTF-8 character:
//! an emoji may arrive as four byte-fallback tokens, and nothing is shown until it is whole.

#[derive(Debug, Default)]
pub struct Utf8Stream {
    pending: Vec<u8>,
}

impl Utf8Stream {
    /// Adds a token's bytes; returns the text that is now complete.
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let valid = match std::str::from_utf8(&self.pending) {
            Ok(_) => self.pending.len(),
            // An incomplete sequence at the end waits for the next token; bytes that can
            // never become valid are replaced, so the stream cannot stall on bad input.
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => {
                let text = String::from_utf8_lossy(&self.pending).into_owned();
                self.pending.clear();
                return text;
            }
        };
        String::from_utf8(self.pending.drain(..valid).collect()).expect("checked above")
    }

    /// The rest at the end of generation (an unfinished character becomes U+FFFD).
    pub fn finish(&mut self) -> String {
        let text = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_byte_characters_wait_until_whole() {
        let mut s = Utf8Stream::default();
        let smile = "🙂".as_bytes(); // 4 bytes
        assert_eq!(s.push(b"hi "), "hi ");
        assert_eq!(s.push(&smile[..1]), "");
        assert_eq!(s.push(&smile[1..3]), "");
        assert_eq!(s.push(&smile[3..]), "🙂");
        assert_eq!(s.push("é!".as_bytes()), "é!");
        assert_eq!(s.push(&"é".as_bytes()[..1]), "");
        assert_eq!(s.finish(), "\u{fffd}");
    }

    #[test]
    fn invalid_bytes_do_not_stall_the_stream() {
        let mut s = Utf8Stream::default();
        assert_eq!(s.push(&[b'a', 0xff, b'b']), "a\u{fffd}b");
        assert_eq!(s.push(b"c"), "c");
    }
}
