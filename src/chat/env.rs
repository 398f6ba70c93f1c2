//! The minijinja environment, set up like the one transformers' `apply_chat_template`
//! renders with, since the templates in GGUF files are written and tested against it.

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, Error, ErrorKind};

use super::clock::{CivilTime, Clock, strftime};
use super::{json, pyfmt, pymethods};

/// The name the template is stored under; errors read `(in chat_template:LINE)`.
pub const TEMPLATE_NAME: &str = "chat_template";

/// Compiles `source` into a fresh environment with the transformers-compatible settings.
pub fn build(source: &str, clock: Clock) -> Result<Environment<'static>, Error> {
    let mut env = Environment::new();
    // jinja2 as transformers configures it: block tags eat their newline and the
    // whitespace before them; a single trailing newline of the template is dropped.
    let syntax = SyntaxConfig::builder().trim_blocks(true).lstrip_blocks(true).keep_trailing_newline(false).build()?;
    env.set_syntax(syntax);
    // Prompts are plain text: never HTML-escape.
    env.set_auto_escape_callback(|_| AutoEscape::None);
    // `.strip()`, `.split()`, `.startswith()`, `.items()`, ... on strings, lists and dicts.
    env.set_unknown_method_callback(pymethods::unknown_method);
    // Print values the way Python's `str()` does (None, True, 1.0, ['a']).
    env.set_formatter(|out, _state, value| {
        match value.as_str() {
            Some(s) => out.write_str(s),
            None => {
                let mut s = String::new();
                pyfmt::push_str(&mut s, value);
                out.write_str(&s)
            }
        }
        .map_err(|e| Error::new(ErrorKind::WriteFailure, "cannot write template output").with_source(e))
    });
    // A bound on work (see budget.rs); the output is bounded where the render writes it.
    env.set_fuel(Some(super::budget::FUEL));
    env.add_function("raise_exception", raise_exception);
    env.add_filter("tojson", json::tojson);
    set_clock(&mut env, clock);
    env.add_template_owned(TEMPLATE_NAME, rewrite_generation_tags(source))?;
    Ok(env)
}

/// transformers adds a `{% generation %}...{% endgeneration %}` block (it marks assistant
/// text for training masks) that renders its body unchanged; minijinja has no custom tags.
/// Each such tag becomes `{% if true %}`/`{% endif %}` with the same whitespace-control
/// markers, so trimming and line numbers stay exactly as written.
fn rewrite_generation_tags(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(start) = rest.find("{%") {
        out.push_str(&rest[..start]);
        let tag = &rest[start..];
        match parse_generation_tag(tag) {
            Some((len, open, close, is_end)) => {
                let body = if is_end { " endif " } else { " if true " };
                out.push_str(&format!("{{%{open}{body}{close}%}}"));
                rest = &tag[len..];
            }
            None => {
                out.push_str("{%");
                rest = &tag[2..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// For `{%[-+] [end]generation [-+]%}` at the start of `tag`: its length, the markers after
/// `{%` and before `%}`, and whether it is the end tag.
fn parse_generation_tag(tag: &str) -> Option<(usize, &str, &str, bool)> {
    let after_open = &tag[2..];
    let open = marker(after_open);
    let body = after_open[open.len()..].trim_start();
    let (is_end, after_word) =
        if let Some(r) = body.strip_prefix("endgeneration") { (true, r) } else { (false, body.strip_prefix("generation")?) };
    // The word must end where the tag ends (not `{% generation_x %}`).
    if !after_word.starts_with(|c: char| c.is_whitespace() || matches!(c, '-' | '+' | '%')) {
        return None;
    }
    let after_space = after_word.trim_start();
    let close = marker(after_space);
    let after_close = after_space[close.len()..].strip_prefix("%}")?;
    Some((tag.len() - after_close.len(), open, close, is_end))
}

/// The whitespace-control marker (`-` or `+`) at the start of `s`, or "".
fn marker(s: &str) -> &str {
    if s.starts_with(['-', '+']) { &s[..1] } else { "" }
}

/// (Re)binds `strftime_now(fmt)` to `clock`.
pub fn set_clock(env: &mut Environment<'static>, clock: Clock) {
    env.add_function("strftime_now", move |fmt: &str| -> Result<Value, Error> {
        let now = clock().ok_or_else(|| {
            Error::new(ErrorKind::InvalidOperation, "strftime_now: no clock on this target; supply one with ChatTemplate::with_clock")
        })?;
        strftime(fmt, &CivilTime::from_unix(now))
            .map(Value::from)
            .map_err(|msg| Error::new(ErrorKind::InvalidOperation, format!("strftime_now: {msg}")))
    });
}

/// The error templates raise to reject a conversation (e.g. roles that do not alternate).
/// The message is the template's own, so the caller sees exactly why.
fn raise_exception(message: Value) -> Result<Value, Error> {
    let message = match message.as_str() {
        Some(s) => s.to_string(),
        None => message.to_string(),
    };
    Err(Error::new(ErrorKind::InvalidOperation, format!("{RAISED_PREFIX}{message}")))
}

/// Marks errors that come from `raise_exception` so they can be reported as the template's
/// verdict rather than as an engine failure.
pub const RAISED_PREFIX: &str = "template raised an exception: ";
