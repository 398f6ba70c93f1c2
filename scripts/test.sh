#!/usr/bin/env bash
# The whole test suite, on a fresh machine or a developer's: set up (idempotent), then
# the Rust tests (unit + integration, on the real models), the wasm32 build check, and the
# browser package's build and tests (headless Chromium, WebGPU on SwiftShader).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

echo "== wasm32 build check"
cargo build --lib --target wasm32-unknown-unknown

echo "== cargo test"
cargo test --all-targets

echo "== hearth-llm package (www/: cargo wasm32 release + wasm-bindgen + tsc)"
(cd www && npm run build --silent)

echo "== browser tests (tests/browser/)"
# The native CLI they compare with: the debug-profile binary `cargo test` just built.
cargo build --quiet --bin hearth
export HEARTH_CLI="$PWD/target/debug/hearth"
(cd tests/browser && npm test --silent)
