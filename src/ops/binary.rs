//! Arithmetic with broadcasting: `+ - * / **` between tensors and numbers.

use super::{result_type, tensors, Arg};
use crate::autograd::node::{present, record_padded};
use crate::autograd::{record, BackwardFn, Grads, SavedTensor};
use crate::cpu_backend::{self, Arith};
use crate::dtype::{DType, Scalar};
use crate::error::Result;
use crate::layout::{broadcast_shapes, Layout};
use crate::op_traits::BinaryOpT;
use crate::ops::{masked::masked_fill, reduce::sum_to, unary};
use crate::tensor::Tensor;

macro_rules! binary_kernel {
    ($name:ident, $kernel:literal, |$a:ident, $b:ident| $body:expr) => {
        #[derive(Clone, Copy)]
        pub struct $name;
        impl BinaryOpT for $name {
            const KERNEL: &'static str = $kernel;
            fn apply<T: Arith>(self, $a: T, $b: T) -> T {
                $body
            }
        }
    };
}

binary_kernel!(AddKernel, "add", |a, b| a + b);
binary_kernel!(SubKernel, "sub", |a, b| a - b);
binary_kernel!(MulKernel, "mul", |a, b| a * b);
binary_kernel!(DivKernel, "div", |a, b| a / b);
binary_kernel!(PowKernel, "pow", |a, b| a.pow(b));

/// Runs a binary kernel on two operands in `dtype` (bool arithmetic is done
/// in int64 and converted back, as PyTorch's results are).
pub fn elementwise<O: BinaryOpT>(op: O, a: Arg, b: Arg, dtype: DType) -> Result<Tensor> {
    let shape = broadcast_shapes(a.shape(), b.shape())?;
    crate::layout::check_allocation(crate::layout::numel(&shape), 8)?;
    let kernel_dtype = if dtype == DType::Bool { DType::I64 } else { dtype.compute() };
    let halves = matches!(O::KERNEL, "add" | "sub" | "pow");
    let (ca, cb) = (cast_arg(a.rounded_to(dtype, halves), kernel_dtype)?, cast_arg(b.rounded_to(dtype, halves), kernel_dtype)?);
    let out_layout = Layout::contiguous(&shape);
    let data = with_operands(&ca, &cb, |oa, ob| cpu_backend::binary(op, oa, ob, &out_layout, kernel_dtype));
    let out = Tensor::from_storage(data, out_layout);
    if kernel_dtype != dtype {
        super::to_dtype(&out, dtype)
    } else {
        Ok(out)
    }
}

/// A backward rule `kernel(g, x)` in one pass, where no graph is recorded
/// (double backward needs the composite's nodes) and `g` and `x` share a
/// float32/float64 dtype (so the kernel rounds exactly where the
/// composite's ops do: the same bits); `composite()` elsewhere.
pub(crate) fn fused_rule<K: BinaryOpT>(kernel: K, g: &Tensor, x: &Tensor, composite: impl FnOnce() -> Result<Tensor>) -> Result<Tensor> {
    let native = matches!(x.dtype(), DType::F32 | DType::F64) && g.dtype() == x.dtype();
    if let Some(out) = write_over(kernel, g, Arg::Tensor(x), false, native && crate::autograd::node::grads_given_up()) {
        Ok(out)
    } else if native && !crate::autograd::grad_mode::is_enabled() {
        elementwise(kernel, Arg::Tensor(g), Arg::Tensor(x), x.dtype())
    } else {
        composite()
    }
}

/// `kernel(a, b)` written over `target`'s buffer, `target` being `a` (or `b`
/// if `target_second`), when the caller may overwrite `target`
/// (`may_overwrite`), no graph is recorded, `target` holds a dense
/// float32/float64 buffer alone, and the result has its shape and dtype:
/// the same bits as `elementwise`, one buffer fewer. `None` (nothing
/// written) otherwise.
fn write_over<K: BinaryOpT>(kernel: K, target: &Tensor, other: Arg, target_second: bool, may_overwrite: bool) -> Option<Tensor> {
    if !may_overwrite || crate::autograd::grad_mode::is_enabled() || !target.owns_whole_storage() {
        return None;
    }
    write_into(kernel, target, other, target_second).then(|| target.clone())
}

/// `target = kernel(target, other)` (`kernel(other, target)` if
/// `target_second`) in `target`'s own elements, when `target` is dense
/// float32/float64, `other` is a number or a tensor of its shape and dtype
/// in another storage, and the result keeps `target`'s dtype: the same bits
/// as `elementwise`. `false` (nothing written) otherwise; the caller records
/// no graph.
pub(crate) fn write_into<K: BinaryOpT>(kernel: K, target: &Tensor, other: Arg, target_second: bool) -> bool {
    if !matches!(target.dtype(), DType::F32 | DType::F64) {
        return false;
    }
    let (a, b) = if target_second { (other, Arg::Tensor(target)) } else { (Arg::Tensor(target), other) };
    let dtype = result_type(a, b);
    let other_fits = |t: &Tensor| t.shape() == target.shape() && t.dtype() == dtype && !t.shares_storage(target);
    if dtype != target.dtype() || other.tensor().is_some_and(|t| !other_fits(t)) {
        return false;
    }
    let halves = matches!(K::KERNEL, "add" | "sub" | "pow");
    let Ok(other) = cast_arg(other.rounded_to(dtype, halves), dtype) else { return false };
    let none = Cast::Scalar(Scalar::Int(0));
    // The other operand's read lock first, then `target`'s write lock only
    // if free (`write_cpu`): a thread never waits while holding a lock, so
    // `a += b` and `b += a` on two threads cannot deadlock.
    with_operands(&other, &none, |o, _| {
        target.write_cpu(|dst, at, n| cpu_backend::binary_over(kernel, dst, at, n, o, target_second)).unwrap_or(false)
    })
}

/// `g * d` for a backward rule that made `d` and gives it up: the product
/// is written over `d` where it can be (see `write_over`).
pub(crate) fn grad_times(g: &Tensor, d: Tensor) -> Result<Tensor> {
    match write_over(MulKernel, &d, Arg::Tensor(g), true, true) {
        Some(out) => Ok(out),
        None => mul(g, &d),
    }
}

/// `g * x` for a backward rule that uses its incoming gradient `g` here for
/// the last time: the product is written over `g` where the engine gave it
/// up (see `autograd::node::grads_given_up`).
pub(crate) fn last_use_times(g: &Tensor, x: &Tensor) -> Result<Tensor> {
    match write_over(MulKernel, g, Arg::Tensor(x), false, crate::autograd::node::grads_given_up()) {
        Some(out) => Ok(out),
        None => mul(g, x),
    }
}

/// An operand converted to `dtype` (a dense copy only when its dtype differs).
pub(crate) enum Cast<'a> {
    Tensor(std::borrow::Cow<'a, Tensor>),
    Scalar(Scalar),
}

pub(crate) fn cast_arg(a: Arg<'_>, dtype: DType) -> Result<Cast<'_>> {
    Ok(match a {
        Arg::Tensor(t) if t.dtype() == dtype => Cast::Tensor(std::borrow::Cow::Borrowed(t)),
        Arg::Tensor(t) => {
            let data = t.with_cpu(|d, l| cpu_backend::cast(d, l, dtype));
            Cast::Tensor(std::borrow::Cow::Owned(Tensor::from_cpu(data, t.shape())))
        }
        Arg::Scalar(s) => Cast::Scalar(s),
    })
}

type ReadGuard<'a> = parking_lot::RwLockReadGuard<'a, crate::storage::BackendStorage>;

fn guard<'a>(c: &'a Cast) -> Option<ReadGuard<'a>> {
    match c {
        Cast::Tensor(t) => Some(t.storage().read()),
        Cast::Scalar(_) => None,
    }
}

fn operand<'a>(c: &'a Cast, g: &'a Option<ReadGuard<'a>>) -> cpu_backend::Operand<'a> {
    match (c, g) {
        (Cast::Tensor(t), Some(g)) => cpu_backend::Operand::Tensor(g.cpu(), t.layout()),
        (Cast::Scalar(s), _) => cpu_backend::Operand::Scalar(*s),
        (Cast::Tensor(_), None) => unreachable!("tensor operands hold a guard"),
    }
}

/// Calls `f` with kernel operands for two cast operands, holding their
/// storage read locks for the call.
pub(crate) fn with_operands<R>(
    a: &Cast,
    b: &Cast,
    f: impl FnOnce(cpu_backend::Operand, cpu_backend::Operand) -> R,
) -> R {
    let (ga, gb) = (guard(a), guard(b));
    f(operand(a, &ga), operand(b, &gb))
}

fn shape_of(a: Arg) -> crate::layout::Shape {
    a.shape().into()
}

/// The gradient of a broadcast operand: `g` summed back to its shape.
fn reduce_grad(g: Tensor, shape: &[usize]) -> Result<Tensor> {
    if g.shape() == shape { Ok(g) } else { sum_to(&g, shape) }
}

/// Saves an operand if `need` (a number is saved as itself).
fn save(a: Arg, need: bool) -> Option<Saved> {
    need.then(|| match a {
        Arg::Tensor(t) => Saved::Tensor(SavedTensor::new(t)),
        Arg::Scalar(s) => Saved::Scalar(s),
    })
}

enum Saved {
    Tensor(SavedTensor),
    Scalar(Scalar),
}

impl Saved {
    /// The saved tensor, if a tensor (not a number) was saved.
    fn tensor(&self) -> Option<&SavedTensor> {
        match self {
            Saved::Tensor(t) => Some(t),
            Saved::Scalar(_) => None,
        }
    }
    /// `g * self`; `last_use` says the rule reads `g` no more, so the
    /// product may be written over it (see `write_over`).
    fn mul(&self, g: &Tensor, last_use: bool) -> Result<Tensor> {
        let given_up = last_use && crate::autograd::node::grads_given_up();
        match self {
            Saved::Tensor(t) => {
                let t = t.get()?;
                write_over(MulKernel, g, Arg::Tensor(&t), false, given_up).map_or_else(|| mul(g, &t), Ok)
            }
            Saved::Scalar(s) => write_over(MulKernel, g, Arg::Scalar(*s), false, given_up).map_or_else(|| mul_scalar(g, *s), Ok),
        }
    }

    /// `sum_to(g * self, shape)`: fused into one pass when the result is
    /// a single element (`scalar * tensor`'s scalar) and no graph is being
    /// recorded.
    fn mul_sum_to(&self, g: &Tensor, shape: &[usize], last_use: bool) -> Result<Tensor> {
        if let (Saved::Tensor(t), 1, false) = (self, crate::layout::numel(shape), crate::autograd::grad_mode::is_enabled()) {
            let other = t.get()?;
            if other.dtype() == g.dtype() {
                let fused = g.with_cpu(|dg, lg| other.with_cpu(|dt, lt| cpu_backend::dot(dg, lg, dt, lt)));
                if let Some(data) = fused {
                    return Ok(Tensor::from_cpu(data, shape));
                }
            }
        }
        reduce_grad(self.mul(g, last_use)?, shape)
    }
}

fn mul_scalar(g: &Tensor, s: Scalar) -> Result<Tensor> {
    mul(g, Arg::Scalar(s))
}

// ---- add / sub -------------------------------------------------------------

struct AddBackward {
    name: &'static str,
    shapes: [crate::layout::Shape; 2],
    /// Factor on the second operand: 1 for add, -1 for sub.
    alpha: f64,
    /// For `number - tensor` (rsub) the tensor is the second operand.
    negate_first: bool,
}

impl BackwardFn for AddBackward {
    fn name(&self) -> &'static str {
        self.name
    }
    fn apply(&self, grad: &Tensor, needs: &[bool]) -> Result<Grads> {
        let mut out = Grads::new();
        for (i, need) in needs.iter().enumerate() {
            let factor = if i == 0 { if self.negate_first { -1.0 } else { 1.0 } } else { self.alpha };
            out.push(if *need {
                let g = reduce_grad(grad.clone(), &self.shapes[i])?;
                Some(if factor == 1.0 { g } else { mul(&g, Arg::from(factor))? })
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

fn add_like<'a>(a: Arg<'a>, b: Arg<'a>, subtract: bool, name: &'static str, negate_first: bool) -> Result<Tensor> {
    let dtype = result_type(a, b);
    let out = if subtract {
        if dtype == DType::Bool {
            crate::bail!(NotImplemented, "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or `logical_xor()` operator instead.");
        }
        if [a, b].iter().any(|x| matches!(x, Arg::Tensor(t) if t.dtype() == DType::Bool)) {
            crate::bail!(NotImplemented, "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.");
        }
        elementwise(SubKernel, a, b, dtype)?
    } else {
        elementwise(AddKernel, a, b, dtype)?
    };
    let inputs = tensors(&[a, b]);
    let alpha = if subtract { -1.0 } else { 1.0 };
    // rsub takes its number as a scalar argument; add and sub wrap it.
    let pad = if negate_first { 0 } else { super::wrapped_numbers(&[a, b]) };
    record_padded(out, &inputs, pad, |_| AddBackward { name, shapes: pick([shape_of(a), shape_of(b)], a, b), alpha, negate_first })
}

/// The shapes of the tensor operands only, in order (the node's edges are
/// one per tensor operand).
fn pick(shapes: [crate::layout::Shape; 2], a: Arg, b: Arg) -> [crate::layout::Shape; 2] {
    match (a, b) {
        (Arg::Scalar(_), Arg::Tensor(_)) => [shapes[1].clone(), shapes[0].clone()],
        _ => shapes,
    }
}

pub fn add<'a>(a: impl Into<Arg<'a>>, b: impl Into<Arg<'a>>) -> Result<Tensor> {
    add_like(a.into(), b.into(), false, "AddBackward0", false)
}

pub fn sub<'a>(a: impl Into<Arg<'a>>, b: impl Into<Arg<'a>>) -> Result<Tensor> {
    let (a, b) = (a.into(), b.into());
    match (a, b) {
        // `2 - x` is PyTorch's rsub: the tensor's gradient is negated.
        (Arg::Scalar(_), Arg::Tensor(_)) => add_like(a, b, true, "RsubBackward1", true),
        _ => add_like(a, b, true, "SubBackward0", false),
    }
}

// ---- mul ---------------------------------------------------------------------

struct MulBackward {
    shapes: [crate::layout::Shape; 2],
    /// Saved operands: `other[i]` is the factor for input `i`'s gradient.
    other: [Option<Saved>; 2],
}

impl BackwardFn for MulBackward {
    fn name(&self) -> &'static str {
        "MulBackward0"
    }
    fn saved(&self) -> Vec<(&'static str, &SavedTensor)> {
        // `other[i]` multiplies input `i`'s gradient: it is the other input.
        present([("other", &self.other[0]), ("self", &self.other[1])].map(|(n, s)| (n, s.as_ref().and_then(Saved::tensor))))
    }
    fn apply(&self, grad: &Tensor, needs: &[bool]) -> Result<Grads> {
        let mut out = Grads::new();
        let last = needs.iter().rposition(|&n| n);
        for (i, need) in needs.iter().enumerate() {
            out.push(match (&self.other[i], need) {
                (Some(o), true) => Some(o.mul_sum_to(grad, &self.shapes[i], last == Some(i))?),
                _ => None,
            });
        }
        Ok(out)
    }
}

pub fn mul<'a>(a: impl Into<Arg<'a>>, b: impl Into<Arg<'a>>) -> Result<Tensor> {
    let (a, b) = (a.into(), b.into());
    let out = elementwise(MulKernel, a, b, result_type(a, b))?;
    // Edges are the tensor operands in order; each one's gradient is scaled
    // by the other operand.
    let (first, second) = match (a, b) {
        (Arg::Scalar(_), Arg::Tensor(_)) => (b, a),
        _ => (a, b),
    };
    record_padded(out, &tensors(&[a, b]), super::wrapped_numbers(&[a, b]), |needs| MulBackward {
        shapes: pick([shape_of(a), shape_of(b)], a, b),
        other: [
            save(second, needs[0]),
            if needs.len() > 1 { save(first, needs[1]) } else { None },
        ],
    })
}

// ---- div ---------------------------------------------------------------------

struct DivBackward {
    a: Option<SavedTensor>,
    b: Saved,
    shapes: [crate::layout::Shape; 2],
}

impl BackwardFn for DivBackward {
    fn name(&self) -> &'static str {
        "DivBackward0"
    }
    fn saved(&self) -> Vec<(&'static str, &SavedTensor)> {
        present([("self", self.a.as_ref()), ("other", self.b.tensor())])
    }
    fn apply(&self, grad: &Tensor, needs: &[bool]) -> Result<Grads> {
        let ga = if needs[0] {
            Some(reduce_grad(
                match &self.b {
                    Saved::Tensor(b) => div(grad, &b.get()?)?,
                    Saved::Scalar(s) => div(grad, Arg::Scalar(*s))?,
                },
                &self.shapes[0],
            )?)
        } else {
            None
        };
        let gb = match (&self.a, &self.b, needs.get(1)) {
            (Some(a), Saved::Tensor(b), Some(true)) => {
                let b = &b.get()?;
                // -g * a / b^2
                let q = div(&div(&mul(grad, &a.get()?)?, b)?, b)?;
                Some(reduce_grad(unary::neg(&q)?, &self.shapes[1])?)
            }
            _ => None,
        };
        Ok(smallvec::smallvec![ga, gb])
    }
}

/// True division: integer operands give the default float dtype.
pub fn div<'a>(a: impl Into<Arg<'a>>, b: impl Into<Arg<'a>>) -> Result<Tensor> {
    let (a, b) = (a.into(), b.into());
    if let (Arg::Scalar(s), Arg::Tensor(t)) = (a, b) {
        // `2 / x` is `x.reciprocal() * 2` in PyTorch (so its node is MulBackward0).
        return mul(&unary::reciprocal(t)?, Arg::Scalar(s));
    }
    let mut dtype = result_type(a, b);
    if !dtype.is_float() {
        dtype = crate::dtype::DEFAULT_FLOAT;
    }
    let out = elementwise(DivKernel, a, b, dtype)?;
    let shapes = [shape_of(a), shape_of(b)];
    record_padded(out, &tensors(&[a, b]), super::wrapped_numbers(&[a, b]), |needs| DivBackward {
        a: needs.get(1).copied().unwrap_or(false).then(|| SavedTensor::new(a.tensor().expect("tensor"))),
        b: match b {
            Arg::Tensor(t) => Saved::Tensor(SavedTensor::new(t)),
            Arg::Scalar(s) => Saved::Scalar(s),
        },
        shapes,
    })
}

// ---- pow ---------------------------------------------------------------------

/// `g * x^(e-1) * e`: PowBackward0's rule for `fused_rule`.
#[derive(Clone, Copy)]
struct PowGradKernel {
    e: f64,
}

impl BinaryOpT for PowGradKernel {
    const KERNEL: &'static str = "pow_backward";
    fn apply<T: Arith>(self, g: T, x: T) -> T {
        g * x.pow(T::from_float(self.e - 1.0)) * T::from_float(self.e)
    }
}

/// `x ** e` for a number `e` (PowBackward0).
struct PowScalarBackward {
    x: SavedTensor,
    e: Scalar,
}

impl BackwardFn for PowScalarBackward {
    fn name(&self) -> &'static str {
        "PowBackward0"
    }
    fn saved(&self) -> Vec<(&'static str, &SavedTensor)> {
        vec![("self", &self.x)]
    }
    fn apply(&self, grad: &Tensor, _: &[bool]) -> Result<Grads> {
        let x = &self.x.get()?;
        let e = self.e.to_f64();
        let g = if e == 0.0 {
            mul(grad, Arg::from(0.0))?
        } else {
            // g * e * x^(e-1)
            fused_rule(PowGradKernel { e }, grad, x, || mul(&mul(grad, &pow(x, Arg::from(e - 1.0))?)?, Arg::Scalar(self.e)))?
        };
        Ok(smallvec::smallvec![Some(g)])
    }
}

/// `x ** y` for tensors (PowBackward1).
struct PowTensorBackward {
    x: SavedTensor,
    y: SavedTensor,
}

impl BackwardFn for PowTensorBackward {
    fn name(&self) -> &'static str {
        "PowBackward1"
    }
    fn saved(&self) -> Vec<(&'static str, &SavedTensor)> {
        vec![("self", &self.x), ("exponent", &self.y)]
    }
    fn apply(&self, grad: &Tensor, needs: &[bool]) -> Result<Grads> {
        let (x, y) = (&self.x.get()?, &self.y.get()?);
        let gx = if needs[0] {
            // g * y * x^(y-1), zero where y == 0
            let d = mul(y, &pow(x, &sub(y, Arg::from(1.0))?)?)?;
            let d = masked_fill(&d, &super::compare::eq(y, Arg::from(0.0))?, 0.0)?;
            Some(reduce_grad(mul(grad, &d)?, x.shape())?)
        } else {
            None
        };
        let gy = if needs[1] {
            Some(reduce_grad(mul(grad, &pow_log_term(x, &pow(x, y)?, &super::compare::ge(y, Arg::from(0.0))?)?)?, y.shape())?)
        } else {
            None
        };
        Ok(smallvec::smallvec![gx, gy])
    }
}

/// `result * ln(base)`, zero where base == 0 and `nonneg_exp` (PyTorch's
/// convention for the exponent's gradient at a zero base).
fn pow_log_term(base: &Tensor, result: &Tensor, nonneg_exp: &Tensor) -> Result<Tensor> {
    let term = mul(result, &unary::log(base)?)?;
    let zero_base = super::compare::eq(base, Arg::from(0.0))?;
    let mask = elementwise(MulKernel, Arg::Tensor(&zero_base), Arg::Tensor(nonneg_exp), DType::Bool)?;
    masked_fill(&term, &mask, 0.0)
}

/// `base ** x` for a number `base` (PowBackward2).
struct PowScalarBaseBackward {
    base: Scalar,
    x: SavedTensor,
}

impl BackwardFn for PowScalarBaseBackward {
    fn name(&self) -> &'static str {
        "PowBackward2"
    }
    fn saved(&self) -> Vec<(&'static str, &SavedTensor)> {
        vec![("exponent", &self.x)]
    }
    fn apply(&self, grad: &Tensor, _: &[bool]) -> Result<Grads> {
        let x = &self.x.get()?;
        let result = pow(Arg::Scalar(self.base), x)?;
        let g = if self.base.to_f64() == 0.0 {
            let nonneg = super::compare::ge(x, Arg::from(0.0))?;
            let log_base = Tensor::scalar_tensor(self.base, x.dtype());
            mul(grad, &pow_log_term(&log_base, &result, &nonneg)?)?
        } else {
            mul(&mul(grad, &result)?, Arg::from(self.base.to_f64().ln()))?
        };
        Ok(smallvec::smallvec![Some(g)])
    }
}

pub fn pow<'a>(a: impl Into<Arg<'a>>, b: impl Into<Arg<'a>>) -> Result<Tensor> {
    let (a, b) = (a.into(), b.into());
    let dtype = result_type(a, b);
    if dtype == DType::Bool {
        crate::bail!(NotImplemented, "\"pow\" not implemented for 'Bool'");
    }
    for s in [a, b].iter().filter_map(|x| if let Arg::Scalar(s) = x { Some(*s) } else { None }) {
        dtype.check_fits(s, dtype.overflow_name())?;
    }
    if let Arg::Scalar(Scalar::Int(e)) = b {
        if e < 0 && dtype.is_int() {
            crate::bail!(Runtime, "Integers to negative integer powers are not allowed.");
        }
    }
    let out = elementwise(PowKernel, a, b, dtype)?;
    Ok(match (a, b) {
        (Arg::Tensor(x), Arg::Scalar(e)) => record(out, &[x], |_| PowScalarBackward { x: SavedTensor::new(x), e })?,
        (Arg::Tensor(x), Arg::Tensor(y)) => record(out, &[x, y], |_| PowTensorBackward { x: SavedTensor::new(x), y: SavedTensor::new(y) })?,
        (Arg::Scalar(base), Arg::Tensor(x)) => record(out, &[x], |_| PowScalarBaseBackward { base, x: SavedTensor::new(x) })?,
        (Arg::Scalar(_), Arg::Scalar(_)) => out,
    })
}

