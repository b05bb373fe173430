//! Element-wise ops as Python sees them. The unary functions come from one
//! list (`ops::unary::for_each_unary`): each yields `Tensor.name()`, its
//! in-place `Tensor.name_()` and, through `_UNARY_FUNCTIONS`, `torch.name`.

use pyo3::prelude::*;

use super::tensor::{not_a_number, tensor_not_number, wrap, PyArg, PyTensor};
use crate::dtype::Scalar;
use crate::ops::{activation, arith, inplace, logical, select, unary, Arg};
use crate::tensor::Tensor;

macro_rules! unary_methods {
    ($($name:ident),* $(,)?) => {
        paste::paste! {
            #[pymethods]
            impl PyTensor {
                $(
                    #[doc = concat!("`Tensor.", stringify!($name), "()`: element-wise `", stringify!($name), "`, same shape; integer inputs give float32 unless the function keeps integers. Differentiable.")]
                    fn $name<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTensor>> {
                        self.map(py, unary::$name)
                    }

                    #[doc = concat!("`Tensor.", stringify!($name), "_()`: `", stringify!($name), "` in place (RuntimeError on a leaf that requires grad).")]
                    fn [<$name _>]<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, Self>> {
                        inplace::apply_(&slf.get().tensor(), unary::$name)?;
                        Ok(slf.clone())
                    }
                )*
            }
        }

        /// The names of the unary functions, for `torch.<name>`.
        pub const UNARY_FUNCTIONS: &[&str] = &[$(stringify!($name)),*];
    };
}

unary::for_each_unary!(unary_methods);

fn tensor_of(obj: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    Ok(super::functions::as_tensor(obj)?.get().tensor().clone())
}

/// A clamp bound: absent, a number or a tensor.
enum Bound2 {
    None,
    Scalar(Scalar),
    Tensor(Tensor),
}

fn bound(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Bound2> {
    match obj {
        None => Ok(Bound2::None),
        Some(o) if o.is_none() => Ok(Bound2::None),
        Some(o) => match PyArg::require(o)? {
            PyArg::Scalar(s) => Ok(Bound2::Scalar(s)),
            PyArg::Tensor(t) => Ok(Bound2::Tensor(t)),
        },
    }
}

fn clamp(x: &Tensor, min: Option<&Bound<'_, PyAny>>, max: Option<&Bound<'_, PyAny>>) -> PyResult<Tensor> {
    let (lo, hi) = (bound(min)?, bound(max)?);
    let as_tensor = |b: &Bound2| match b {
        Bound2::None => None,
        Bound2::Scalar(s) => Some(Tensor::scalar_tensor(*s, x.dtype())),
        Bound2::Tensor(t) => Some(t.clone()),
    };
    Ok(match (&lo, &hi) {
        (Bound2::Tensor(_), _) | (_, Bound2::Tensor(_)) => select::clamp_tensor(x, as_tensor(&lo).as_ref(), as_tensor(&hi).as_ref())?,
        _ => {
            let scalar = |b: &Bound2| if let Bound2::Scalar(s) = b { Some(*s) } else { None };
            select::clamp_scalar(x, scalar(&lo), scalar(&hi))?
        }
    })
}

/// The one bound of `clamp_min`/`clamp_max` (`param` of `func`): unlike
/// `clamp`'s optional ones, PyTorch's signatures (`Tensor` or `Number`)
/// have no None, so it is their parser's TypeError rather than `clamp`'s
/// RuntimeError for no bound at all.
fn single_bound<'a, 'py>(obj: &'a Bound<'py, PyAny>, func: &str, param: &str) -> PyResult<&'a Bound<'py, PyAny>> {
    if !obj.is_none() {
        return Ok(obj);
    }
    let overload = |kind: &str| format!(" * ({kind} {param})\n      didn't match because some of the arguments have invalid types: (!NoneType!)\n");
    Err(pyo3::exceptions::PyTypeError::new_err(format!(
        "{func}() received an invalid combination of arguments - got (NoneType), but expected one of:\n{}{}",
        overload("Tensor"),
        overload("Number")
    )))
}

#[pymethods]
impl PyTensor {
    /// `clamp(min=None, max=None)`: elements below `min` become `min`,
    /// above `max` become `max` (numbers or broadcastable tensors; NaN stays
    /// NaN). The gradient flows where the element was kept. RuntimeError
    /// when both bounds are None.
    #[pyo3(signature = (min=None, max=None))]
    fn clamp<'py>(&self, py: Python<'py>, min: Option<&Bound<'py, PyAny>>, max: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, clamp(&self.tensor(), min, max)?)
    }
    /// `clip`: the same as `clamp`.
    #[pyo3(signature = (min=None, max=None))]
    fn clip<'py>(&self, py: Python<'py>, min: Option<&Bound<'py, PyAny>>, max: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyTensor>> {
        self.clamp(py, min, max)
    }
    /// `clamp_`: `clamp` in place.
    #[pyo3(signature = (min=None, max=None))]
    fn clamp_<'py>(slf: &Bound<'py, Self>, min: Option<&Bound<'py, PyAny>>, max: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, Self>> {
        inplace::apply_(&slf.get().tensor(), |old| clamp(old, min, max).map_err(super::errors::foreign))?;
        Ok(slf.clone())
    }
    /// `clamp_min(min)`: `clamp(min=min)`; TypeError for None.
    fn clamp_min<'py>(&self, py: Python<'py>, min: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, clamp(&self.tensor(), Some(single_bound(min, "clamp_min", "min")?), None)?)
    }
    /// `clamp_max(max)`: `clamp(max=max)`; TypeError for None.
    fn clamp_max<'py>(&self, py: Python<'py>, max: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, clamp(&self.tensor(), None, Some(single_bound(max, "clamp_max", "max")?))?)
    }
    /// `maximum(other)`: the larger of each pair (broadcasting; NaN wins;
    /// ties split the gradient).
    fn maximum<'py>(&self, py: Python<'py>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, select::maximum(&self.tensor(), &tensor_of(other)?)?)
    }
    /// `minimum(other)`: the smaller of each pair.
    fn minimum<'py>(&self, py: Python<'py>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, select::minimum(&self.tensor(), &tensor_of(other)?)?)
    }
    /// `self.where(condition, other)`: `self` where `condition`, else `other`.
    #[pyo3(name = "where")]
    fn where_<'py>(&self, py: Python<'py>, condition: &Bound<'py, PyAny>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        let other = PyArg::require(other)?;
        wrap(py, select::where_(&tensor_of(condition)?, Arg::Tensor(&self.tensor()), other.arg())?)
    }
    /// `logical_and(other)`: bool, nonzero is true.
    fn logical_and<'py>(&self, py: Python<'py>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, logical::and(&self.tensor(), &tensor_of(other)?)?)
    }
    /// `logical_or(other)`.
    fn logical_or<'py>(&self, py: Python<'py>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, logical::or(&self.tensor(), &tensor_of(other)?)?)
    }
    /// `logical_xor(other)`.
    fn logical_xor<'py>(&self, py: Python<'py>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, logical::xor(&self.tensor(), &tensor_of(other)?)?)
    }
    /// `logical_not()`.
    fn logical_not<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, logical::not(&self.tensor())?)
    }
    /// `bitwise_and(other)` (`&`): bit by bit on integers, logical on bools;
    /// `other` a tensor or number. NotImplementedError for floats.
    fn bitwise_and<'py>(&self, py: Python<'py>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, logical::bitwise(Arg::Tensor(&self.tensor()), PyArg::require(other)?.arg(), "bitwise_and")?)
    }
    /// `bitwise_or(other)` (`|`).
    fn bitwise_or<'py>(&self, py: Python<'py>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, logical::bitwise(Arg::Tensor(&self.tensor()), PyArg::require(other)?.arg(), "bitwise_or")?)
    }
    /// `bitwise_xor(other)` (`^`).
    fn bitwise_xor<'py>(&self, py: Python<'py>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, logical::bitwise(Arg::Tensor(&self.tensor()), PyArg::require(other)?.arg(), "bitwise_xor")?)
    }
    /// `bitwise_not()` (`~`): `-x - 1` on integers, logical not on bools.
    fn bitwise_not<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, logical::bitwise_not(&self.tensor())?)
    }
    /// `square()`: `self ** 2` (PowBackward0), integers stay integers.
    fn square<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, crate::ops::pow(&*self.tensor(), Arg::Scalar(Scalar::Int(2)))?)
    }
    /// `round(*, decimals=0)`: half to even, at `decimals` places.
    /// NotImplementedError for bool, and for integers when `decimals` is
    /// given (PyTorch's `round.decimals` has no integer kernel).
    #[pyo3(signature = (*, decimals=None))]
    fn round<'py>(&self, py: Python<'py>, #[pyo3(from_py_with = super::ints::opt_int64)] decimals: Option<i64>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, match decimals {
            None => unary::round(&self.tensor())?,
            Some(d) => unary::round_decimals(&self.tensor(), d)?,
        })
    }
}

macro_rules! two_operand_methods {
    ($($(#[$doc:meta])* $name:ident => $f:path),* $(,)?) => {
        #[pymethods]
        impl PyTensor {
            $(
                $(#[$doc])*
                fn $name<'py>(&self, py: Python<'py>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
                    let other = PyArg::require(other)?;
                    wrap(py, $f(Arg::Tensor(&self.tensor()), other.arg())?)
                }
            )*
        }
    };
}

two_operand_methods!(
    /// `fmod(other)`: remainder of truncated division (sign of `self`);
    /// RuntimeError "ZeroDivisionError" for integer division by zero.
    fmod => arith::fmod,
    /// `remainder(other)` (`%`): remainder of floor division (sign of
    /// `other`); RuntimeError "ZeroDivisionError" for integers.
    remainder => arith::remainder,
    /// `floor_divide(other)` (`//`): `floor(self / other)`, integers stay
    /// integers; RuntimeError "ZeroDivisionError" for integers.
    floor_divide => arith::floor_divide,
    /// `copysign(other)`: `|self|` with the sign of `other` (also of -0.).
    copysign => arith::copysign,
    /// `self % other`.
    __mod__ => arith::remainder,
    /// `self // other`.
    __floordiv__ => arith::floor_divide,
);

/// `atan2`'s `other`: a tensor. PyTorch's `atan2` has no number overload
/// (TypeError), unlike the operators above.
fn atan2_other(other: &Bound<'_, PyAny>, func: &str) -> PyResult<Tensor> {
    match other.cast::<PyTensor>() {
        Ok(t) => Ok(t.get().tensor().clone()),
        Err(_) => Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "{func}(): argument 'other' (position 1) must be Tensor, not {}",
            other.get_type().name()?
        ))),
    }
}

#[pymethods]
impl PyTensor {
    /// `atan2(other)`: the angle of `(other, self)` in `(-pi, pi]`, float;
    /// `other` a tensor (TypeError for a number, as in PyTorch).
    fn atan2<'py>(&self, py: Python<'py>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, arith::atan2(Arg::Tensor(&self.tensor()), Arg::Tensor(&atan2_other(other, "atan2")?))?)
    }
    /// `arctan2(other)`: the same as `atan2`.
    fn arctan2<'py>(&self, py: Python<'py>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, arith::atan2(Arg::Tensor(&self.tensor()), Arg::Tensor(&atan2_other(other, "arctan2")?))?)
    }
    /// `other % self`.
    fn __rmod__<'py>(&self, py: Python<'py>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        let other = PyArg::require(other)?;
        wrap(py, arith::remainder(other.arg(), Arg::Tensor(&self.tensor()))?)
    }
    /// `other // self`.
    fn __rfloordiv__<'py>(&self, py: Python<'py>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        let other = PyArg::require(other)?;
        wrap(py, arith::floor_divide(other.arg(), Arg::Tensor(&self.tensor()))?)
    }
}

/// `torch.where(condition, input, other)`.
#[pyfunction]
#[pyo3(name = "where")]
pub fn where_<'py>(py: Python<'py>, condition: &Bound<'py, PyAny>, input: &Bound<'py, PyAny>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
    let (a, b) = (PyArg::require(input)?, PyArg::require(other)?);
    wrap(py, select::where_(&tensor_of(condition)?, a.arg(), b.arg())?)
}

/// The argument types of the activations, with the word PyTorch's messages
/// use for each (ATen's `Scalar`, `float?` and `str`).
trait Param: for<'a, 'py> FromPyObject<'a, 'py> {
    const KIND: &'static str;
}

impl Param for f64 {
    const KIND: &'static str = "Number";
}

impl Param for Option<f64> {
    const KIND: &'static str = "float";
}

impl Param for String {
    const KIND: &'static str = "str";
}

/// An activation's argument as PyO3 extracts it, or None for a tensor that
/// PyTorch does not take for a number (`tensor_not_number`): its TypeError
/// names the function and the argument's position, which only the function
/// knows, where PyO3 would call the tensor's `__float__` (ValueError).
fn param<T: Param>(obj: &Bound<'_, PyAny>) -> PyResult<Option<T>> {
    if tensor_not_number(obj) {
        return Ok(None);
    }
    obj.extract::<T>().map(Some).map_err(Into::into)
}

macro_rules! activation {
    ($(#[$doc:meta])* $name:ident ($($arg:ident: $ty:ty = $default:expr),*) => $body:expr) => {
        $(#[$doc])*
        #[pyfunction]
        #[pyo3(signature = (input, $($arg = $default),*))]
        pub fn $name<'py>(py: Python<'py>, input: &Bound<'py, PyAny>, $(#[pyo3(from_py_with = param)] $arg: Option<$ty>),*) -> PyResult<Bound<'py, PyTensor>> {
            // Each argument's position for `not_a_number`, `input` being 1.
            let _position = 1;
            $(
                let _position = _position + 1;
                let $arg: $ty = $arg.ok_or_else(|| not_a_number(stringify!($name), stringify!($arg), _position, <$ty as Param>::KIND))?;
            )*
            let x = tensor_of(input)?;
            let f: &dyn Fn(&Tensor) -> crate::Result<Tensor> = &$body;
            wrap(py, f(&x)?)
        }
    };
}

activation!(
    /// `softplus(input, beta=1.0, threshold=20.0)`: `log(1 + e^(beta x)) / beta`.
    softplus(beta: f64 = 1.0, threshold: f64 = 20.0) => |x| activation::softplus(x, beta, threshold));
activation!(
    /// `leaky_relu(input, negative_slope=0.01)`.
    leaky_relu(negative_slope: f64 = 0.01) => |x| activation::leaky_relu(x, negative_slope));
activation!(
    /// `elu(input, alpha=1.0)`.
    elu(alpha: f64 = 1.0) => |x| activation::elu(x, alpha));
activation!(
    /// `selu(input)` with Klambauer et al.'s constants.
    selu() => activation::selu);
activation!(
    /// `celu(input, alpha=1.0)`.
    celu(alpha: f64 = 1.0) => |x| activation::celu(x, alpha));
activation!(
    /// `hardtanh(input, min_val=-1.0, max_val=1.0)`.
    hardtanh(min_val: f64 = -1.0, max_val: f64 = 1.0) => |x| activation::hardtanh(x, min_val, max_val));
activation!(
    /// `relu6(input)`: `hardtanh(input, 0, 6)`.
    relu6() => activation::relu6);
activation!(
    /// `hardsigmoid(input)`: `relu6(x + 3) / 6`.
    hardsigmoid() => activation::hardsigmoid);
activation!(
    /// `hardswish(input)`: `x * relu6(x + 3) / 6`.
    hardswish() => activation::hardswish);
activation!(
    /// `gelu(input, approximate='none')`: exact (`'none'`) or `'tanh'`.
    gelu(approximate: String = "none".to_string()) => |x| activation::gelu(x, &approximate));
activation!(
    /// `silu(input)`: `x * sigmoid(x)`.
    silu() => unary::silu);
activation!(
    /// `mish(input)`: `x * tanh(softplus(x))`.
    mish() => unary::mish);
activation!(
    /// `softsign(input)`: `x / (1 + |x|)`.
    softsign() => unary::softsign);
// `None::<f64>`: PyO3 wraps the default of the Option-typed argument
// (see `param`) in `Some`, and a bare `None` leaves the type open.
activation!(
    /// `logit(input, eps=None)`: `log(x / (1 - x))`, `x` clamped to `[eps, 1-eps]` if given.
    logit(eps: Option<f64> = None::<f64>) => |x| activation::logit(x, eps));
