//! The tool-call formats Hearth reads, told apart by what the chat template asks of the model:
//!
//! - **Hermes** (Qwen2.5, Qwen3, Hermes, and any template that shows `<tool_call>`): each call
//!   is `<tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>`, after optional text.
//!   A reply that is only the JSON object, without the tags, counts too: Qwen2.5-Coder-0.5B
//!   answers "What is the weather in Paris?" with the bare `{"name": "get_weather", ...}`.
//! - **Llama 3.x JSON** (Llama 3.1 / 3.2 templates: "Respond in the format {\"name\": function
//!   name, \"parameters\": dictionary of argument name and its value}"): the whole reply is
//!   one such object, possibly after `<|python_tag|>`.
//!
//! Templates with neither (SmolLM2, Gemma 3, Phi-3.5) define no format: `tools` is refused
//! there rather than guessed.

use serde_json::{Map, Value, json};

use super::call::ParsedCall;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToolFormat {
    Hermes,
    Llama3Json,
}

const HERMES_OPEN: &str = "<tool_call>";
const HERMES_CLOSE: &str = "</tool_call>";
const PYTHON_TAG: &str = "<|python_tag|>";

impl ToolFormat {
    /// The format a chat template's source describes, if any.
    pub fn detect(template_source: &str) -> Option<ToolFormat> {
        if template_source.contains(HERMES_OPEN) {
            Some(ToolFormat::Hermes)
        } else if template_source.contains("\"parameters\": dictionary of argument name") || template_source.contains(PYTHON_TAG) {
            Some(ToolFormat::Llama3Json)
        } else {
            None
        }
    }

    /// Where a reply's tool calls start: the text before is content. The reply's first
    /// non-space character when it opens a JSON object (or, for Llama 3.x, the python tag);
    /// for Hermes also the first `<tool_call>`.
    pub fn calls_start(self, text: &str) -> Option<usize> {
        let start = text.len() - text.trim_start().len();
        let rest = &text[start..];
        if rest.starts_with('{') || self == ToolFormat::Llama3Json && rest.starts_with(PYTHON_TAG) {
            return Some(start);
        }
        match self {
            ToolFormat::Hermes => text.find(HERMES_OPEN),
            ToolFormat::Llama3Json => None,
        }
    }

    /// How many bytes at the end of `pending` (text not yet streamed, no calls seen) a stream
    /// must hold back because they could still grow into the start of the calls, trailing
    /// whitespace included (the content before calls is trimmed). `at_start`: nothing was
    /// streamed yet (Llama 3.x calls can only start the reply).
    pub fn held(self, pending: &str, at_start: bool) -> usize {
        let t = pending.trim_start();
        let held = if at_start && (t.is_empty() || self == ToolFormat::Llama3Json && PYTHON_TAG.starts_with(t)) {
            pending.len()
        } else if self == ToolFormat::Hermes {
            (1..=pending.len().min(HERMES_OPEN.len()))
                .filter(|&n| pending.is_char_boundary(pending.len() - n) && HERMES_OPEN.starts_with(&pending[pending.len() - n..]))
                .max()
                .unwrap_or(0)
        } else {
            0
        };
        let before = &pending[..pending.len() - held];
        pending.len() - before.trim_end().len()
    }

    /// The reply split into content and calls. Calls that do not parse, or name no tool in
    /// `names`, leave the whole reply as content (the model wrote text, not a call).
    pub fn parse(self, text: &str, names: &[&str]) -> (String, Vec<ParsedCall>) {
        let Some(start) = self.calls_start(text) else { return (text.to_string(), Vec::new()) };
        let calls = match self {
            ToolFormat::Hermes if text[start..].starts_with(HERMES_OPEN) => parse_hermes(&text[start..]),
            ToolFormat::Hermes => parse_json_calls(&text[start..], "arguments"),
            ToolFormat::Llama3Json => parse_json_calls(&text[start..], "parameters"),
        };
        match calls {
            Some(calls) if !calls.is_empty() && calls.iter().all(|c| names.contains(&c.name.as_str())) => {
                (text[..start].trim_end().to_string(), calls)
            }
            _ => (text.to_string(), Vec::new()),
        }
    }

    /// A Lark grammar (llguidance's dialect) for exactly one call of one of `tools` (name,
    /// parameters schema), in this format: what `tool_choice` `required` or a named function
    /// constrains the reply to.
    pub fn grammar(self, tools: &[(&str, &Value)]) -> String {
        let args_key = match self {
            ToolFormat::Hermes => "arguments",
            ToolFormat::Llama3Json => "parameters",
        };
        let variants: Vec<Value> = tools
            .iter()
            .map(|(name, parameters)| {
                json!({
                    "type": "object",
                    "properties": {"name": {"const": name}, args_key: parameters},
                    "required": ["name", args_key],
                    "additionalProperties": false,
                })
            })
            .collect();
        let schema = json!({
            "anyOf": variants,
            // The layout the templates show; fixed whitespace cannot run on for ever.
            "x-guidance": {"whitespace_flexible": false, "item_separator": ", ", "key_separator": ": "},
        });
        match self {
            ToolFormat::Hermes => format!("start: \"{HERMES_OPEN}\\n\" %json {schema} \"\\n{HERMES_CLOSE}\""),
            ToolFormat::Llama3Json => format!("start: %json {schema}"),
        }
    }
}

/// `<tool_call>{json}</tool_call>` blocks, separated by whitespace; `None` if anything else.
fn parse_hermes(mut text: &str) -> Option<Vec<ParsedCall>> {
    let mut calls = Vec::new();
    loop {
        text = text.trim_start();
        if text.is_empty() {
            return Some(calls);
        }
        let body = text.strip_prefix(HERMES_OPEN)?;
        // A reply cut off before its closing tag still counts when its JSON is whole.
        let (inner, rest) = body.split_once(HERMES_CLOSE).unwrap_or((body, ""));
        calls.push(call_from(serde_json::from_str(inner.trim()).ok()?, "arguments")?);
        text = rest;
    }
}

/// One `{"name", "parameters" | "arguments"}` object, or a few separated by `;` (as Llama
/// 3.2 may write), after an optional python tag.
fn parse_json_calls(text: &str, args_key: &str) -> Option<Vec<ParsedCall>> {
    let mut rest = text.trim_start();
    rest = rest.strip_prefix(PYTHON_TAG).unwrap_or(rest);
    let mut calls = Vec::new();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return Some(calls);
        }
        if !calls.is_empty() {
            rest = rest.strip_prefix(';')?.trim_start();
        }
        let mut values = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
        calls.push(call_from(values.next()?.ok()?, args_key)?);
        rest = &rest[values.byte_offset()..];
    }
}

fn call_from(value: Value, args_key: &str) -> Option<ParsedCall> {
    let Value::Object(mut map) = value else { return None };
    let name = map.remove("name")?.as_str()?.to_string();
    let arguments = map.remove(args_key).or_else(|| map.remove("arguments")).unwrap_or(Value::Object(Map::new()));
    arguments.is_object().then_some(ParsedCall { name, arguments })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, arguments: Value) -> ParsedCall {
        ParsedCall { name: name.into(), arguments }
    }

    #[test]
    fn formats_are_detected_from_the_templates() {
        let read = |f: &str| std::fs::read_to_string(format!("tests/fixtures/chat/templates/{f}")).unwrap();
        assert_eq!(ToolFormat::detect(&read("Qwen-Qwen3-0.6B.jinja")), Some(ToolFormat::Hermes));
        assert_eq!(ToolFormat::detect(&read("meta-llama-Llama-3.1-8B-Instruct.jinja")), Some(ToolFormat::Llama3Json));
        assert_eq!(ToolFormat::detect(&read("meta-llama-Llama-3.2-3B-Instruct.jinja")), Some(ToolFormat::Llama3Json));
        assert_eq!(ToolFormat::detect(&read("microsoft-Phi-3.5-mini-instruct.jinja")), None);
        assert_eq!(ToolFormat::detect(&read("HuggingFaceTB-SmolLM3-3B.jinja")), None);
    }

    #[test]
    fn hermes_replies_split_into_content_and_calls() {
        let h = ToolFormat::Hermes;
        let text = "Let me look.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"now\", \"arguments\": {}}\n</tool_call>";
        let (content, calls) = h.parse(text, &["get_weather", "now"]);
        assert_eq!(content, "Let me look.");
        assert_eq!(calls, [call("get_weather", json!({"city": "Paris"})), call("now", json!({}))]);
        // An unknown tool, broken JSON or trailing text: the reply is content.
        for text in [
            "<tool_call>\n{\"name\": \"rm\", \"arguments\": {}}\n</tool_call>",
            "<tool_call>\n{\"name\": \"now\", \"arguments\": {\n</tool_call>",
            "<tool_call>{\"name\": \"now\", \"arguments\": {}}</tool_call> and more",
        ] {
            assert_eq!(h.parse(text, &["get_weather", "now"]), (text.to_string(), vec![]), "{text}");
        }
        assert_eq!(h.parse("Just text.", &["now"]), ("Just text.".to_string(), vec![]));
        // The bare object, as Qwen2.5-Coder-0.5B writes it.
        let bare = " {\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}";
        assert_eq!(h.parse(bare, &["get_weather"]).1, [call("get_weather", json!({"city": "Paris"}))]);
        assert_eq!(h.parse("{\"answer\": 42}", &["get_weather"]).1, vec![]);
    }

    #[test]
    fn llama3_replies_are_one_json_call() {
        let l = ToolFormat::Llama3Json;
        let (content, calls) = l.parse("<|python_tag|>{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Oslo\"}}", &["get_weather"]);
        assert_eq!((content.as_str(), calls), ("", vec![call("get_weather", json!({"city": "Oslo"}))]));
        let (_, calls) = l.parse(" {\"name\": \"a\", \"parameters\": {}}; {\"name\": \"b\", \"arguments\": {\"x\": 1}}", &["a", "b"]);
        assert_eq!(calls, [call("a", json!({})), call("b", json!({"x": 1}))]);
        assert_eq!(l.parse("{\"name\": \"a\", \"parameters\": {}} and text", &["a"]).1, vec![]);
        assert_eq!(l.parse("The answer is {x}", &["a"]).1, vec![]);
    }

    #[test]
    fn streams_hold_back_what_may_start_calls() {
        let h = ToolFormat::Hermes;
        assert_eq!(h.held("Sure <tool", false), " <tool".len());
        assert_eq!(h.held("<", true), 1);
        assert_eq!(h.held("a < b", false), 0);
        assert_eq!(h.held("line\n\n", false), 2);
        assert_eq!(h.held(" \n", true), 2, "a reply may still open with a bare call");
        let l = ToolFormat::Llama3Json;
        assert_eq!(l.held("  ", true), 2);
        assert_eq!(l.held("<|python", true), 8);
        assert_eq!(l.held("Hello", true), 0);
        assert_eq!(l.held("<|python", false), 0);
    }

    #[test]
    fn the_grammar_embeds_one_schema_per_tool() {
        let params = json!({"type": "object", "properties": {"city": {"type": "string"}}});
        let g = ToolFormat::Hermes.grammar(&[("get_weather", &params)]);
        assert!(g.starts_with("start: \"<tool_call>\\n\" %json {") && g.ends_with("\"\\n</tool_call>\""), "{g}");
        assert!(g.contains(r#""name":{"const":"get_weather"}"#) && g.contains(r#""arguments":{"type":"object","properties""#), "{g}");
        assert!(ToolFormat::Llama3Json.grammar(&[("f", &params)]).contains(r#""parameters""#));
    }
}
