#!/usr/bin/env python3
"""Shrink a GGUF to travel to a lent GPU machine (its file limit is 64 MiB), then grow it back.

A benchmark's speed does not depend on the weights' values, only on their shapes and types,
so a model can travel as its header (metadata, tokenizer, tensor table: unchanged) plus the
first rows of each tensor; `grow` writes a file of the original size with every tensor filled
by repeating those rows. Blocks stay whole (rows are whole blocks), so every scale is a real
one and the kernels do exactly the work they do on the real file. The text it generates is
nonsense: use such a file for speed only (`hearth bench`, `hearth profile`, llama-bench).

    skeleton.py shrink MODEL.gguf SKELETON.npz [--row-bytes 32768]
    skeleton.py grow SKELETON.npz MODEL.gguf
"""

from __future__ import annotations

import argparse
import json

import numpy as np


def shrink(src: str, dst: str, row_bytes: int) -> None:
    from gguf import GGUFReader

    reader = GGUFReader(src)
    raw = np.memmap(src, dtype=np.uint8, mode="r")
    data_start = min(int(t.data_offset) for t in reader.tensors)
    parts, index = {"header": np.array(raw[:data_start])}, []
    for i, t in enumerate(reader.tensors):
        nbytes = int(t.n_bytes)
        rows = max(1, int(np.prod(t.shape[1:])) if len(t.shape) > 1 else 1)
        per_row = nbytes // rows
        keep = min(nbytes, per_row * max(1, -(-row_bytes // per_row)))
        parts[f"t{i}"] = np.array(raw[t.data_offset:t.data_offset + keep])
        index.append({"name": t.name, "offset": int(t.data_offset), "nbytes": nbytes})
    parts["index"] = np.frombuffer(json.dumps({"size": int(raw.size), "tensors": index}).encode(), np.uint8)
    np.savez_compressed(dst, **parts)


def grow(src: str, dst: str) -> None:
    parts = np.load(src)
    index = json.loads(parts["index"].tobytes())
    out = np.memmap(dst, dtype=np.uint8, mode="w+", shape=(index["size"],))
    header = parts["header"]
    out[:header.size] = header
    for i, t in enumerate(index["tensors"]):
        prefix = parts[f"t{i}"]
        reps = -(-t["nbytes"] // prefix.size)
        out[t["offset"]:t["offset"] + t["nbytes"]] = np.tile(prefix, reps)[:t["nbytes"]]
    out.flush()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("shrink")
    s.add_argument("src")
    s.add_argument("dst")
    s.add_argument("--row-bytes", type=int, default=32768)
    g = sub.add_parser("grow")
    g.add_argument("src")
    g.add_argument("dst")
    a = ap.parse_args()
    shrink(a.src, a.dst, a.row_bytes) if a.cmd == "shrink" else grow(a.src, a.dst)


if __name__ == "__main__":
    main()
