//! Chat templates: the Jinja template a GGUF carries in `tokenizer.chat_template`, rendered
//! with minijinja into the prompt text for a list of OpenAI-style messages.
//!
//! Model authors write and test these templates against Hugging Face transformers'
//! `apply_chat_template` (Python jinja2), so the environment copies that one: trimmed blocks,
//! loop controls, `raise_exception`, `strftime_now`, a `json.dumps`-style `tojson`, Python
//! string methods and Python-style printing. See `env.rs` for the details.

mod budget;
mod clock;
mod env;
mod json;
mod pyfmt;
mod pymethods;

use std::fmt;
use std::sync::Arc;

use minijinja::Environment;
use minijinja::value::{Serde, Value, ValueKind};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::gguf::Metadata;
use crate::tools::{ToolCall, ToolFormat};

pub use clock::Clock;

/// One OpenAI-style chat message. Rendering takes any `Serialize` message type, so a caller
/// that needs the OpenAI "parts" content form (`[{"type": "text", "text": ...}]`, which
/// Gemma 3's template understands) or `tool_calls` can pass its own type or JSON values.
///
/// The tool fields follow OpenAI's messages: an assistant message's `tool_calls` (with
/// `function.arguments` a JSON string, read into an object for the template) and a tool
/// result's `tool_call_id` / `name`. `content: null` (an assistant message that only calls
/// tools) reads as empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ChatMessage {
    pub role: String,
    #[serde(default, deserialize_with = "string_or_null")]
    #[cfg_attr(test, ts(type = "string | null"))]
    pub content: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

fn string_or_null<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

impl ChatMessage {
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        ChatMessage { role: role.into(), content: content.into(), ..Default::default() }
    }
    pub fn system(content: impl Into<String>) -> Self {
        Self::new("system", content)
    }
    pub fn user(content: impl Into<String>) -> Self {
        Self::new("user", content)
    }
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new("assistant", content)
    }
}

/// A compiled chat template with the model's special-token strings.
#[derive(Clone)]
pub struct ChatTemplate {
    env: Environment<'static>,
    bos_token: String,
    eos_token: String,
    /// The tool-call format the template teaches the model, if any.
    tool_format: Option<ToolFormat>,
}

impl fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatTemplate").field("bos_token", &self.bos_token).field("eos_token", &self.eos_token).finish_non_exhaustive()
    }
}

const TEMPLATE_KEY: &str = "tokenizer.chat_template";
const TOKENS_KEY: &str = "tokenizer.ggml.tokens";
const BOS_KEY: &str = "tokenizer.ggml.bos_token_id";
const EOS_KEY: &str = "tokenizer.ggml.eos_token_id";

impl ChatTemplate {
    /// Compiles `source` once. A syntax error is `Error::ChatTemplate` with minijinja's
    /// message and the line.
    pub fn new(source: &str, bos_token: &str, eos_token: &str) -> Result<Self> {
        let env = env::build(source, clock::system_clock())
            .map_err(|e| Error::ChatTemplate(format!("cannot compile the template: {}", describe(&e))))?;
        Ok(ChatTemplate {
            env,
            bos_token: bos_token.to_string(),
            eos_token: eos_token.to_string(),
            tool_format: ToolFormat::detect(source),
        })
    }

    /// The template of a GGUF model, or `None` when the file has no `tokenizer.chat_template`
    /// (base models). `bos_token`/`eos_token` are the token strings at the ids the metadata
    /// names, or empty when it names none.
    pub fn from_gguf(meta: &Metadata) -> Result<Option<Self>> {
        let Some(source) = meta.opt_str(TEMPLATE_KEY)? else {
            return Ok(None);
        };
        Self::with_gguf_tokens(source, meta).map(Some)
    }

    /// `source` (say, a template file for a base model whose GGUF has none) with the GGUF's
    /// `bos_token`/`eos_token` strings, as `from_gguf` would give them.
    pub fn with_gguf_tokens(source: &str, meta: &Metadata) -> Result<Self> {
        let bos = special_token(meta, BOS_KEY)?;
        let eos = special_token(meta, EOS_KEY)?;
        Self::new(source, bos, eos)
    }

    pub fn bos_token(&self) -> &str {
        &self.bos_token
    }

    pub fn eos_token(&self) -> &str {
        &self.eos_token
    }

    /// How this template teaches the model to call tools (see `crate::tools`), if it does.
    pub fn tool_format(&self) -> Option<ToolFormat> {
        self.tool_format
    }

    /// Replaces the clock behind `strftime_now`: `clock()` returns seconds since the Unix
    /// epoch (formatted as UTC), or `None` if no time is available. The browser build needs
    /// this, since wasm32 has no system clock.
    pub fn with_clock(mut self, clock: impl Fn() -> Option<i64> + Send + Sync + 'static) -> Self {
        env::set_clock(&mut self.env, Arc::new(clock));
        self
    }

    /// Freezes `strftime_now` at `unix_seconds` (UTC): reproducible prompts and tests.
    pub fn with_now(self, unix_seconds: i64) -> Self {
        self.with_clock(move || Some(unix_seconds))
    }

    /// Renders the prompt for `messages`; with `add_generation_prompt` it ends with the
    /// header of the assistant's next turn. `tools` is none.
    pub fn render<M: Serialize>(&self, messages: &[M], add_generation_prompt: bool) -> Result<String> {
        self.render_context(Value::from(Serde(messages)), Value::from(()), add_generation_prompt)
    }

    /// Like `render`, with OpenAI-style tool definitions passed to the template as `tools`.
    pub fn render_with_tools<M: Serialize, T: Serialize>(
        &self,
        messages: &[M],
        tools: &[T],
        add_generation_prompt: bool,
    ) -> Result<String> {
        self.render_context(Value::from(Serde(messages)), Value::from(Serde(tools)), add_generation_prompt)
    }

    fn render_context(&self, messages: Value, tools: Value, add_generation_prompt: bool) -> Result<String> {
        for value in [&messages, &tools] {
            if value.kind() == ValueKind::Invalid {
                return Err(Error::ChatTemplate(format!("cannot convert the messages: {value}")));
            }
        }
        let ctx = Value::from_pairs([
            ("messages", messages),
            ("tools", tools),
            ("add_generation_prompt", Value::from(add_generation_prompt)),
            ("bos_token", Value::from(self.bos_token.as_str())),
            ("eos_token", Value::from(self.eos_token.as_str())),
        ]);
        let template = self.env.get_template(env::TEMPLATE_NAME).map_err(|e| Error::ChatTemplate(describe(&e)))?;
        let mut out = budget::CappedOutput::default();
        match template.render_captured_to(ctx, &mut out) {
            Ok(_) => String::from_utf8(out.bytes).map_err(|e| Error::ChatTemplate(format!("the rendered prompt is not UTF-8: {e}"))),
            Err(e) if e.kind() == minijinja::ErrorKind::OutOfFuel => Err(Error::ChatTemplate(format!(
                "the template ran past its budget of {} steps{} (a loop that does not end soon enough, or a string built too large)",
                budget::FUEL,
                e.line().map(|l| format!(" at line {l}")).unwrap_or_default()
            ))),
            Err(_) if out.overflowed => {
                Err(Error::ChatTemplate(format!("the rendered prompt would exceed {} bytes", budget::MAX_OUTPUT_BYTES)))
            }
            Err(e) => Err(Error::ChatTemplate(describe(&e))),
        }
    }
}

/// The string of the special token whose id `key` names; empty when the key is absent.
fn special_token<'a>(meta: &'a Metadata, key: &str) -> Result<&'a str> {
    let Some(id) = meta.opt_u32(key)? else {
        return Ok("");
    };
    let tokens = meta.str_array(TOKENS_KEY)?;
    tokens
        .get(id as usize)
        .map(String::as_str)
        .ok_or_else(|| Error::ChatTemplate(format!("{key} is {id}, but {TOKENS_KEY} has only {} tokens", tokens.len())))
}

/// One line for a minijinja error: what went wrong, where, and why (its cause chain).
/// `raise_exception` messages are shown as the template's own words.
fn describe(e: &minijinja::Error) -> String {
    let mut msg = match e.detail() {
        Some(detail) if detail.starts_with(env::RAISED_PREFIX) => detail.to_string(),
        Some(detail) => format!("{}: {detail}", e.kind()),
        None => e.kind().to_string(),
    };
    if let Some(line) = e.line() {
        msg.push_str(&format!(" (line {line})"));
    }
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        msg.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    msg
}

#[cfg(test)]
mod hostile_tests;
#[cfg(test)]
mod tests;
