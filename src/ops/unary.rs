//! Element-wise functions of one tensor. Each `unary_op!` line holds an op's
//! kernel and its derivative: `forward(x)` per element, `backward(g, x)` as
//! tensor ops.

use num_traits::Float;

use super::{binary, compare, masked, to_dtype, Arg};
use crate::autograd::{record, BackwardFn, Grads, SavedTensor};
use crate::cpu_backend;
use crate::dtype::{DType, DEFAULT_FLOAT};
use crate::error::Result;
use crate::op_traits::UnaryOpT;
use crate::tensor::Tensor;

/// Applies a kernel, promoting integer/bool inputs to float unless the op
/// keeps integers.
fn map<O: UnaryOpT>(op: O, x: &Tensor) -> Result<Tensor> {
    let promote = match x.dtype() {
        DType::Bool => true,
        DType::I64 => !O::KEEPS_INT,
        _ => false,
    };
    let src = if promote {
        to_dtype(&x.detach(), if O::KEEPS_INT { DType::I64 } else { DEFAULT_FLOAT })?
    } else {
        x.clone()
    };
    Ok(Tensor::from_cpu(src.with_cpu(|d, l| cpu_backend::unary(op, d, l)), x.shape()))
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
    ) => {
        unary_op!($(#[$doc])* $fn_name, $kernel, $node, keeps_int = $keeps, saves = Saves::Input,
            forward: |$x| $fwd, int: |$xi| $int, backward: |$g, $input| $bwd);
    };
    (
        $(#[$doc:meta])*
        $fn_name:ident, $kernel:ident, $node:literal, keeps_int = $keeps:literal, saves = $saves:expr,
        forward: |$x:ident| $fwd:expr,
        int: |$xi:ident| $int:expr,
        backward: |$g:ident, $input:ident| $bwd:expr
    ) => {
        #[derive(Clone, Copy)]
        pub struct $kernel;
        impl UnaryOpT for $kernel {
            const KERNEL: &'static str = stringify!($fn_name);
            const KEEPS_INT: bool = $keeps;
            fn float<T: Float>(self, $x: T) -> T {
                $fwd
            }
            fn int(self, $xi: i64) -> i64 {
                $int
            }
        }

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
    backward: |g, x| binary::mul(g, &cos(x)?)?);
unary_op!(cos, CosKernel, "CosBackward0", keeps_int = false,
    forward: |x| x.cos(), int: |x| x,
    backward: |g, x| neg(&binary::mul(g, &sin(x)?)?)?);
unary_op!(exp, ExpKernel, "ExpBackward0", keeps_int = false, saves = Saves::Result,
    forward: |x| x.exp(), int: |x| x,
    backward: |g, result| binary::mul(g, result)?);
unary_op!(log, LogKernel, "LogBackward0", keeps_int = false,
    forward: |x| x.ln(), int: |x| x,
    backward: |g, x| binary::div(g, x)?);
unary_op!(log1p, Log1pKernel, "Log1PBackward0", keeps_int = false,
    forward: |x| x.ln_1p(), int: |x| x,
    backward: |g, x| binary::div(g, &binary::add(x, Arg::from(1.0))?)?);
unary_op!(sqrt, SqrtKernel, "SqrtBackward0", keeps_int = false, saves = Saves::Result,
    forward: |x| x.sqrt(), int: |x| x,
    backward: |g, result| binary::div(g, &binary::mul(result, Arg::from(2.0))?)?);
unary_op!(tanh, TanhKernel, "TanhBackward0", keeps_int = false, saves = Saves::Result,
    forward: |x| x.tanh(), int: |x| x,
    backward: |g, t| binary::mul(g, &binary::sub(Arg::from(1.0), &binary::mul(t, t)?)?)?);
unary_op!(sigmoid, SigmoidKernel, "SigmoidBackward0", keeps_int = false, saves = Saves::Result,
    // 1 / (1 + e^-x), written to stay finite for large |x|.
    forward: |x| if x >= T::zero() { T::one() / (T::one() + (-x).exp()) } else { x.exp() / (T::one() + x.exp()) },
    int: |x| x,
    backward: |g, s| binary::mul(g, &binary::mul(s, &binary::sub(Arg::from(1.0), s)?)?)?);
unary_op!(abs, AbsKernel, "AbsBackward0", keeps_int = true,
    forward: |x| x.abs(), int: |x| x.wrapping_abs(),
    backward: |g, x| binary::mul(g, &sign(x)?)?);
unary_op!(relu, ReluKernel, "ReluBackward0", keeps_int = true, saves = Saves::Result,
    // NaN stays NaN, as in PyTorch.
    forward: |x| if x > T::zero() || x.is_nan() { x } else { T::zero() }, int: |x| x.max(0),
    // The gradient is selected, not multiplied: an infinite gradient where
    // the result is 0 gives 0 (PyTorch's threshold_backward).
    backward: |g, r| masked::masked_fill(g, &compare::le(r, Arg::from(0.0))?, 0.0)?);
unary_op!(reciprocal, ReciprocalKernel, "ReciprocalBackward0", keeps_int = false, saves = Saves::Result,
    forward: |x| x.recip(), int: |x| x,
    backward: |g, r| neg(&binary::mul(g, &binary::mul(r, r)?)?)?);

#[derive(Clone, Copy)]
pub struct SignKernel;
impl UnaryOpT for SignKernel {
    const KERNEL: &'static str = "sign";
    const KEEPS_INT: bool = true;
    fn float<T: Float>(self, x: T) -> T {
        if x > T::zero() { T::one() } else if x < T::zero() { -T::one() } else { x }
    }
    fn int(self, x: i64) -> i64 {
        x.signum()
    }
}

/// The sign of each element (0 at 0); its derivative is zero, so its rule
/// saves nothing.
pub fn sign(x: &Tensor) -> Result<Tensor> {
    struct SignBackward;
    impl BackwardFn for SignBackward {
        fn name(&self) -> &'static str {
            "SignBackward0"
        }
        fn apply(&self, grad: &Tensor, _: &[bool]) -> Result<Grads> {
            Ok(smallvec::smallvec![Some(super::factory::zeros_like(grad))])
        }
        fn saves_tensors(&self) -> bool {
            false
        }
    }
    record(map(SignKernel, x)?, &[x], |_| SignBackward)
}
