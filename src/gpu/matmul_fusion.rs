//! What the matmul kernels (shaders/matmul.wgsl, shaders/gemm.wgsl) do besides the product,
//! as part of a pipeline's spec: the norm that prepares their input (a prologue) and what
//! they do with each output (an epilogue), so that neither costs a dispatch of its own. Each
//! renders the generated constants, bindings and helpers that the shaders call.

use super::pipelines::ElementwiseOp;

/// What shaders/matmul.wgsl does with each output before storing it, so that the bias add,
/// the residual add and the gated FFN activation cost no dispatch of their own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct MatmulEpilogue {
    /// Add a bias vector (binding 5).
    pub bias: bool,
    /// Add to what the output holds (`y += W·x`: the residual stream).
    pub accumulate: bool,
    /// The matrix is [gate; up] concatenated: store `act(gate·x) * (up·x)` (`SwiGlu` or
    /// `GeGluTanh`).
    pub glu: Option<ElementwiseOp>,
}

impl MatmulEpilogue {
    /// The shader's generated constants (and the bias binding, when used).
    pub(super) fn wgsl(self) -> String {
        let glu = match self.glu {
            None => 0,
            Some(ElementwiseOp::SwiGlu) => 1,
            Some(ElementwiseOp::GeGluTanh) => 2,
        };
        let bias = if self.bias {
            "@group(0) @binding(5) var<storage, read> bias: array<f32>;\nfn bias_at(i: u32) -> f32 { return bias[i]; }\n"
        } else {
            "fn bias_at(i: u32) -> f32 { return 0.0; }\n"
        };
        format!("const BIAS: bool = {};\nconst ACCUMULATE: bool = {};\nconst GLU: u32 = {glu}u;\n{bias}", self.bias, self.accumulate)
    }

    pub(super) fn label(self) -> String {
        let mut s = String::new();
        if self.bias {
            s += "_bias";
        }
        if self.accumulate {
            s += "_acc";
        }
        if let Some(op) = self.glu {
            s += "_";
            s += op.entry_point();
        }
        s
    }

    /// Storage bindings the epilogue adds after the matmul's five.
    pub fn bindings(self) -> u32 {
        u32::from(self.bias)
    }
}

/// The norm a matmul applies to its input as it loads it (shaders/matmul_norm.wgsl): the
/// input is then the residual stream itself, and the RMSNorm in front of the attention, the
/// FFN and the output head is no dispatch of its own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum MatmulNorm {
    /// The input as it is.
    #[default]
    None,
    /// `rmsnorm(x) * weight`.
    RmsNorm,
    /// `rmsnorm(x_new) * weight` with `x_new = x + rmsnorm(o) * post_weight`, the post-normed
    /// block output added to the residual stream (Gemma 3); one workgroup stores `x_new`.
    PostNormResidual,
}

impl MatmulNorm {
    /// Storage bindings the prologue adds after the epilogue's.
    pub fn bindings(self) -> u32 {
        match self {
            MatmulNorm::None => 0,
            MatmulNorm::RmsNorm => 1,
            MatmulNorm::PostNormResidual => 4,
        }
    }

    /// Workgroup memory the prologue takes in a workgroup of `wg` threads over `tokens` rows
    /// (its threads sharing the rows).
    pub fn workgroup_bytes(self, wg: u32, tokens: u32) -> u32 {
        match self {
            MatmulNorm::None => 0,
            MatmulNorm::RmsNorm => (wg + tokens) * 4,
            MatmulNorm::PostNormResidual => (wg + 2 * tokens) * 4,
        }
    }

    /// The prologue's WGSL for a kernel of `wg` threads whose workgroups take `tokens` token
    /// rows, its bindings numbered from `first_binding` (after the epilogue's): the threads
    /// share each row's sums (`shared`: GPUs), or each thread sums all of them, with no
    /// barrier (kernels with a thread per weight row: CPU-like devices, see
    /// shaders/matmul_norm.wgsl). Without a norm, stubs that read x as it is.
    pub(super) fn wgsl(self, first_binding: u32, wg: u32, tokens: u32, shared: bool) -> String {
        let b = first_binding;
        match self {
            MatmulNorm::None => "fn norm_prologue(lid: u32, first_group: bool, t0: u32, n_tokens: u32) {}\n\
                 fn x_at(t: u32, base: u32, v: u32) -> vec4<f32> { return x[base + v]; }\n"
                .to_string(),
            MatmulNorm::RmsNorm | MatmulNorm::PostNormResidual => {
                let (lanes, at_once) = if shared { ((wg / tokens).max(1), wg / (wg / tokens).max(1)) } else { (1, 1) };
                let space = if shared { "workgroup" } else { "private" };
                let sums = if shared {
                    include_str!("../../shaders/matmul_norm_shared.wgsl")
                } else {
                    "fn sum_over_lanes(v: f32, lid: u32) -> f32 { return v; }\nfn norm_barrier() {}\n"
                };
                let mut s = format!(
                    "const NORM_TOKENS: u32 = {tokens}u;\nconst NORM_SHARED: bool = {shared};\n\
                     const NORM_LANES: u32 = {lanes}u;\nconst NORM_AT_ONCE: u32 = {at_once}u;\n\
                     var<{space}> norm_scale: array<f32, NORM_TOKENS>;\n\
                     @group(0) @binding({b}) var<storage, read> norm_w: array<vec4<f32>>;\n"
                );
                if self == MatmulNorm::PostNormResidual {
                    s += &format!("var<{space}> post_scale: array<f32, NORM_TOKENS>;\n");
                    s += &format!(
                        "@group(0) @binding({}) var<storage, read> block_out: array<vec4<f32>>;\n\
                         @group(0) @binding({}) var<storage, read> post_w: array<vec4<f32>>;\n\
                         @group(0) @binding({}) var<storage, read_write> x_out: array<vec4<f32>>;\n",
                        b + 1,
                        b + 2,
                        b + 3
                    );
                    s += include_str!("../../shaders/matmul_norm_residual.wgsl");
                } else {
                    s += "fn post_norm_scale(t: u32, base: u32, lane: u32, lid: u32) -> f32 { return 0.0; }\n\
                          fn residual_at(i: u32, v: u32, post: f32) -> vec4<f32> { return x[i]; }\n\
                          fn post_scale_of(t: u32) -> f32 { return 0.0; }\n\
                          fn store_residual(i: u32, r: vec4<f32>) {}\n";
                }
                s + sums + include_str!("../../shaders/matmul_norm.wgsl")
            }
        }
    }

    pub(super) fn label(self) -> &'static str {
        match self {
            MatmulNorm::None => "",
            MatmulNorm::RmsNorm => "_norm",
            MatmulNorm::PostNormResidual => "_postnorm",
        }
    }
}
