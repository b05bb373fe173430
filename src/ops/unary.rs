//! Element-wise functions of one tensor. Each `unary_op!` line holds an op's
//! kernel and its derivative: `forward(x)` per element, `backward(g, x)` as
//! tensor ops.

use num_traits::Float;

use super::{binary, compare, masked, to_dtype, Arg};
use crate::autograd::{record, BackwardFn, Grads, SavedTensor};
use crate::cpu_backend::{self, vmath};
use crate::dtype::{DType, DEFAULT_FLOAT};
use crate::error::Result;
use crate::cpu_backend::Arith;
use crate::op_traits::{BinaryOpT, UnaryOpT};
use crate::tensor::Tensor;

/// Applies a kernel, promoting integer/bool inputs to float unless the op
/// keeps integers.
fn map<O: UnaryOpT>(op: O, x: &Tensor) -> Result<Tensor> {
    if let Some(message) = refusal(O::KERNEL, x.dtype()) {
        crate::bail!(NotImplemented, "{message}");
    }
    crate::layout::check_allocation(x.numel(), 8)?;
    if O::KEEPS_BOOL && x.dtype() == DType::Bool {
        return to_dtype(&map(op, &to_dtype(&x.detach(), DType::I64)?)?, DType::Bool);
    }
    let promote = match x.dtype() {
        DType::Bool => true,
        d => d.is_int() && !O::KEEPS_INT,
    };
    let src = if promote {
        to_dtype(&x.detach(), if O::KEEPS_INT && x.dtype() == DType::Bool { DType::I64 } else { DEFAULT_FLOAT })?
    } else {
        x.clone()
    };
    Ok(Tensor::from_cpu(src.with_cpu(|d, l| cpu_backend::unary(op, d, l)), x.shape()))
}

/// PyTorch's NotImplementedError message when `op` meets a `dtype` it
/// refuses, or None: `relu` refuses bools before it looks for a kernel;
/// otherwise it names the CPU kernel PyTorch looks for and lacks (rounding
/// and `abs` of bools, `frac` of anything but floats).
fn refusal(op: &str, dtype: DType) -> Option<String> {
    if op == "relu" && dtype == DType::Bool {
        return Some("Boolean inputs not supported for relu".to_string());
    }
    missing_kernel(op, dtype).map(|kernel| format!("\"{kernel}\" not implemented for '{}'", dtype.scalar_name()))
}

fn missing_kernel(op: &str, dtype: DType) -> Option<&'static str> {
    let bool_kernel = match op {
        "abs" => "abs_cpu",
        "floor" => "floor_vml_cpu",
        "ceil" => "ceil_vml_cpu",
        "trunc" => "trunc_vml_cpu",
        "round" => "round_vml_cpu",
        "frac" => "frac_cpu",
        _ => return None,
    };
    match dtype {
        DType::Bool => Some(bool_kernel),
        d if op == "frac" && !d.is_float() => Some(bool_kernel),
        _ => None,
    }
}

/// A kernel: `forward` per float element, `int` per integer element.
macro_rules! unary_kernel {
    ($kernel:ident, $fn_name:ident, $keeps:expr, |$x:ident| $fwd:expr, |$xi:ident| $int:expr $(, f32_run: |$s:ident, $d:ident| $run:expr)?) => {
        #[derive(Clone, Copy)]
        pub struct $kernel;
        impl UnaryOpT for $kernel {
            const KERNEL: &'static str = stringify!($fn_name);
            const KEEPS_INT: bool = $keeps;
            const KEEPS_BOOL: bool = matches!(stringify!($fn_name).as_bytes(), b"sign");
            fn float<T: Float>(self, $x: T) -> T {
                $fwd
            }
            fn int(self, $xi: i64) -> i64 {
                $int
            }
            $(fn f32_run(self, $s: &[f32], $d: &mut [std::mem::MaybeUninit<f32>]) {
                $run
            })?
        }
    };
}

/// What a unary rule keeps for backward: its input, or its result (for
/// `exp`, `sqrt`, `tanh`, `sigmoid`, whose derivative is cheapest from it).
#[derive(Clone, Copy, PartialEq)]
enum Saves {
    Input,
    Result,
}

macro_rules! unary_op {
    (
        $(#[$doc:meta])*
        $fn_name:ident, $kernel:ident, $node:literal, keeps_int = $keeps:literal,
        forward: |$x:ident| $fwd:expr,
        int: |$xi:ident| $int:expr,
        backward: |$g:ident, $input:ident| $bwd:expr
        $(, f32_run: |$s:ident, $d:ident| $run:expr)?
    ) => {
        unary_op!($(#[$doc])* $fn_name, $kernel, $node, keeps_int = $keeps, saves = Saves::Input,
            forward: |$x| $fwd, int: |$xi| $int, backward: |$g, $input| $bwd $(, f32_run: |$s, $d| $run)?);
    };
    (
        $(#[$doc:meta])*
        $fn_name:ident, $kernel:ident, $node:literal, keeps_int = $keeps:literal, saves = $saves:expr,
        forward: |$x:ident| $fwd:expr,
        int: |$xi:ident| $int:expr,
        backward: |$g:ident, $input:ident| $bwd:expr
        $(, f32_run: |$s:ident, $d:ident| $run:expr)?
    ) => {
        unary_kernel!($kernel, $fn_name, $keeps, |$x| $fwd, |$xi| $int $(, f32_run: |$s, $d| $run)?);

        $(#[$doc])*
        pub fn $fn_name(x: &Tensor) -> Result<Tensor> {
            struct Backward(SavedTensor);
            impl BackwardFn for Backward {
                fn name(&self) -> &'static str {
                    $node
                }
                fn saved(&self) -> Vec<(&'static str, &SavedTensor)> {
                    vec![(if $saves == Saves::Result { "result" } else { "self" }, &self.0)]
                }
                fn apply(&self, grad: &Tensor, _: &[bool]) -> Result<Grads> {
                    let $g = grad;
                    let $input = &self.0.get()?;
                    Ok(smallvec::smallvec![Some($bwd)])
                }
            }
            let out = map($kernel, x)?;
            let saved = out.clone();
            record(out, &[x], |_| {
                Backward(if $saves == Saves::Result { SavedTensor::output(&saved, 0, $node) } else { SavedTensor::new(x) })
            })
        }
    };
}

#[derive(Clone, Copy)]
pub struct NegKernel;
impl UnaryOpT for NegKernel {
    const KERNEL: &'static str = "neg";
    const KEEPS_INT: bool = true;
    fn float<T: Float>(self, x: T) -> T {
        -x
    }
    fn int(self, x: i64) -> i64 {
        x.wrapping_neg()
    }
}

/// `-x`; its rule needs no saved tensor, so it survives a freed graph.
pub fn neg(x: &Tensor) -> Result<Tensor> {
    struct NegBackward;
    impl BackwardFn for NegBackward {
        fn name(&self) -> &'static str {
            "NegBackward0"
        }
        fn apply(&self, grad: &Tensor, _: &[bool]) -> Result<Grads> {
            Ok(smallvec::smallvec![Some(neg(grad)?)])
        }
        fn saves_tensors(&self) -> bool {
            false
        }
    }
    if x.dtype() == DType::Bool {
        crate::bail!(NotImplemented, "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.");
    }
    record(map(NegKernel, x)?, &[x], |_| NegBackward)
}
unary_op!(sin, SinKernel, "SinBackward0", keeps_int = false,
    forward: |x| x.sin(), int: |x| x,
    backward: |g, x| binary::grad_times(g, cos(x)?)?,
    f32_run: |src, dst| vmath::apply_sin_cos(src, dst, false));
unary_op!(cos, CosKernel, "CosBackward0", keeps_int = false,
    forward: |x| x.cos(), int: |x| x,
    backward: |g, x| neg(&binary::grad_times(g, sin(x)?)?)?,
    f32_run: |src, dst| vmath::apply_sin_cos(src, dst, true));
unary_op!(exp, ExpKernel, "ExpBackward0", keeps_int = false, saves = Saves::Result,
    forward: |x| x.exp(), int: |x| x,
    backward: |g, result| binary::last_use_times(g, result)?,
    f32_run: |src, dst| vmath::apply(src, dst, vmath::exp));
unary_op!(log, LogKernel, "LogBackward0", keeps_int = false,
    forward: |x| x.ln(), int: |x| x,
    backward: |g, x| binary::div(g, x)?,
    f32_run: |src, dst| vmath::apply(src, dst, vmath::log));
unary_op!(log1p, Log1pKernel, "Log1PBackward0", keeps_int = false,
    forward: |x| x.ln_1p(), int: |x| x,
    backward: |g, x| binary::div(g, &binary::add(x, Arg::from(1.0))?)?);
unary_op!(sqrt, SqrtKernel, "SqrtBackward0", keeps_int = false, saves = Saves::Result,
    forward: |x| x.sqrt(), int: |x| x,
    backward: |g, result| binary::div(g, &binary::mul(result, Arg::from(2.0))?)?);
unary_op!(tanh, TanhKernel, "TanhBackward0", keeps_int = false, saves = Saves::Result,
    forward: |x| x.tanh(), int: |x| x,
    backward: |g, t| binary::fused_rule(TanhGradKernel, g, t, || binary::mul(g, &binary::sub(Arg::from(1.0), &binary::mul(t, t)?)?))?,
    f32_run: |src, dst| vmath::apply(src, dst, vmath::tanh));
unary_op!(sigmoid, SigmoidKernel, "SigmoidBackward0", keeps_int = false, saves = Saves::Result,
    // 1 / (1 + e^-x), written to stay finite for large |x|.
    forward: |x| if x >= T::zero() { T::one() / (T::one() + (-x).exp()) } else { x.exp() / (T::one() + x.exp()) },
    int: |x| x,
    backward: |g, s| binary::fused_rule(SigmoidGradKernel, g, s, || binary::mul(g, &binary::mul(s, &binary::sub(Arg::from(1.0), s)?)?))?,
    f32_run: |src, dst| vmath::apply(src, dst, vmath::sigmoid));
unary_op!(abs, AbsKernel, "AbsBackward0", keeps_int = true,
    forward: |x| x.abs(), int: |x| x.wrapping_abs(),
    backward: |g, x| binary::mul(g, &sign(x)?)?);
unary_op!(relu, ReluKernel, "ReluBackward0", keeps_int = true, saves = Saves::Result,
    // NaN and -0 pass through, as in PyTorch (`x < 0 ? 0 : x`).
    forward: |x| if x < T::zero() { T::zero() } else { x }, int: |x| x.max(0),
    // The gradient is selected, not multiplied: an infinite gradient where
    // the result is 0 gives 0 (PyTorch's threshold_backward).
    backward: |g, r| relu_grad(g, r)?);

/// Backward rules of one pass for `binary::fused_rule`: `g` and the saved
/// tensor in, the input's gradient out, with the composite's operations.
macro_rules! grad_kernel {
    ($name:ident, $kernel:literal, |$g:ident, $r:ident| $body:expr) => {
        #[derive(Clone, Copy)]
        struct $name;
        impl BinaryOpT for $name {
            const KERNEL: &'static str = $kernel;
            fn apply<T: Arith>(self, $g: T, $r: T) -> T {
                $body
            }
        }
    };
}
grad_kernel!(ReluGradKernel, "threshold_backward", |g, r| if r <= T::default() { T::default() } else { g });
grad_kernel!(TanhGradKernel, "tanh_backward", |g, t| g * (T::from_float(1.0) - t * t));
grad_kernel!(SigmoidGradKernel, "sigmoid_backward", |g, s| g * (s * (T::from_float(1.0) - s)));

/// `g` where the result is positive, else 0 (PyTorch's threshold_backward).
fn relu_grad(g: &Tensor, r: &Tensor) -> Result<Tensor> {
    binary::fused_rule(ReluGradKernel, g, r, || masked::masked_fill(g, &compare::le(r, Arg::from(0.0))?, 0.0))
}
unary_op!(reciprocal, ReciprocalKernel, "ReciprocalBackward0", keeps_int = false, saves = Saves::Result,
    forward: |x| x.recip(), int: |x| x,
    backward: |g, r| neg(&binary::mul(g, &binary::mul(r, r)?)?)?);

/// Ops whose derivative is zero almost everywhere (sign, rounding): the
/// rule saves nothing and gives zeros, as PyTorch's does.
macro_rules! zero_grad_op {
    ($(#[$doc:meta])* $fn_name:ident, $kernel:ident, $node:literal, forward: |$x:ident| $fwd:expr, int: |$xi:ident| $int:expr) => {
        unary_kernel!($kernel, $fn_name, true, |$x| $fwd, |$xi| $int);

        $(#[$doc])*
        pub fn $fn_name(x: &Tensor) -> Result<Tensor> {
            struct Backward;
            impl BackwardFn for Backward {
                fn name(&self) -> &'static str {
                    $node
                }
                fn apply(&self, grad: &Tensor, _: &[bool]) -> Result<Grads> {
                    Ok(smallvec::smallvec![Some(super::factory::zeros_like(grad))])
                }
                fn saves_tensors(&self) -> bool {
                    false
                }
            }
            record(map($kernel, x)?, &[x], |_| Backward)
        }
    };
}

zero_grad_op!(
    /// -1, 0 or 1 (0 for ±0 and NaN, as in PyTorch).
    sign, SignKernel, "SignBackward0",
    forward: |x| if x > T::zero() { T::one() } else if x < T::zero() { -T::one() } else { T::zero() },
    int: |x| x.signum());
zero_grad_op!(floor, FloorKernel, "FloorBackward0", forward: |x| x.floor(), int: |x| x);
zero_grad_op!(ceil, CeilKernel, "CeilBackward0", forward: |x| x.ceil(), int: |x| x);
zero_grad_op!(trunc, TruncKernel, "TruncBackward0", forward: |x| x.trunc(), int: |x| x);
zero_grad_op!(
    /// Rounds half to even, as PyTorch (and NumPy) do.
    round, RoundKernel, "RoundBackward0",
    forward: |x| {
        let r = x.round();
        if (x - x.trunc()).abs() == T::from(0.5).unwrap() { (x / T::from(2.0).unwrap()).round() * T::from(2.0).unwrap() } else { r }
    },
    int: |x| x);

/// `round(decimals)`: `round(x * 10^d) / 10^d`, as PyTorch computes it; its
/// derivative is zero.
pub fn round_decimals(x: &Tensor, decimals: i64) -> Result<Tensor> {
    if !x.dtype().is_float() {
        // PyTorch's `round.decimals` overload has no integer kernel.
        let kernel = if decimals == 0 { "round_vml_cpu" } else { "round_cpu" };
        crate::bail!(NotImplemented, "\"{kernel}\" not implemented for '{}'", x.dtype().scalar_name());
    }
    if decimals == 0 {
        return round(x);
    }
    struct RoundBackward;
    impl BackwardFn for RoundBackward {
        fn name(&self) -> &'static str {
            "RoundBackward1"
        }
        fn apply(&self, grad: &Tensor, _: &[bool]) -> Result<Grads> {
            Ok(smallvec::smallvec![Some(super::factory::zeros_like(grad))])
        }
        fn saves_tensors(&self) -> bool {
            false
        }
    }
    let scale = 10f64.powi(decimals as i32);
    let scaled = binary::mul(&x.detach(), Arg::from(scale))?;
    let out = binary::div(&round(&scaled)?, Arg::from(scale))?;
    let out = if out.dtype() == x.dtype() || !x.dtype().is_float() { out } else { to_dtype(&out, x.dtype())? };
    record(out, &[x], |_| RoundBackward)
}

/// Converts through f64 for functions `Float` lacks (erf, erfc).
fn via_f64<T: Float>(x: T, f: fn(f64) -> f64) -> T {
    T::from(f(x.to_f64().unwrap_or(f64::NAN))).unwrap_or_else(T::nan)
}

unary_op!(exp2, Exp2Kernel, "Exp2Backward0", keeps_int = false, saves = Saves::Result,
    forward: |x| x.exp2(), int: |x| x,
    backward: |g, r| binary::mul(g, &binary::mul(r, Arg::from(std::f64::consts::LN_2))?)?);
unary_op!(expm1, Expm1Kernel, "Expm1Backward0", keeps_int = false, saves = Saves::Result,
    forward: |x| x.exp_m1(), int: |x| x,
    backward: |g, r| binary::mul(g, &binary::add(r, Arg::from(1.0))?)?);
unary_op!(log2, Log2Kernel, "Log2Backward0", keeps_int = false,
    forward: |x| x.log2(), int: |x| x,
    backward: |g, x| binary::div(g, &binary::mul(x, Arg::from(std::f64::consts::LN_2))?)?);
unary_op!(log10, Log10Kernel, "Log10Backward0", keeps_int = false,
    forward: |x| x.log10(), int: |x| x,
    backward: |g, x| binary::div(g, &binary::mul(x, Arg::from(std::f64::consts::LN_10))?)?);
unary_op!(rsqrt, RsqrtKernel, "RsqrtBackward0", keeps_int = false, saves = Saves::Result,
    forward: |x| x.sqrt().recip(), int: |x| x,
    backward: |g, r| binary::mul(g, &binary::mul(&binary::pow(r, Arg::from(3.0))?, Arg::from(-0.5))?)?);
unary_op!(tan, TanKernel, "TanBackward0", keeps_int = false, saves = Saves::Result,
    forward: |x| x.tan(), int: |x| x,
    backward: |g, r| binary::mul(g, &binary::add(&binary::mul(r, r)?, Arg::from(1.0))?)?);
unary_op!(asin, AsinKernel, "AsinBackward0", keeps_int = false,
    forward: |x| x.asin(), int: |x| x,
    backward: |g, x| binary::div(g, &sqrt(&binary::sub(Arg::from(1.0), &binary::mul(x, x)?)?)?)?);
unary_op!(acos, AcosKernel, "AcosBackward0", keeps_int = false,
    forward: |x| x.acos(), int: |x| x,
    backward: |g, x| neg(&binary::div(g, &sqrt(&binary::sub(Arg::from(1.0), &binary::mul(x, x)?)?)?)?)?);
unary_op!(atan, AtanKernel, "AtanBackward0", keeps_int = false,
    forward: |x| x.atan(), int: |x| x,
    backward: |g, x| binary::div(g, &binary::add(&binary::mul(x, x)?, Arg::from(1.0))?)?);
unary_op!(sinh, SinhKernel, "SinhBackward0", keeps_int = false,
    forward: |x| x.sinh(), int: |x| x,
    backward: |g, x| binary::mul(g, &cosh(x)?)?);
unary_op!(cosh, CoshKernel, "CoshBackward0", keeps_int = false,
    forward: |x| x.cosh(), int: |x| x,
    backward: |g, x| binary::mul(g, &sinh(x)?)?);
unary_op!(erf, ErfKernel, "ErfBackward0", keeps_int = false,
    forward: |x| via_f64(x, libm::erf), int: |x| x,
    // 2/sqrt(pi) e^(-x^2)
    backward: |g, x| binary::mul(g, &binary::mul(&exp(&neg(&binary::mul(x, x)?)?)?, Arg::from(std::f64::consts::FRAC_2_SQRT_PI))?)?);
unary_op!(frac, FracKernel, "FracBackward0", keeps_int = false,
    forward: |x| x - x.trunc(), int: |x| x,
    backward: |g, _x| g.clone());
unary_op!(
    /// `x * sigmoid(x)` (SiLU, swish).
    silu, SiluKernel, "SiluBackward0", keeps_int = false,
    forward: |x| x / (T::one() + (-x).exp()), int: |x| x,
    // s (1 + x (1 - s)), s = sigmoid(x)
    backward: |g, x| {
        let s = sigmoid(x)?;
        binary::mul(g, &binary::mul(&s, &binary::add(&binary::mul(x, &binary::sub(Arg::from(1.0), &s)?)?, Arg::from(1.0))?)?)?
    });
unary_op!(
    /// `x * tanh(softplus(x))` (Misra 2019).
    mish, MishKernel, "MishBackward0", keeps_int = false,
    forward: |x| x * softplus_f(x).tanh(), int: |x| x,
    // tanh(sp) + x sigmoid(x) (1 - tanh(sp)^2), sp = softplus(x)
    backward: |g, x| {
        let t = tanh(&softplus_default(x)?)?;
        let d = binary::add(&t, &binary::mul(&binary::mul(x, &sigmoid(x)?)?, &binary::sub(Arg::from(1.0), &binary::mul(&t, &t)?)?)?)?;
        binary::mul(g, &d)?
    });
unary_op!(
    /// `x / (1 + |x|)`.
    softsign, SoftsignKernel, "DivBackward0", keeps_int = false,
    forward: |x| x / (T::one() + x.abs()), int: |x| x,
    // As PyTorch's graph of x / (1 + |x|) gives it: g/d - g|x|/d^2 (NaN at
    // +-inf, where |x|/d^2 is inf/inf).
    backward: |g, x| {
        let a = abs(x)?;
        let d = binary::add(&a, Arg::from(1.0))?;
        binary::sub(&binary::div(g, &d)?, &binary::div(&binary::mul(g, &a)?, &binary::mul(&d, &d)?)?)?
    });

/// `log(1 + e^x)`, stable for large |x|.
fn softplus_f<T: Float>(x: T) -> T {
    if x > T::from(20.0).unwrap() { x } else { x.exp().ln_1p() }
}

/// softplus with PyTorch's defaults (beta 1, threshold 20), for mish.
fn softplus_default(x: &Tensor) -> Result<Tensor> {
    super::activation::softplus(x, 1.0, 20.0)
}

/// Every element-wise function of one tensor above, for the bindings: each
/// becomes a `Tensor` method, its in-place `_` form and a `torch.` function.
#[cfg_attr(not(feature = "python"), allow(unused_macros))]
macro_rules! for_each_unary {
    ($m:ident) => {
        $m!(
            neg, sin, cos, tan, asin, acos, atan, sinh, cosh, exp, exp2, expm1, log, log1p, log2, log10,
            sqrt, rsqrt, tanh, sigmoid, abs, relu, reciprocal, sign, floor, ceil, trunc, frac, erf
        );
    };
}
#[cfg_attr(not(feature = "python"), allow(unused_imports))]
pub(crate) use for_each_unary;
