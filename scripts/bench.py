#!/usr/bin/env python3
"""Hearth against llama.cpp on the same model files, in the same run, on the same machine.

For each model: `hearth bench --json` (median of N runs of a P-token prefill and G greedy
decode steps, on whatever GPU wgpu picks: lavapipe on a machine without one), then
llama.cpp through llama-cpp-python on the CPU with 2 threads, the same prompt ids, the same
P and G and the same median. Prints a markdown table with the ratios Hearth / llama.cpp.

Usage (from the repo root; scripts/bench.sh builds the release binary first):

    python3 scripts/bench.py [--hearth target/release/hearth] [--runs 5] [--prompt-tokens 128]
                             [--gen-tokens 128] MODEL.gguf ...

llama.cpp side, as measured: prefill = one llama_decode of the P prompt tokens (n_batch 512,
so a single batch) from an empty cache; decode = G single-token llama_decode calls, each fed
the argmax of the previous logits (llama.cpp computes logits only for the last token).
One untimed warm-up run comes first on both sides.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

THREADS = 2


def prompt_ids(n: int, vocab: int) -> list[int]:
    """The fixed prompt `hearth bench` uses (src/bin/hearth/bench.rs)."""
    return [(i * 7919 + 13) % vocab for i in range(n)]


def llama_cpp_bench(model: Path, n_prompt: int, n_gen: int, runs: int) -> dict:
    import llama_cpp
    from llama_cpp import Llama

    fd, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)  # llama.cpp logs every tensor on stderr while loading
    try:
        llm = Llama(model_path=str(model), n_ctx=n_prompt + n_gen + 8, n_batch=512, n_ubatch=512,
                    n_threads=THREADS, n_threads_batch=THREADS, logits_all=False, verbose=False)
    finally:
        os.dup2(fd, 2)
        os.close(fd)
        os.close(null)
    vocab = llm.n_vocab()
    prompt = prompt_ids(n_prompt, vocab)

    def greedy() -> int:
        # The last token's logits, straight from llama.cpp's buffer (no copy into Python).
        return int(np.argmax(np.ctypeslib.as_array(llm._ctx.get_logits_ith(-1), shape=(vocab,))))

    def one_run() -> tuple[float, float]:
        llm.reset()
        t = time.perf_counter()
        llm.eval(prompt)
        prefill = n_prompt / (time.perf_counter() - t)
        nxt = greedy()
        t = time.perf_counter()
        for _ in range(n_gen):
            llm.eval([nxt])
            nxt = greedy()
        decode = n_gen / (time.perf_counter() - t)
        return prefill, decode

    one_run()  # warm-up: page in the weights, size the buffers
    results = [one_run() for _ in range(runs)]
    return {
        "version": llama_cpp.__version__,
        "prefill_tok_s": statistics.median(r[0] for r in results),
        "decode_tok_s": statistics.median(r[1] for r in results),
        "prefill_tok_s_all": [r[0] for r in results],
        "decode_tok_s_all": [r[1] for r in results],
    }


def hearth_bench(hearth: Path, model: Path, n_prompt: int, n_gen: int, runs: int) -> dict:
    cmd = [str(hearth), "bench", "--model", str(model), "--prompt-tokens", str(n_prompt),
           "--gen-tokens", str(n_gen), "--runs", str(runs), "--json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", type=Path)
    ap.add_argument("--hearth", type=Path, default=Path("target/release/hearth"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--prompt-tokens", type=int, default=128)
    ap.add_argument("--gen-tokens", type=int, default=128)
    ap.add_argument("--json", type=Path, help="also write every measurement to this file")
    args = ap.parse_args()

    rows, raw, device, version = [], [], "?", "?"
    for model in args.models:
        if not model.is_file():
            print(f"bench: {model}: no such file", file=sys.stderr)
            return 1
        print(f"bench: {model.name}: Hearth ...", file=sys.stderr, flush=True)
        h = hearth_bench(args.hearth, model, args.prompt_tokens, args.gen_tokens, args.runs)
        print(f"bench: {model.name}: llama.cpp ...", file=sys.stderr, flush=True)
        l = llama_cpp_bench(model, args.prompt_tokens, args.gen_tokens, args.runs)
        device, version = h["device"], l["version"]
        raw.append({"model": model.name, "hearth": h, "llama_cpp": l})
        rows.append((model.name, h["prefill_tok_s"], l["prefill_tok_s"], h["decode_tok_s"], l["decode_tok_s"]))

    cpu = platform.processor() or platform.machine()
    # Other work on the machine skews both sides (llama.cpp's spinning threads suffer most).
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else ["?"]
    print(f"Hearth on {device}; llama.cpp {version} (llama-cpp-python) on the CPU, {THREADS} threads; "
          f"{os.cpu_count()} cores ({cpu}); {datetime.date.today()}; load average after the runs "
          f"{' '.join(load)}; {args.prompt_tokens}-token prompt, {args.gen_tokens} generated tokens, "
          f"median of {args.runs}.\n")
    print("| model | Hearth prefill tok/s | llama.cpp prefill tok/s | Hearth decode tok/s | llama.cpp decode tok/s | prefill ratio | decode ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, hp, lp, hd, ld in rows:
        print(f"| {name} | {hp:.1f} | {lp:.1f} | {hd:.1f} | {ld:.1f} | {hp / lp:.2f} | {hd / ld:.2f} |")
    if args.json:
        args.json.write_text(json.dumps(raw, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
