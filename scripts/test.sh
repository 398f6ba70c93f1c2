#!/usr/bin/env bash
# The whole test suite, on a fresh machine or a developer's: set up (idempotent), then
# the Rust tests (unit + integration, on the real models) and the wasm32 build check.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

echo "== wasm32 build check"
cargo build --lib --target wasm32-unknown-unknown

echo "== cargo test"
cargo test --all-targets
