//! The raw bytes each token stands for (llama.cpp's `token_to_piece` with special=true),
//! computed once at load like llama.cpp's piece cache. Streaming decode concatenates
//! these and cuts at UTF-8 boundaries itself.

use super::vocab::{Attr, ModelKind};

/// GPT-2's byte-to-unicode table: printable Latin-1 bytes stand for themselves, the
/// other 68 bytes are moved to U+0100 upwards so every byte is a visible character.
pub fn byte_to_char_table() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut next = 256u32;
    for b in 0..=255u8 {
        let printable = matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
        table[b as usize] = if printable {
            char::from(b)
        } else {
            let c = char::from_u32(next).expect("U+0100..U+0143 are chars");
            next += 1;
            c
        };
    }
    table
}

/// The inverse of [`byte_to_char_table`], indexed by code point (all are below U+0144).
fn char_to_byte_table() -> Vec<Option<u8>> {
    let mut inv = vec![None; 0x144];
    for (b, c) in byte_to_char_table().iter().enumerate() {
        inv[*c as usize] = Some(b as u8);
    }
    inv
}

/// `<0xNN>` → NN.
pub fn parse_byte_token(text: &str) -> Option<u8> {
    let hex = text.strip_prefix("<0x")?.strip_suffix('>')?;
    if hex.len() != 2 {
        return None;
    }
    u8::from_str_radix(hex, 16).ok()
}

/// Pieces for every token, as llama.cpp renders them with `special = true`.
pub fn token_pieces(model: ModelKind, texts: &[String], attrs: &[Attr]) -> Vec<Vec<u8>> {
    let inv = char_to_byte_table();
    texts
        .iter()
        .zip(attrs)
        .map(|(text, &attr)| {
            if attr.has(Attr::CONTROL.with(Attr::UNKNOWN).with(Attr::USER_DEFINED)) {
                return text.as_bytes().to_vec();
            }
            if attr.has(Attr::NORMAL) {
                return match model {
                    ModelKind::Spm => text.replace('\u{2581}', " ").into_bytes(),
                    ModelKind::Gpt2 => decode_byte_level(text, &inv),
                };
            }
            if attr.has(Attr::BYTE) {
                // A malformed byte token renders as nothing rather than failing the load.
                return parse_byte_token(text).map(|b| vec![b]).unwrap_or_default();
            }
            // Unused and undefined tokens render as nothing, as in llama.cpp.
            Vec::new()
        })
        .collect()
}

/// Maps a byte-level token text back to bytes. A character outside the table is
/// rendered the way llama.cpp does it (`[UNK_BYTE_0x..text]`) so the output stays equal.
fn decode_byte_level(text: &str, inv: &[Option<u8>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        match inv.get(c as usize).copied().flatten() {
            Some(b) => out.push(b),
            None => {
                out.extend_from_slice(b"[UNK_BYTE_0x");
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.extend_from_slice(format!("{b:02x}").as_bytes());
                }
                out.extend_from_slice(text.as_bytes());
                out.push(b']');
            }
        }
    }
    out
}

/// llama.cpp's `clean_spaces` pass of `detokenize`: drops the space before `?!.,`, the
/// spaces around a lone apostrophe, and the space before `'s 'm 're 've`.
pub fn clean_spaces(text: &mut Vec<u8>) {
    // First pass: " ?", " !", " .", " ," lose their space.
    let mut out: Vec<u8> = Vec::with_capacity(text.len());
    for (i, &x) in text.iter().enumerate() {
        if i > 0 && text[i - 1] == b' ' && matches!(x, b'?' | b'!' | b'.' | b',') {
            out.pop();
        }
        out.push(x);
    }
    // Second pass: " ' " becomes "'". llama.cpp overwrites the skipped space with NUL,
    // so the character after it never counts as following a space; we do the same.
    let mut src = std::mem::take(&mut out);
    let mut i = 0;
    while i < src.len() {
        let x = src[i];
        if i > 0 && x == b'\'' && i + 1 < src.len() && src[i - 1] == b' ' && src[i + 1] == b' ' {
            out.pop();
            src[i + 1] = 0;
            out.push(x);
            i += 2;
            continue;
        }
        out.push(x);
        i += 1;
    }
    // Third pass: " 's", " 'm", " 're", " 've" lose their space.
    let src = std::mem::take(&mut out);
    for (i, &x) in src.iter().enumerate() {
        if i > 0 && src[i - 1] == b' ' && x == b'\'' && i + 1 < src.len() {
            let x1 = src[i + 1];
            let x2 = src.get(i + 2).copied();
            let drop = matches!(x1, b's' | b'm') || (matches!((x1, x2), (b'r', Some(b'e')) | (b'v', Some(b'e'))));
            if drop {
                out.pop();
            }
        }
        out.push(x);
    }
    *text = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_table_is_a_bijection_with_gpt2_anchors() {
        let t = byte_to_char_table();
        assert_eq!(t[b' ' as usize], '\u{120}'); // 'Ġ'
        assert_eq!(t[b'\n' as usize], '\u{10A}'); // 'Ċ'
        assert_eq!(t[b'A' as usize], 'A');
        let mut seen: Vec<char> = t.to_vec();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 256);
    }

    #[test]
    fn clean_spaces_follows_llama_cpp() {
        let mut s = b"Hello , world ! it 's a ' b don 't".to_vec();
        clean_spaces(&mut s);
        assert_eq!(String::from_utf8(s).unwrap(), "Hello, world! it's a'b don 't");
    }
}
