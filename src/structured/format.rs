//! `response_format`, as OpenAI's chat API spells it, plus a `grammar` type of Hearth's own:
//!
//! ```json
//! {"type": "text"}
//! {"type": "json_object"}
//! {"type": "json_schema", "json_schema": {"name": "...", "schema": {...}, "strict": true}}
//! {"type": "grammar", "grammar": {"syntax": "lark" | "regex", "definition": "..."}}
//! ```
//!
//! The grammar shape is that of OpenAI's custom tools (`format: {type: "grammar", syntax,
//! definition}`): Lark as llguidance reads it (with `%json` for embedded schemas), or one
//! regular expression the whole reply must match.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{Error, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ResponseFormat {
    /// No constraint (OpenAI's default).
    Text,
    /// Any JSON object.
    JsonObject,
    /// JSON that validates against `json_schema.schema`.
    JsonSchema { json_schema: JsonSchemaFormat },
    /// Hearth's extension: text matching a Lark grammar or a regex.
    Grammar { grammar: GrammarFormat },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct JsonSchemaFormat {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[cfg_attr(test, ts(type = "object | boolean"))]
    pub schema: Value,
    /// OpenAI's flag; Hearth always enforces the schema, and a schema it cannot enforce
    /// (an unsupported keyword) is refused either way rather than half-followed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct GrammarFormat {
    pub syntax: GrammarSyntax,
    pub definition: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum GrammarSyntax {
    Lark,
    Regex,
}

/// Separators llguidance writes between items and after keys: OpenAI's and Python's
/// `json.dumps` style. Fixed rather than "flexible" whitespace, because a model free to emit
/// whitespace can emit it until `max_tokens` (a known failure of JSON modes); a schema's own
/// `x-guidance` options win.
const JSON_LAYOUT: &str = r#"{"whitespace_flexible": false, "item_separator": ", ", "key_separator": ": "}"#;

impl ResponseFormat {
    /// The llguidance grammar for this format, `None` for plain text. Errors name the field.
    pub(super) fn grammar(&self) -> Result<Option<llguidance::api::TopLevelGrammar>> {
        use llguidance::api::TopLevelGrammar;
        Ok(Some(match self {
            ResponseFormat::Text => return Ok(None),
            ResponseFormat::JsonObject => TopLevelGrammar::from_json_schema(with_layout(json!({"type": "object"}))),
            ResponseFormat::JsonSchema { json_schema } => {
                if !json_schema.schema.is_object() && !json_schema.schema.is_boolean() {
                    return Err(Error::InvalidArgument(format!(
                        "response_format.json_schema.schema must be a JSON Schema object, not {}",
                        json_schema.schema
                    )));
                }
                TopLevelGrammar::from_json_schema(with_layout(json_schema.schema.clone()))
            }
            ResponseFormat::Grammar { grammar } => {
                if grammar.definition.is_empty() {
                    return Err(Error::InvalidArgument("response_format.grammar.definition is empty".into()));
                }
                match grammar.syntax {
                    GrammarSyntax::Lark => TopLevelGrammar::from_lark(grammar.definition.clone()),
                    GrammarSyntax::Regex => TopLevelGrammar::from_regex(&grammar.definition),
                }
            }
        }))
    }

    /// The request field an error of this format's grammar is about.
    pub(super) fn field(&self) -> &'static str {
        match self {
            ResponseFormat::Text | ResponseFormat::JsonObject => "response_format",
            ResponseFormat::JsonSchema { .. } => "response_format.json_schema.schema",
            ResponseFormat::Grammar { .. } => "response_format.grammar.definition",
        }
    }
}

/// The schema with Hearth's JSON layout unless it sets `x-guidance` itself.
fn with_layout(mut schema: Value) -> Value {
    if let Value::Bool(b) = schema {
        // `true`/`false` schemas: as objects, to carry the options.
        schema = if b { json!({}) } else { json!({"not": {}}) };
    }
    if let Value::Object(map) = &mut schema {
        map.entry("x-guidance").or_insert_with(|| serde_json::from_str(JSON_LAYOUT).expect("valid JSON"));
    }
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_shapes_deserialize() {
        let f: ResponseFormat = serde_json::from_str(r#"{"type": "json_object"}"#).unwrap();
        assert_eq!(f, ResponseFormat::JsonObject);
        let f: ResponseFormat =
            serde_json::from_str(r#"{"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "integer"}, "strict": true}}"#)
                .unwrap();
        assert!(matches!(f, ResponseFormat::JsonSchema { json_schema } if json_schema.strict == Some(true)));
        let f: ResponseFormat =
            serde_json::from_str(r#"{"type": "grammar", "grammar": {"syntax": "regex", "definition": "[0-9]+"}}"#).unwrap();
        assert_eq!(f.field(), "response_format.grammar.definition");
        for bad in [
            r#"{"type": "xml"}"#,
            r#"{"type": "json_schema"}"#,
            r#"{"type": "grammar", "grammar": {"syntax": "gbnf", "definition": "root ::= x"}}"#,
        ] {
            assert!(serde_json::from_str::<ResponseFormat>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_layout_is_added_unless_the_schema_sets_its_own() {
        let s = with_layout(json!({"type": "object"}));
        assert_eq!(s["x-guidance"]["item_separator"], ", ");
        let own = json!({"type": "object", "x-guidance": {"whitespace_flexible": true}});
        assert_eq!(with_layout(own.clone()), own);
    }
}
