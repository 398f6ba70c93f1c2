#!/usr/bin/env bash
# The main job on the default model (SmolLM2-135M-Instruct): set up, build, and show what
# Hearth reads from the model. (Becomes the browser demo once the GPU engine lands.)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --quiet
model=models/smollm2-135m-instruct-q4_1.gguf
target/release/hearth inspect "$model"
echo
target/release/hearth tokenize --model "$model" "<|im_start|>user
Hello from Hearth!<|im_end|>"
