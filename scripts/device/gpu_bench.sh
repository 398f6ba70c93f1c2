#!/usr/bin/env bash
# Hearth on a lent GPU machine (see /work/.library/device), next to llama.cpp built there
# with CUDA, on the same model files, in the same run. The machine is bare and offline, so
# everything travels in .dev/ (ignored by git; see scripts/device/README.md):
#   .dev/hearth-*          release `hearth` CLIs to compare (e.g. hearth-base, hearth-new)
#   .dev/bench-*           kernel bench binaries (optional; see below)
#   .dev/skel/*.npz        models shrunk by scripts/device/skeleton.py (grown back here)
#   .dev/llama.cpp-src.tar.xz  llama.cpp's sources (vendor/llama.cpp of llama-cpp-python)
# and .gl/ the Vulkan loader's .deb (the image has NVIDIA's driver but no loader).
# Results: $OUT/log (everything), $OUT/results.jsonl (one JSON object per measurement).
# Env: RUNS (default 5), LLAMA=0 skips the llama.cpp build, TUNINGS (default "default"; "default cpu" also forces the CPU-like shapes, slow on a GPU: minutes),
# TUNES (`;`-separated `--tune` specs to bench too, e.g. "matmul_decode_workgroup_size=128,matmul_decode_threads_per_row=32"),
# SKELS (default: every .dev/skel/*.npz), BENCH_ARGS (extra `hearth bench` options),
# TUNE_BINS, EXTRA and EXTRA_BINS, BENCH_BIN_ARGS, PROFILE_TUNES and PROFILE_TUNE_BINS (below), PROFILE (the binaries `hearth profile` runs with, default every .dev/hearth-*), PROFILE_PROMPTS
# (`;`-free list of prefill batch sizes profiled, default 128; at most 256), PROFILE_CONTEXT (tokens
# in the cache before each profiled batch, default 0: e.g. 1744 with 256 profiles a 2,000-token
# prompt's last chunk).
# While llama.cpp builds (nice'd, 12 of the 16 cores) only GPU timestamps are taken
# (`hearth profile`); every timed run comes after the build, on a quiet machine.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/out}
RUNS=${RUNS:-5}
mkdir -p "$OUT"
results=$OUT/results.jsonl
t0=$(date +%s)
stamp() { echo "== [$(($(date +%s) - t0)) s] $*"; }

for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
nv_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if ! compgen -G '/usr/share/vulkan/icd.d/nvidia*.json' >/dev/null && ! compgen -G '/etc/vulkan/icd.d/nvidia*.json' >/dev/null && [ -f $nv_icd ]; then
  export VK_DRIVER_FILES=$nv_icd
fi
export XDG_RUNTIME_DIR=$(mktemp -d)
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv
nproc

# llama.cpp with CUDA for this GPU only, in the background while the models are grown;
# FlashAttention kernels are left out to halve the build (llama-bench then runs -fa 0).
if [ "${LLAMA:-1}" = 1 ]; then
  (
    mkdir -p /tmp/lc && tar xJf .dev/llama.cpp-src.tar.xz -C /tmp/lc && cd /tmp/lc/llama.cpp &&
      cmake -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_CUDA=ON -DGGML_CUDA_FA=OFF \
        -DCMAKE_CUDA_ARCHITECTURES=90 -DGGML_CUDA_NCCL=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
        -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
        -DLLAMA_BUILD_APP=OFF -DBUILD_SHARED_LIBS=OFF >/tmp/lc/cmake.log 2>&1 &&
      nice -n 19 ninja -j 12 -C build llama-bench >/tmp/lc/ninja.log 2>&1
    echo $? >/tmp/lc/rc
  ) &
  build=$!
fi

models=()
for s in ${SKELS:-.dev/skel/*.npz}; do
  m=/tmp/$(basename "$s" .npz).gguf
  python3 scripts/device/skeleton.py grow "$s" "$m" && models+=("$m")
done
stamp "models grown: ${models[*]}"

# tag H T: JSON lines on stdin, each tagged with the binary and tuning that made it.
tag() { python3 -c '
import json, sys
for line in sys.stdin:
    if line.startswith("{"):
        print(json.dumps({**json.loads(line), "hearth": sys.argv[1], "tuning": sys.argv[2]}))' "$@"; }

# Kernel benches built here (`cargo bench --bench NAME --no-run`, copied to .dev/bench-NAME):
# the read-reduce ceiling (bandwidth) and each kernel at SmolLM2's shapes (kernels).
# BENCH_BIN_ARGS: `;`-separated argument lists, each a run of every bench binary (default one
# run with none), e.g. "--tokens 1 --only matmul;--tokens 1 --only matmul --tune ...".
IFS=';' read -ra bench_args <<<"${BENCH_BIN_ARGS:-}"
[ ${#bench_args[@]} -gt 0 ] || bench_args=("")
for b in .dev/bench-*; do
  [ -x "$b" ] || continue
  for a in "${bench_args[@]}"; do
    stamp "$b $a"
    # shellcheck disable=SC2086
    timeout 120 "$b" $a 2>&1 | tee -a "$OUT/log"
  done
done

for m in "${models[@]}"; do
  for h in ${PROFILE:-.dev/hearth-*}; do
    for n in ${PROFILE_PROMPTS:-128}; do
      stamp "$h profile --prompt-tokens $n $m"
      "$h" profile --model "$m" --prompt-tokens "$n" --context "${PROFILE_CONTEXT:-0}" 2>&1 | tee -a "$OUT/log"
    done
  done
  # PROFILE_TUNES: `;`-separated `--tune` specs, each profiled (the first of PROFILE_PROMPTS)
  # with the binaries in PROFILE_TUNE_BINS (default .dev/hearth-main): per-kernel GPU time of
  # a sweep, where `hearth bench` gives only the total.
  IFS=';' read -ra ptunes <<<"${PROFILE_TUNES:-}"
  for t in "${ptunes[@]}"; do
    for h in ${PROFILE_TUNE_BINS:-.dev/hearth-main}; do
      n=${PROFILE_PROMPTS:-128}; n=${n%% *}
      stamp "$h --tune $t profile --prompt-tokens $n $m"
      "$h" --tune "$t" profile --model "$m" --prompt-tokens "$n" 2>&1 | tee -a "$OUT/log"
    done
  done
done

# TUNES: `;`-separated `hearth --tune` specs, each benched on top of the device's choice,
# with the binaries in TUNE_BINS (default all; older builds reject newer keys). TUNES_EARLY=1
# runs them (and the default once more, tagged early:default) while llama.cpp builds: a sweep
# compares its own runs only, and the default both during and after the build shows what the
# build's load did to the timings.
bench_tunes() { # bench_tunes BINARY MODEL TAG_PREFIX
  local h=$1 m=$2 prefix=$3 t
  case " ${TUNE_BINS:-$h} " in *" $h "*) ;; *) return ;; esac
  IFS=';' read -ra tunes <<<"${TUNES:-}"
  if [ "$prefix" = early ]; then
    stamp "$h early default bench $m"
    "$h" bench --model "$m" --runs "$RUNS" --json ${BENCH_ARGS:-} 2>&1 | tee -a "$OUT/log" |
      tag "$(basename "$h")" "early:default" >>"$results"
  fi
  for t in "${tunes[@]}"; do
    stamp "$h --tune $t bench $m"
    "$h" --tune "$t" bench --model "$m" --runs "$RUNS" --json ${BENCH_ARGS:-} 2>&1 | tee -a "$OUT/log" |
      tag "$(basename "$h")" "$prefix:$t" >>"$results"
  done
}
if [ "${TUNES_EARLY:-0}" = 1 ]; then
  for m in "${models[@]}"; do
    for h in .dev/hearth-*; do bench_tunes "$h" "$m" early; done
  done
fi

if [ "${LLAMA:-1}" = 1 ]; then
  stamp "waiting for the llama.cpp build"
  # A build past LLAMA_DEADLINE seconds from the start is given up: the Hearth runs matter more.
  while kill -0 "$build" 2>/dev/null && [ $(($(date +%s) - t0)) -lt "${LLAMA_DEADLINE:-330}" ]; do sleep 2; done
  kill -0 "$build" 2>/dev/null && { pkill -f ninja; pkill -f nvcc; echo timeout >/tmp/lc/rc; }
  wait "$build"
  stamp "llama.cpp build rc $(cat /tmp/lc/rc)"
  tail -n 5 /tmp/lc/cmake.log /tmp/lc/ninja.log
  for m in "${models[@]}"; do
    /tmp/lc/llama.cpp/build/bin/llama-bench -m "$m" -p 128 -n 128 -r "$RUNS" -ngl 99 -fa 0 -o jsonl 2>>"$OUT/log" |
      tee -a "$OUT/log" | tag llama.cpp cuda >>"$results"
  done
fi
for m in "${models[@]}"; do
  for h in .dev/hearth-*; do
    for t in ${TUNINGS:-default}; do
      opt=(); [ "$t" != default ] && opt=(--tuning "$t")
      stamp "$h $t bench $m"
      "$h" "${opt[@]}" bench --model "$m" --runs "$RUNS" --json ${BENCH_ARGS:-} 2>&1 | tee -a "$OUT/log" |
        tag "$(basename "$h")" "$t" >>"$results"
    done
    [ "${TUNES_EARLY:-0}" = 1 ] || bench_tunes "$h" "$m" tune
  done
done

# EXTRA: `;`-separated argument lists for `hearth` ending in a `bench` subcommand and its
# options (e.g. "--tune attention_tiled=false bench --prompt-tokens 1000"), each run on every
# model with the binaries in EXTRA_BINS (default all) and tagged with its arguments.
IFS=';' read -ra extras <<<"${EXTRA:-}"
for e in "${extras[@]}"; do
  for m in "${models[@]}"; do
    for h in ${EXTRA_BINS:-.dev/hearth-*}; do
      stamp "$h $e $m"
      # shellcheck disable=SC2086
      "$h" $e --model "$m" --runs "$RUNS" --json 2>&1 | tee -a "$OUT/log" | tag "$(basename "$h")" "extra:$e" >>"$results"
    done
  done
done

stamp done
cat "$results"
