//! Element-wise selection: `where`, `maximum`/`minimum`, `clamp`. The
//! gradient goes to the operand each element was taken from.

use super::{broadcast_dense, result_type, to_dtype, with_operand_tensors, Arg};
use crate::autograd::{record, BackwardFn, Grads, SavedTensor};
use crate::bail;
use crate::cpu_backend::CpuStorage;
use crate::dtype::{DType, Scalar};
use crate::error::Result;
use crate::layout::{broadcast_shapes, Shape};
use crate::ops::sum_to;
use crate::tensor::Tensor;

fn bools(c: CpuStorage) -> Vec<bool> {
    match c {
        CpuStorage::Bool(v) => v.into_vec(),
        _ => unreachable!("converted to bool"),
    }
}

/// `torch.where(condition, input, other)`: `input` where the condition
/// holds, else `other`; the three broadcast together.
pub fn where_(cond: &Tensor, a: Arg, b: Arg) -> Result<Tensor> {
    if cond.dtype() != DType::Bool {
        bail!(Runtime, "where expected condition to be a boolean tensor, but got a tensor with dtype {}", cond.dtype().scalar_name());
    }
    let shape = broadcast_shapes(&broadcast_shapes(cond.shape(), a.shape())?, b.shape())?;
    let dtype = result_type(a, b);
    for s in [a, b].iter().filter_map(|x| if let Arg::Scalar(s) = x { Some(*s) } else { None }) {
        dtype.check_fits(s, dtype.overflow_name())?;
    }
    let mask = bools(broadcast_dense(Arg::Tensor(cond), &shape, DType::Bool)?);
    let (x, y) = (broadcast_dense(a, &shape, dtype)?, broadcast_dense(b, &shape, dtype)?);
    let data = crate::with_dtype!(dtype, T => T::wrap(
        T::slice(&x).iter().zip(T::slice(&y)).zip(&mask).map(|((&x, &y), &m)| if m { x } else { y }).collect()
    ));
    struct WhereBackward {
        cond: Tensor,
        shapes: [Shape; 2],
    }
    impl BackwardFn for WhereBackward {
        fn name(&self) -> &'static str {
            "WhereBackward0"
        }
        fn apply(&self, grad: &Tensor, needs: &[bool]) -> Result<Grads> {
            let zero = Arg::Scalar(Scalar::Int(0));
            let mut out = Grads::new();
            for (i, need) in needs.iter().enumerate() {
                out.push(if *need {
                    let g = if i == 0 { where_(&self.cond, Arg::Tensor(grad), zero)? } else { where_(&self.cond, zero, Arg::Tensor(grad))? };
                    Some(sum_to(&g, &self.shapes[i])?)
                } else {
                    None
                });
            }
            Ok(out)
        }
        fn saves_tensors(&self) -> bool {
            false
        }
    }
    let shapes = [a.shape().into(), b.shape().into()];
    let out = Tensor::from_cpu(data, &shape);
    with_operand_tensors(a, b, |inputs| record(out, inputs, |_| WhereBackward { cond: cond.detach(), shapes }))
}

/// Element-wise `maximum` (`is_max`) or `minimum`, propagating NaN; ties
/// split the gradient evenly, as PyTorch does.
fn extremum(a: &Tensor, b: &Tensor, is_max: bool) -> Result<Tensor> {
    let dtype = result_type(Arg::Tensor(a), Arg::Tensor(b));
    if dtype == DType::Bool {
        // Bools order as 0 < 1; they carry no gradient.
        let (a8, b8) = (to_dtype(a, DType::U8)?, to_dtype(b, DType::U8)?);
        return to_dtype(&extremum(&a8, &b8, is_max)?, DType::Bool);
    }
    let shape = broadcast_shapes(a.shape(), b.shape())?;
    let (x, y) = (broadcast_dense(Arg::Tensor(a), &shape, dtype)?, broadcast_dense(Arg::Tensor(b), &shape, dtype)?);
    let data = crate::with_dtype!(dtype, T => T::wrap(
        T::slice(&x).iter().zip(T::slice(&y)).map(|(&x, &y)| {
            #[allow(clippy::eq_op)]
            let nan = |v: T| v != v;
            if nan(x) { x } else if nan(y) { y } else if (x < y) == is_max { y } else { x }
        }).collect()
    ));
    struct ExtremumBackward {
        name: &'static str,
        a: SavedTensor,
        b: SavedTensor,
    }
    impl BackwardFn for ExtremumBackward {
        fn name(&self) -> &'static str {
            self.name
        }
        fn saved(&self) -> Vec<(&'static str, &SavedTensor)> {
            vec![("self", &self.a), ("other", &self.b)]
        }
        fn apply(&self, grad: &Tensor, needs: &[bool]) -> Result<Grads> {
            // PyTorch's formula (derivatives.yaml): a tie splits the gradient,
            // the loser gets none, and NaN (neither) passes it to both.
            let is_max = self.name == "MaximumBackward0";
            // Read through the saved tensors: an in-place change since the
            // forward is an error, not a gradient computed from new values.
            let (a, b) = (&self.a.get()?, &self.b.get()?);
            let half = super::binary::mul(grad, Arg::from(0.5))?;
            let shared = where_(&super::compare::eq(a, b)?, Arg::Tensor(&half), Arg::Tensor(grad))?;
            let (a_loses, b_loses) = if is_max {
                (super::compare::lt(a, b)?, super::compare::gt(a, b)?)
            } else {
                (super::compare::gt(a, b)?, super::compare::lt(a, b)?)
            };
            let part = |loses: &Tensor, shape: &[usize]| -> Result<Tensor> { sum_to(&super::masked::masked_fill(&shared, loses, 0.0)?, shape) };
            Ok(smallvec::smallvec![
                needs[0].then(|| part(&a_loses, a.shape())).transpose()?,
                needs.get(1).copied().unwrap_or(false).then(|| part(&b_loses, b.shape())).transpose()?
            ])
        }
    }
    let name = if is_max { "MaximumBackward0" } else { "MinimumBackward0" };
    record(Tensor::from_cpu(data, &shape), &[a, b], |_| ExtremumBackward { name, a: SavedTensor::new(a), b: SavedTensor::new(b) })
}

pub fn maximum(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    extremum(a, b, true)
}

pub fn minimum(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    extremum(a, b, false)
}

/// `clamp(min, max)` with numbers: elements outside `[min, max]` take the
/// bound (NaN stays NaN); the gradient flows where the input was kept.
pub fn clamp_scalar(x: &Tensor, min: Option<Scalar>, max: Option<Scalar>) -> Result<Tensor> {
    if min.is_none() && max.is_none() {
        bail!(Runtime, "torch.clamp: At least one of 'min' or 'max' must not be None");
    }
    let dtype = [min, max].iter().flatten().fold(x.dtype(), |d, s| crate::dtype::ResultType::default().tensor(d, x.ndim().max(1)).scalar(*s).get());
    let src = to_dtype(&x.detach(), dtype)?.to_dense();
    let (lo, hi) = (min.map(|s| s.to_f64()), max.map(|s| s.to_f64()));
    // Compared as f64, so a bound outside a narrow dtype's range clamps
    // nothing instead of wrapping (uint8 `clamp(min=-1)` keeps 250).
    let data = crate::with_dtype!(dtype, T => {
        T::wrap(T::slice(&src).iter().map(|&v| {
            // A NaN bound makes every element NaN, as in PyTorch.
            let v = match lo { Some(l) if v.to_f64() < l || l.is_nan() => T::from_float(l), _ => v };
            match hi { Some(h) if v.to_f64() > h || h.is_nan() => T::from_float(h), _ => v }
        }).collect())
    });
    struct ClampBackward {
        x: crate::autograd::SavedTensor,
        min: Option<Scalar>,
        max: Option<Scalar>,
    }
    impl BackwardFn for ClampBackward {
        fn name(&self) -> &'static str {
            match (self.min, self.max) {
                (Some(_), Some(_)) => "ClampBackward1",
                (Some(_), None) => "ClampMinBackward0",
                _ => "ClampMaxBackward0",
            }
        }
        fn apply(&self, grad: &Tensor, _: &[bool]) -> Result<Grads> {
            // PyTorch's clamp_backward: the gradient passes only strictly
            // inside the bounds (0 at a bound and at NaN).
            let x = self.x.get()?;
            let zero = Arg::Scalar(Scalar::Int(0));
            let mut g = grad.clone();
            if let Some(lo) = self.min {
                g = where_(&super::compare::gt(&x, Arg::Scalar(lo))?, Arg::Tensor(&g), zero)?;
            }
            if let Some(hi) = self.max {
                g = where_(&super::compare::lt(&x, Arg::Scalar(hi))?, Arg::Tensor(&g), zero)?;
            }
            Ok(smallvec::smallvec![Some(g)])
        }
    }
    record(Tensor::from_cpu(data, x.shape()), &[x], |_| ClampBackward { x: crate::autograd::SavedTensor::new(x), min, max })
}

/// `clamp(min, max)` with tensor bounds (either may be absent):
/// `minimum(maximum(x, min), max)`, so a NaN anywhere propagates and the
/// gradient at a tie is shared with the bound, as in PyTorch.
pub fn clamp_tensor(x: &Tensor, min: Option<&Tensor>, max: Option<&Tensor>) -> Result<Tensor> {
    if min.is_none() && max.is_none() {
        bail!(Runtime, "torch.clamp: At least one of 'min' or 'max' must not be None");
    }
    let mut out = x.clone();
    if let Some(lo) = min {
        out = maximum(&out, lo)?;
    }
    if let Some(hi) = max {
        out = minimum(&out, hi)?;
    }
    Ok(out)
}
