//! Unrolls a WGSL shader's short constant-bound loops in the source, before it is compiled.
//!
//! Why: SwiftShader (Chromium's WebGPU on machines without a usable GPU, and what the browser
//! tests run on) compiles shaders with Subzero, a JIT that does not unroll loops. A loop over
//! a private array (`acc[r * TOKENS + t]`, the quant snippets' `chunk[k]`) then indexes it
//! with a value the JIT cannot see is the same in every SIMD lane, so each access becomes a
//! per-lane gather or scatter through memory. Unrolled, every index is a constant and the
//! arrays stay in registers: the matmuls ran ~1.8x faster on SwiftShader with just the
//! innermost loops unrolled by hand. lavapipe (LLVM) and GPU compilers unroll such loops
//! themselves, so this changes nothing there but the source's length.
//!
//! A loop is unrolled when it has exactly the form
//! `for (var i = A; i < B; i++) { ... }` with A and B constant expressions (literals and
//! the shader's `const` declarations, as `ROWS_PER_THREAD * TOKENS_PER_GROUP`), at most
//! `max_trips` iterations (`UnrollLimits`), and no `break` or `continue` in its body. Each iteration becomes
//! a block `{ let i = 3u; ... }`: the body is untouched (an assignment to `i` would no longer
//! compile, so a loop that changes its counter cannot be unrolled silently wrong), and naga
//! folds the now-constant index expressions. Other loops are left as they are.

use std::collections::HashMap;

/// Which loops are short enough to unroll.
#[derive(Clone, Copy, Debug)]
pub struct UnrollLimits {
    /// The most iterations a loop may have.
    pub max_trips: i64,
    /// The longest text one unrolled loop may become.
    pub max_expanded_bytes: i64,
}

/// The limits where unrolling is a speed choice (`Tuning::unroll_loops`). SwiftShader's compile
/// time grows fast with the expanded text: unrolling the matmul's row and token loops too (8 x
/// 4 copies of the inner body in a prefill tile) took ~0.7 s per pipeline to compile, ~4 s more
/// per model load, for no faster matmuls than with these limits, which keep them loops around
/// unrolled inner loops (a tiny model's load: 0.5 s without unrolling, 0.9 s with these limits,
/// 4.8 s without any).
pub const SPEED_LIMITS: UnrollLimits = UnrollLimits { max_trips: 32, max_expanded_bytes: 6 * 1024 };

/// `source` with its short constant-bound loops unrolled (see the module comment).
#[cfg(test)]
pub fn unroll_loops(source: &str) -> String {
    unroll_loops_within(source, SPEED_LIMITS)
}

/// `source` with its constant-bound loops within `limits` unrolled.
pub fn unroll_loops_within(source: &str, limits: UnrollLimits) -> String {
    let constants = constants(source);
    expand(source, &constants, limits)
}

/// The values of the shader's scalar `const` declarations that evaluate here.
fn constants(source: &str) -> HashMap<String, i64> {
    let mut values = HashMap::new();
    for line in source.lines() {
        let Some(rest) = line.trim_start().strip_prefix("const ") else { continue };
        let Some((name, expr)) = rest.split_once('=') else { continue };
        let name = name.split(':').next().unwrap_or("").trim();
        let expr = expr.split(';').next().unwrap_or("").trim();
        if let Some(v) = eval(expr, &values) {
            values.insert(name.to_string(), v);
        }
    }
    values
}

/// Expands every unrollable loop of `text`, inner loops included.
fn expand(text: &str, constants: &HashMap<String, i64>, limits: UnrollLimits) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = find_for(rest) {
        out.push_str(&rest[..at]);
        let from_for = &rest[at..];
        match parse_loop(from_for, constants, limits.max_trips) {
            Some(l) => {
                let body = expand(l.body, constants, limits);
                if body.len() as i64 * (l.end - l.start) > limits.max_expanded_bytes {
                    // Too long unrolled (a test's extreme tile): the loop stays, its inner
                    // loops unrolled.
                    out.push_str(&from_for[..l.header_len]);
                    out.push_str(&body);
                    out.push('}');
                } else {
                    out.push('{');
                    for i in l.start..l.end {
                        out.push_str(&format!(" {{ let {} = {}{}; {} }}", l.var, i, l.suffix, body));
                    }
                    out.push('}');
                }
                rest = &from_for[l.len..];
            }
            None => {
                // Keep the header and look for loops further on (inside this one's body too).
                out.push_str("for");
                rest = &from_for[3..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The byte offset of the next `for` keyword (not part of a longer name).
fn find_for(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(i) = text[from..].find("for").map(|i| i + from) {
        let before = i.checked_sub(1).map(|j| bytes[j]);
        let after = bytes.get(i + 3).copied();
        let word_char = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !word_char(before) && !word_char(after) {
            return Some(i);
        }
        from = i + 3;
    }
    None
}

struct Loop<'a> {
    var: &'a str,
    start: i64,
    end: i64,
    /// The literal suffix of the counter's type (`u` or `i`, or none for an abstract int).
    suffix: &'static str,
    body: &'a str,
    /// Bytes from `for` to the body's opening brace, inclusive.
    header_len: usize,
    /// Bytes from `for` to the body's closing brace, inclusive.
    len: usize,
}

/// `for (var i = A; i < B; i++) { body }` at the start of `text`, if unrollable.
fn parse_loop<'a>(text: &'a str, constants: &HashMap<String, i64>, max_trips: i64) -> Option<Loop<'a>> {
    let open = text.find('(')?;
    if !text[3..open].trim().is_empty() {
        return None;
    }
    let close = open + text[open..].find(')')?;
    let header = &text[open + 1..close];
    let mut parts = header.split(';').map(str::trim);
    let (init, cond, update) = (parts.next()?, parts.next()?, parts.next()?);
    let (var, start_expr) = init.strip_prefix("var ")?.split_once('=')?;
    let var = var.split(':').next()?.trim();
    let (cond_var, end_expr) = cond.split_once('<')?;
    if cond_var.trim() != var || end_expr.starts_with('=') || (update != format!("{var}++") && update != format!("{var} += 1u")) {
        return None;
    }
    let start = eval(start_expr.trim(), constants)?;
    let end = eval(end_expr.trim(), constants)?;
    if end - start > max_trips || end < start {
        return None;
    }
    let suffix = match start_expr.trim().chars().last() {
        Some('u') => "u",
        Some('i') => "i",
        _ => "",
    };
    let brace = close + 1 + text[close + 1..].find(|c: char| !c.is_whitespace())?;
    if text.as_bytes()[brace] != b'{' {
        return None;
    }
    let end_brace = matching_brace(text, brace)?;
    let body = &text[brace + 1..end_brace];
    if contains_word(body, "break") || contains_word(body, "continue") {
        return None;
    }
    Some(Loop { var, start, end, suffix, body, header_len: brace + 1, len: end_brace + 1 })
}

/// The index of the `}` closing the `{` at `open` (comments in the body are not expected to
/// hold braces; the shaders' comments do not).
fn matching_brace(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, b) in text.bytes().enumerate().skip(open) {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn contains_word(text: &str, word: &str) -> bool {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).any(|w| w == word)
}

/// Evaluates a constant integer expression: literals (`8`, `8u`, `true`), known constants,
/// parentheses, `* / % + -`, comparisons and `select(f, t, cond)`. `None` for anything else.
fn eval(expr: &str, constants: &HashMap<String, i64>) -> Option<i64> {
    let tokens = tokenize(expr)?;
    let mut p = Parser { tokens: &tokens, at: 0, constants };
    let v = p.comparison()?;
    (p.at == tokens.len()).then_some(v)
}

fn tokenize(expr: &str) -> Option<Vec<String>> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = expr.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(chars[start..i].iter().collect());
        } else if i + 1 < chars.len() && ["==", "!=", "<=", ">="].contains(&format!("{c}{}", chars[i + 1]).as_str()) {
            tokens.push(format!("{c}{}", chars[i + 1]));
            i += 2;
        } else if "()+-*/%,<>".contains(c) {
            tokens.push(c.to_string());
            i += 1;
        } else {
            return None;
        }
    }
    Some(tokens)
}

struct Parser<'a> {
    tokens: &'a [String],
    at: usize,
    constants: &'a HashMap<String, i64>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.at).map(String::as_str)
    }

    fn take(&mut self, token: &str) -> Option<()> {
        (self.peek()? == token).then(|| self.at += 1)
    }

    fn comparison(&mut self) -> Option<i64> {
        let a = self.sum()?;
        let op = match self.peek() {
            Some(op @ ("==" | "!=" | "<" | ">" | "<=" | ">=")) => op.to_string(),
            _ => return Some(a),
        };
        self.at += 1;
        let b = self.sum()?;
        let r = match op.as_str() {
            "==" => a == b,
            "!=" => a != b,
            "<" => a < b,
            ">" => a > b,
            "<=" => a <= b,
            _ => a >= b,
        };
        Some(i64::from(r))
    }

    fn sum(&mut self) -> Option<i64> {
        let mut v = self.product()?;
        while let Some(op @ ("+" | "-")) = self.peek() {
            let plus = op == "+";
            self.at += 1;
            let b = self.product()?;
            v = if plus { v.checked_add(b)? } else { v.checked_sub(b)? };
        }
        Some(v)
    }

    fn product(&mut self) -> Option<i64> {
        let mut v = self.atom()?;
        while let Some(op @ ("*" | "/" | "%")) = self.peek() {
            let op = op.to_string();
            self.at += 1;
            let b = self.atom()?;
            v = match op.as_str() {
                "*" => v.checked_mul(b)?,
                "/" => v.checked_div(b)?,
                _ => v.checked_rem(b)?,
            };
        }
        Some(v)
    }

    fn atom(&mut self) -> Option<i64> {
        let token = self.peek()?.to_string();
        self.at += 1;
        if token == "(" {
            let v = self.comparison()?;
            self.take(")")?;
            return Some(v);
        }
        if token == "select" {
            self.take("(")?;
            let f = self.comparison()?;
            self.take(",")?;
            let t = self.comparison()?;
            self.take(",")?;
            let c = self.comparison()?;
            self.take(")")?;
            return Some(if c != 0 { t } else { f });
        }
        match token.as_str() {
            "true" => return Some(1),
            "false" => return Some(0),
            _ => {}
        }
        if token.starts_with(|c: char| c.is_ascii_digit()) {
            return token.trim_end_matches(['u', 'i']).parse().ok();
        }
        self.constants.get(&token).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unrolls_constant_loops_into_blocks_with_the_counter_as_a_constant() {
        let src = "const N: u32 = 2u;\nconst M: u32 = N * 3u;\nfn f() {\n  for (var i = 0u; i < N; i++) { a[i] = 1.0; }\n}\n";
        let out = unroll_loops(src);
        assert!(out.contains("{ { let i = 0u;  a[i] = 1.0;  } { let i = 1u;  a[i] = 1.0;  }}"), "{out}");
        assert_eq!(constants(src).get("M"), Some(&6));
    }

    #[test]
    fn unrolls_nested_loops_and_leaves_the_others_alone() {
        let src = "const T: u32 = select(1u, 2u, 3u != 0u);\n\
                   for (var r = 0u; r < T; r++) { for (var k = 1u; k < 3u; k++) { s += x[r + k]; } }\n\
                   for (var c = lane; c < n; c += 4u) { y(c); }\n\
                   for (var j = 0u; j < 2u; j++) { if (z) { break; } }\n\
                   for (var big = 0u; big < 33u; big++) { w(big); }\n\
                   forward(1);\n";
        let out = unroll_loops(src);
        assert_eq!(out.matches("let r = ").count(), 2, "{out}");
        assert_eq!(out.matches("let k = ").count(), 4, "{out}");
        assert!(out.contains("{ let r = 1u;  { { let k = 1u;  s += x[r + k];  } { let k = 2u;"), "{out}");
        assert!(!out.contains("for (var r") && !out.contains("for (var k"), "{out}");
        assert!(out.contains("for (var c = lane; c < n; c += 4u) { y(c); }"), "{out}");
        assert!(out.contains("for (var j = 0u; j < 2u; j++) { if (z) { break; } }"), "{out}");
        assert!(out.contains("for (var big = 0u; big < 33u; big++)"), "{out}");
        assert!(out.contains("forward(1);"), "{out}");
    }

    #[test]
    fn a_loop_too_long_unrolled_stays_a_loop_with_its_inner_loops_unrolled() {
        let long = "x = x + 1.0; ".repeat(40);
        let src = format!("for (var i = 0u; i < 32u; i++) {{ for (var k = 0u; k < 8u; k++) {{ {long} }} }}");
        let out = unroll_loops(&src);
        assert!(out.starts_with("for (var i = 0u; i < 32u; i++) {"), "{}", &out[..80]);
        assert_eq!(out.matches("let k = ").count(), 8);
        assert_eq!(out.matches("let i = ").count(), 0);
    }

    #[test]
    fn expressions_it_cannot_evaluate_leave_the_loop_as_it_is() {
        let src = "for (var i = 0u; i < p.n; i++) { f(i); }";
        assert_eq!(unroll_loops(src), src);
        assert_eq!(eval("4u / 0u", &HashMap::new()), None);
        assert_eq!(eval("(2 + 3) * 4 % 7", &HashMap::new()), Some(6));
    }
}
