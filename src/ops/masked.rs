//! `masked_fill`: elements where a bool mask is set take a value.

use crate::autograd::{record, BackwardFn, Grads};
use crate::bail;
use crate::cpu_backend::CpuStorage;
use crate::dtype::{DType, Scalar};
use crate::error::Result;
use crate::layout::{broadcast_shapes, Shape};
use crate::ops::sum_to;
use crate::ops::{broadcast_dense, Arg};
use crate::tensor::Tensor;

/// `t.masked_fill(mask, value)`: the gradient flows only where the mask is
/// not set.
pub fn masked_fill(t: &Tensor, mask: &Tensor, value: f64) -> Result<Tensor> {
    masked_fill_scalar(t, mask, Scalar::Float(value))
}

/// `masked_fill` with a Python number as it came (an int stays exact:
/// `int64.masked_fill(m, -2**63)`).
pub fn masked_fill_scalar(t: &Tensor, mask: &Tensor, value: Scalar) -> Result<Tensor> {
    if mask.dtype() != DType::Bool {
        bail!(Runtime, "masked_fill_ only supports boolean masks, but got mask with dtype {}", mask.dtype().c_name());
    }
    // A whole number is checked as an integer (uint8 takes -1, wrapped).
    let as_scalar = match value {
        Scalar::Float(v) if v.fract() == 0.0 && v.abs() < 9.0e15 => Scalar::Int(v as i64),
        other => other,
    };
    t.dtype().check_fits(as_scalar, t.dtype().overflow_name())?;
    let shape = broadcast_shapes(mask.shape(), t.shape())?;
    let m = match broadcast_dense(Arg::Tensor(mask), &shape, DType::Bool)? {
        CpuStorage::Bool(v) => v,
        _ => unreachable!("mask is bool"),
    };
    let dense = broadcast_dense(Arg::Tensor(t), &shape, t.dtype())?;
    let data = crate::with_dtype!(t.dtype(), T => T::wrap(
        T::slice(&dense).iter().zip(&m).map(|(&v, &hit)| if hit { T::from_scalar(value) } else { v }).collect()
    ));
    struct MaskedFillBackward(Tensor, Shape);
    impl BackwardFn for MaskedFillBackward {
        fn name(&self) -> &'static str {
            "MaskedFillBackward0"
        }
        fn apply(&self, grad: &Tensor, _: &[bool]) -> Result<Grads> {
            Ok(smallvec::smallvec![Some(sum_to(&masked_fill(grad, &self.0, 0.0)?, &self.1)?)])
        }
    }
    let (mask, src) = (mask.detach(), t.shape_vec());
    record(Tensor::from_cpu(data, &shape), &[t], |_| MaskedFillBackward(mask, src))
}
