//! The `hearth` binary end to end: output on the real models (checked against the
//! gguf-py header fixtures) and error reporting on bad files.

mod common;

use std::process::{Command, Output};

fn hearth(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hearth")).args(args).output().expect("run hearth")
}

fn stdout_json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

#[test]
fn inspect_json_matches_the_reference_header() {
    for model in common::ALL_MODELS {
        let path = common::model_path(model);
        let got = stdout_json(&hearth(&["inspect", "--json", path.to_str().unwrap()]));
        let fx = common::read_fixture_json(&format!("gguf/{}.json", model.trim_end_matches(".gguf")));
        let meta = &fx["metadata"];
        let arch = meta["general.architecture"]["value"].as_str().unwrap();
        assert_eq!(got["architecture"], arch, "{model}");
        assert_eq!(got["block_count"], meta[format!("{arch}.block_count")]["value"], "{model}");
        assert_eq!(got["embedding_length"], meta[format!("{arch}.embedding_length")]["value"], "{model}");
        assert_eq!(got["context_length"], meta[format!("{arch}.context_length")]["value"], "{model}");
        assert_eq!(got["tokenizer"]["vocab_size"], meta["tokenizer.ggml.tokens"]["len"], "{model}");
        assert_eq!(got["tokenizer"]["model"], meta["tokenizer.ggml.model"]["value"], "{model}");
        assert_eq!(got["chat_template"], meta.get("tokenizer.chat_template").is_some(), "{model}");
        let tensors = fx["tensors"].as_array().unwrap();
        assert_eq!(got["tensor_count"], tensors.len(), "{model}");
        let params: u64 = tensors.iter().map(|t| t["n_elements"].as_u64().unwrap()).sum();
        assert_eq!(got["parameter_count"], params, "{model}");
        let q8 = tensors.iter().filter(|t| t["type"] == "Q8_0").count();
        assert_eq!(got["tensor_types"]["Q8_0"], q8, "{model}");
    }
}

#[test]
fn inspect_text_names_the_essentials() {
    let path = common::model_path(common::SMOLLM2);
    let out = hearth(&["inspect", path.to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in ["llama", "layers          30", "Q4_1: 210", "gpt2 (pre smollm), vocab 49152", "chat template   yes"] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn bad_files_fail_with_a_message_naming_the_file() {
    let dir = std::env::temp_dir().join(format!("hearth-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let png = dir.join("picture.gguf");
    std::fs::write(&png, b"\x89PNG\r\n\x1a\n0000").unwrap();
    let model = std::fs::read(common::model_path(common::SMOLLM2)).unwrap();
    let truncated = dir.join("truncated.gguf");
    std::fs::write(&truncated, &model[..500_000]).unwrap();
    let cases = [(png.clone(), "not a GGUF file"), (truncated.clone(), "truncated GGUF"), (dir.join("missing.gguf"), "No such file")];
    for (path, needle) in cases {
        let out = hearth(&["inspect", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{}", path.display());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle) && err.contains(path.file_name().unwrap().to_str().unwrap()), "{err}");
        assert!(out.stdout.is_empty());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `hearth tokenize --json` gives llama.cpp's ids (BOS per metadata) for the hard strings
/// of the tokenizer fixtures, on all three models.
#[test]
fn tokenize_json_matches_llama_cpp() {
    for (model, fixture) in [(common::SMOLLM2, "smollm2"), (common::QWEN25, "qwen25"), (common::GEMMA3, "gemma3")] {
        let path = common::model_path(model);
        let fx = common::read_fixture_json(&format!("tokenizer/{fixture}.json"));
        for case in fx["cases"].as_array().unwrap().iter().step_by(4) {
            let text = case["text"].as_str().unwrap();
            let got = stdout_json(&hearth(&["tokenize", "--model", path.to_str().unwrap(), "--json", text]));
            assert_eq!(got, case["ids"], "{model}: {text:?}");
        }
    }
}

#[test]
fn tokenize_text_output_and_errors() {
    let path = common::model_path(common::GEMMA3);
    let out = hearth(&["tokenize", "--model", path.to_str().unwrap(), " leading space"]);
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), "2 5830 2557"); // from tests/fixtures/tokenizer/gemma3.json
    let out = hearth(&["tokenize", "--model", path.to_str().unwrap(), "--no-special", " leading space"]);
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), "5830 2557");
    let out = hearth(&["tokenize", "--model", "/nonexistent/model.gguf", "hi"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("model.gguf"));
}

/// `hearth profile` on the tiny chat model: the host figures of steady greedy decode (one
/// round trip per 16 tokens, 4 bytes per token, no graph built after load), and per-dispatch
/// GPU times that add up by op kind (lavapipe has timestamps); the profiled batch after 300
/// tokens of context (more than a graph's 256-token batch), whose decode step reads them.
#[test]
fn profile_reports_host_costs_and_gpu_time_per_op() {
    let model = common::model_path(common::TINY_CHAT);
    let args = ["profile", "--model", model.to_str().unwrap(), "--context", "300", "--prompt-tokens", "9", "--gen-tokens", "31", "--json"];
    let out = stdout_json(&hearth(&args));
    assert_eq!(out["context_tokens"], 300);
    assert_eq!(out["decode_traffic"]["n_past"], 309);
    let decode = &out["decode"];
    // Chains of 16 and 15 tokens.
    assert_eq!(decode["tokens"], 31);
    assert_eq!(decode["round_trips"], 2);
    assert_eq!(decode["bytes_read_back"], 31 * 4);
    assert_eq!(out["graphs_built"], 0);
    assert!(out["host_encode_us_per_token"].as_f64().unwrap() > 0.0);
    for key in ["prefill_dispatches", "decode_dispatches"] {
        let dispatches = out[key].as_array().unwrap_or_else(|| panic!("{key}: {out}"));
        let per_token = out["dispatches_per_token"].as_f64().unwrap();
        assert_eq!(dispatches.len() as f64, per_token, "{key}: one time per dispatch");
        assert!(dispatches.iter().any(|d| d["name"] == "blk.1.ffn_down" && d["kind"].as_str().unwrap().starts_with("matmul")));
        assert!(dispatches.iter().all(|d| d["gpu_seconds"].as_f64().unwrap() >= 0.0));
        assert!(dispatches.iter().map(|d| d["gpu_seconds"].as_f64().unwrap()).sum::<f64>() > 0.0);
    }
}

/// `hearth bench` times sampled decode on whichever path generation would take: the GPU
/// sampler where the tuning lets it run (lavapipe's does), else the CPU sampler on read-back
/// logits (`--tune sample_on_gpu=false`, as SwiftShader's tuning has it), and says which.
#[test]
fn bench_times_sampled_decode_on_the_gpu_or_the_cpu() {
    let model = common::model_path(common::TINY_CHAT);
    for (tune, on) in [("sample_on_gpu=true", "gpu"), ("sample_on_gpu=false", "cpu")] {
        let args = [
            "--tune",
            tune,
            "bench",
            "--model",
            model.to_str().unwrap(),
            "--runs",
            "1",
            "--prompt-tokens",
            "4",
            "--gen-tokens",
            "3",
            "--json",
        ];
        let out = stdout_json(&hearth(&args));
        assert_eq!(out["decode_sampled_on"], on, "{tune}: {out}");
        assert!(out["decode_sampled_tok_s"].as_f64().unwrap() > 0.0, "{tune}: {out}");
    }
}

/// `hearth generate --logprobs N`: each token's logprob and N alternatives in the JSON
/// (values are checked against a reference in tests/core/engine_logprobs.rs); greedy picks the
/// first alternative; more than 20 is refused naming the option's field.
#[test]
fn generate_reports_logprobs_and_refuses_more_than_20() {
    let model = common::model_path(common::TINY_CHAT);
    let args = ["generate", "--model", model.to_str().unwrap(), "-n", "5", "--logprobs", "3", "--json", "Hello"];
    let out = stdout_json(&hearth(&args));
    let logprobs = out["logprobs"].as_array().unwrap_or_else(|| panic!("no logprobs in {out}"));
    assert_eq!(logprobs.len(), 5);
    for (lp, id) in logprobs.iter().zip(out["ids"].as_array().unwrap()) {
        assert_eq!(&lp["id"], id);
        let top = lp["top_logprobs"].as_array().unwrap();
        assert_eq!(top.len(), 3);
        assert_eq!(top[0]["id"], lp["id"], "greedy takes the most likely token");
        assert_eq!(top[0]["logprob"], lp["logprob"]);
        assert!(top.windows(2).all(|w| w[0]["logprob"].as_f64() >= w[1]["logprob"].as_f64()));
        assert!(lp["logprob"].as_f64().unwrap() <= 0.0);
        assert!(lp["token"].is_string() && lp["bytes"].is_array());
    }
    let text = hearth(&["generate", "--model", model.to_str().unwrap(), "-n", "2", "--logprobs", "2", "Hello"]);
    assert!(text.status.success());
    assert_eq!(String::from_utf8_lossy(&text.stderr).lines().filter(|l| l.contains(" | ")).count(), 2, "one table line per token");
    let out = hearth(&["generate", "--model", model.to_str().unwrap(), "-n", "2", "--logprobs", "21", "Hello"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`top_logprobs` is 21"), "{err}");
}

/// `generate --chat --tools` on the tiny random-weight model with templates that teach a
/// tool-call format (Qwen3's Hermes `<tool_call>`, Llama 3.2's JSON): a named function
/// constrains the reply to one call of it, which comes back parsed in `tool_calls` with
/// arguments inside the tool's schema. (`required`, `none`, refusals and bad tools: the unit
/// tests in src/tools and tests/browser/structured.js.)
#[test]
fn generate_tool_calls_are_constrained_and_parsed() {
    let model = common::model_path(common::TINY_CHAT);
    let tools = common::fixture_path("structured/tools.json");
    let template = |f: &str| common::fixture_path(&format!("chat/templates/{f}"));
    let run = |file: &str, choice: &str| {
        let template = template(file);
        let args = ["generate", "--json", "--chat", "-n", "60", "--temperature", "1", "--seed", "3", "--model"];
        let mut args: Vec<&str> = args.to_vec();
        args.extend([model.to_str().unwrap(), "--chat-template", template.to_str().unwrap()]);
        args.extend(["--tools", tools.to_str().unwrap(), "--tool-choice", choice, "Weather in Paris?"]);
        stdout_json(&hearth(&args))
    };
    for (file, name) in [("Qwen-Qwen3-0.6B.jinja", "set_alarm"), ("meta-llama-Llama-3.2-3B-Instruct.jinja", "get_weather")] {
        let g = run(file, name);
        assert_eq!(g["finish_reason"], "stop", "{file} {name}: {g}");
        let calls = g["tool_calls"].as_array().unwrap();
        assert_eq!(calls.len(), 1, "{file} {name}: {}", g["text"]);
        assert_eq!(calls[0]["name"], name);
        let args = &calls[0]["arguments"];
        let keys: Vec<&String> = args.as_object().unwrap().keys().collect();
        if name == "get_weather" {
            assert_eq!(keys, ["city", "unit"]);
            assert!(["celsius", "fahrenheit"].contains(&args["unit"].as_str().unwrap()));
            assert!((1..=12).contains(&args["city"].as_str().unwrap().chars().count()));
        } else {
            assert_eq!(keys, ["hour", "label"]);
            assert!((0..=23).contains(&args["hour"].as_i64().unwrap()));
        }
        assert_eq!(g["content"], "", "{file}: the reply is the call alone");
    }
}
