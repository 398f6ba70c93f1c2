#!/usr/bin/env bash
# The whole test suite, on a fresh machine or a developer's: set up (idempotent), build the
# native tests and the browser package, run every Rust test binary (unit + integration, on
# the real models, on lavapipe) and the browser tests (headless Chromium, WebGPU on
# SwiftShader), then print seconds per phase so anyone can see what grew.
#
# Test binaries run as independent jobs, HEARTH_TEST_JOBS at a time (default 2, the cores of
# the machines CI runs on), longest first; each job's output goes to target/test-logs/ and
# is printed when the job ends. The budget: the whole run ≤ 35 min on the slowest 2-core
# machine of this kind (see README "Tests").
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
jobs=${HEARTH_TEST_JOBS:-2}
logs=$root/target/test-logs
times=$root/target/test-logs/phases.tsv
t_start=$(date +%s)

# The Vulkan loader (through libwayland) looks for a display socket in XDG_RUNTIME_DIR and
# prints "error: XDG_RUNTIME_DIR is invalid or not set" when it is unset, as on CI and in
# containers. Compute needs no display: give it an empty private directory to look in.
if [ -z "${XDG_RUNTIME_DIR:-}" ] || [ ! -d "${XDG_RUNTIME_DIR}" ]; then
  XDG_RUNTIME_DIR=$(mktemp -d /tmp/hearth-xdg.XXXXXX)
  chmod 700 "$XDG_RUNTIME_DIR"
  export XDG_RUNTIME_DIR
fi

# CI builds once from scratch: incremental compilation only adds work there (~8 s of the
# native test build). Developers keep it, for quick rebuilds after small changes.
if [ -n "${CI:-}" ]; then export CARGO_INCREMENTAL=0; fi

rm -rf "$logs"
mkdir -p "$logs"
: >"$times"

# phase NAME CMD...: runs CMD in the foreground and records its seconds.
phase() {
  local name=$1 t0 rc=0
  shift
  echo "== $name"
  t0=$(date +%s)
  "$@" || rc=$?
  printf '%s\t%s\t%s\n' "$name" $(($(date +%s) - t0)) "$rc" >>"$times"
  return $rc
}

print_table() {
  echo
  echo "== phase times (seconds; jobs in parallel overlap, so they add up to more than the total)"
  awk -F'\t' '{ printf "  %-44s %6d  %s\n", $1, $2, ($3 == 0 ? "ok" : "FAILED (exit " $3 ")") }' "$times"
  printf '  %-44s %6d\n' "total" $(($(date +%s) - t_start))
}
trap print_table EXIT

phase "setup" scripts/setup.sh

t_builds=$(date +%s)
# Build once; the test binaries then run without cargo (no lock contention between jobs).
# Not --all-targets: its --bins compiles the CLI a second time as a test harness (~16 s of
# CPU) even with `test = false` (Cargo.toml), and the CLI has no unit tests; the integration
# tests still build the CLI itself (they run it).
build_tests() { cargo test --lib --tests --benches --no-run --message-format=json-render-diagnostics >"$logs/build.json"; }
# The package (wasm32 release) builds alongside the native tests: the two cargo builds lock
# different directories (target/debug; target/wasm32-unknown-unknown and target/release for
# build scripts), and each has stretches where one crate compiles alone and a core idles.
build_package() { (cd www && npm run build --silent) >"$logs/package-build.log" 2>&1; }
phase "build: hearth-llm package (wasm32 + tsc), alongside" build_package &
package_pid=$!
phase "build: native tests (cargo test --no-run)" build_tests
package_rc=0
wait "$package_pid" || package_rc=$?
cat "$logs/package-build.log"
[ "$package_rc" -eq 0 ] || { echo "== the hearth-llm package build failed (exit $package_rc)"; exit 1; }
printf '%s\t%s\t%s\n' "build: both, wall time" $(($(date +%s) - t_builds)) 0 >>"$times"

# One job per test binary: "NAME<TAB>COMMAND". Their order is the expected cost, longest
# first, so that two lanes finish together; the rest (seconds each) fill in after them.
jq_bins() {
  python3 -c '
import json, sys
for line in open(sys.argv[1]):
    if not line.startswith("{"): continue
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"]:
        t = m["target"]
        if "example" in t["kind"] or "bench" in t["kind"]: continue
        name = t["name"]
        if {"lib", "rlib", "cdylib"} & set(t["kind"]): name = "unit (lib)"
        elif "bin" in t["kind"]: name = "unit (bin " + name + ")"
        print(name + "\t" + m["executable"])
' "$1"
}
# Measured on a 2-core EPYC with AVX-512, two jobs at a time, quiet machine (seconds, fresh
# clone, 2026-11-26, 78329c0; models and core are whole test binaries of several files each):
# models ~147, browser:generate ~76, browser:families ~74, core ~67, browser:demo ~47, gpu
# ~32, browser:load ~20, cli ~16, browser:download ~16, browser:soak ~12, the rest < 15.
ORDER="models browser:generate browser:families core browser:demo gpu browser:soak browser:load cli browser:download"
rank_of() { # position of a job in ORDER; 99 (after them all) when not listed
  local i=0
  for o in $ORDER; do i=$((i + 1)); [ "$o" = "$1" ] && { echo $i; return; }; done
  echo 99
}
jobfile=$logs/jobs.tsv
{
  jq_bins "$logs/build.json" | while IFS=$'\t' read -r name exe; do
    printf '%s\t%s\t%s\n' "$(rank_of "$name")" "$name" "$exe"
  done
  # One job per browser test file (each starts its own Chromium and server); they compare
  # with the native CLI `cargo test` just built.
  for f in tests/browser/*.test.js; do
    name=browser:$(basename "$f" .test.js)
    printf '%s\t%s\t%s\n' "$(rank_of "$name")" "$name" "cd tests/browser && HEARTH_CLI=$root/target/debug/hearth node --test $(basename "$f")"
  done
} | sort -n -k1,1 | cut -f2- >"$jobfile"

run_job() { # run_job NAME COMMAND: one job, output to its log, time to the table
  local name=$1 cmd=$2 t0 rc=0
  t0=$(date +%s)
  if [[ $name == browser:* ]]; then
    bash -c "$cmd" >"$logs/$name.log" 2>&1 || rc=$?
  else
    "$cmd" >"$logs/$name.log" 2>&1 || rc=$?
  fi
  printf '%s\t%s\t%s\n' "test: $name" $(($(date +%s) - t0)) "$rc" >>"$times"
  echo "== test: $name ($(($(date +%s) - t0)) s, exit $rc)"
  if [ $rc -ne 0 ]; then cat "$logs/$name.log"; else grep -E '^(test result|# (pass|fail|tests))' "$logs/$name.log" || true; fi
  return $rc
}
export -f run_job
export logs times

echo "== tests: $(wc -l <"$jobfile") jobs, $jobs at a time (logs in target/test-logs/)"
failed=0
tr '\t' '\n' <"$jobfile" | xargs -d '\n' -n 2 -P "$jobs" bash -c 'run_job "$0" "$1"' || failed=1
# One closing line for the whole suite, summed over cargo's "test result" lines and
# node's "# pass"/"# fail" lines.
cat "$logs"/*.log | awk '
  /^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed;?$/) p += $i; if ($(i+1) ~ /^failed;?$/) f += $i } }
  /^# pass / { p += $3 } /^# fail / { f += $3 }
  END { printf "tests: %d passed, %d failed\n", p, f }'
[ $failed -eq 0 ] || { echo "== some tests FAILED (see above)"; exit 1; }
