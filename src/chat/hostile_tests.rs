//! Templates written to hang, blow up or crash the renderer: each must end, quickly, with
//! `Error::ChatTemplate` naming what it ran into (see budget.rs). The real templates still
//! render as jinja2 does: tests/core/chat_template.rs.

use std::time::{Duration, Instant};

use super::*;

/// Renders `source` over a short conversation; returns the error message and the seconds
/// the render took.
fn render_error(source: &str, messages: &[ChatMessage]) -> (String, Duration) {
    let template = ChatTemplate::new(source, "<s>", "</s>").expect("compiles");
    let t = Instant::now();
    let result = template.render(messages, true);
    let elapsed = t.elapsed();
    match result {
        Err(Error::ChatTemplate(msg)) => (msg, elapsed),
        other => panic!("expected a chat-template error for {source:?}, got {other:?}"),
    }
}

fn chat() -> Vec<ChatMessage> {
    vec![ChatMessage::user("hi")]
}

/// Generous: the budget runs out in ~0.2 s natively (optimised test profile) for most of these;
/// a hang would take hours. This only turns a hang into a failure; speed is not asserted. The
/// slowest case, a lazily doubled list walked by `join` (minijinja charges per byte joined, and
/// each item of a 30-deep concatenation costs ~1 us to reach), took 6.4 s alone and 10.1 s beside
/// the gpu job on the slow 2-core Zen 3 machine (2026-11-27), where 10 s was too tight.
const NO_HANG: Duration = Duration::from_secs(60);

#[test]
fn budget_ends_nested_loops_quickly() {
    for source in [
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{% for m in messages %}{% for i in range(10000) %}{% for j in range(10000) %}{{ '' }}{% endfor %}{% endfor %}{% endfor %}",
        // A loop that never ends on its own: `loop.cycle` over an ever-recursing macro.
        "{% macro spin(n) %}{% for i in range(10000) %}{{ i }}{% endfor %}{{ spin(n) if n < 1000 }}{% endmacro %}{{ spin(0) }}",
    ] {
        let (msg, elapsed) = render_error(source, &chat());
        assert!(elapsed < NO_HANG, "{source}: took {elapsed:?}");
        assert!(msg.contains("budget") || msg.contains("recursion"), "{source}: {msg}");
    }
    let (msg, elapsed) = render_error("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", &chat());
    eprintln!("nested loops: {elapsed:?}: {msg}");
    assert!(msg.contains(&budget::FUEL.to_string()), "names the limit: {msg}");
}

#[test]
fn output_past_the_cap_is_refused() {
    // 100 x 1 MB of output: each repetition is within minijinja's own 100 MB cap.
    let (msg, elapsed) = render_error("{% for i in range(100) %}{{ 'x' * 1000000 }}{% endfor %}", &chat());
    assert!(elapsed < NO_HANG, "took {elapsed:?}");
    assert!(msg.contains("exceed") && msg.contains(&budget::MAX_OUTPUT_BYTES.to_string()), "{msg}");
}

#[test]
fn huge_repetition_ranges_and_recursion_are_refused() {
    for (source, expect) in [
        ("{{ 'x' * 1000000000 }}", "too large"),
        ("{% for i in range(1000000000) %}{% endfor %}", "range"),
        ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "recursion"),
    ] {
        let (msg, elapsed) = render_error(source, &chat());
        assert!(elapsed < NO_HANG, "{source}: took {elapsed:?}");
        assert!(msg.contains(expect), "{source}: {msg}");
    }
}

#[test]
fn huge_inputs_through_tojson_are_bounded() {
    // 4 MB of content with quotes and newlines to escape: renders (the output is under the cap).
    let big = "a\"b\n".repeat(1 << 20);
    let ok = ChatTemplate::new("{{ messages | tojson }}", "", "").unwrap().render(&[ChatMessage::user(big.clone())], false);
    let ok = ok.expect("a 4 MB message renders");
    assert!(ok.len() > 6 << 20, "escaped: {}", ok.len());
    // The same message eight times over the cap: a clear error, not a 50 MB prompt.
    let messages: Vec<ChatMessage> = (0..3).map(|_| ChatMessage::user(big.clone())).collect();
    let (msg, elapsed) = render_error("{% for i in range(4) %}{{ messages | tojson }}{% endfor %}", &messages);
    assert!(elapsed < NO_HANG, "took {elapsed:?}");
    assert!(msg.contains("exceed"), "{msg}");
}

#[test]
fn strings_and_lists_doubled_until_they_exhaust_memory_are_refused() {
    // Each doubles a value 30 times (1 byte or item -> 2^30): a gigabyte if nothing stopped it,
    // in a few dozen VM instructions, so counting instructions alone never would.
    let straight_line = format!("{{% set s = 'x' %}}{}{{{{ s | length }}}}", "{% set s = s ~ s %}".repeat(30));
    for source in [
        straight_line.as_str(),
        "{% set ns = namespace(s='x') %}{% for i in range(30) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}",
        "{% set ns = namespace(s='x') %}{% for i in range(30) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s | length }}",
        // Lists concatenate lazily (a length costs nothing); walking one is what is charged.
        "{% set ns = namespace(s=['x']) %}{% for i in range(30) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s | join | length }}",
        "{% set ns = namespace(s='x') %}{% for i in range(30) %}{% set ns.s = [ns.s, ns.s] | join %}{% endfor %}{{ ns.s | length }}",
        "{% set ns = namespace(s='x') %}{% for i in range(30) %}{% set ns.s = '%s%s' | format(ns.s, ns.s) %}{% endfor %}{{ ns.s | length }}",
        "{% set ns = namespace(s='xx') %}{% for i in range(30) %}{% set ns.s = ns.s | replace('x', ns.s) %}{% endfor %}{{ ns.s | length }}",
        "{% macro d(s, n) %}{% if n %}{{ d(s ~ s, n - 1) }}{% else %}{{ s | length }}{% endif %}{% endmacro %}{{ d('x', 30) }}",
    ] {
        let (msg, elapsed) = render_error(source, &chat());
        eprintln!("{source}: {elapsed:?}: {msg}");
        assert!(elapsed < NO_HANG, "{source}: took {elapsed:?}");
        assert!(msg.contains("budget"), "{source}: {msg}");
    }
}
