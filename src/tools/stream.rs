//! Streaming a reply that may contain tool calls: its content goes out as it is generated,
//! the calls do not (they are returned whole when the reply ends, as OpenAI's `tool_calls`
//! deltas), so a stream never shows `<tool_call>` text that the final reply leaves out.

use super::format::ToolFormat;

pub struct ToolStream {
    format: ToolFormat,
    text: String,
    /// Bytes of `text` passed on so far.
    emitted: usize,
    /// The calls have started: nothing more is passed on.
    in_calls: bool,
}

impl ToolStream {
    pub fn new(format: ToolFormat) -> ToolStream {
        ToolStream { format, text: String::new(), emitted: 0, in_calls: false }
    }

    /// Takes the next piece of generated text; returns what may be shown now.
    pub fn push(&mut self, piece: &str) -> String {
        self.text.push_str(piece);
        if self.in_calls {
            return String::new();
        }
        let end = match self.format.calls_start(&self.text) {
            Some(start) if start >= self.emitted => {
                self.in_calls = true;
                self.emitted + self.text[self.emitted..start].trim_end().len()
            }
            _ => {
                let pending = &self.text[self.emitted..];
                self.text.len() - self.format.held(pending, self.emitted == 0)
            }
        };
        let out = self.text[self.emitted..end].to_string();
        self.emitted = end;
        out
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
        let mut s = ToolStream::new(format);
        let mut out: Vec<String> = pieces.iter().map(|p| s.push(p)).collect();
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
}
