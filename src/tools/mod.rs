//! Tool calling: OpenAI's `tools` and `tool_choice` on a chat request.
//!
//! The model's own chat template renders the tools and the conversation's earlier calls
//! (`tool_calls` of assistant messages, `role: "tool"` results); the reply is parsed for calls
//! in the format that template teaches (`format.rs`: Hermes `<tool_call>` JSON or Llama 3.x
//! JSON), and with `tool_choice` `required` or a named function the reply is constrained to
//! one such call by the structured-output engine (a Lark grammar embedding each tool's
//! parameters schema). Streams show the content as it comes and each call as OpenAI streams
//! it, its name and then its arguments piece by piece (`stream.rs`, `scan.rs`).
//!
//! `tool_choice: "none"` renders no tools and parses nothing: the reply is plain text.

mod call;
mod format;
mod scan;
mod stream;

use serde::Deserialize;
use serde_json::Value;

pub use call::{FunctionCall, ParsedCall, ToolCall};
pub use format::ToolFormat;
pub use scan::CallDelta;
pub use stream::{Shown, ToolStream};

use crate::chat::ChatTemplate;
use crate::structured::{GrammarFormat, GrammarSyntax, ResponseFormat};
use crate::{Error, Result};

/// The tool fields of a chat request, as OpenAI's JSON has them.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ToolRequest {
    #[serde(default)]
    #[cfg_attr(test, ts(optional, type = "Array<unknown>"))]
    pub tools: Option<Vec<Value>>,
    #[serde(default)]
    #[cfg_attr(test, ts(optional, type = "unknown"))]
    pub tool_choice: Option<Value>,
    /// OpenAI's flag; `false`: the reply makes at most one call (the first; reading stops there).
    #[serde(default)]
    #[cfg_attr(test, ts(optional))]
    pub parallel_tool_calls: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToolChoice {
    Auto,
    None,
    Required,
    Function(String),
}

/// A request's tools, checked, with the template's format: what the generation needs.
#[derive(Clone, Debug)]
pub struct ToolUse {
    format: ToolFormat,
    /// The tools as given: the template renders them unchanged.
    tools: Vec<Value>,
    names: Vec<String>,
    choice: ToolChoice,
    /// `parallel_tool_calls: false`.
    single: bool,
}

impl ToolRequest {
    /// The tool use this request asks for, `None` without tools or with `tool_choice: "none"`.
    /// Errors (`InvalidArgument`) name the field: a tool without a name, a duplicate name, a
    /// named choice that is no tool, or a template that defines no tool-call format.
    pub fn resolve(&self, template: Option<&ChatTemplate>) -> Result<Option<ToolUse>> {
        let choice = self.choice()?;
        let tools = self.tools.as_deref().unwrap_or_default();
        if tools.is_empty() {
            return match choice {
                ToolChoice::Auto | ToolChoice::None => Ok(None),
                _ => Err(invalid("tool_choice asks for a tool call, but the request has no tools")),
            };
        }
        let mut names = Vec::new();
        for (i, tool) in tools.iter().enumerate() {
            let name = check_tool(tool).map_err(|m| invalid(&format!("tools[{i}]{m}")))?;
            if names.contains(&name) {
                return Err(invalid(&format!("tools[{i}].function.name {name:?} is given twice")));
            }
            names.push(name);
        }
        if let ToolChoice::Function(name) = &choice {
            if !names.contains(name) {
                return Err(invalid(&format!("tool_choice names the function {name:?}, which is not in tools")));
            }
        }
        if choice == ToolChoice::None {
            return Ok(None);
        }
        let template = template.ok_or_else(|| invalid("tools need a chat template, and this model has none"))?;
        let format = template.tool_format().ok_or_else(|| {
            invalid(
                "tools: this model's chat template defines no tool-call format (Hermes <tool_call> or Llama 3.x JSON); \
                 load it with a chatTemplate that does",
            )
        })?;
        let single = self.parallel_tool_calls == Some(false);
        Ok(Some(ToolUse { format, tools: tools.to_vec(), names, choice, single }))
    }

    fn choice(&self) -> Result<ToolChoice> {
        Ok(match &self.tool_choice {
            None | Some(Value::Null) => ToolChoice::Auto,
            Some(Value::String(s)) => match s.as_str() {
                "auto" => ToolChoice::Auto,
                "none" => ToolChoice::None,
                "required" => ToolChoice::Required,
                other => {
                    return Err(invalid(&format!(
                        "tool_choice {other:?}: allowed are \"auto\", \"none\", \"required\" or {{type: \"function\", function: {{name}}}}"
                    )));
                }
            },
            Some(v) => match v.pointer("/function/name").and_then(Value::as_str) {
                Some(name) if v.get("type").and_then(Value::as_str) == Some("function") => ToolChoice::Function(name.to_string()),
                _ => return Err(invalid(&format!("tool_choice {v}: a named choice is {{type: \"function\", function: {{name}}}}"))),
            },
        })
    }
}

/// A tool's name, after checking its shape (the error is the field path after `tools[i]`).
fn check_tool(tool: &Value) -> std::result::Result<String, String> {
    if tool.get("type").and_then(Value::as_str) != Some("function") {
        return Err(".type must be \"function\"".into());
    }
    let name = tool.pointer("/function/name").and_then(Value::as_str).ok_or(".function.name is missing")?;
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(format!(".function.name {name:?} must be letters, digits, _ or - (as OpenAI's)"));
    }
    match tool.pointer("/function/parameters") {
        None | Some(Value::Object(_)) => Ok(name.to_string()),
        Some(other) => Err(format!(".function.parameters must be a JSON Schema object, not {other}")),
    }
}

fn invalid(message: &str) -> Error {
    Error::InvalidArgument(message.to_string())
}

impl ToolUse {
    /// The tools for the chat template's `tools` variable.
    pub fn tools(&self) -> &[Value] {
        &self.tools
    }

    pub fn choice(&self) -> &ToolChoice {
        &self.choice
    }

    pub fn format(&self) -> ToolFormat {
        self.format
    }

    /// The constraint `required` or a named function puts on the reply (one call), else
    /// `None`. A request's own `response_format` cannot be combined with it.
    pub fn response_format(&self, requested: Option<&ResponseFormat>) -> Result<Option<ResponseFormat>> {
        let only = match &self.choice {
            ToolChoice::Required => None,
            ToolChoice::Function(name) => Some(name),
            _ => return Ok(None),
        };
        if requested.is_some() {
            return Err(invalid("response_format cannot be combined with tool_choice \"required\" or a named function"));
        }
        let object = Value::Object(Default::default());
        let tools: Vec<(&str, &Value)> = self
            .tools
            .iter()
            .zip(&self.names)
            .filter(|(_, name)| only.is_none_or(|o| o == *name))
            .map(|(tool, name)| (name.as_str(), tool.pointer("/function/parameters").unwrap_or(&object)))
            .collect();
        let definition = self.format.grammar(&tools);
        Ok(Some(ResponseFormat::Grammar { grammar: GrammarFormat { syntax: GrammarSyntax::Lark, definition } }))
    }

    pub fn stream(&self) -> ToolStream {
        ToolStream::new(self.format, &self.names, self.single)
    }

    /// The reply's content and its calls (none unless they parse and name given tools).
    pub fn parse(&self, text: &str) -> (String, Vec<ParsedCall>) {
        self.format.parse(text, &self.names, self.single)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(tools: Value, tool_choice: Value) -> ToolRequest {
        serde_json::from_value(json!({"tools": tools, "tool_choice": tool_choice})).unwrap()
    }

    fn weather() -> Value {
        json!([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}])
    }

    fn hermes() -> ChatTemplate {
        ChatTemplate::new("{{ '<tool_call>' }}", "", "").unwrap()
    }

    fn error(r: Result<Option<ToolUse>>) -> String {
        match r {
            Err(Error::InvalidArgument(m)) => m,
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
    }

    #[test]
    fn choices_resolve_and_bad_requests_name_the_field() {
        let t = hermes();
        let named = request(weather(), json!({"type": "function", "function": {"name": "get_weather"}}));
        let use_ = named.resolve(Some(&t)).unwrap().unwrap();
        assert_eq!(use_.choice(), &ToolChoice::Function("get_weather".into()));
        let Some(ResponseFormat::Grammar { grammar }) = use_.response_format(None).unwrap() else { panic!() };
        assert!(grammar.definition.contains("get_weather"));
        assert!(use_.response_format(Some(&ResponseFormat::JsonObject)).is_err());
        assert!(request(weather(), json!("none")).resolve(Some(&t)).unwrap().is_none());
        assert!(request(weather(), json!("auto")).resolve(Some(&t)).unwrap().unwrap().response_format(None).unwrap().is_none());
        assert!(request(json!([]), json!(null)).resolve(Some(&t)).unwrap().is_none());

        assert!(error(request(json!([]), json!("required")).resolve(Some(&t))).starts_with("tool_choice"));
        assert!(error(request(weather(), json!("sometimes")).resolve(Some(&t))).starts_with("tool_choice \"sometimes\""));
        assert!(error(request(weather(), json!({"type": "function", "function": {"name": "x"}})).resolve(Some(&t))).contains("\"x\""));
        assert!(error(request(json!([{"type": "function"}]), json!(null)).resolve(Some(&t))).starts_with("tools[0].function.name"));
        assert!(error(request(json!([{"type": "code"}]), json!(null)).resolve(Some(&t))).starts_with("tools[0].type"));
        let twice = json!([weather()[0], weather()[0]]);
        assert!(error(request(twice, json!(null)).resolve(Some(&t))).starts_with("tools[1].function.name"));
        let bad_params = json!([{"type": "function", "function": {"name": "f", "parameters": "x"}}]);
        assert!(error(request(bad_params, json!(null)).resolve(Some(&t))).starts_with("tools[0].function.parameters"));
        let plain = ChatTemplate::new("{{ messages }}", "", "").unwrap();
        assert!(error(request(weather(), json!(null)).resolve(Some(&plain))).contains("defines no tool-call format"));
        assert!(error(request(weather(), json!(null)).resolve(None)).contains("need a chat template"));
    }
}
