//! Element-wise maps: unary, binary with broadcasting, comparisons.

use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::strided::{Strided, Transposed};
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

/// Elements per parallel task: large enough that rayon's per-task cost
/// (about a microsecond) is noise, small enough to balance two cores.
const CHUNK: usize = 1 << 15;

/// A dense buffer over `it`'s shape, filled run by run by `body(dst, starts,
/// steps)`, which must write every element of `dst`; buffers of at least
/// `min_parallel` elements are filled in parallel chunks.
pub(super) fn build<U: Send, const N: usize>(
    it: &Strided<N>,
    min_parallel: usize,
    body: impl Fn(&mut [MaybeUninit<U>], [usize; N], [isize; N]) + Sync,
) -> Vec<U> {
    let n = it.numel();
    let mut out: Vec<U> = super::buffer(n);
    let fill = |start: usize, dst: &mut [MaybeUninit<U>]| {
        let mut pos = 0;
        it.runs(start, start + dst.len(), |o, len, s| {
            body(&mut dst[pos..pos + len], o, s);
            pos += len;
        });
    };
    let spare = &mut out.spare_capacity_mut()[..n];
    if super::parallel_worth(n, min_parallel) {
        spare.par_chunks_mut(CHUNK).enumerate().for_each(|(c, dst)| fill(c * CHUNK, dst));
    } else {
        fill(0, spare);
    }
    // SAFETY: the runs cover 0..n exactly and `body` wrote each element.
    unsafe { out.set_len(n) };
    out
}

/// The `i`-th element of a run starting at `start` with step `step`.
#[inline(always)]
fn at<T: Copy>(data: &[T], start: usize, step: isize, i: usize) -> T {
    data[(start as isize + i as isize * step) as usize]
}

/// `f` over each element of a view. `f` is `Copy` so each run works on a
/// local copy of it: LLVM then keeps what it captured in registers instead
/// of reloading it after every store, and vectorises the loop.
pub fn map_unary<T: Element, U: Element>(data: &[T], layout: &Layout, f: impl Fn(T) -> U + Sync + Copy) -> Vec<U> {
    let it = walk(layout);
    if let Some(t) = it.transposed() {
        return map_transposed(data, &t, f);
    }
    build(&it, super::PARALLEL_MIN_CHEAP, |dst, [o], [s]| {
        let f = f;
        let n = dst.len();
        if s == 1 {
            for (d, &x) in dst.iter_mut().zip(&data[o..o + n]) {
                d.write(f(x));
            }
        } else {
            for (i, d) in dst.iter_mut().enumerate() {
                d.write(f(at(data, o, s, i)));
            }
        }
    })
}

/// `map_unary` of a stack of transposed matrices, in strips of `STRIP`
/// output rows: each step reads `STRIP` adjacent source elements (one
/// cache line of f32) and writes them to `STRIP` row streams, instead of
/// reading one element per cache line.
fn map_transposed<T: Element, U: Element>(data: &[T], t: &Transposed, f: impl Fn(T) -> U + Sync + Copy) -> Vec<U> {
    const STRIP: usize = 16;
    let per = t.rows * t.cols;
    let mut bases = Vec::with_capacity(t.outer.numel());
    t.outer.runs(0, t.outer.numel(), |[o], len, [s]| bases.extend((0..len).map(|i| (o as isize + i as isize * s) as usize)));
    let strip = |dst: &mut [MaybeUninit<U>], base: usize, r0: usize| {
        let f = f;
        let k = dst.len() / t.cols;
        for c in 0..t.cols {
            let start = (base as isize + c as isize * t.col_step) as usize + r0;
            for (j, &x) in data[start..start + k].iter().enumerate() {
                dst[j * t.cols + c].write(f(x));
            }
        }
    };
    let n = per * bases.len();
    let mut out: Vec<U> = super::buffer(n);
    let spare = &mut out.spare_capacity_mut()[..n];
    if super::parallel_worth(n, super::PARALLEL_MIN_CHEAP) {
        spare.par_chunks_mut(per).zip(bases.par_iter()).for_each(|(m, &base)| {
            m.par_chunks_mut(STRIP * t.cols).enumerate().for_each(|(i, dst)| strip(dst, base, i * STRIP))
        });
    } else {
        for (m, &base) in spare.chunks_mut(per).zip(&bases) {
            m.chunks_mut(STRIP * t.cols).enumerate().for_each(|(i, dst)| strip(dst, base, i * STRIP));
        }
    }
    // SAFETY: the strips cover each matrix's rows x cols elements once.
    unsafe { out.set_len(n) };
    out
}

/// How one operand's elements are walked.
fn walk(layout: &Layout) -> Strided<1> {
    if layout.is_contiguous() {
        Strided::flat(layout.numel(), [layout.offset])
    } else {
        Strided::new(&layout.shape, [&layout.strides], [layout.offset])
    }
}

/// Like `map_unary`, for a kernel `f(src, dst)` over whole dense runs (a
/// vectorised one); strided runs are gathered into a small buffer first.
pub fn map_runs<T: Element>(
    data: &[T],
    layout: &Layout,
    min_parallel: usize,
    f: impl Fn(&[T], &mut [MaybeUninit<T>]) + Sync,
) -> Vec<T> {
    const BUF: usize = 256;
    build(&walk(layout), min_parallel, |dst, [o], [s]| {
        if s == 1 {
            return f(&data[o..o + dst.len()], dst);
        }
        let mut buf = [T::default(); BUF];
        for (i, dst) in dst.chunks_mut(BUF).enumerate() {
            for (j, b) in buf[..dst.len()].iter_mut().enumerate() {
                *b = at(data, o, s, i * BUF + j);
            }
            f(&buf[..dst.len()], dst);
        }
    })
}

/// `f` over two operands broadcast to `out_shape`.
fn map_binary<T: Element, U: Element>(
    a: (&[T], &Layout),
    b: (&[T], &Layout),
    out: &Layout,
    f: impl Fn(T, T) -> U + Sync + Copy,
) -> Vec<U> {
    let same = a.1.shape == out.shape && b.1.shape == out.shape;
    let it = if same && a.1.is_contiguous() && b.1.is_contiguous() {
        Strided::flat(out.numel(), [a.1.offset, b.1.offset])
    } else {
        let ea = a.1.expand(&out.shape).expect("shapes broadcast");
        let eb = b.1.expand(&out.shape).expect("shapes broadcast");
        Strided::new(&out.shape, [&ea.strides, &eb.strides], [ea.offset, eb.offset])
    };
    let (x, y) = (a.0, b.0);
    build(&it, super::PARALLEL_MIN_CHEAP, |dst, [oa, ob], [sa, sb]| {
        let f = f;
        let n = dst.len();
        // Dense and broadcast-scalar steps get loops the compiler vectorises.
        match (sa, sb) {
            (1, 1) => {
                for ((d, &p), &q) in dst.iter_mut().zip(&x[oa..oa + n]).zip(&y[ob..ob + n]) {
                    d.write(f(p, q));
                }
            }
            (1, 0) => {
                let q = y[ob];
                for (d, &p) in dst.iter_mut().zip(&x[oa..oa + n]) {
                    d.write(f(p, q));
                }
            }
            (0, 1) => {
                let p = x[oa];
                for (d, &q) in dst.iter_mut().zip(&y[ob..ob + n]) {
                    d.write(f(p, q));
                }
            }
            _ => {
                for (i, d) in dst.iter_mut().enumerate() {
                    d.write(f(at(x, oa, sa, i), at(y, ob, sb, i)));
                }
            }
        }
    })
}

fn map_with_scalar<T: Element, U: Element>(
    a: (&[T], &Layout),
    s: T,
    scalar_first: bool,
    f: impl Fn(T, T) -> U + Sync + Copy,
) -> Vec<U> {
    if scalar_first {
        map_unary(a.0, a.1, move |x| f(s, x))
    } else {
        map_unary(a.0, a.1, move |x| f(x, s))
    }
}

/// Applies `f` to two operands of element type `T`; at least one is a tensor.
fn apply2<T: Element, U: Element>(
    lhs: Operand,
    rhs: Operand,
    out: &Layout,
    f: impl Fn(T, T) -> U + Sync + Copy,
) -> Vec<U> {
    match (lhs, rhs) {
        // A one-element tensor against one of the result's shape (a 0-d
        // parameter times a vector) is a number to the kernel.
        (Operand::Tensor(a, la), Operand::Tensor(b, lb)) if lb.numel() == 1 && la.shape == out.shape => {
            map_with_scalar((T::slice(a), la), T::slice(b)[lb.offset], false, f)
        }
        (Operand::Tensor(a, la), Operand::Tensor(b, lb)) if la.numel() == 1 && lb.shape == out.shape => {
            map_with_scalar((T::slice(b), lb), T::slice(a)[la.offset], true, f)
        }
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

/// `dst[i] = op(dst[i], other[i])` (`op(other[i], dst[i])` if `dst_second`)
/// over the dense run `dst[at..at + n]`, `other` a dense view of as many
/// elements of the same dtype or a number: a binary kernel that writes over
/// an operand instead of a new buffer, with the same bits. `false`,
/// with nothing written, for dtypes other than float32/float64 or an
/// `other` that is not dense.
pub fn binary_over<O: BinaryOpT>(op: O, dst: &mut CpuStorage, at: usize, n: usize, other: Operand, dst_second: bool) -> bool {
    fn run<T: Arith, O: BinaryOpT>(op: O, d: &mut [T], other: Operand, dst_second: bool) -> bool {
        let src = match other {
            Operand::Tensor(data, layout) => match dense(T::slice(data), layout) {
                Some(src) if src.len() == d.len() => Some(src),
                _ => return false,
            },
            Operand::Scalar(_) => None,
        };
        let piece = |d: &mut [T], at: usize| {
            let op = op;
            match (src, other, dst_second) {
                (Some(s), _, false) => d.iter_mut().zip(&s[at..]).for_each(|(x, &y)| *x = op.apply(*x, y)),
                (Some(s), _, true) => d.iter_mut().zip(&s[at..]).for_each(|(x, &y)| *x = op.apply(y, *x)),
                (None, Operand::Scalar(k), false) => {
                    let k = T::from_scalar(k);
                    d.iter_mut().for_each(|x| *x = op.apply(*x, k))
                }
                (None, Operand::Scalar(k), true) => {
                    let k = T::from_scalar(k);
                    d.iter_mut().for_each(|x| *x = op.apply(k, *x))
                }
                (None, Operand::Tensor(..), _) => unreachable!("a tensor operand has a run"),
            }
        };
        if super::parallel_worth(d.len(), super::PARALLEL_MIN_CHEAP) {
            d.par_chunks_mut(CHUNK).enumerate().for_each(|(c, d)| piece(d, c * CHUNK));
        } else {
            piece(d, 0);
        }
        true
    }
    match dst {
        CpuStorage::F32(d) => run::<f32, O>(op, &mut d[at..at + n], other, dst_second),
        CpuStorage::F64(d) => run::<f64, O>(op, &mut d[at..at + n], other, dst_second),
        _ => false,
    }
}

/// Unary op on a float or (for ops that keep ints) int64 buffer.
pub fn unary<O: UnaryOpT>(op: O, data: &CpuStorage, layout: &Layout) -> CpuStorage {
    // The ops that keep integers (neg, abs, relu, sign, rounding) are cheap;
    // the others are transcendentals, worth threads from a smaller size.
    let min_parallel = if O::KEEPS_INT { super::PARALLEL_MIN_CHEAP } else { super::PARALLEL_MIN_ELEMENTS };
    match data {
        CpuStorage::F32(v) => CpuStorage::F32(map_runs(v, layout, min_parallel, |src, dst| op.f32_run(src, dst)).into()),
        CpuStorage::F64(v) => CpuStorage::F64(
            map_runs(v, layout, min_parallel, |src, dst| {
                for (d, &x) in dst.iter_mut().zip(src) {
                    d.write(op.float(x));
                }
            })
            .into(),
        ),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposed_views_map_in_row_major_order() {
        let data: Vec<f32> = (0..4096).map(|i| i as f32).collect();
        let layouts = [
            Layout::contiguous(&[37, 19]).transpose(0, 1),
            Layout::contiguous(&[3, 20, 17]).transpose(1, 2),
            Layout { shape: smallvec::smallvec![5, 18], strides: smallvec::smallvec![1, 7], offset: 3 },
            Layout::contiguous(&[2, 40, 33]).transpose(0, 2),
        ];
        for l in &layouts {
            let want: Vec<f32> = l.offsets().map(|o| data[o] * 2.0).collect();
            assert_eq!(map_unary(&data, l, |x| x * 2.0), want, "{l:?}");
        }
    }
}
