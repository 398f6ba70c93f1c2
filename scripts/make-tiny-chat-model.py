#!/usr/bin/env python3
"""A tiny random-weight chat model for the browser tests of the package's mechanics.

Streaming, abort, interrupt, queueing, the demo's Stop button and offline use need a model
that talks, not a good one: on SwiftShader (the browser tests' CPU WebGPU) SmolLM2-135M
prefills ~2 tokens/s, so every such test spent most of its time in the model. This writes
models/tiny-chat-random.gguf (~9 MB): SmolLM2's tokenizer, chat template and metadata, with a
2-layer llama of width 64 and seeded random weights (token_embd and output Q8_0, the rest
F32). Its replies are gibberish but real text; the output rows of SmolLM2's special tokens
(ids 0-16, <|im_end|> among them) are zero, so greedy decoding never ends a reply by itself.
Deterministic: the same input file gives the same bytes.

Usage: python3 scripts/make-tiny-chat-model.py [models/smollm2-135m-instruct-q4_1.gguf] [OUT]
(scripts/fetch-models.sh runs it; needs the PyPI packages gguf and numpy.)
"""
import pathlib
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType, GGUFValueType

ROOT = pathlib.Path(__file__).resolve().parents[1]
SRC = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "models/smollm2-135m-instruct-q4_1.gguf"
OUT = pathlib.Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "models/tiny-chat-random.gguf"

D, FF, HEADS, KV_HEADS, LAYERS, CONTEXT = 64, 128, 2, 1, 2, 2048
N_SPECIAL = 17  # SmolLM2's <|endoftext|>, <|im_start|>, <|im_end|>, <repo_name>, ...
# The model's shape replaces SmolLM2's; everything else (tokenizer, template) is copied.
SHAPE = {
    "llama.block_count": LAYERS,
    "llama.context_length": CONTEXT,
    "llama.embedding_length": D,
    "llama.feed_forward_length": FF,
    "llama.attention.head_count": HEADS,
    "llama.attention.head_count_kv": KV_HEADS,
    "llama.rope.dimension_count": D // HEADS,
}
SKIP = {"general.file_type", "general.quantization_version", "general.name", "general.size_label"}


def main():
    reader = gguf.GGUFReader(str(SRC))
    vocab = int(reader.fields["llama.vocab_size"].contents())
    writer = gguf.GGUFWriter(str(OUT) + ".partial", "llama")
    writer.add_name("tiny random chat model (SmolLM2 tokenizer)")
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture" or key in SKIP:
            continue
        vtype = field.types[0]
        value = SHAPE.get(key, field.contents())
        sub = field.types[1] if vtype == GGUFValueType.ARRAY else None
        writer.add_key_value(key, value, vtype, sub)
    for key in SHAPE.keys() - reader.fields.keys():
        writer.add_key_value(key, SHAPE[key], GGUFValueType.UINT32)

    rng = np.random.default_rng(0x71C4)
    normal = lambda *shape, s: (rng.standard_normal(shape) * s).astype(np.float32)  # noqa: E731
    q8 = lambda a: gguf.quants.quantize(a, GGMLQuantizationType.Q8_0)  # noqa: E731
    writer.add_tensor("token_embd.weight", q8(normal(vocab, D, s=1.0)), raw_dtype=GGMLQuantizationType.Q8_0)
    # An untied output matrix: with the embedding as the LM head the model would repeat its
    # input token forever. Its special-token rows are zero, so they never win the argmax.
    output = normal(vocab, D, s=1.0)
    output[:N_SPECIAL] = 0.0
    writer.add_tensor("output.weight", q8(output), raw_dtype=GGMLQuantizationType.Q8_0)
    writer.add_tensor("output_norm.weight", np.ones(D, dtype=np.float32))
    hd = D // HEADS
    for i in range(LAYERS):
        p = f"blk.{i}."
        writer.add_tensor(p + "attn_norm.weight", np.ones(D, dtype=np.float32))
        writer.add_tensor(p + "attn_q.weight", normal(D, D, s=0.1))
        writer.add_tensor(p + "attn_k.weight", normal(KV_HEADS * hd, D, s=0.1))
        writer.add_tensor(p + "attn_v.weight", normal(KV_HEADS * hd, D, s=0.1))
        writer.add_tensor(p + "attn_output.weight", normal(D, D, s=0.1))
        writer.add_tensor(p + "ffn_norm.weight", np.ones(D, dtype=np.float32))
        writer.add_tensor(p + "ffn_gate.weight", normal(FF, D, s=0.1))
        writer.add_tensor(p + "ffn_up.weight", normal(FF, D, s=0.1))
        writer.add_tensor(p + "ffn_down.weight", normal(D, FF, s=0.1))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    pathlib.Path(str(OUT) + ".partial").replace(OUT)
    print(f"make-tiny-chat-model: {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
