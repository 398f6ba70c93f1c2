//! Python methods on template values (`content.strip()`, `messages[0].get('x')`, ...).
//!
//! minijinja-contrib's pycompat covers most of them; the few it lacks that chat templates
//! use are added here, and everything else is delegated to it.

use minijinja::value::{Value, from_args};
use minijinja::{Error, ErrorKind, State};

pub fn unknown_method(state: &mut State, value: &Value, method: &str, args: &[Value]) -> Result<Value, Error> {
    if let (Some(s), "rsplit") = (value.as_str(), method) {
        let (sep, maxsplit): (Option<&str>, Option<i64>) = from_args(args)?;
        return rsplit(s, sep, maxsplit.unwrap_or(-1)).map(|parts| parts.into_iter().map(Value::from).collect());
    }
    minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)
}

/// Python's `str.rsplit(sep=None, maxsplit=-1)`: at most `maxsplit` splits from the right;
/// without `sep`, runs of whitespace separate and empty parts are dropped.
fn rsplit<'a>(s: &'a str, sep: Option<&str>, maxsplit: i64) -> Result<Vec<&'a str>, Error> {
    let mut parts = match sep {
        Some("") => {
            return Err(Error::new(ErrorKind::InvalidOperation, "rsplit: empty separator"));
        }
        Some(sep) if maxsplit < 0 => return Ok(s.split(sep).collect()),
        Some(sep) => s.rsplitn(maxsplit as usize + 1, sep).collect(),
        None => {
            let mut parts = Vec::new();
            let mut rest = s.trim_end();
            while !rest.is_empty() {
                if maxsplit >= 0 && parts.len() as i64 == maxsplit {
                    parts.push(rest);
                    break;
                }
                match rest.char_indices().rev().find(|(_, c)| c.is_whitespace()) {
                    Some((i, c)) => {
                        parts.push(&rest[i + c.len_utf8()..]);
                        rest = rest[..i].trim_end();
                    }
                    None => {
                        parts.push(rest);
                        break;
                    }
                }
            }
            parts
        }
    };
    parts.reverse();
    Ok(parts)
}
