//! Chat templates rendered by Hearth must match Python jinja2 set up like transformers'
//! `apply_chat_template`. Expected prompts come from scripts/fixtures/chat_fixtures.py.

use crate::common;

use hearth::Error;
use hearth::chat::{ChatMessage, ChatTemplate};
use hearth::gguf::{GgufFile, Metadata};
use serde::Deserialize;

#[derive(Deserialize)]
struct ModelFixture {
    model: String,
    bos_token: String,
    eos_token: String,
    gguf_has_template: bool,
    /// For a model whose GGUF has no template: the committed template the cases use.
    template_file: Option<String>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct FeatureFixture {
    now_unix: i64,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct FamiliesFixture {
    now_unix: i64,
    families: Vec<FamilyFixture>,
}

#[derive(Deserialize)]
struct FamilyFixture {
    family: String,
    template_file: String,
    bos_token: String,
    eos_token: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    /// Kept as template values (not serde_json, which sorts keys) so dict order reaches
    /// `tojson` as the reference saw it.
    messages: Vec<minijinja::Value>,
    add_generation_prompt: bool,
    tools: Option<Vec<minijinja::Value>>,
    expected: Option<String>,
    expected_error: Option<String>,
    /// Feature cases carry their own small template.
    template: Option<String>,
}

fn read_fixture<T: for<'de> Deserialize<'de>>(rel: &str) -> T {
    let path = common::fixture_path(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn metadata(model: &str) -> Metadata {
    let file = GgufFile::open(common::model_path(model)).expect("open model");
    file.header().metadata.clone()
}

/// `Some(messages)` when every message is exactly `{role, content: string}`.
fn as_chat_messages(case: &Case) -> Option<Vec<ChatMessage>> {
    let json = serde_json::to_value(&case.messages).ok()?;
    let all_plain =
        json.as_array()?.iter().all(|m| m.as_object().is_some_and(|o| o.len() == 2 && o.get("content").is_some_and(|c| c.is_string())));
    if all_plain { serde_json::from_value(json).ok() } else { None }
}

fn render(template: &ChatTemplate, case: &Case) -> hearth::Result<String> {
    match &case.tools {
        Some(tools) => template.render_with_tools(&case.messages, tools, case.add_generation_prompt),
        None => template.render(&case.messages, case.add_generation_prompt),
    }
}

/// Checks every case and returns one line per mismatch, so a failure shows them all.
fn check_cases(label: &str, cases: &[Case], template_for: impl Fn(&Case) -> ChatTemplate) -> usize {
    let mut failures = Vec::new();
    for case in cases {
        let template = template_for(case);
        let got = render(&template, case);
        match (&case.expected, &case.expected_error, &got) {
            (Some(expected), None, Ok(got)) if got == expected => {
                // The typed message API must give the same prompt as raw values.
                if let Some(messages) = as_chat_messages(case) {
                    let typed = template.render(&messages, case.add_generation_prompt);
                    if typed.as_ref().ok() != Some(expected) {
                        failures.push(format!("{}: ChatMessage rendering differs: {typed:?}", case.name));
                    }
                }
            }
            (Some(expected), None, _) => {
                failures.push(format!("{}:\n  expected {expected:?}\n  got      {got:?}", case.name));
            }
            (None, Some(reference), Err(Error::ChatTemplate(msg))) => {
                // A template-raised rejection must carry the template's own message.
                if let Some(raised) = reference.strip_prefix("TemplateError: ") {
                    if !msg.contains(raised) {
                        failures.push(format!("{}: error {msg:?} lacks {raised:?}", case.name));
                    }
                }
            }
            (None, Some(reference), _) => {
                failures.push(format!("{}: reference fails ({reference}), Hearth gave {got:?}", case.name));
            }
            _ => failures.push(format!("{}: fixture has neither or both of expected/expected_error", case.name)),
        }
    }
    assert!(failures.is_empty(), "{label}: {} of {} cases differ:\n{}", failures.len(), cases.len(), failures.join("\n"));
    cases.len()
}

fn check_model(fixture_name: &str, model: &str) {
    let fixture: ModelFixture = read_fixture(&format!("chat/{fixture_name}.json"));
    assert_eq!(fixture.model, model);
    assert!(fixture.gguf_has_template);
    let template = ChatTemplate::from_gguf(&metadata(model)).unwrap().expect("model has a chat template");
    assert_eq!(template.bos_token(), fixture.bos_token);
    assert_eq!(template.eos_token(), fixture.eos_token);
    let n = check_cases(model, &fixture.cases, |_| template.clone());
    assert!(n >= 20, "{model}: only {n} cases");
}

#[test]
fn smollm2_template_renders_like_transformers() {
    check_model("smollm2", common::SMOLLM2);
}

#[test]
fn qwen25_template_renders_like_transformers() {
    check_model("qwen25", common::QWEN25);
}

/// gemma-3-270m is a base model: its GGUF has no template, which must be `Ok(None)`.
#[test]
fn model_without_template_gives_none() {
    let fixture: ModelFixture = read_fixture("chat/gemma3.json");
    assert!(!fixture.gguf_has_template);
    assert!(ChatTemplate::from_gguf(&metadata(common::GEMMA3)).unwrap().is_none());
}

/// Gemma 3's instruct template (committed next to the fixture), with the gemma GGUF's
/// special tokens: alternation errors, parts content, `trim`.
#[test]
fn gemma3_it_template_renders_like_transformers() {
    let fixture: ModelFixture = read_fixture("chat/gemma3.json");
    assert_eq!(fixture.model, common::GEMMA3);
    let meta = metadata(common::GEMMA3);
    let tokens = meta.str_array("tokenizer.ggml.tokens").unwrap();
    let bos = &tokens[meta.u32("tokenizer.ggml.bos_token_id").unwrap() as usize];
    let eos = &tokens[meta.u32("tokenizer.ggml.eos_token_id").unwrap() as usize];
    assert_eq!((bos, eos), (&fixture.bos_token, &fixture.eos_token));
    let file = fixture.template_file.as_deref().expect("gemma3 fixture names its template file");
    let source = std::fs::read_to_string(common::fixture_path(&format!("chat/{file}"))).unwrap();
    let template = ChatTemplate::new(&source, bos, eos).unwrap();
    let n = check_cases("gemma3-it", &fixture.cases, |_| template.clone());
    assert!(n >= 20, "only {n} cases");
    assert!(fixture.cases.iter().any(|c| c.expected_error.is_some()), "no rejected conversation");
}

/// The published templates of families whose GGUFs are not among the test models (Llama 3.1
/// and 3.2 with their date line and tool format, Qwen3's think handling, Phi-3.5, SmolLM3),
/// as llama.cpp keeps them, on every conversation the model fixtures use.
#[test]
fn family_templates_render_like_transformers() {
    let fixture: FamiliesFixture = read_fixture("chat/families.json");
    let names: Vec<&str> = fixture.families.iter().map(|f| f.family.as_str()).collect();
    assert_eq!(names, ["llama3.1", "llama3.2", "qwen3", "phi3.5", "smollm3"]);
    for family in &fixture.families {
        let path = common::fixture_path(&format!("chat/{}", family.template_file));
        let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let template = ChatTemplate::new(&source, &family.bos_token, &family.eos_token)
            .unwrap_or_else(|e| panic!("{}: {e}", family.family))
            .with_now(fixture.now_unix);
        let n = check_cases(&family.family, &family.cases, |_| template.clone());
        assert!(n >= 20, "{}: only {n} cases", family.family);
    }
}

/// The render budget (src/chat/budget.rs: instructions, and since minijinja 3.1 bytes
/// allocated) leaves room for long real conversations: 10,000 messages of ~200 bytes (~2 MB,
/// past any context the models here take) render with every published template.
#[test]
fn long_conversations_render_within_the_budget() {
    let fixture: FamiliesFixture = read_fixture("chat/families.json");
    let messages: Vec<ChatMessage> = (0..10_000)
        .map(|i| {
            let text = format!("message {i}: {}", "lorem ipsum dolor sit amet, ".repeat(7));
            if i % 2 == 0 { ChatMessage::user(text) } else { ChatMessage::new("assistant", text) }
        })
        .collect();
    for family in &fixture.families {
        let source = std::fs::read_to_string(common::fixture_path(&format!("chat/{}", family.template_file))).unwrap();
        let template = ChatTemplate::new(&source, &family.bos_token, &family.eos_token).unwrap().with_now(fixture.now_unix);
        let prompt = template.render(&messages, true).unwrap_or_else(|e| panic!("{}: {e}", family.family));
        assert!(prompt.len() > 2_000_000 && prompt.contains("message 9999: "), "{}: {} bytes", family.family, prompt.len());
    }
}

/// Small templates pinning down the environment: whitespace control, loop controls,
/// strftime_now (frozen clock), tojson options, Python methods and printing, errors.
#[test]
fn environment_matches_transformers_jinja() {
    let fixture: FeatureFixture = read_fixture("chat/features.json");
    let n = check_cases("features", &fixture.cases, |case| {
        let source = case.template.as_deref().expect("feature case has a template");
        ChatTemplate::new(source, "<s>", "</s>").unwrap_or_else(|e| panic!("{}: {e}", case.name)).with_now(fixture.now_unix)
    });
    assert!(n >= 20, "only {n} cases");
}

fn chat_template_error(result: hearth::Result<impl std::fmt::Debug>) -> String {
    match result {
        Err(Error::ChatTemplate(msg)) => msg,
        other => panic!("expected Error::ChatTemplate, got {other:?}"),
    }
}

#[test]
fn syntax_errors_name_the_problem_and_line() {
    let unclosed_expr = "{% for m in messages %}\n{{ m.content }\n{% endfor %}";
    let msg = chat_template_error(ChatTemplate::new(unclosed_expr, "", ""));
    assert!(msg.contains("syntax error") && msg.contains("line 2"), "{msg}");

    let unclosed_block = "{% if messages %}\nhello\n";
    let msg = chat_template_error(ChatTemplate::new(unclosed_block, "", ""));
    assert!(msg.contains("syntax error") && msg.contains("end of input"), "{msg}");

    let unknown_tag = "a\nb\n{% generation_of_nonsense %}";
    let msg = chat_template_error(ChatTemplate::new(unknown_tag, "", ""));
    assert!(msg.contains("syntax error") && msg.contains("line 3"), "{msg}");
}

#[test]
fn raise_exception_gives_the_templates_message() {
    let source = "{% for m in messages %}\n{% if m.role not in ['user', 'assistant'] %}\n\
                  {{ raise_exception('Unsupported role: ' + m.role) }}\n{% endif %}{% endfor %}ok";
    let template = ChatTemplate::new(source, "", "").unwrap();
    assert_eq!(template.render(&[ChatMessage::user("hi")], true).unwrap(), "ok");
    let msg = chat_template_error(template.render(&[ChatMessage::new("robot", "beep")], true));
    assert!(msg.contains("Unsupported role: robot") && msg.contains("line 3"), "{msg}");
}

#[test]
fn misuse_of_undefined_values_is_an_error_not_a_panic() {
    let messages = [ChatMessage::user("hi")];
    for source in [
        "{{ messages[3].content }}",
        "{{ messages[0].missing.deeper }}",
        "{{ messages[0].content + 1 }}",
        "{{ messages[0].content.no_such_method() }}",
        "{{ strftime_now('%Q') }}",
        "{% for x in 42 %}{% endfor %}",
    ] {
        let template = ChatTemplate::new(source, "", "").unwrap();
        let msg = chat_template_error(template.render(&messages, false));
        assert!(msg.contains("line 1"), "{source}: {msg}");
    }
}

#[derive(Deserialize)]
struct ToolFixture {
    now_unix: i64,
    cases: Vec<ToolCase>,
}

#[derive(Deserialize)]
struct ToolCase {
    name: String,
    /// `None`: the Qwen2.5 GGUF's own template.
    template_file: Option<String>,
    bos_token: String,
    eos_token: String,
    /// As an OpenAI client sends them (arguments as JSON strings, `content: null`).
    messages: serde_json::Value,
    tools: Vec<serde_json::Value>,
    expected: String,
}

/// A tool-calling conversation in OpenAI's form, read into `ChatMessage`s (which parse each
/// call's arguments string) and rendered with the tools, equals the transformers-style
/// reference of scripts/fixtures/tool_fixtures.py for every template that teaches a format;
/// each of those templates is recognised as one.
#[test]
fn openai_tool_conversations_render_like_transformers() {
    let fixture: ToolFixture = read_fixture("chat/tools.json");
    for case in &fixture.cases {
        let template = match &case.template_file {
            Some(file) => {
                let source = std::fs::read_to_string(common::fixture_path(&format!("chat/{file}"))).unwrap();
                ChatTemplate::new(&source, &case.bos_token, &case.eos_token).unwrap()
            }
            None => ChatTemplate::from_gguf(&metadata(common::QWEN25)).unwrap().unwrap(),
        }
        .with_now(fixture.now_unix);
        assert!(template.tool_format().is_some(), "{}: no tool format recognised", case.name);
        let messages: Vec<ChatMessage> = serde_json::from_value(case.messages.clone()).unwrap();
        let got = template.render_with_tools(&messages, &case.tools, true).unwrap();
        assert_eq!(got, case.expected, "{}", case.name);
    }
    assert_eq!(fixture.cases.len(), 4);
}
