//! Copies and dtype conversion.

use crate::autograd::{record, BackwardFn, Grads};
use crate::cpu_backend;
use crate::dtype::DType;
use crate::error::Result;
use crate::tensor::Tensor;

/// `x.to(dtype)`: a converted copy (the tensor itself if already `dtype`).
pub fn to_dtype(x: &Tensor, dtype: DType) -> Result<Tensor> {
    if x.dtype() == dtype {
        return Ok(x.clone());
    }
    let out = Tensor::from_cpu(x.with_cpu(|d, l| cpu_backend::cast(d, l, dtype)), x.shape());
    struct ToCopyBackward(DType);
    impl BackwardFn for ToCopyBackward {
        fn name(&self) -> &'static str {
            "ToCopyBackward0"
        }
        fn apply(&self, grad: &Tensor, _: &[bool]) -> Result<Grads> {
            Ok(smallvec::smallvec![Some(to_dtype(grad, self.0)?)])
        }
        fn saves_tensors(&self) -> bool {
            false
        }
    }
    let src = x.dtype();
    record(out, &[x], |_| ToCopyBackward(src))
}

/// `x.clone()`: a dense copy with its own storage.
pub fn contiguous_copy(x: &Tensor) -> Result<Tensor> {
    crate::layout::check_allocation(x.numel(), x.dtype().itemsize())?;
    let out = Tensor::from_cpu(x.to_dense(), x.shape());
    struct CloneBackward;
    impl BackwardFn for CloneBackward {
        fn name(&self) -> &'static str {
            "CloneBackward0"
        }
        fn apply(&self, grad: &Tensor, _: &[bool]) -> Result<Grads> {
            Ok(smallvec::smallvec![Some(grad.clone())])
        }
        fn saves_tensors(&self) -> bool {
            false
        }
    }
    record(out, &[x], |_| CloneBackward)
}

/// `x.contiguous()`: `x` itself when already dense, else a copy.
pub fn contiguous(x: &Tensor) -> Result<Tensor> {
    if x.layout().is_contiguous() {
        Ok(x.clone())
    } else {
        contiguous_copy(x)
    }
}
