//! Reading a reply's tool calls as the model writes them. The scanner takes the calls' text
//! (from where `ToolFormat::calls_start` says they begin) in pieces of any size and reports each
//! call as OpenAI streams it: a first piece with the call's name once the name has been read
//! (and is one of the tools), then the `arguments` JSON text as it arrives, verbatim, so the
//! pieces join to exactly the text the whole reply's parse returns.
//!
//! It tracks only JSON's structure (strings, escapes, nesting) and the call markup; whether each
//! call object is valid JSON is left to serde_json when the reply is parsed whole
//! (`ToolFormat::parse`), which also checks that the two readings agree.

use super::format::{HERMES_CLOSE, HERMES_OPEN, PYTHON_TAG, ToolFormat};

/// A piece of one call, as OpenAI's streamed `delta.tool_calls[]` carries it: a call's first
/// piece has its `name` and empty `arguments`, later ones more `arguments`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallDelta {
    pub index: usize,
    pub name: Option<String>,
    pub arguments: String,
}

/// A call read whole: its name, its arguments' JSON text and where its object is in the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScannedCall {
    pub name: String,
    pub arguments: String,
    pub object: std::ops::Range<usize>,
}

pub struct CallScanner {
    format: ToolFormat,
    names: Vec<String>,
    /// `parallel_tool_calls: false`: nothing after the first call is read.
    single: bool,
    /// Bytes of the text consumed.
    pos: usize,
    at: At,
    /// Hermes calls in `<tool_call>` tags (not a bare object).
    tagged: bool,
    calls: Vec<ScannedCall>,
    call: Call,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum At {
    /// Before a call's object (`first`: no call read yet, so markup may open the calls).
    Before { first: bool },
    /// Inside a call's object.
    Object(Obj),
    /// Tagged Hermes: after a call's object, before `</tool_call>`.
    Close,
    /// After a call: another may follow (`<tool_call>`, or `;` between JSON calls).
    After,
    /// `parallel_tool_calls: false` and the first call is read: the rest is not looked at.
    Done,
    /// The text is not tool calls.
    Failed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Obj {
    /// After `{` (`end`: `}` may close it) or after `,`.
    Key {
        end: bool,
    },
    /// Inside a key's string.
    KeyString,
    Colon,
    /// Before a value, or inside one (`Call::value` tracks it).
    Value {
        started: bool,
    },
    CommaOrEnd,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Name,
    Arguments,
    Other,
}

/// The call being read.
#[derive(Default)]
struct Call {
    /// Where its object starts in the text.
    start: usize,
    /// The key or name string being read, as written (decoded by serde_json when it ends).
    raw: String,
    field: Option<Field>,
    value: ValueScan,
    name: Option<String>,
    /// The arguments' JSON text read so far, verbatim; `has_arguments`: their key was seen.
    arguments: String,
    has_arguments: bool,
    /// The first piece (with the name) has gone out; `sent`: bytes of `arguments` sent.
    announced: bool,
    sent: usize,
}

impl CallScanner {
    pub fn new(format: ToolFormat, names: &[String], single: bool) -> CallScanner {
        CallScanner {
            format,
            names: names.to_vec(),
            single,
            pos: 0,
            at: At::Before { first: true },
            tagged: false,
            calls: Vec::new(),
            call: Call::default(),
        }
    }

    /// Reads `text` (everything so far: each call passes the text of the last one and more)
    /// as far as it can decide, and appends the calls' new pieces to `out`.
    pub fn feed(&mut self, text: &str, out: &mut Vec<CallDelta>) {
        while self.pos < text.len() && !matches!(self.at, At::Done | At::Failed) {
            let rest = &text[self.pos..];
            let Some(c) = rest.chars().next() else { return };
            match self.step(rest, c, out) {
                Some(0) => return, // more text is needed to decide
                Some(n) => self.pos += n,
                None => self.at = At::Failed,
            }
        }
    }

    /// The calls read, when the text read so far ends where calls may end (the last call whole,
    /// at most its closing tag missing), else `None`: the text is not (only) tool calls.
    pub fn finish(&self, text: &str) -> Option<&[ScannedCall]> {
        let whole = self.pos == text.len() || self.at == At::Done;
        let at_end = matches!(self.at, At::After | At::Close | At::Done);
        (whole && at_end && !self.calls.is_empty()).then_some(&self.calls)
    }

    /// Handles the text at `rest` (its first char `c`): the bytes consumed (0: wait for more),
    /// or `None` when it cannot be tool calls.
    fn step(&mut self, rest: &str, c: char, out: &mut Vec<CallDelta>) -> Option<usize> {
        let skip_space = !matches!(self.at, At::Object(Obj::KeyString | Obj::Value { started: true }));
        if skip_space && c.is_whitespace() {
            return Some(c.len_utf8());
        }
        match self.at {
            At::Before { first } => {
                if first && c == '<' {
                    let tag = match self.format {
                        ToolFormat::Hermes => HERMES_OPEN,
                        ToolFormat::Llama3Json => PYTHON_TAG,
                    };
                    self.tagged = self.format == ToolFormat::Hermes;
                    return self.markup(rest, tag, At::Before { first: false });
                }
                if c != '{' {
                    return None;
                }
                self.call = Call { start: self.pos, ..Call::default() };
                self.at = At::Object(Obj::Key { end: true });
                Some(1)
            }
            At::Close => self.markup(rest, HERMES_CLOSE, At::After),
            At::After if self.tagged => self.markup(rest, HERMES_OPEN, At::Before { first: false }),
            At::After => (c == ';').then(|| {
                self.at = At::Before { first: false };
                1
            }),
            At::Object(obj) => self.object(obj, c, out),
            At::Done | At::Failed => None,
        }
    }

    /// Consumes the markup `lit` at `rest` and moves on to `next`; 0 while `rest` may still grow
    /// into it.
    fn markup(&mut self, rest: &str, lit: &str, next: At) -> Option<usize> {
        let n = literal(rest, lit)?;
        if n > 0 {
            self.at = next;
        }
        Some(n)
    }

    /// One char inside a call's object.
    fn object(&mut self, obj: Obj, c: char, out: &mut Vec<CallDelta>) -> Option<usize> {
        let n = c.len_utf8();
        match obj {
            Obj::Key { end } => match c {
                '"' => {
                    self.call.raw.clear();
                    self.call.value = ValueScan::default();
                    self.call.value.step(c);
                    self.call.raw.push(c);
                    self.at = At::Object(Obj::KeyString);
                }
                '}' if end => self.end_object(out)?,
                _ => return None,
            },
            Obj::KeyString => {
                self.call.raw.push(c);
                match self.call.value.step(c) {
                    Step::More => {}
                    Step::Ended => {
                        let key: String = serde_json::from_str(&self.call.raw).ok()?;
                        let field = match key.as_str() {
                            "name" => Field::Name,
                            k if k == self.format.arguments_key() || k == "arguments" => Field::Arguments,
                            _ => Field::Other,
                        };
                        // A key twice (or both argument keys) is no call Hearth can read one way.
                        let again = match field {
                            Field::Name => self.call.name.is_some(),
                            Field::Arguments => self.call.has_arguments,
                            Field::Other => false,
                        };
                        if again {
                            return None;
                        }
                        self.call.field = Some(field);
                        self.at = At::Object(Obj::Colon);
                    }
                    Step::EndedBefore | Step::Invalid => return None,
                }
            }
            Obj::Colon => {
                if c != ':' {
                    return None;
                }
                self.at = At::Object(Obj::Value { started: false });
            }
            Obj::Value { started } => return self.value(started, c, out),
            Obj::CommaOrEnd => match c {
                ',' => self.at = At::Object(Obj::Key { end: false }),
                '}' => self.end_object(out)?,
                _ => return None,
            },
        }
        Some(n)
    }

    /// One char of a key's value (the first after the colon when `!started`).
    fn value(&mut self, started: bool, c: char, out: &mut Vec<CallDelta>) -> Option<usize> {
        let field = self.call.field?;
        if !started {
            // The name is a string and the arguments an object, or this is no call.
            let fits = match field {
                Field::Name => c == '"',
                Field::Arguments => c == '{',
                Field::Other => true,
            };
            if !fits {
                return None;
            }
            self.call.value = ValueScan::default();
            self.call.raw.clear();
            self.call.has_arguments |= field == Field::Arguments;
            self.at = At::Object(Obj::Value { started: true });
        }
        match self.call.value.step(c) {
            Step::Invalid => return None,
            // A number or literal ended just before `c`, which belongs to the object.
            Step::EndedBefore => {
                self.at = At::Object(Obj::CommaOrEnd);
                return if c.is_whitespace() { Some(c.len_utf8()) } else { self.object(Obj::CommaOrEnd, c, out) };
            }
            Step::More => match field {
                Field::Name => self.call.raw.push(c),
                Field::Arguments => {
                    self.call.arguments.push(c);
                    self.send(out);
                }
                Field::Other => {}
            },
            Step::Ended => {
                match field {
                    Field::Name => {
                        self.call.raw.push(c);
                        let name: String = serde_json::from_str(&self.call.raw).ok()?;
                        if !self.names.contains(&name) {
                            return None;
                        }
                        self.call.name = Some(name);
                    }
                    Field::Arguments => self.call.arguments.push(c),
                    Field::Other => {}
                }
                self.send(out);
                self.at = At::Object(Obj::CommaOrEnd);
            }
        }
        Some(c.len_utf8())
    }

    /// The call's object closed (at `self.pos`): it needs a name; missing arguments are `{}`.
    fn end_object(&mut self, out: &mut Vec<CallDelta>) -> Option<()> {
        let name = self.call.name.clone()?;
        if !self.call.has_arguments {
            self.call.arguments = "{}".into();
        }
        self.send(out);
        let arguments = std::mem::take(&mut self.call.arguments);
        self.calls.push(ScannedCall { name, arguments, object: self.call.start..self.pos + 1 });
        self.at = if self.single {
            At::Done
        } else if self.tagged {
            At::Close
        } else {
            At::After
        };
        Some(())
    }

    /// Sends what of the current call has not gone out: its first piece once the name is known
    /// (with `arguments: ""`, as OpenAI's), then the arguments read since (those read before the
    /// name included).
    fn send(&mut self, out: &mut Vec<CallDelta>) {
        let call = &mut self.call;
        let Some(name) = &call.name else { return };
        let index = self.calls.len();
        if !call.announced {
            call.announced = true;
            out.push(CallDelta { index, name: Some(name.clone()), arguments: String::new() });
        }
        let new = &call.arguments[call.sent..];
        call.sent = call.arguments.len();
        if new.is_empty() {
            return;
        }
        match out.last_mut() {
            Some(last) if last.index == index && last.name.is_none() => last.arguments.push_str(new),
            _ => out.push(CallDelta { index, name: None, arguments: new.to_string() }),
        }
    }
}

/// Consumes `lit` when `rest` starts with it: its length, 0 while `rest` may still grow into
/// it, `None` when it cannot.
fn literal(rest: &str, lit: &str) -> Option<usize> {
    if rest.starts_with(lit) {
        Some(lit.len())
    } else if lit.starts_with(rest) {
        Some(0)
    } else {
        None
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    More,
    /// The value ended with this char.
    Ended,
    /// The value (a number or literal) ended before this char.
    EndedBefore,
    Invalid,
}

/// Where a JSON value's text stands: its open brackets, and whether inside a string, an escape
/// or a number / literal. Enough to find where the value ends; serde_json judges the rest.
#[derive(Default)]
struct ValueScan {
    open: Vec<char>,
    string: bool,
    escape: bool,
    bare: bool,
}

impl ValueScan {
    fn step(&mut self, c: char) -> Step {
        if self.string {
            if self.escape {
                self.escape = false;
            } else if c == '\\' {
                self.escape = true;
            } else if c == '"' {
                self.string = false;
                if self.open.is_empty() {
                    return Step::Ended;
                }
            } else if c < ' ' {
                return Step::Invalid; // JSON strings have no raw control characters
            }
            return Step::More;
        }
        if self.bare {
            if c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.') {
                return Step::More;
            }
            self.bare = false;
            if self.open.is_empty() {
                return Step::EndedBefore;
            }
        }
        match c {
            '"' => self.string = true,
            '{' => self.open.push('}'),
            '[' => self.open.push(']'),
            '}' | ']' => {
                if self.open.pop() != Some(c) {
                    return Step::Invalid;
                }
                if self.open.is_empty() {
                    return Step::Ended;
                }
            }
            ',' | ':' if !self.open.is_empty() => {}
            c if c.is_whitespace() && !self.open.is_empty() => {}
            c if c.is_ascii_alphanumeric() || c == '-' => self.bare = true,
            _ => return Step::Invalid,
        }
        Step::More
    }
}
