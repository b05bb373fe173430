//! Element-wise functions of two operands beyond `+ - * / **`: `fmod`,
//! `remainder`, `floor_divide`, `atan2`, `copysign`. Values are computed per
//! element (float math in double precision, rounded once; integer math
//! exact, with PyTorch's "ZeroDivisionError" for division by zero), and each
//! rule is written with the differentiable ops next to it.

use super::{binary, broadcast_dense, result_type, unary, with_operand_tensors, Arg};
use crate::autograd::{record, BackwardFn, Grads, SavedTensor};
use crate::bail;
use crate::cpu_backend::CpuStorage;
use crate::dtype::{DType, Scalar};
use crate::error::Result;
use crate::layout::{broadcast_shapes, Shape};
use crate::ops::sum_to;
use crate::tensor::Tensor;

/// How `map2` treats integer operands: computed as integers, or promoted
/// to float32 first; either way PyTorch's CPU kernel named `kernel` has no
/// bool version.
#[derive(Clone, Copy)]
enum Ints {
    Exact { kernel: &'static str },
    ToFloat,
}

/// Whether a number operand is first rounded to a half-float result dtype:
/// PyTorch does so for `fmod` and `remainder` (float16 `x % 0.3001` divides
/// by 0.30004883) but not for `floor_divide`.
#[derive(Clone, Copy, PartialEq)]
enum Halves {
    Round,
    Keep,
}

/// `f` (floats) or `int` (integers) over the broadcast operands, in their
/// promoted dtype.
fn map2(a: Arg, b: Arg, ints: Ints, halves: Halves, f: fn(f64, f64) -> f64, int: fn(i64, i64) -> Result<i64>) -> Result<Tensor> {
    let shape = broadcast_shapes(a.shape(), b.shape())?;
    let mut dtype = result_type(a, b);
    match ints {
        Ints::Exact { kernel } if dtype == DType::Bool => bail!(NotImplemented, "\"{kernel}\" not implemented for 'Bool'"),
        Ints::ToFloat if !dtype.is_float() => dtype = crate::dtype::DEFAULT_FLOAT,
        _ => {}
    }
    // Narrow types compute in float32 / int64 and convert back.
    let compute = dtype.compute();
    let round = halves == Halves::Round;
    let (x, y) = (broadcast_dense(a.rounded_to(dtype, round), &shape, compute)?, broadcast_dense(b.rounded_to(dtype, round), &shape, compute)?);
    let data = match (x, y) {
        (CpuStorage::F32(x), CpuStorage::F32(y)) => CpuStorage::F32(x.iter().zip(&y).map(|(&p, &q)| f(p as f64, q as f64) as f32).collect()),
        (CpuStorage::F64(x), CpuStorage::F64(y)) => CpuStorage::F64(x.iter().zip(&y).map(|(&p, &q)| f(p, q)).collect()),
        (CpuStorage::I64(x), CpuStorage::I64(y)) => CpuStorage::I64(x.iter().zip(&y).map(|(&p, &q)| int(p, q)).collect::<Result<_>>()?),
        _ => unreachable!("operands converted to one dtype"),
    };
    super::to_dtype(&Tensor::from_cpu(data, &shape), dtype)
}

fn zero_division(_: i64, _: i64) -> Result<i64> {
    bail!(Runtime, "ZeroDivisionError")
}

/// A two-operand rule: `grads(g, a, b)` gives both gradients before they
/// are summed back to the operands' shapes.
struct Rule {
    name: &'static str,
    a: Option<SavedTensor>,
    b: Option<SavedTensor>,
    shapes: [Shape; 2],
    scalars: [Option<Scalar>; 2],
    grads: fn(&Tensor, &Tensor, &Tensor) -> Result<[Option<Tensor>; 2]>,
}

impl BackwardFn for Rule {
    fn name(&self) -> &'static str {
        self.name
    }
    fn saved(&self) -> Vec<(&'static str, &SavedTensor)> {
        crate::autograd::node::present([("self", self.a.as_ref()), ("other", self.b.as_ref())])
    }
    fn apply(&self, grad: &Tensor, needs: &[bool]) -> Result<Grads> {
        let get = |s: &Option<SavedTensor>, c: Option<Scalar>| -> Result<Tensor> {
            match (s, c) {
                (Some(s), _) => s.get(),
                (None, Some(c)) => Ok(Tensor::scalar_tensor(c, grad.dtype())),
                (None, None) => unreachable!("an operand is a tensor or a number"),
            }
        };
        let (a, b) = (get(&self.a, self.scalars[0])?, get(&self.b, self.scalars[1])?);
        let [ga, gb] = (self.grads)(grad, &a, &b)?;
        let mut out = Grads::new();
        for (i, g) in [ga, gb].into_iter().enumerate() {
            out.push(match (g, needs.get(i).copied().unwrap_or(false)) {
                (Some(g), true) => Some(sum_to(&g, &self.shapes[i])?),
                _ => None,
            });
        }
        Ok(out)
    }
}

fn recorded(out: Tensor, a: Arg, b: Arg, name: &'static str, grads: fn(&Tensor, &Tensor, &Tensor) -> Result<[Option<Tensor>; 2]>) -> Result<Tensor> {
    let scalar = |x: Arg| if let Arg::Scalar(s) = x { Some(s) } else { None };
    with_operand_tensors(a, b, |inputs| {
        record(out, inputs, |_| Rule {
            name,
            a: a.tensor().map(SavedTensor::new),
            b: b.tensor().map(SavedTensor::new),
            shapes: [a.shape().into(), b.shape().into()],
            scalars: [scalar(a), scalar(b)],
            grads,
        })
    })
}

/// `fmod(a, b)`: the remainder of truncated division (the sign of `a`), as
/// C's `fmod`; gradients `g` and `-g * trunc(a / b)`.
pub fn fmod(a: Arg, b: Arg) -> Result<Tensor> {
    let out = map2(a, b, Ints::Exact { kernel: "fmod_cpu" }, Halves::Round, |x, y| x % y, |x, y| if y == 0 { zero_division(x, y) } else { Ok(x.wrapping_rem(y)) })?;
    recorded(out, a, b, "FmodBackward0", |g, a, b| {
        Ok([Some(g.clone()), Some(binary::mul(g, &unary::neg(&unary::trunc(&binary::div(a, b)?)?)?)?)])
    })
}

/// `remainder(a, b)`: the remainder of floor division (the sign of `b`), as
/// Python's `%`; gradients `g` and `-g * floor(a / b)`.
pub fn remainder(a: Arg, b: Arg) -> Result<Tensor> {
    let out = map2(
        a,
        b,
        Ints::Exact { kernel: "remainder_cpu" },
        Halves::Round,
        |x, y| {
            let r = x % y;
            if r != 0.0 && (r < 0.0) != (y < 0.0) { r + y } else { r }
        },
        |x, y| {
            if y == 0 {
                return zero_division(x, y);
            }
            let r = x.wrapping_rem(y);
            Ok(if r != 0 && (r < 0) != (y < 0) { r + y } else { r })
        },
    )?;
    recorded(out, a, b, "RemainderBackward0", |g, a, b| {
        // The quotient by PyTorch's floor division (`2 // -inf` is -1, where
        // floor(2 / -inf) is -0); a constant factor, so not differentiated.
        let quotient = floor_divide(Arg::Tensor(&a.detach()), Arg::Tensor(&b.detach()))?;
        Ok([Some(g.clone()), Some(binary::mul(g, &unary::neg(&quotient)?)?)])
    })
}

/// `floor_divide(a, b)`: `floor(a / b)` (integers stay integers); its
/// gradient is zero.
pub fn floor_divide(a: Arg, b: Arg) -> Result<Tensor> {
    let out = map2(a, b, Ints::Exact { kernel: "div_floor_cpu" }, Halves::Keep, floor_div_float, |x, y| {
        if y == 0 {
            return zero_division(x, y);
        }
        // Wrapping: `i64::MIN // -1` is `i64::MIN`, as in PyTorch.
        let q = x.wrapping_div(y);
        Ok(if (x.wrapping_rem(y) != 0) && ((x < 0) != (y < 0)) { q - 1 } else { q })
    })?;
    // PyTorch has no derivative for floor_divide: backward through it fails.
    recorded(out, a, b, "NotImplemented", |_, _, _| {
        bail!(Runtime, "derivative for aten::floor_divide is not implemented")
    })
}

/// Floating floor division as PyTorch's `div_floor_floating` (c10's
/// `div_floor`): from `fmod`, so results are exact where `floor(a / b)`
/// would round up, and inf/NaN follow IEEE (`inf // 2` is NaN, `2 // -inf`
/// is -1).
fn floor_div_float(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        return a / b;
    }
    let rem = a % b;
    let mut div = (a - rem) / b;
    if rem != 0.0 && (b < 0.0) != (rem < 0.0) {
        div -= 1.0;
    }
    if div == 0.0 {
        return 0f64.copysign(a / b);
    }
    let floor = div.floor();
    if div - floor > 0.5 { floor + 1.0 } else { floor }
}

/// `atan2(a, b)`: the angle of the point `(b, a)`, in `(-pi, pi]`;
/// gradients `g * b / (a^2 + b^2)` and `-g * a / (a^2 + b^2)`.
pub fn atan2(a: Arg, b: Arg) -> Result<Tensor> {
    let out = map2(a, b, Ints::ToFloat, Halves::Keep, f64::atan2, |_, _| unreachable!("promoted to float"))?;
    recorded(out, a, b, "Atan2Backward0", |g, a, b| {
        let r2 = binary::add(&binary::mul(a, a)?, &binary::mul(b, b)?)?;
        Ok([Some(binary::div(&binary::mul(g, b)?, &r2)?), Some(unary::neg(&binary::div(&binary::mul(g, a)?, &r2)?)?)])
    })
}

/// `copysign(a, b)`: `|a|` with the sign of `b` (including -0.); gradients
/// `g * result / a` (0 where `a` is 0) and zero.
pub fn copysign(a: Arg, b: Arg) -> Result<Tensor> {
    let out = map2(a, b, Ints::ToFloat, Halves::Keep, f64::copysign, |_, _| unreachable!("promoted to float"))?;
    recorded(out, a, b, "CopysignBackward0", |g, a, b| {
        // PyTorch's copysign_tensor_self_backward: result / a, 0 where a is
        // 0 (NaN at +-inf, inf / inf).
        let ratio = binary::div(&copysign(Arg::Tensor(&a.detach()), Arg::Tensor(&b.detach()))?, &a.detach())?;
        let ratio = super::masked::masked_fill(&ratio, &super::compare::eq(a, Arg::from(0.0))?, 0.0)?;
        Ok([Some(binary::mul(g, &ratio)?), Some(super::factory::zeros_like(g))])
    })
}
