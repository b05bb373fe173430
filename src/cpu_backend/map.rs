//! Element-wise maps: unary, binary with broadcasting, comparisons.

use rayon::prelude::*;

use super::{Arith, CpuStorage, Element};
use crate::dtype::Scalar;
use crate::layout::Layout;
use crate::op_traits::{BinaryOpT, CmpOpT, UnaryOpT};

/// One side of a binary kernel: a strided buffer or a Python number.
#[derive(Clone, Copy)]
pub enum Operand<'a> {
    Tensor(&'a CpuStorage, &'a Layout),
    Scalar(Scalar),
}

/// The contiguous run of elements a layout covers, when it is contiguous.
/// (An empty view's offset may lie past the end of its buffer.)
pub(super) fn dense<'a, T: Element>(data: &'a [T], layout: &Layout) -> Option<&'a [T]> {
    match layout.numel() {
        0 => Some(&[]),
        n => layout.is_contiguous().then(|| &data[layout.offset..layout.offset + n]),
    }
}

fn map_slice<T: Element, U: Element>(src: &[T], f: impl Fn(T) -> U + Sync) -> Vec<U> {
    if super::parallel_worth(src.len()) {
        src.par_iter().map(|&x| f(x)).collect()
    } else {
        src.iter().map(|&x| f(x)).collect()
    }
}

pub fn map_unary<T: Element, U: Element>(data: &[T], layout: &Layout, f: impl Fn(T) -> U + Sync) -> Vec<U> {
    match dense(data, layout) {
        Some(src) => map_slice(src, f),
        None => layout.offsets().map(|o| f(data[o])).collect(),
    }
}

/// `f` over two operands broadcast to `out_shape`.
fn map_binary<T: Element, U: Element>(
    a: (&[T], &Layout),
    b: (&[T], &Layout),
    out: &Layout,
    f: impl Fn(T, T) -> U + Sync,
) -> Vec<U> {
    let (da, db) = (dense(a.0, a.1), dense(b.0, b.1));
    let same_a = a.1.shape == out.shape;
    let same_b = b.1.shape == out.shape;
    match (da, db) {
        (Some(x), Some(y)) if same_a && same_b => {
            if super::parallel_worth(x.len()) {
                x.par_iter().zip(y.par_iter()).map(|(&p, &q)| f(p, q)).collect()
            } else {
                x.iter().zip(y).map(|(&p, &q)| f(p, q)).collect()
            }
        }
        (Some(x), Some(&[y])) if same_a => map_slice(x, |p| f(p, y)),
        (Some(&[x]), Some(y)) if same_b => map_slice(y, |q| f(x, q)),
        _ => {
            let ea = a.1.expand(&out.shape).expect("shapes broadcast");
            let eb = b.1.expand(&out.shape).expect("shapes broadcast");
            ea.offsets().zip(eb.offsets()).map(|(i, j)| f(a.0[i], b.0[j])).collect()
        }
    }
}

fn map_with_scalar<T: Element, U: Element>(
    a: (&[T], &Layout),
    s: T,
    scalar_first: bool,
    f: impl Fn(T, T) -> U + Sync,
) -> Vec<U> {
    if scalar_first {
        map_unary(a.0, a.1, |x| f(s, x))
    } else {
        map_unary(a.0, a.1, |x| f(x, s))
    }
}

/// Applies `f` to two operands of element type `T`; at least one is a tensor.
fn apply2<T: Element, U: Element>(
    lhs: Operand,
    rhs: Operand,
    out: &Layout,
    f: impl Fn(T, T) -> U + Sync,
) -> Vec<U> {
    match (lhs, rhs) {
        (Operand::Tensor(a, la), Operand::Tensor(b, lb)) => {
            map_binary((T::slice(a), la), (T::slice(b), lb), out, f)
        }
        (Operand::Tensor(a, la), Operand::Scalar(s)) => {
            map_with_scalar((T::slice(a), la), T::from_scalar(s), false, f)
        }
        (Operand::Scalar(s), Operand::Tensor(b, lb)) => {
            map_with_scalar((T::slice(b), lb), T::from_scalar(s), true, f)
        }
        (Operand::Scalar(a), Operand::Scalar(b)) => vec![f(T::from_scalar(a), T::from_scalar(b))],
    }
}

/// Unary op on a float or (for ops that keep ints) int64 buffer.
pub fn unary<O: UnaryOpT>(op: O, data: &CpuStorage, layout: &Layout) -> CpuStorage {
    match data {
        CpuStorage::F32(v) => CpuStorage::F32(map_unary(v, layout, |x| op.float(x)).into()),
        CpuStorage::F64(v) => CpuStorage::F64(map_unary(v, layout, |x| op.float(x)).into()),
        CpuStorage::I64(v) => CpuStorage::I64(map_unary(v, layout, |x| op.int(x)).into()),
        CpuStorage::Bool(_) => unreachable!("op layer promotes bool before {}", O::KERNEL),
        narrow => super::in_compute_dtype(narrow, layout, |d, l| unary(op, d, l)),
    }
}

/// Binary op; tensor operands already have the result dtype `dtype`, which
/// is not bool.
pub fn binary<O: BinaryOpT>(op: O, lhs: Operand, rhs: Operand, out: &Layout, dtype: crate::dtype::DType) -> CpuStorage {
    fn run<T: Arith, O: BinaryOpT>(op: O, lhs: Operand, rhs: Operand, out: &Layout) -> CpuStorage {
        T::wrap(apply2::<T, T>(lhs, rhs, out, |a, b| op.apply(a, b)))
    }
    use crate::dtype::DType::*;
    match dtype {
        F32 => run::<f32, O>(op, lhs, rhs, out),
        F64 => run::<f64, O>(op, lhs, rhs, out),
        I64 => run::<i64, O>(op, lhs, rhs, out),
        other => unreachable!("op layer computes {other:?} arithmetic in {:?}", other.compute()),
    }
}

/// Comparison producing a bool buffer; tensor operands have dtype `dtype`.
pub fn compare<O: CmpOpT>(op: O, lhs: Operand, rhs: Operand, out: &Layout, dtype: crate::dtype::DType) -> CpuStorage {
    CpuStorage::Bool(crate::with_dtype!(dtype, T => apply2::<T, bool>(lhs, rhs, out, |a, b| op.apply(a, b)).into()))
}
