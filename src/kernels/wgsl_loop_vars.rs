//! A rule for every shader in shaders/: a `var` declared inside a loop body has an explicit
//! initialiser. WGSL zeroes `var x: T;` each time the declaration runs, but Chromium 156
//! (Tint, on SwiftShader) zeroed one inside a loop on the first iteration only: the 8-bit
//! GEMM's integer sums (shaders/gemm_dp4a.wgsl) then carried over and it picked wrong tokens
//! there, while naga (native, and every native test) zeroes it as WGSL says. A scan of the
//! sources is the one check that sees every kernel, whatever CI runs in a browser.

use std::path::Path;

/// `(line, declaration)` of each `var` without an initialiser inside a loop body of `source`.
/// Loops are found by their headers (`for`, `while`, `loop` opening a brace on the same line),
/// which is how every shader here writes them.
fn uninitialised_loop_vars(source: &str) -> Vec<(usize, String)> {
    let mut loop_blocks: Vec<bool> = Vec::new(); // per open brace: does it open a loop body
    let mut found = Vec::new();
    for (n, raw) in source.lines().enumerate() {
        let line = raw.split("//").next().unwrap_or("").trim();
        let declares = line.starts_with("var ") && !line.contains('=');
        if declares && loop_blocks.iter().any(|&is_loop| is_loop) {
            found.push((n + 1, line.to_string()));
        }
        for (i, ch) in line.char_indices() {
            match ch {
                '{' => {
                    let header = line[..i].trim_start_matches('}').trim();
                    loop_blocks.push(["for ", "for(", "while ", "while(", "loop"].iter().any(|k| header.starts_with(k)));
                }
                '}' => {
                    loop_blocks.pop();
                }
                _ => {}
            }
        }
    }
    found
}

fn wgsl_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            wgsl_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "wgsl") {
            out.push(path);
        }
    }
}

#[test]
fn every_loop_scoped_var_has_an_initialiser() {
    let mut files = Vec::new();
    wgsl_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders"), &mut files);
    assert!(files.len() > 20, "the shaders were found: {files:?}");
    let bad: Vec<String> = files
        .iter()
        .flat_map(|f| {
            let source = std::fs::read_to_string(f).unwrap();
            uninitialised_loop_vars(&source).into_iter().map(move |(n, d)| format!("{}:{n}: {d}", f.display()))
        })
        .collect();
    assert!(bad.is_empty(), "give these an explicit initialiser (e.g. `var s = array<f32, N>();`):\n{}", bad.join("\n"));
}

#[test]
fn the_scan_finds_loop_scoped_vars_and_only_those() {
    let source = "fn f() {\n    var top: array<f32, 4>;\n    for (var i = 0u; i < 4u; i++) {\n        var bad: array<i32, 4>;\n        var good = array<i32, 4>();\n        if (i > 0u) {\n            var nested: u32;\n        }\n    }\n    loop {\n        var in_loop: f32; // comment\n        break;\n    }\n    var after: u32;\n}\n";
    let found: Vec<usize> = uninitialised_loop_vars(source).into_iter().map(|(n, _)| n).collect();
    assert_eq!(found, vec![4, 7, 11]);
}
