// The per-step uniform every token-dependent kernel reads (mirrors `Step` in
// src/kernels/step.rs; prepended to those kernels by src/gpu/pipelines.rs). It is the only
// thing that differs between two runs of a recorded forward graph: where the batch starts in
// the sequence and how many tokens it has. So one graph, built at load over activation
// buffers sized for the largest batch, serves every prompt length and every chat turn.

struct Step {
    pos0: u32,     // position of the batch's first token
    n_tokens: u32, // tokens in this batch (<= the graph's capacity)
    _pad0: u32,
    _pad1: u32,
}

