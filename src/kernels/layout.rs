//! Checks every launcher's uniform struct against the WGSL struct it mirrors, field by field
//! (name, type, order): a Rust struct and its shader cannot drift apart unnoticed. Both sides
//! are 4-byte scalars only, so equal field lists mean equal layouts.

use super::{argmax, attention, attention_split, elementwise, embed, matmul, residual_norm, rmsnorm, rope_store, sample, step};

type Fields = &'static [(&'static str, &'static str)];

/// (shader file, WGSL struct name, the Rust mirror's fields).
const MIRRORS: &[(&str, &str, &str, Fields)] = &[
    ("argmax.wgsl", include_str!("../../shaders/argmax.wgsl"), "Params", argmax::Params::FIELDS),
    ("attention_common.wgsl", include_str!("../../shaders/attention_common.wgsl"), "Params", attention::Params::FIELDS),
    ("attention_split_range.wgsl", include_str!("../../shaders/attention_split_range.wgsl"), "Params", attention_split::Params::FIELDS),
    ("elementwise.wgsl", include_str!("../../shaders/elementwise.wgsl"), "Params", elementwise::Params::FIELDS),
    ("embed.wgsl", include_str!("../../shaders/embed.wgsl"), "Params", embed::Params::FIELDS),
    ("matmul_bindings.wgsl", include_str!("../../shaders/matmul_bindings.wgsl"), "Params", matmul::Params::FIELDS),
    ("residual_norm.wgsl", include_str!("../../shaders/residual_norm.wgsl"), "Params", residual_norm::Params::FIELDS),
    ("rmsnorm.wgsl", include_str!("../../shaders/rmsnorm.wgsl"), "Params", rmsnorm::Params::FIELDS),
    ("rope_store.wgsl", include_str!("../../shaders/rope_store.wgsl"), "Params", rope_store::Params::FIELDS),
    ("sample.wgsl", include_str!("../../shaders/sample.wgsl"), "Place", sample::Place::FIELDS),
    ("sample.wgsl", include_str!("../../shaders/sample.wgsl"), "Params", sample::Params::FIELDS),
    ("sample.wgsl", include_str!("../../shaders/sample.wgsl"), "SampleStep", sample::SampleStep::FIELDS),
    ("step.wgsl", include_str!("../../shaders/step.wgsl"), "Step", step::Step::FIELDS),
];

/// The `name: type` fields of `struct <name> { ... }` in WGSL source (comments dropped).
fn wgsl_fields(source: &str, name: &str) -> Option<Vec<(String, String)>> {
    let start = source.find(&format!("struct {name} {{"))?;
    let body = &source[start..];
    let body = &body[body.find('{')? + 1..body.find('}')?];
    let fields = body
        .lines()
        .map(|line| line.split("//").next().unwrap_or("").trim().trim_end_matches(','))
        .filter(|line| !line.is_empty())
        .map(|line| {
            let (n, t) = line.split_once(':').unwrap_or((line, ""));
            (n.trim().to_string(), t.trim().to_string())
        })
        .collect();
    Some(fields)
}

#[test]
fn every_params_struct_matches_its_shader() {
    for &(file, source, name, rust) in MIRRORS {
        let wgsl = wgsl_fields(source, name).unwrap_or_else(|| panic!("shaders/{file} has no `struct {name}`"));
        let rust: Vec<(String, String)> = rust.iter().map(|&(n, t)| (n.to_string(), t.to_string())).collect();
        assert_eq!(rust, wgsl, "shaders/{file} `struct {name}` and its Rust mirror differ");
    }
}

#[test]
fn the_parser_reads_names_types_and_order() {
    let shader = "struct Params {\n    n: u32,   // count\n    eps: f32,\n}\n";
    let fields = wgsl_fields(shader, "Params").unwrap();
    assert_eq!(fields, vec![("n".to_string(), "u32".to_string()), ("eps".to_string(), "f32".to_string())]);
    assert!(wgsl_fields(shader, "Other").is_none());
}
