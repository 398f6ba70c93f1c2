//! The RMSNorm prologue of the matmul kernels (shaders/matmul_norm.wgsl): what a matmul
//! needs bound to normalise its input as it loads it, and the checks on those buffers.

use super::tensor::Tensor;
use crate::error::{Error, Result};
use crate::gpu::MatmulNorm;

/// `x` is the residual stream; the matmul's input is `rmsnorm(x) * weight` per token row, or
/// with `post`, `rmsnorm(x_new) * weight` where `x_new = x + rmsnorm(post.o) * post.weight`.
#[derive(Clone, Copy)]
pub struct Norm<'a> {
    /// `[cols]` f32.
    pub weight: &'a wgpu::Buffer,
    pub eps: f32,
    pub post: Option<PostNorm<'a>>,
}

/// A block output normalised and added to the residual stream before the norm (Gemma 3's
/// post-attention and post-FFN norms).
#[derive(Clone, Copy)]
pub struct PostNorm<'a> {
    /// The block's output, shaped like `x`.
    pub o: &'a Tensor,
    /// `[cols]` f32.
    pub weight: &'a wgpu::Buffer,
    /// Receives `x_new` for the batch's rows (the residual stream from then on), shaped like
    /// `x`; must not be `x` or `o` (the dispatch's other workgroups still read those).
    pub x_out: &'a Tensor,
}

impl Norm<'_> {
    pub(super) fn kernel(norm: Option<&Self>) -> MatmulNorm {
        match norm {
            None => MatmulNorm::None,
            Some(Norm { post: None, .. }) => MatmulNorm::RmsNorm,
            Some(Norm { post: Some(_), .. }) => MatmulNorm::PostNormResidual,
        }
    }

    /// Checks the buffers against an input `x` of rows of `cols`.
    pub(super) fn check(&self, kernel: &str, x: &Tensor, cols: u32) -> Result<()> {
        let need = u64::from(cols) * 4;
        let short = |b: &wgpu::Buffer| b.size() < need;
        if short(self.weight) || self.post.is_some_and(|p| short(p.weight)) {
            return Err(Error::InvalidArgument(format!("{kernel}: norm weights shorter than rows of {cols}")));
        }
        if let Some(p) = self.post {
            p.o.expect(kernel, "block output", x.rows, cols)?;
            p.x_out.expect(kernel, "new residual", x.rows, cols)?;
        }
        Ok(())
    }

    /// The bindings, in the order shaders/matmul_norm.wgsl declares them.
    pub(super) fn resources(&self) -> Vec<wgpu::BindingResource<'_>> {
        let mut r = vec![self.weight.as_entire_binding()];
        if let Some(p) = &self.post {
            r.extend([p.o.binding(), p.weight.as_entire_binding(), p.x_out.binding()]);
        }
        r
    }
}
