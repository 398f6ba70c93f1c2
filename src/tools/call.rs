//! A tool call as it appears in a conversation (an assistant message's `tool_calls`) and as
//! a reply returns it.
//!
//! OpenAI sends `function.arguments` as a JSON *string*; chat templates are written for
//! transformers, where it is an object (`tool_call.arguments | tojson`). Hearth parses the
//! string when the message is read, so every template renders the object (vLLM does the same).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// One call in an assistant message of the conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ToolCall {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "type", default = "function_type")]
    #[cfg_attr(test, ts(type = "\"function\""))]
    pub kind: String,
    pub function: FunctionCall,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct FunctionCall {
    pub name: String,
    /// The arguments object (from OpenAI's JSON string, or an object as given).
    #[serde(deserialize_with = "arguments_object")]
    #[cfg_attr(test, ts(type = "string | Record<string, unknown>"))]
    pub arguments: Value,
}

fn function_type() -> String {
    "function".to_string()
}

/// A JSON string is parsed (OpenAI's form); an object is taken as it is (transformers' form).
fn arguments_object<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => serde_json::from_str(&s)
            .map_err(|e| serde::de::Error::custom(format!("tool_calls[].function.arguments is not a JSON object: {e}: {s:?}"))),
        v @ Value::Object(_) => Ok(v),
        other => Err(serde::de::Error::custom(format!("tool_calls[].function.arguments must be a JSON string or object, not {other}"))),
    }
}

/// A call parsed from a model's reply: the tool's name and its arguments object.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ParsedCall {
    pub name: String,
    pub arguments: Value,
    /// The arguments' JSON text as the model wrote it: what OpenAI's `function.arguments`
    /// string carries, and what a stream sends piece by piece.
    #[serde(skip)]
    pub arguments_text: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_string_arguments_become_an_object() {
        let c: ToolCall = serde_json::from_str(
            r#"{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"city\": \"Zürich\"}"}}"#,
        )
        .unwrap();
        assert_eq!(c.function.arguments, serde_json::json!({"city": "Zürich"}));
        // Serialized for the template without a missing id.
        let c: ToolCall = serde_json::from_str(r#"{"function": {"name": "f", "arguments": {"a": 1}}}"#).unwrap();
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            serde_json::json!({"type": "function", "function": {"name": "f", "arguments": {"a": 1}}})
        );
        for bad in [r#"{"function": {"name": "f", "arguments": "{not json"}}"#, r#"{"function": {"name": "f", "arguments": 3}}"#] {
            let e = serde_json::from_str::<ToolCall>(bad).unwrap_err().to_string();
            assert!(e.contains("tool_calls[].function.arguments"), "{e}");
        }
    }
}
