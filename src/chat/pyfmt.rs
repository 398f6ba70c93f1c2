//! Python's `str()`/`repr()` for template values.
//!
//! Reference chat templates are rendered by Python jinja2, where `{{ value }}` prints
//! `str(value)`: `None`, `True`, `1.0`, `['a', 1]`. minijinja prints `none`, `true`, `1`,
//! `["a", 1]`. The output formatter routes non-string values through here so prompts match
//! the reference byte for byte.

use std::fmt::Write;

use minijinja::value::{Value, ValueKind};

/// Appends Python's `str(value)`.
pub fn push_str(out: &mut String, value: &Value) {
    match value.kind() {
        ValueKind::String => out.push_str(value.as_str().unwrap_or_default()),
        // jinja2's default `Undefined` prints as nothing.
        ValueKind::Undefined => {}
        _ => push_repr(out, value),
    }
}

/// Appends Python's `repr(value)` (strings quoted, containers recursively).
pub fn push_repr(out: &mut String, value: &Value) {
    match value.kind() {
        ValueKind::Undefined => {}
        ValueKind::None => out.push_str("None"),
        ValueKind::Bool => out.push_str(if value.is_true() { "True" } else { "False" }),
        ValueKind::Number => push_number(out, value),
        ValueKind::String => push_str_repr(out, value.as_str().unwrap_or_default()),
        ValueKind::Seq => {
            out.push('[');
            push_items(out, value);
            out.push(']');
        }
        ValueKind::Map => {
            out.push('{');
            if let Ok(keys) = value.try_iter() {
                for (i, key) in keys.enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    push_repr(out, &key);
                    out.push_str(": ");
                    push_repr(out, &value.get_item(&key).unwrap_or_default());
                }
            }
            out.push('}');
        }
        // Iterables, bytes, objects (loop, namespace, ...): minijinja's own rendering.
        _ => {
            let _ = write!(out, "{value}");
        }
    }
}

fn push_items(out: &mut String, value: &Value) {
    if let Ok(items) = value.try_iter() {
        for (i, item) in items.enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            push_repr(out, &item);
        }
    }
}

fn push_number(out: &mut String, value: &Value) {
    if value.is_integer() {
        let _ = write!(out, "{value}");
    } else {
        match f64::try_from(value.clone()) {
            Ok(f) => push_float(out, f),
            Err(_) => {
                let _ = write!(out, "{value}");
            }
        }
    }
}

/// Python's `repr(float)`: the shortest round-tripping digits, positional notation for
/// decimal exponents in [-4, 16), scientific (`1e+20`, `1.5e-07`) outside, and a `.0` on
/// integral positional values.
pub fn push_float(out: &mut String, f: f64) {
    if f.is_nan() {
        out.push_str("nan");
        return;
    }
    if f.is_infinite() {
        out.push_str(if f > 0.0 { "inf" } else { "-inf" });
        return;
    }
    if f.is_sign_negative() {
        out.push('-');
    }
    // Rust's `{:e}` gives the shortest round-trip digits, as Python's repr does.
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    // `decpt`: the value is 0.DIGITS × 10^decpt.
    let decpt = exp + 1;
    if !(-4 < decpt && decpt <= 16) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.unsigned_abs());
    } else if decpt <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', decpt.unsigned_abs() as usize));
        out.push_str(&digits);
    } else {
        let decpt = decpt as usize;
        if digits.len() <= decpt {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', decpt - digits.len()));
            out.push_str(".0");
        } else {
            out.push_str(&digits[..decpt]);
            out.push('.');
            out.push_str(&digits[decpt..]);
        }
    }
}

/// Python's `repr(str)`: single quotes unless the text has `'` and no `"`; backslash,
/// the quote and non-printable characters escaped. Python's "printable" test (Unicode
/// categories C* and Z* except the space) is approximated by control characters,
/// non-space whitespace and the common invisible format characters.
fn push_str_repr(out: &mut String, s: &str) {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() || (c.is_whitespace() && c != ' ') || is_format_char(c) => {
                let code = u32::from(c);
                let _ = match code {
                    0..=0xff => write!(out, "\\x{code:02x}"),
                    0x100..=0xffff => write!(out, "\\u{code:04x}"),
                    _ => write!(out, "\\U{code:08x}"),
                };
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

/// Common Unicode format (Cf) characters: soft hyphen, zero-width and bidi controls, BOM.
fn is_format_char(c: char) -> bool {
    matches!(c, '\u{ad}' | '\u{600}'..='\u{605}' | '\u{61c}' | '\u{180e}' | '\u{200b}'..='\u{200f}'
        | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206f}' | '\u{feff}')
}
