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
use super::scan::CallScanner;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToolFormat {
    Hermes,
    Llama3Json,
}

pub(super) const HERMES_OPEN: &str = "<tool_call>";
pub(super) const HERMES_CLOSE: &str = "</tool_call>";
pub(super) const PYTHON_TAG: &str = "<|python_tag|>";

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

    /// The key of a call's arguments object in this format (`arguments` is read in both).
    pub fn arguments_key(self) -> &'static str {
        match self {
            ToolFormat::Hermes => "arguments",
            ToolFormat::Llama3Json => "parameters",
        }
    }

    /// The reply split into content and calls. Calls that do not parse, or name no tool in
    /// `names`, leave the whole reply as content (the model wrote text, not a call). `single`
    /// (`parallel_tool_calls: false`): the first call is the reply's only one; what follows it
    /// is neither content nor calls.
    ///
    /// The calls' text is read by the same scanner that streams them (`scan.rs`), so a
    /// streamed reply's pieces join to these calls; each call object must also parse as JSON
    /// (serde_json) to the same name and arguments, or the reply is content.
    pub fn parse(self, text: &str, names: &[String], single: bool) -> (String, Vec<ParsedCall>) {
        let not_calls = || (text.to_string(), Vec::new());
        let Some(start) = self.calls_start(text) else { return not_calls() };
        let region = &text[start..];
        let mut scanner = CallScanner::new(self, names, single);
        scanner.feed(region, &mut Vec::new());
        let Some(scanned) = scanner.finish(region) else { return not_calls() };
        let mut calls = Vec::with_capacity(scanned.len());
        for s in scanned {
            let call = serde_json::from_str(&region[s.object.clone()]).ok().and_then(|v| call_from(v, self.arguments_key()));
            let arguments = serde_json::from_str::<Value>(&s.arguments).ok();
            match call {
                Some(c) if c.name == s.name && Some(&c.arguments) == arguments.as_ref() => {
                    calls.push(ParsedCall { arguments_text: s.arguments.clone(), ..c });
                }
                _ => return not_calls(),
            }
        }
        (text[..start].trim_end().to_string(), calls)
    }

    /// A Lark grammar (llguidance's dialect) for exactly one call of one of `tools` (name,
    /// parameters schema), in this format: what `tool_choice` `required` or a named function
    /// constrains the reply to.
    pub fn grammar(self, tools: &[(&str, &Value)]) -> String {
        let args_key = self.arguments_key();
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

/// A call object's name and arguments (`arguments_text` is left for the scanner's).
fn call_from(value: Value, args_key: &str) -> Option<ParsedCall> {
    let Value::Object(mut map) = value else { return None };
    let name = map.remove("name")?.as_str()?.to_string();
    let arguments = map.remove(args_key).or_else(|| map.remove("arguments")).unwrap_or(Value::Object(Map::new()));
    arguments.is_object().then_some(ParsedCall { name, arguments, arguments_text: String::new() })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A call with its arguments' text as written.
    fn call(name: &str, arguments: &str) -> ParsedCall {
        ParsedCall { name: name.into(), arguments: serde_json::from_str(arguments).unwrap(), arguments_text: arguments.into() }
    }

    impl ToolFormat {
        fn parse_with(self, text: &str, names: &[&str]) -> (String, Vec<ParsedCall>) {
            self.parse(text, &names.iter().map(|n| n.to_string()).collect::<Vec<_>>(), false)
        }
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
        let (content, calls) = h.parse_with(text, &["get_weather", "now"]);
        assert_eq!(content, "Let me look.");
        assert_eq!(calls, [call("get_weather", r#"{"city": "Paris"}"#), call("now", "{}")]);
        // An unknown tool, broken JSON or trailing text: the reply is content.
        for text in [
            "<tool_call>\n{\"name\": \"rm\", \"arguments\": {}}\n</tool_call>",
            "<tool_call>\n{\"name\": \"now\", \"arguments\": {\n</tool_call>",
            "<tool_call>{\"name\": \"now\", \"arguments\": {}}</tool_call> and more",
        ] {
            assert_eq!(h.parse_with(text, &["get_weather", "now"]), (text.to_string(), vec![]), "{text}");
        }
        assert_eq!(h.parse_with("Just text.", &["now"]), ("Just text.".to_string(), vec![]));
        // The bare object, as Qwen2.5-Coder-0.5B writes it.
        let bare = " {\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}";
        assert_eq!(h.parse_with(bare, &["get_weather"]).1, [call("get_weather", r#"{"city": "Paris"}"#)]);
        assert_eq!(h.parse_with("{\"answer\": 42}", &["get_weather"]).1, vec![]);
    }

    #[test]
    fn llama3_replies_are_one_json_call() {
        let l = ToolFormat::Llama3Json;
        let (content, calls) =
            l.parse_with("<|python_tag|>{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Oslo\"}}", &["get_weather"]);
        assert_eq!((content.as_str(), calls), ("", vec![call("get_weather", r#"{"city": "Oslo"}"#)]));
        let (_, calls) = l.parse_with(" {\"name\": \"a\", \"parameters\": {}}; {\"name\": \"b\", \"arguments\": {\"x\": 1}}", &["a", "b"]);
        assert_eq!(calls, [call("a", "{}"), call("b", r#"{"x": 1}"#)]);
        assert_eq!(l.parse_with("{\"name\": \"a\", \"parameters\": {}} and text", &["a"]).1, vec![]);
        assert_eq!(l.parse_with("The answer is {x}", &["a"]).1, vec![]);
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
