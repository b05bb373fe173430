//! Activations with parameters (`torch.nn.functional`): softplus,
//! leaky_relu, elu/selu/celu, hardtanh/relu6, hardsigmoid, hardswish, gelu,
//! logit. Each computes its values element by element (in double precision,
//! rounded once to the tensor's dtype) and states its derivative with the
//! differentiable ops, next to it.

use super::select::where_;
use super::unary::{exp, sigmoid, tanh};
use super::{binary, compare, to_dtype, Arg};
use crate::autograd::{record, BackwardFn, Grads, SavedTensor};
use crate::bail;
use crate::cpu_backend::{in_compute_dtype, map_unary, CpuStorage};
use crate::dtype::{Scalar, DEFAULT_FLOAT};
use crate::error::Result;
use crate::tensor::Tensor;

/// `f` applied to every element of `x` (integers are promoted to the
/// default float dtype, as PyTorch's activations require floats).
fn pointwise(x: &Tensor, f: impl Fn(f64) -> f64 + Sync) -> Result<Tensor> {
    let src = if x.dtype().is_float() { x.detach() } else { to_dtype(&x.detach(), DEFAULT_FLOAT)? };
    let data = src.with_cpu(|d, l| {
        in_compute_dtype(d, l, |d, l| match d {
            CpuStorage::F32(v) => CpuStorage::F32(map_unary(v, l, |x: f32| f(x as f64) as f32).into()),
            CpuStorage::F64(v) => CpuStorage::F64(map_unary(v, l, &f).into()),
            _ => unreachable!("promoted to float"),
        })
    });
    Ok(Tensor::from_cpu(data, x.shape()))
}

/// A rule `grad * d(x)` where `d` is built from the saved input.
struct Derivative<F: Fn(&Tensor) -> Result<Tensor> + Send + Sync + 'static> {
    name: &'static str,
    x: SavedTensor,
    d: F,
}

impl<F: Fn(&Tensor) -> Result<Tensor> + Send + Sync + 'static> BackwardFn for Derivative<F> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn apply(&self, grad: &Tensor, _: &[bool]) -> Result<Grads> {
        let x = self.x.get()?;
        Ok(smallvec::smallvec![Some(binary::mul(grad, &(self.d)(&x)?)?)])
    }
}

fn recorded(
    x: &Tensor,
    out: Tensor,
    name: &'static str,
    d: impl Fn(&Tensor) -> Result<Tensor> + Send + Sync + 'static,
) -> Result<Tensor> {
    record(out, &[x], |_| Derivative { name, x: SavedTensor::new(x), d })
}

/// 1 where `cond` holds, else `other` (a derivative piece), in `like`'s
/// float dtype (a number `other` converted once, to that dtype).
fn ones_where(cond: &Tensor, other: Arg, like: &Tensor) -> Result<Tensor> {
    let dtype = if like.dtype().is_float() { like.dtype() } else { DEFAULT_FLOAT };
    let ones = Tensor::full(&[], Scalar::Float(1.0), dtype);
    to_dtype(&where_(cond, Arg::Tensor(&ones), other)?, dtype)
}

/// `softplus(x) = log(1 + e^(beta x)) / beta`, linear where `beta x >
/// threshold`.
pub fn softplus(x: &Tensor, beta: f64, threshold: f64) -> Result<Tensor> {
    let out = pointwise(x, |v| if v * beta > threshold { v } else { (v * beta).exp().ln_1p() / beta })?;
    recorded(x, out, "SoftplusBackward0", move |x| {
        let bx = binary::mul(x, Arg::from(beta))?;
        ones_where(&compare::gt(&bx, Arg::from(threshold))?, Arg::Tensor(&sigmoid(&bx)?), x)
    })
}

/// `leaky_relu(x) = x` for `x > 0`, else `negative_slope * x`.
pub fn leaky_relu(x: &Tensor, negative_slope: f64) -> Result<Tensor> {
    let out = pointwise(x, |v| if v > 0.0 { v } else { v * negative_slope })?;
    recorded(x, out, "LeakyReluBackward0", move |x| ones_where(&compare::gt(x, Arg::from(0.0))?, Arg::from(negative_slope), x))
}

/// PyTorch's `elu` family: `scale * x` for `x > 0`, else
/// `scale * alpha * (e^(input_scale x) - 1)`; `elu`, `selu` (Klambauer et
/// al. 2017 constants) and `celu` (`input_scale = 1/alpha`) are this one.
pub fn elu_family(x: &Tensor, alpha: f64, scale: f64, input_scale: f64, name: &'static str) -> Result<Tensor> {
    // PyTorch's one kernel for the family has float versions only.
    if !x.dtype().is_float() {
        bail!(NotImplemented, "\"elu_cpu\" not implemented for '{}'", x.dtype().scalar_name());
    }
    let out = pointwise(x, |v| if v > 0.0 { scale * v } else { scale * alpha * (v * input_scale).exp_m1() })?;
    // PyTorch's elu_backward: the exponential branch for x <= 0, else (NaN
    // included) `scale`.
    recorded(x, out, name, move |x| {
        let neg = binary::mul(&exp(&binary::mul(x, Arg::from(input_scale))?)?, Arg::from(scale * alpha * input_scale))?;
        let pos = Tensor::full(&[], Scalar::Float(scale), neg.dtype());
        to_dtype(&where_(&compare::le(x, Arg::from(0.0))?, Arg::Tensor(&neg), Arg::Tensor(&pos))?, x.dtype())
    })
}

pub fn elu(x: &Tensor, alpha: f64) -> Result<Tensor> {
    elu_family(x, alpha, 1.0, 1.0, "EluBackward0")
}

/// SELU's constants from Klambauer et al., "Self-Normalizing Neural
/// Networks" (2017), as PyTorch uses them.
pub const SELU_ALPHA: f64 = 1.6732632423543772848170429916717;
pub const SELU_SCALE: f64 = 1.0507009873554804934193349852946;

pub fn selu(x: &Tensor) -> Result<Tensor> {
    elu_family(x, SELU_ALPHA, SELU_SCALE, 1.0, "EluBackward0")
}

pub fn celu(x: &Tensor, alpha: f64) -> Result<Tensor> {
    if alpha == 0.0 {
        bail!(Runtime, "ZeroDivisionError");
    }
    elu_family(x, alpha, 1.0, 1.0 / alpha, "EluBackward0")
}

/// `hardtanh(x) = clamp(x, min_val, max_val)`; the gradient flows strictly
/// inside the interval (and at NaN, as PyTorch's hardtanh_backward).
pub fn hardtanh(x: &Tensor, min_val: f64, max_val: f64) -> Result<Tensor> {
    if min_val > max_val {
        bail!(Runtime, "min_val cannot be greater than max_val");
    }
    let out = pointwise(x, |v| if v < min_val { min_val } else if v > max_val { max_val } else { v })?;
    let out = if x.dtype().is_float() { out } else { to_dtype(&out, x.dtype())? };
    recorded(x, out, "HardtanhBackward0", move |x| {
        let outside = super::logical::or(&compare::le(x, Arg::from(min_val))?, &compare::ge(x, Arg::from(max_val))?)?;
        ones_where(&super::logical::not(&outside)?, Arg::from(0.0), x)
    })
}

pub fn relu6(x: &Tensor) -> Result<Tensor> {
    hardtanh(x, 0.0, 6.0)
}

/// `hardsigmoid(x) = relu6(x + 3) / 6`.
pub fn hardsigmoid(x: &Tensor) -> Result<Tensor> {
    let out = pointwise(x, |v| (v + 3.0).clamp(0.0, 6.0) / 6.0)?;
    recorded(x, out, "HardsigmoidBackward0", |x| {
        let inside = super::logical::and(&compare::gt(x, Arg::from(-3.0))?, &compare::lt(x, Arg::from(3.0))?)?;
        ones_where(&inside, Arg::from(0.0), x).and_then(|d| binary::mul(&d, Arg::from(1.0 / 6.0)))
    })
}

/// `hardswish(x) = x * relu6(x + 3) / 6` (Howard et al., MobileNetV3).
pub fn hardswish(x: &Tensor) -> Result<Tensor> {
    let out = pointwise(x, |v| v * (v + 3.0).clamp(0.0, 6.0) / 6.0)?;
    recorded(x, out, "HardswishBackward0", |x| {
        // PyTorch's hardswish_backward: 0 up to -3, x/3 + 1/2 below 3, else
        // (3 and NaN included) 1.
        let mid = binary::add(&binary::div(x, Arg::from(3.0))?, Arg::from(0.5))?;
        let one = Tensor::full(&[], Scalar::Float(1.0), mid.dtype());
        let upper = where_(&compare::lt(x, Arg::from(3.0))?, Arg::Tensor(&mid), Arg::Tensor(&one))?;
        to_dtype(&where_(&compare::le(x, Arg::from(-3.0))?, Arg::from(0.0), Arg::Tensor(&upper))?, x.dtype())
    })
}

/// GELU (Hendrycks & Gimpel 2016): `x * Phi(x)` exactly, or its tanh
/// approximation `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`.
pub fn gelu(x: &Tensor, approximate: &str) -> Result<Tensor> {
    const K: f64 = 0.797_884_560_802_865_4; // sqrt(2 / pi)
    match approximate {
        "none" => {
            let out = pointwise(x, |v| 0.5 * v * (1.0 + libm::erf(v / std::f64::consts::SQRT_2)))?;
            recorded(x, out, "GeluBackward0", |x| {
                // Phi(x) + x phi(x)
                let cdf = binary::mul(&binary::add(&super::unary::erf(&binary::mul(x, Arg::from(std::f64::consts::FRAC_1_SQRT_2))?)?, Arg::from(1.0))?, Arg::from(0.5))?;
                let pdf = binary::mul(&exp(&binary::mul(&binary::mul(x, x)?, Arg::from(-0.5))?)?, Arg::from(0.398_942_280_401_432_7))?;
                binary::add(&cdf, &binary::mul(x, &pdf)?)
            })
        }
        "tanh" => {
            let out = pointwise(x, |v| 0.5 * v * (1.0 + (K * (v + 0.044715 * v * v * v)).tanh()))?;
            recorded(x, out, "GeluBackward0", |x| {
                let x2 = binary::mul(x, x)?;
                let inner = binary::mul(&binary::mul(x, &binary::add(&binary::mul(&x2, Arg::from(0.044715))?, Arg::from(1.0))?)?, Arg::from(K))?;
                let t = tanh(&inner)?;
                let dinner = binary::mul(&binary::add(&binary::mul(&x2, Arg::from(3.0 * 0.044715))?, Arg::from(1.0))?, Arg::from(K))?;
                let sech2 = binary::sub(Arg::from(1.0), &binary::mul(&t, &t)?)?;
                let left = binary::mul(&binary::add(&t, Arg::from(1.0))?, Arg::from(0.5))?;
                binary::add(&left, &binary::mul(&binary::mul(&binary::mul(x, &sech2)?, &dinner)?, Arg::from(0.5))?)
            })
        }
        other => bail!(Runtime, "approximate argument must be either none or tanh., but got {other}"),
    }
}

/// `logit(x) = log(x / (1 - x))`, with `x` first clamped to `[eps, 1 -
/// eps]` when `eps` is given.
pub fn logit(x: &Tensor, eps: Option<f64>) -> Result<Tensor> {
    // PyTorch's order of tests, not `f64::clamp` (which panics when
    // eps > 0.5 puts the lower bound above the upper one).
    let clamp = move |v: f64| match eps {
        Some(e) if v < e => e,
        Some(e) if v > 1.0 - e => 1.0 - e,
        _ => v,
    };
    let out = pointwise(x, move |v| {
        let v = clamp(v);
        (v / (1.0 - v)).ln()
    })?;
    // PyTorch's logit_backward: 1 / (x (1 - x)) (+inf at both ends, -0.
    // included); outside [0, 1] NaN, or with `eps` 0 outside [eps, 1 - eps].
    recorded(x, out, "LogitBackward0", move |x| {
        let d = binary::div(Arg::from(1.0), &binary::mul(&super::unary::abs(x)?, &binary::sub(Arg::from(1.0), x)?)?)?;
        let (lo, hi, fill) = match eps {
            Some(e) => (e, 1.0 - e, 0.0),
            None => (0.0, 1.0, f64::NAN),
        };
        let outside = super::logical::or(&compare::lt(x, Arg::from(lo))?, &compare::gt(x, Arg::from(hi))?)?;
        where_(&outside, Arg::from(fill), Arg::Tensor(&d))
    })
}
