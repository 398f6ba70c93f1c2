// The gated FFN activations, shared by shaders/elementwise.wgsl (gate and up in separate
// tensors) and the GLU epilogue of shaders/matmul.wgsl (gate and up from one matmul).

// silu(g) * u: llama, qwen2.
fn swiglu_of(g: f32, u: f32) -> f32 {
    return g / (1.0 + exp(-g)) * u;
}

// gelu_tanh(g) * u: gemma.
fn geglu_tanh_of(g: f32, u: f32) -> f32 {
    // tanh is exactly ±1 in f32 beyond |x| ≈ 9.01, so clamping its argument changes
    // nothing where tanh is computed well, but SwiftShader computes tanh from exp and
    // returns NaN for large arguments (a Gemma 3 chat prompt gave all-NaN logits).
    let inner = clamp(0.7978845608028654 * (g + 0.044715 * g * g * g), -10.0, 10.0);
    return 0.5 * g * (1.0 + tanh(inner)) * u;
}
