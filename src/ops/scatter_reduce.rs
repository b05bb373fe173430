//! `scatter_reduce`: each element of `src` combined into a copy of `input` at
//! the position `index` names along `dim`, by sum, prod, mean, amax or amin
//! (with or without `input`'s own value), and its backward rule: PyTorch's
//! `scatter_reduce_backward` (FunctionsManual.cpp), written with
//! differentiable ops so that double backward works.

use super::compare::eq;
use super::gather::{gather, scatter, scatter_add, scatter_plan};
use super::select::where_;
use super::{div, mul, to_dtype, Arg};
use crate::autograd::{record, BackwardFn, Grads, SavedTensor};
use crate::bail;
use crate::cpu_backend::{self, Arith, CpuStorage};
use crate::dtype::{DType, Scalar};
use crate::error::Result;
use crate::layout::Layout;
use crate::tensor::Tensor;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Reduction {
    Sum,
    Prod,
    Mean,
    Amax,
    Amin,
}

impl Reduction {
    /// PyTorch's names; RuntimeError with its wording for others.
    pub fn parse(name: &str) -> Result<Reduction> {
        Ok(match name {
            "sum" => Reduction::Sum,
            "prod" => Reduction::Prod,
            "mean" => Reduction::Mean,
            // PyTorch also takes `max` and `min` for amax and amin.
            "amax" | "max" => Reduction::Amax,
            "amin" | "min" => Reduction::Amin,
            other => bail!(Runtime, "reduce argument must be either sum, prod, mean, amax or amin, got {other}"),
        })
    }

    fn combine<T: Arith>(self, a: T, b: T) -> T {
        match self {
            Reduction::Sum | Reduction::Mean => a + b,
            Reduction::Prod => a * b,
            Reduction::Amax => a.maximum(b),
            Reduction::Amin => a.minimum(b),
        }
    }
}

/// Folds `src[i]` into `out[pos[i]]`. Without `include_self` a position's
/// first value replaces `input`'s; `mean` divides by the number of values
/// combined (floor division for integers, as PyTorch).
fn fold<T: Arith>(out: &mut [T], pos: &[usize], src: &[T], how: Reduction, include_self: bool) {
    let mut count = vec![0i64; out.len()];
    for (&p, &v) in pos.iter().zip(src) {
        out[p] = if include_self || count[p] > 0 { how.combine(out[p], v) } else { v };
        count[p] += 1;
    }
    if how == Reduction::Mean {
        for (o, &n) in out.iter_mut().zip(&count).filter(|(_, &n)| n > 0) {
            let n = n + include_self as i64;
            *o = if T::DTYPE.is_float() { *o / T::from_i64(n) } else { T::from_i64(o.to_i64().div_euclid(n)) };
        }
    }
}

/// `input.scatter_reduce(dim, index, src, reduce, include_self=True)`.
/// `index` is int64 with `input`'s number of dims, no larger than `src`
/// (whose extra elements are unused). Half floats reduce in float32 and
/// narrow integers in int64; bools take sum/amax as `or`, prod/amin as
/// `and`. RuntimeError for a bad reduction name, index shape or dtype, or
/// an index out of range; NotImplementedError for the mean of bools.
pub fn scatter_reduce(input: &Tensor, dim: i64, index: &Tensor, src: &Tensor, reduce: &str, include_self: bool) -> Result<Tensor> {
    let how = Reduction::parse(reduce)?;
    if how == Reduction::Mean && input.dtype() == DType::Bool {
        bail!(NotImplemented, "\"scatter_gather_tensor_cpu_reduce_mean\" not implemented for 'Bool'");
    }
    let (pos, values) = scatter_plan("scatter_reduce", input, dim, index, Some(src))?;
    let values = values.expect("a tensor source");
    let dense = input.to_dense();
    let wide = if input.dtype() == DType::Bool { DType::I64 } else { input.dtype().compute() };
    let flat = |s: &CpuStorage| Layout::contiguous(&[s.len()]);
    let (mut out, src_wide) = (cpu_backend::cast(&dense, &flat(&dense), wide), cpu_backend::cast(&values, &flat(&values), wide));
    match (&mut out, &src_wide) {
        (CpuStorage::F32(o), CpuStorage::F32(s)) => fold(o, &pos, s, how, include_self),
        (CpuStorage::F64(o), CpuStorage::F64(s)) => fold(o, &pos, s, how, include_self),
        (CpuStorage::I64(o), CpuStorage::I64(s)) => fold(o, &pos, s, how, include_self),
        _ => unreachable!("compute dtypes"),
    }
    let out = Tensor::from_cpu(cpu_backend::cast(&out, &flat(&out), input.dtype()), input.shape());
    // `src` beyond `index`'s shape is unused: the op sees (and its gradient
    // reaches) only the part that is, through a differentiable slice.
    let src_used = if src.shape() == index.shape() { src.clone() } else { super::index::index(src, &leading(index.shape()))? };
    let saved_out = out.clone();
    record(out, &[input, &src_used], |_| ScatterReduceBackward {
        how,
        include_self,
        dim,
        index: index.detach(),
        input: SavedTensor::new(input),
        src: SavedTensor::new(&src_used),
        result: SavedTensor::output(&saved_out, 0, "ScatterReduceBackward0"),
    })
}

/// The slices `[:n0, :n1, ...]` that take the leading part of each dim.
fn leading(shape: &[usize]) -> Vec<super::index::IndexItem> {
    shape.iter().map(|&n| super::index::IndexItem::Slice { start: None, stop: Some(n as i64), step: None }).collect()
}

struct ScatterReduceBackward {
    how: Reduction,
    include_self: bool,
    dim: i64,
    index: Tensor,
    input: SavedTensor,
    src: SavedTensor,
    result: SavedTensor,
}

impl BackwardFn for ScatterReduceBackward {
    fn name(&self) -> &'static str {
        "ScatterReduceBackward0"
    }

    fn saved(&self) -> Vec<(&'static str, &SavedTensor)> {
        vec![("self", &self.input), ("src", &self.src), ("result", &self.result)]
    }

    fn apply(&self, grad: &Tensor, _: &[bool]) -> Result<Grads> {
        let (x, src, result) = (self.input.get()?, self.src.get()?, self.result.get()?);
        let (dim, index) = (self.dim, &self.index);
        let picked = |t: &Tensor| gather(t, dim, index);
        let zero = Arg::Scalar(Scalar::Int(0));
        let one = Arg::Scalar(Scalar::Int(1));
        let (grad_self, grad_src) = match self.how {
            Reduction::Sum => (grad.clone(), picked(grad)?),
            Reduction::Mean => {
                let start = if self.include_self { 1 } else { 0 };
                let n = scatter_add(&Tensor::full(grad.shape(), Scalar::Int(start), grad.dtype()), dim, index, &Tensor::full(src.shape(), Scalar::Int(1), grad.dtype()))?;
                let n = where_(&eq(&n, zero)?, one, Arg::Tensor(&n))?;
                (div(grad, &n)?, div(&picked(grad)?, &picked(&n)?)?)
            }
            Reduction::Amax | Reduction::Amin => {
                // The gradient is shared evenly among the values equal to the result.
                let value = picked(&result)?;
                let self_is = to_dtype(&eq(&x, &result)?, grad.dtype())?;
                let src_is = to_dtype(&eq(&src, &value)?, grad.dtype())?;
                let shared = div(grad, &scatter_add(&self_is, dim, index, &src_is)?)?;
                (mul(&self_is, &shared)?, mul(&src_is, &picked(&shared)?)?)
            }
            Reduction::Prod => {
                // Exclusive products without dividing by zero: a zero in
                // `self` (or a lone zero among a position's `src` values) is
                // replaced by 1 and the product recomputed.
                let masked_self = where_(&eq(&x, zero)?, one, Arg::Tensor(&x))?;
                let masked_self_result = scatter_reduce(&masked_self, dim, index, &src, "prod", self.include_self)?;
                let grad_self = div(&mul(grad, &masked_self_result)?, &masked_self)?;
                let src_zero = eq(&src, zero)?;
                let zeros_at = picked(&scatter_add(&Tensor::full(x.shape(), Scalar::Int(0), x.dtype()), dim, index, &to_dtype(&src_zero, x.dtype())?)?)?;
                let lone_zero = super::logical::and(&src_zero, &eq(&zeros_at, one)?)?;
                let masked_src = where_(&lone_zero, one, Arg::Tensor(&src))?;
                let masked_src_result = scatter_reduce(&x, dim, index, &masked_src, "prod", self.include_self)?;
                let nonzero_src = where_(&src_zero, one, Arg::Tensor(&src))?;
                let grad_src = where_(
                    &lone_zero,
                    Arg::Tensor(&picked(&mul(grad, &masked_src_result)?)?),
                    Arg::Tensor(&div(&picked(&mul(grad, &result)?)?, &nonzero_src)?),
                )?;
                (grad_self, grad_src)
            }
        };
        let grad_self = if self.include_self { grad_self } else { scatter(&grad_self, dim, index, zero)? };
        Ok(smallvec::smallvec![Some(grad_self), Some(grad_src)])
    }
}
