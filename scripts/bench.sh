#!/usr/bin/env bash
# Speed of Hearth next to llama.cpp (same files, same machine, same run): builds the release
# CLI and runs scripts/bench.py, which prints a markdown table (see README, "Speed").
# Needs llama-cpp-python and the requantised SmolLM2 files: `scripts/setup.sh --reference`
# (run here first) builds and makes them.
# Usage: scripts/bench.sh [MODEL.gguf ...] [-- bench.py options]
#        scripts/bench.sh --browser [bench/browser/run.mjs options] [MODEL.gguf ...]
#   --browser: Hearth next to wllama in one headless Chromium (WebGPU on SwiftShader), see
#   bench/browser/run.mjs; default model SmolLM2-135M Q4_1.
# Default models: SmolLM2-135M as shipped (Q4_1) and requantised to Q8_0 and Q4_K_M, then
# Qwen2.5-Coder 0.5B and Gemma 3 270M as shipped (Q4_K_M mixes).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--browser" ]; then
  shift
  # wllama and playwright-core at the versions pinned in bench/browser/package-lock.json.
  [ -d bench/browser/node_modules/@wllama/wllama ] || (cd bench/browser && npm ci --no-audit --no-fund)
  # The package as the sources now are: rebuilt when any source is newer than www/dist/.
  if [ ! -f www/dist/index.js ] || [ -n "$(find src shaders www/src Cargo.toml Cargo.lock \
       -path www/src/wasm -prune -o -newer www/dist/index.js -print -quit)" ]; then
    (cd www && { [ -d node_modules ] || npm ci; } && npm run build:package)
  fi
  exec node bench/browser/run.mjs "$@"
fi

models=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do models+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
if [ ${#models[@]} -eq 0 ]; then
  models=(models/smollm2-135m-instruct-q4_1.gguf
          models/requant/smollm2-135m-instruct-q8_0.gguf
          models/requant/smollm2-135m-instruct-q4_k_m.gguf
          models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf
          models/gemma-3-270m-q4_k_m.gguf)
fi

scripts/setup.sh --reference
cargo build --release --quiet --bin hearth
python3 scripts/bench.py --hearth target/release/hearth "$@" "${models[@]}"
