//! `SamplingParams`: what the caller asks of the sampler, with OpenAI-style JSON names so the
//! browser API can pass a request body through serde unchanged.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::structured::ResponseFormat;
use crate::{Error, Result};

/// Sampling settings. Every field is optional in JSON (`#[serde(default)]` fills the rest from
/// [`SamplingParams::default`]); unknown fields such as `model` or `messages` are ignored, so a
/// whole OpenAI chat request can be deserialized into this.
///
/// The defaults are greedy and neutral, so that output is reproducible unless sampling is
/// asked for, and raising `temperature` alone gives plain softmax sampling:
///
/// | field | default | meaning of the default |
/// |---|---|---|
/// | `temperature` | 0.0 | greedy (argmax); > 0 samples |
/// | `top_k` | 0 | off (all tokens) |
/// | `top_p` | 1.0 | off |
/// | `min_p` | 0.0 | off |
/// | `repetition_penalty` | 1.0 | off |
/// | `presence_penalty`, `frequency_penalty` | 0.0 | off |
/// | `penalty_last_n` | 64 | window of the penalties (llama.cpp's default) |
/// | `logit_bias` | empty | no bias |
/// | `seed` | none | fresh seed per sampler |
/// | `max_tokens` | 256 | |
/// | `stop`, `stop_token_ids` | empty | |
/// | `logprobs`, `top_logprobs` | false, 0 | no log-probabilities reported |
/// | `response_format` | none | unconstrained text |
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(default)]
pub struct SamplingParams {
    /// Softmax temperature, >= 0. 0 means greedy decoding.
    #[cfg_attr(test, ts(optional = nullable))]
    pub temperature: f32,
    /// Keep only the `top_k` most likely tokens; 0 disables.
    #[cfg_attr(test, ts(optional = nullable))]
    pub top_k: u32,
    /// Nucleus sampling: keep the smallest set of most likely tokens whose probability mass is
    /// at least `top_p`, in (0, 1]; 1 disables.
    #[cfg_attr(test, ts(optional = nullable))]
    pub top_p: f32,
    /// Drop tokens whose probability is below `min_p` times the most likely token's, in [0, 1];
    /// 0 disables.
    #[cfg_attr(test, ts(optional = nullable))]
    pub min_p: f32,
    /// Divides positive logits and multiplies negative logits of recently seen tokens
    /// (CTRL paper, llama.cpp's `repeat_penalty`), > 0; 1 disables.
    #[serde(alias = "repeat_penalty")]
    #[cfg_attr(test, ts(optional = nullable))]
    pub repetition_penalty: f32,
    /// OpenAI: subtracted once from the logit of every recently seen token, in [-2, 2].
    #[cfg_attr(test, ts(optional = nullable))]
    pub presence_penalty: f32,
    /// OpenAI: subtracted per occurrence from the logit of recently seen tokens, in [-2, 2].
    #[cfg_attr(test, ts(optional = nullable))]
    pub frequency_penalty: f32,
    /// The penalties look at the last `penalty_last_n` tokens of the history; 0 disables them.
    #[serde(alias = "repeat_last_n")]
    #[cfg_attr(test, ts(optional = nullable))]
    pub penalty_last_n: u32,
    /// OpenAI's `logit_bias`: token id (a decimal string, as JSON object keys are strings) →
    /// a bias in [-100, 100] added to that token's logit before the penalties. -100 all but
    /// bans a token, 100 all but forces it.
    #[serde(deserialize_with = "map_or_null")]
    #[cfg_attr(test, ts(optional = nullable, type = "Record<string, number>"))]
    pub logit_bias: BTreeMap<String, f32>,
    /// Seed of the random generator; the same seed, parameters and logits give the same tokens.
    #[cfg_attr(test, ts(optional))]
    pub seed: Option<u64>,
    /// Most tokens to generate, >= 1 (enforced by the generation loop, not the sampler).
    #[cfg_attr(test, ts(optional = nullable))]
    pub max_tokens: u32,
    /// Generation stops before any of these strings; OpenAI accepts one string or a list.
    #[serde(deserialize_with = "string_or_list")]
    #[cfg_attr(test, ts(optional = nullable, type = "string | Array<string>"))]
    pub stop: Vec<String>,
    /// Generation stops when one of these tokens is sampled (the token's text is not emitted).
    #[cfg_attr(test, ts(optional = nullable))]
    pub stop_token_ids: Vec<u32>,
    /// OpenAI chat's `logprobs`: report each generated token's log-probability (see
    /// `sample::logprobs` for which distribution that is).
    #[serde(deserialize_with = "bool_or_null")]
    #[cfg_attr(test, ts(optional = nullable))]
    pub logprobs: bool,
    /// OpenAI's `top_logprobs`: also report the `top_logprobs` most likely tokens at each step,
    /// 0 ..= [`MAX_TOP_LOGPROBS`]; needs `logprobs`.
    #[serde(deserialize_with = "u32_or_null")]
    #[cfg_attr(test, ts(optional = nullable))]
    pub top_logprobs: u32,
    /// Structured output, enforced by a token mask every step (see `crate::structured`):
    /// OpenAI's `{type: 'json_object'}` and `{type: 'json_schema', json_schema: {name, schema,
    /// strict}}`, or Hearth's extension `{type: 'grammar', grammar: {syntax: 'lark' | 'regex',
    /// definition}}` (llguidance's Lark dialect, or one regex the whole reply matches). A schema
    /// or grammar that cannot be compiled is an InvalidArgumentError naming the field.
    #[serde(deserialize_with = "response_format")]
    #[cfg_attr(test, ts(optional = nullable))]
    pub response_format: Option<ResponseFormat>,
}

/// The most alternatives `top_logprobs` may ask for (OpenAI's limit).
pub const MAX_TOP_LOGPROBS: u32 = 20;

impl Default for SamplingParams {
    fn default() -> Self {
        SamplingParams {
            temperature: 0.0,
            top_k: 0,
            top_p: 1.0,
            min_p: 0.0,
            repetition_penalty: 1.0,
            presence_penalty: 0.0,
            frequency_penalty: 0.0,
            penalty_last_n: 64,
            logit_bias: BTreeMap::new(),
            seed: None,
            max_tokens: 256,
            stop: Vec::new(),
            stop_token_ids: Vec::new(),
            logprobs: false,
            top_logprobs: 0,
            response_format: None,
        }
    }
}

impl SamplingParams {
    /// Whether the repetition, presence and frequency penalties all leave the logits as they
    /// are (their neutral values), so the penalty window does not matter.
    pub fn penalties_neutral(&self) -> bool {
        self.repetition_penalty == 1.0 && self.presence_penalty == 0.0 && self.frequency_penalty == 0.0
    }

    /// Checks every field against its allowed range; the error names the field, its value and
    /// the range. NaN fails every check because each one is written as "value is inside".
    pub fn validate(&self) -> Result<()> {
        let finite = |x: f32| x.is_finite();
        check("temperature", self.temperature, "a finite number >= 0", finite(self.temperature) && self.temperature >= 0.0)?;
        check("top_p", self.top_p, "(0, 1]", self.top_p > 0.0 && self.top_p <= 1.0)?;
        check("min_p", self.min_p, "[0, 1]", (0.0..=1.0).contains(&self.min_p))?;
        check(
            "repetition_penalty",
            self.repetition_penalty,
            "a finite number > 0",
            finite(self.repetition_penalty) && self.repetition_penalty > 0.0,
        )?;
        check("presence_penalty", self.presence_penalty, "[-2, 2]", (-2.0..=2.0).contains(&self.presence_penalty))?;
        check("frequency_penalty", self.frequency_penalty, "[-2, 2]", (-2.0..=2.0).contains(&self.frequency_penalty))?;
        self.logit_bias_ids()?;
        if self.max_tokens == 0 {
            return Err(Error::InvalidArgument("sampling parameter `max_tokens` is 0, allowed: >= 1".into()));
        }
        if self.top_logprobs > MAX_TOP_LOGPROBS {
            return Err(Error::InvalidArgument(format!(
                "sampling parameter `top_logprobs` is {}, allowed: 0 ..= {MAX_TOP_LOGPROBS}",
                self.top_logprobs
            )));
        }
        if self.top_logprobs > 0 && !self.logprobs {
            return Err(Error::InvalidArgument(format!(
                "sampling parameter `top_logprobs` is {} but `logprobs` is false: set `logprobs: true` to get them",
                self.top_logprobs
            )));
        }
        if let Some(i) = self.stop.iter().position(String::is_empty) {
            return Err(Error::InvalidArgument(format!(
                "sampling parameter `stop[{i}]` is empty, allowed: non-empty strings (an empty stop string would stop at once)"
            )));
        }
        Ok(())
    }
}

impl SamplingParams {
    /// `logit_bias` as (token id, bias) pairs sorted by id, after checking that every key is a
    /// token id written canonically ("42", not "042" or "+42", so two keys cannot name the
    /// same token) and every bias is in [-100, 100]. Whether the ids are inside the
    /// vocabulary is checked by the sampler, which knows its size.
    pub fn logit_bias_ids(&self) -> Result<Vec<(u32, f32)>> {
        let mut ids = Vec::with_capacity(self.logit_bias.len());
        for (key, &bias) in &self.logit_bias {
            let id = key.parse::<u32>().ok().filter(|id| id.to_string() == *key).ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "sampling parameter `logit_bias` has key {key:?}, allowed: token ids written as decimal integers (\"42\")"
                ))
            })?;
            check(&format!("logit_bias[\"{key}\"]"), bias, "[-100, 100]", (-100.0..=100.0).contains(&bias))?;
            ids.push((id, bias));
        }
        ids.sort_unstable_by_key(|&(id, _)| id);
        Ok(ids)
    }
}

fn check(field: &str, value: f32, allowed: &str, ok: bool) -> Result<()> {
    if ok { Ok(()) } else { Err(Error::InvalidArgument(format!("sampling parameter `{field}` is {value}, allowed: {allowed}"))) }
}

/// OpenAI allows `logit_bias: null` for "no bias".
fn map_or_null<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<BTreeMap<String, f32>, D::Error> {
    Ok(Option::<BTreeMap<String, f32>>::deserialize(d)?.unwrap_or_default())
}

/// OpenAI allows `null` for "not asked" on `logprobs` and `top_logprobs`.
fn bool_or_null<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or_default())
}

fn u32_or_null<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<u32, D::Error> {
    Ok(Option::<u32>::deserialize(d)?.unwrap_or_default())
}

/// `response_format`, with a shape error naming the field (serde's alone says only
/// "unknown variant `xml`"). `{"type": "text"}` is no constraint.
fn response_format<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<ResponseFormat>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(d)?;
    let format = value.map(serde_json::from_value).transpose().map_err(|e| serde::de::Error::custom(format!("response_format: {e}")))?;
    Ok(format.filter(|f| *f != ResponseFormat::Text))
}

/// OpenAI's `stop` is either a string or an array of strings (or null).
fn string_or_list<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stop {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<Stop>::deserialize(d)? {
        None => Vec::new(),
        Some(Stop::One(s)) => vec![s],
        Some(Stop::Many(v)) => v,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(p: SamplingParams, field: &str) {
        match p.validate() {
            Err(Error::InvalidArgument(msg)) => {
                assert!(msg.contains(&format!("`{field}")), "{msg}")
            }
            other => panic!("expected InvalidArgument naming {field}, got {other:?}"),
        }
    }

    #[test]
    fn defaults_are_valid_and_greedy() {
        let p = SamplingParams::default();
        p.validate().unwrap();
        assert_eq!(p.temperature, 0.0);
    }

    #[test]
    fn out_of_range_values_are_rejected_naming_the_field() {
        let d = SamplingParams::default;
        rejected(SamplingParams { temperature: -0.1, ..d() }, "temperature");
        rejected(SamplingParams { temperature: f32::NAN, ..d() }, "temperature");
        rejected(SamplingParams { temperature: f32::INFINITY, ..d() }, "temperature");
        rejected(SamplingParams { top_p: 0.0, ..d() }, "top_p");
        rejected(SamplingParams { top_p: 1.01, ..d() }, "top_p");
        rejected(SamplingParams { top_p: f32::NAN, ..d() }, "top_p");
        rejected(SamplingParams { min_p: -0.01, ..d() }, "min_p");
        rejected(SamplingParams { min_p: 1.5, ..d() }, "min_p");
        rejected(SamplingParams { repetition_penalty: 0.0, ..d() }, "repetition_penalty");
        rejected(SamplingParams { repetition_penalty: f32::NAN, ..d() }, "repetition_penalty");
        rejected(SamplingParams { presence_penalty: 2.5, ..d() }, "presence_penalty");
        rejected(SamplingParams { frequency_penalty: -3.0, ..d() }, "frequency_penalty");
        rejected(SamplingParams { frequency_penalty: f32::NAN, ..d() }, "frequency_penalty");
        rejected(SamplingParams { max_tokens: 0, ..d() }, "max_tokens");
        rejected(SamplingParams { stop: vec!["ok".into(), String::new()], ..d() }, "stop[1]");
        rejected(SamplingParams { logprobs: true, top_logprobs: 21, ..d() }, "top_logprobs");
        rejected(SamplingParams { logprobs: false, top_logprobs: 3, ..d() }, "top_logprobs");
    }

    #[test]
    fn logprobs_from_openai_json() {
        let p: SamplingParams = serde_json::from_str(r#"{"logprobs": true, "top_logprobs": 20}"#).unwrap();
        p.validate().unwrap();
        assert!(p.logprobs);
        assert_eq!(p.top_logprobs, 20);
        let p: SamplingParams = serde_json::from_str(r#"{"logprobs": null, "top_logprobs": null}"#).unwrap();
        assert!(!p.logprobs);
        assert_eq!(p.top_logprobs, 0);
        assert!(serde_json::from_str::<SamplingParams>(r#"{"logprobs": 5}"#).is_err());
    }

    #[test]
    fn boundary_values_are_accepted() {
        let p = SamplingParams {
            temperature: 2.0,
            top_p: 1.0,
            min_p: 1.0,
            presence_penalty: -2.0,
            frequency_penalty: 2.0,
            repetition_penalty: 0.5,
            ..SamplingParams::default()
        };
        p.validate().unwrap();
        SamplingParams { top_p: 1e-6, min_p: 0.0, ..p }.validate().unwrap();
    }

    #[test]
    fn openai_json_with_defaults_for_missing_fields() {
        let p: SamplingParams = serde_json::from_str(
            r#"{"model": "x", "messages": [], "temperature": 0.7, "top_p": 0.9, "seed": 42,
                "max_tokens": 10, "stop": "\n\n", "presence_penalty": 0.5}"#,
        )
        .unwrap();
        assert_eq!(p.temperature, 0.7);
        assert_eq!(p.top_p, 0.9);
        assert_eq!(p.seed, Some(42));
        assert_eq!(p.max_tokens, 10);
        assert_eq!(p.stop, vec!["\n\n".to_string()]);
        assert_eq!(p.presence_penalty, 0.5);
        assert_eq!(p.top_k, 0);
        assert_eq!(p.penalty_last_n, 64);

        let p: SamplingParams = serde_json::from_str(r#"{"stop": ["a", "b"], "repeat_penalty": 1.1, "stop_token_ids": [2]}"#).unwrap();
        assert_eq!(p.stop, vec!["a".to_string(), "b".to_string()]);
        assert_eq!(p.repetition_penalty, 1.1);
        assert_eq!(p.stop_token_ids, vec![2]);
        let p: SamplingParams = serde_json::from_str(r#"{"stop": null}"#).unwrap();
        assert!(p.stop.is_empty());
        assert_eq!(serde_json::from_str::<SamplingParams>("{}").unwrap(), SamplingParams::default());
    }

    #[test]
    fn logit_bias_from_openai_json() {
        let p: SamplingParams = serde_json::from_str(r#"{"logit_bias": {"50256": -100, "7": 2.5, "12": 100}}"#).unwrap();
        p.validate().unwrap();
        assert_eq!(p.logit_bias_ids().unwrap(), [(7, 2.5), (12, 100.0), (50256, -100.0)]);
        let p: SamplingParams = serde_json::from_str(r#"{"logit_bias": null}"#).unwrap();
        assert!(p.logit_bias.is_empty());
        assert!(serde_json::from_str::<SamplingParams>("{}").unwrap().logit_bias_ids().unwrap().is_empty());
        // Serializes back to the same shape.
        let p = SamplingParams { logit_bias: BTreeMap::from([("3".to_string(), -1.5)]), ..SamplingParams::default() };
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["logit_bias"], serde_json::json!({"3": -1.5}));
    }

    #[test]
    fn bad_logit_bias_is_rejected_naming_the_field_and_id() {
        let with =
            |key: &str, bias: f32| SamplingParams { logit_bias: BTreeMap::from([(key.to_string(), bias)]), ..SamplingParams::default() };
        let message = |p: SamplingParams| match p.validate() {
            Err(Error::InvalidArgument(msg)) => msg,
            other => panic!("expected InvalidArgument, got {other:?}"),
        };
        let m = message(with("42", 100.5));
        assert!(m.contains("`logit_bias[\"42\"]` is 100.5") && m.contains("[-100, 100]"), "{m}");
        assert!(message(with("42", -101.0)).contains("`logit_bias[\"42\"]`"));
        assert!(message(with("9", f32::NAN)).contains("`logit_bias[\"9\"]` is NaN"));
        for key in ["abc", "-1", "042", "+4", " 4", "4294967296", ""] {
            let m = message(with(key, 1.0));
            assert!(m.contains("`logit_bias` has key") && m.contains(&format!("{key:?}")), "{key}: {m}");
        }
        with("4294967295", -100.0).validate().unwrap();
        // Wrong JSON types fail in serde already.
        assert!(serde_json::from_str::<SamplingParams>(r#"{"logit_bias": {"1": "high"}}"#).is_err());
        assert!(serde_json::from_str::<SamplingParams>(r#"{"logit_bias": [1, 2]}"#).is_err());
    }

    #[test]
    fn response_format_errors_name_the_field() {
        let err = serde_json::from_str::<SamplingParams>(r#"{"response_format": {"type": "xml"}}"#).unwrap_err();
        assert!(err.to_string().starts_with("response_format: unknown variant `xml`"), "{err}");
        let p: SamplingParams = serde_json::from_str(r#"{"response_format": {"type": "text"}}"#).unwrap();
        assert_eq!(p.response_format, None);
        let p: SamplingParams = serde_json::from_str(r#"{"response_format": {"type": "json_object"}}"#).unwrap();
        assert_eq!(p.response_format, Some(ResponseFormat::JsonObject));
    }

    #[test]
    fn wrong_json_types_are_errors() {
        assert!(serde_json::from_str::<SamplingParams>(r#"{"temperature": "hot"}"#).is_err());
        assert!(serde_json::from_str::<SamplingParams>(r#"{"top_k": -1}"#).is_err());
        assert!(serde_json::from_str::<SamplingParams>(r#"{"stop": 3}"#).is_err());
    }
}
