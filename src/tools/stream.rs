//! Streaming a reply that may contain tool calls: its content goes out as it is generated, and
//! once the calls start, each call goes out as OpenAI streams `delta.tool_calls`: its name, then
//! its arguments' JSON text piece by piece as the model writes it (`scan.rs`). A stream never
//! shows `<tool_call>` or other call markup as content.

use super::format::ToolFormat;
use super::scan::{CallDelta, CallScanner};

pub struct ToolStream {
    format: ToolFormat,
    text: String,
    /// Bytes of `text` passed on as content so far.
    emitted: usize,
    /// Where the calls start in `text`, once they have.
    calls_at: Option<usize>,
    scanner: CallScanner,
}

/// What a piece of generated text shows: content, and pieces of calls.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Shown {
    pub content: String,
    pub calls: Vec<CallDelta>,
}

impl ToolStream {
    /// `names`: the request's tools (a call naming another is not streamed); `single`:
    /// `parallel_tool_calls: false`.
    pub fn new(format: ToolFormat, names: &[String], single: bool) -> ToolStream {
        ToolStream { format, text: String::new(), emitted: 0, calls_at: None, scanner: CallScanner::new(format, names, single) }
    }

    /// Takes the next piece of generated text; returns what may be shown now.
    pub fn push(&mut self, piece: &str) -> Shown {
        self.text.push_str(piece);
        let mut shown = Shown::default();
        if self.calls_at.is_none() {
            let end = match self.format.calls_start(&self.text) {
                Some(start) if start >= self.emitted => {
                    self.calls_at = Some(start);
                    self.emitted + self.text[self.emitted..start].trim_end().len()
                }
                _ => {
                    let pending = &self.text[self.emitted..];
                    self.text.len() - self.format.held(pending, self.emitted == 0)
                }
            };
            shown.content = self.text[self.emitted..end].to_string();
            self.emitted = end;
        }
        if let Some(start) = self.calls_at {
            self.scanner.feed(&self.text[start..], &mut shown.calls);
        }
        shown
    }

    /// At the end of the reply: the text still held back, unless the reply's calls parsed
    /// (`has_calls`), whose text is not content.
    pub fn finish(&mut self, has_calls: bool) -> String {
        if has_calls {
            return String::new();
        }
        let rest = self.text[self.emitted..].to_string();
        self.emitted = self.text.len();
        rest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(format: ToolFormat, pieces: &[&str], has_calls: bool) -> Vec<String> {
        let mut s = ToolStream::new(format, &["name".to_string()], false);
        let mut out: Vec<String> = pieces.iter().map(|p| s.push(p).content).collect();
        out.push(s.finish(has_calls));
        out
    }

    #[test]
    fn hermes_content_streams_and_the_calls_are_held() {
        let out = stream(ToolFormat::Hermes, &["Let me", " look.", "\n<tool", "_call>\n{\"name\"", "}</tool_call>"], true);
        assert_eq!(out, ["Let me", " look.", "", "", "", ""]);
        // A `<` that turns out not to start a call is passed on once that is clear.
        let out = stream(ToolFormat::Hermes, &["a <", "b", " c"], false);
        assert_eq!(out.concat(), "a <b c");
        assert_eq!(out[0], "a");
        // A bare call object is held too; JSON that is no call comes out at the end.
        assert_eq!(stream(ToolFormat::Hermes, &["{\"name\"", ": 1}"], true).concat(), "");
        assert_eq!(stream(ToolFormat::Hermes, &["{\"a\"", ": 1}"], false), ["", "", "{\"a\": 1}"]);
    }

    #[test]
    fn llama3_holds_a_leading_object_and_streams_text() {
        assert_eq!(stream(ToolFormat::Llama3Json, &[" ", "{\"name\"", ": 1}"], true).concat(), "");
        assert_eq!(stream(ToolFormat::Llama3Json, &[" ", "Hi", " {x}"], false), ["", " Hi", " {x}", ""]);
        // Not a valid call after all: everything comes out at the end.
        assert_eq!(stream(ToolFormat::Llama3Json, &["{oops"], false).concat(), "{oops");
    }

    /// A reply streamed in `pieces`: its content and its calls (name, arguments text) rebuilt
    /// from the deltas as an OpenAI client joins them, checking the deltas' shape on the way.
    fn joined(format: ToolFormat, names: &[&str], single: bool, pieces: &[&str]) -> (String, Vec<(String, String)>) {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut s = ToolStream::new(format, &names, single);
        let (mut content, mut calls) = (String::new(), Vec::<(String, String)>::new());
        for piece in pieces {
            let shown = s.push(piece);
            content += &shown.content;
            for d in shown.calls {
                match d.name {
                    Some(name) => {
                        assert_eq!(d.index, calls.len(), "a call's first delta comes once, in order");
                        assert_eq!(d.arguments, "", "a call's first delta has no arguments yet (as OpenAI's)");
                        calls.push((name, d.arguments));
                    }
                    None => {
                        assert!(!d.arguments.is_empty(), "no empty deltas after the first");
                        calls[d.index].1 += &d.arguments;
                    }
                }
            }
        }
        let whole: String = pieces.concat();
        let (_, parsed) = format.parse(&whole, &names, single);
        content += &s.finish(!parsed.is_empty());
        (content, calls)
    }

    /// Ways to cut `text`: at every char boundary into two, into runs of 1 to 5 chars, and
    /// pseudo-random cuts.
    fn chunkings(text: &str) -> Vec<Vec<&str>> {
        let bounds: Vec<usize> = (0..=text.len()).filter(|&i| text.is_char_boundary(i)).collect();
        let cut = |at: &[usize]| -> Vec<&str> {
            let mut edges = vec![0];
            edges.extend(at.iter().copied().filter(|&i| i > 0 && i < text.len()));
            edges.push(text.len());
            edges.windows(2).map(|w| &text[w[0]..w[1]]).collect()
        };
        let mut out: Vec<Vec<&str>> = bounds.iter().map(|&b| cut(&[b])).collect();
        for run in 1..=5 {
            out.push(cut(&bounds.iter().copied().step_by(run).collect::<Vec<_>>()));
        }
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..50 {
            let at: Vec<usize> = bounds
                .iter()
                .copied()
                .filter(|_| {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    x >> 62 == 0
                })
                .collect();
            out.push(cut(&at));
        }
        out
    }

    /// Every chunking of `text` streams the content and calls the whole-text parse gives.
    fn check(format: ToolFormat, names: &[&str], single: bool, text: &str, want_calls: &[(&str, &str)]) {
        let owned: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let (content, parsed) = format.parse(text, &owned, single);
        let parsed: Vec<(String, String)> = parsed.into_iter().map(|c| (c.name, c.arguments_text)).collect();
        let want: Vec<(String, String)> = want_calls.iter().map(|(n, a)| (n.to_string(), a.to_string())).collect();
        assert_eq!(parsed, want, "whole-text parse of {text:?}");
        for pieces in chunkings(text) {
            let (streamed_content, streamed_calls) = joined(format, names, single, &pieces);
            assert_eq!(streamed_content, content, "content of {pieces:?}");
            assert_eq!(streamed_calls, want, "calls of {pieces:?}");
        }
    }

    #[test]
    fn streamed_call_deltas_join_to_the_whole_reply_parse_in_any_chunking() {
        let h = ToolFormat::Hermes;
        // Escapes, a \u escape, multi-byte UTF-8 (2 and 4 bytes), braces and tags inside
        // strings, nesting, numbers and literals; the second call gives its arguments first.
        let args =
            r#"{"city": "Z\u00fcrich \"old\" }town{ </tool_call>", "note": "café 😀\\", "days": [1, 2.5e3, -3, {"a": null}], "ok": true}"#;
        let text = format!(
            "Let me look.\n<tool_call>\n{{\"name\": \"get_weather\", \"arguments\": {args}}}\n</tool_call>\n<tool_call>\n{{\"arguments\": {{\"tz\": \"UTC\"}}, \"name\": \"now\"}}\n</tool_call>"
        );
        check(h, &["get_weather", "now"], false, &text, &[("get_weather", args), ("now", r#"{"tz": "UTC"}"#)]);
        // A bare object (Qwen2.5-Coder), without arguments: `{}`; a closing tag cut off.
        check(h, &["now"], false, " {\"name\": \"now\"}", &[("now", "{}")]);
        check(h, &["now"], false, "<tool_call>\n{\"name\": \"now\", \"arguments\": {\"x\": 1}}", &[("now", r#"{"x": 1}"#)]);
        // parallel_tool_calls: false: the first call only.
        let two = "<tool_call>\n{\"name\": \"a\", \"arguments\": {}}\n</tool_call>\n<tool_call>\n{\"name\": \"b\", \"arguments\": {}}\n</tool_call>";
        check(h, &["a", "b"], true, two, &[("a", "{}")]);
        check(h, &["a", "b"], false, two, &[("a", "{}"), ("b", "{}")]);
        // Not calls, the reply is content: an unknown tool, JSON that is no call (nothing of
        // them streams as a call); then a key twice, JSON that only serde_json finds broken, and
        // text after the call (their calls streamed before the reply turned out not to be calls).
        for (text, streams_a_call) in [
            ("Hi <tool_call>\n{\"name\": \"rm\", \"arguments\": {}}\n</tool_call>", false),
            ("<tool_call>\n{\"name\": \"now\", \"name\": \"now\"}\n</tool_call>", true),
            ("{\"answer\": 42}", false),
            ("<tool_call>\n{\"name\": \"now\", \"arguments\": {\"x\": 01}}\n</tool_call>", true),
            ("<tool_call>{\"name\": \"now\", \"arguments\": {}}</tool_call> and more", true),
        ] {
            assert_eq!(h.parse(text, &["now".to_string()], false), (text.to_string(), vec![]), "{text}");
            for pieces in chunkings(text) {
                let (content, calls) = joined(h, &["now"], false, &pieces);
                assert_eq!(content, text, "{pieces:?}");
                assert_eq!(!calls.is_empty(), streams_a_call, "{pieces:?}");
            }
        }

        let l = ToolFormat::Llama3Json;
        let p = r#"{"q": "x\\y}", "n": -1.5}"#;
        let text =
            format!("<|python_tag|>{{\"name\": \"a\", \"parameters\": {p}}}; {{\"name\": \"b\", \"parameters\": {{\"s\": \"[{{\"}}}}");
        check(l, &["a", "b"], false, &text, &[("a", p), ("b", r#"{"s": "[{"}"#)]);
        check(l, &["a"], false, " {\"name\": \"a\", \"arguments\": {\"k\": [true]}}", &[("a", r#"{"k": [true]}"#)]);
        assert_eq!(joined(l, &["a"], false, &["The answer ", "is {x}"]), ("The answer is {x}".to_string(), vec![]));
    }
}
