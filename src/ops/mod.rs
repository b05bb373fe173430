//! Differentiable tensor operations. Each op keeps its forward and its
//! backward rule side by side; backward rules are written with these same
//! ops, so they record a graph of their own under `create_graph=True`.

pub mod activation;
pub mod arith;
pub mod binary;
pub mod compare;
pub mod convert;
pub mod factory;
pub mod gather;
pub mod index;
pub mod inplace;
pub mod join;
pub mod linalg;
pub mod logical;
pub mod loss;
pub mod masked;
pub mod matmul;
pub mod reduce;
pub mod scan;
pub mod scatter_reduce;
pub mod select;
pub mod unary;
pub mod view;

pub use binary::{add, div, mul, pow, sub};
pub use convert::{contiguous, contiguous_copy, to_dtype};
pub use reduce::{mean, norm, sum, sum_to};
pub use unary::neg;

use crate::dtype::{ResultType, Scalar};
use crate::tensor::Tensor;

/// An operand of an element-wise op: a tensor or a Python number.
#[derive(Clone, Copy, Debug)]
pub enum Arg<'a> {
    Tensor(&'a Tensor),
    Scalar(Scalar),
}

impl<'a> Arg<'a> {
    pub fn tensor(self) -> Option<&'a Tensor> {
        match self {
            Arg::Tensor(t) => Some(t),
            Arg::Scalar(_) => None,
        }
    }

    fn shape(self) -> &'a [usize] {
        match self {
            Arg::Tensor(t) => t.shape(),
            Arg::Scalar(_) => &[],
        }
    }

    /// A number converted to `dtype` and back, as PyTorch converts a wrapped
    /// number to a narrow integer op's dtype before computing (`uint8 // -3`
    /// divides by 253). For half floats only the ops whose kernels take the
    /// number in the tensor's type (`halves`: add, sub, pow, remainder)
    /// round it (`float16 + 1e-3` adds float16's nearest value); mul and div
    /// keep it in float32, as PyTorch's do. Tensors unchanged.
    pub(crate) fn rounded_to(self, dtype: crate::dtype::DType, halves: bool) -> Arg<'a> {
        match self {
            // A 0-d tensor that did not take part in promotion acts as a
            // number: wrapped to a narrow integer result first, as PyTorch
            // (uint8 // tensor(-200) divides by 56).
            Arg::Tensor(t) if t.ndim() == 0 && t.dtype() != dtype && dtype.is_int() && dtype.compute() != dtype => match t.item() {
                Ok(s) => Arg::Scalar(s).rounded_to(dtype, halves),
                Err(_) => self,
            },
            Arg::Scalar(s) if dtype.is_int() && dtype.compute() != dtype || halves && dtype.is_float() && dtype.compute() != dtype => {
                Arg::Scalar(crate::with_dtype!(dtype, T => T::from_scalar(s).to_scalar()))
            }
            other => other,
        }
    }

    fn promote(self, rt: ResultType) -> ResultType {
        match self {
            Arg::Tensor(t) => rt.tensor(t.dtype(), t.ndim()),
            Arg::Scalar(s) => rt.scalar(s),
        }
    }
}

impl<'a> From<&'a Tensor> for Arg<'a> {
    fn from(t: &'a Tensor) -> Self {
        Arg::Tensor(t)
    }
}

impl From<f64> for Arg<'_> {
    fn from(v: f64) -> Self {
        Arg::Scalar(Scalar::Float(v))
    }
}

/// The dtype PyTorch gives an element-wise op on these operands.
pub fn result_type(a: Arg, b: Arg) -> crate::dtype::DType {
    b.promote(a.promote(ResultType::default())).get()
}

/// How many operands are Python numbers PyTorch wraps as tensors (for
/// `record_padded`).
fn wrapped_numbers(args: &[Arg]) -> usize {
    args.iter().filter(|a| matches!(a, Arg::Scalar(_))).count()
}

/// An operand broadcast to `shape` and converted to `dtype`, densely (for
/// ops that loop over their operands element by element).
pub(crate) fn broadcast_dense(a: Arg, shape: &[usize], dtype: crate::dtype::DType) -> crate::Result<crate::cpu_backend::CpuStorage> {
    let t = match a {
        Arg::Tensor(t) => t.detach(),
        Arg::Scalar(s) => Tensor::scalar_tensor(s, dtype),
    };
    Ok(to_dtype(&view::expand_to(&t, shape)?, dtype)?.to_dense())
}

/// `f` with one tensor per operand, a number standing in as a tensor that
/// needs no gradient, so the node gets one edge per operand.
pub(crate) fn with_operand_tensors<R>(a: Arg, b: Arg, f: impl FnOnce(&[&Tensor]) -> R) -> R {
    let number = Tensor::scalar_tensor(Scalar::Int(0), crate::dtype::DType::F32);
    f(&[a.tensor().unwrap_or(&number), b.tensor().unwrap_or(&number)])
}

/// The tensors among some operands, for `record`.
fn tensors<'a>(args: &[Arg<'a>]) -> smallvec::SmallVec<[&'a Tensor; 2]> {
    args.iter().filter_map(|a| a.tensor()).collect()
}

/// For a half-float `x`: `f` applied to `x` converted to float32, rounded
/// back once, as PyTorch's kernels accumulate half floats in float32 (one
/// rounding instead of one per step of a composite op). `None` otherwise.
pub(crate) fn half_via_float32(x: &Tensor, f: impl FnOnce(&Tensor) -> crate::error::Result<Tensor>) -> Option<crate::error::Result<Tensor>> {
    let dtype = x.dtype();
    (dtype.is_float() && dtype.compute() != dtype).then(|| to_dtype(&f(&to_dtype(x, dtype.compute())?)?, dtype))
}
