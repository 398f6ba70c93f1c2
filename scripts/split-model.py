#!/usr/bin/env python3
"""Splits a GGUF into shards the way llama.cpp's gguf-split does (NAME-00001-of-0000N.gguf,
each shard a GGUF of its own with split.no / split.count / split.tensors.count; the first
holds the metadata), with the `gguf` package's writer, for the tests of sharded loading.

Usage: python3 scripts/split-model.py MODEL.gguf OUT_PREFIX.gguf MAX_TENSORS_PER_SHARD
(scripts/fetch-models.sh splits the tiny chat model into models/tiny-chat-split-0000k-of-0000N.gguf.)
"""
import pathlib
import sys

import gguf
from gguf import GGUFValueType


def main():
    src, out, max_tensors = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), int(sys.argv[3])
    reader = gguf.GGUFReader(str(src))
    arch = reader.fields["general.architecture"].contents()
    writer = gguf.GGUFWriter(str(out), arch, split_max_tensors=max_tensors)
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        vtype = field.types[0]
        sub = field.types[1] if vtype == GGUFValueType.ARRAY else None
        writer.add_key_value(key, field.contents(), vtype, sub)
    for t in reader.tensors:
        # The blocks as stored (the reader's array has rows x bytes for quantised types, which
        # the writer turns back into the shape in elements).
        writer.add_tensor(t.name, t.data, raw_dtype=t.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


if __name__ == "__main__":
    main()
