//! Sums. Float sums accumulate in f64 and, when large, in fixed-size chunks
//! summed in order, so results never depend on how rayon split the work.

use rayon::prelude::*;

use super::{CpuStorage, Element};
use crate::dtype::DType;
use super::strided::Strided;
use crate::layout::{Layout, Strides};

const CHUNK: usize = 1 << 14;

/// The f64 sum of `value(a[i], b[i])` over two runs of one length, over
/// eight interleaved partial sums (so the loop vectorises) added in a fixed
/// order: deterministic, and more exact than one running sum.
#[inline(always)]
fn lanes_sum<A: Copy, B: Copy>(a: &[A], b: &[B], value: impl Fn(A, B) -> f64) -> f64 {
    let mut lanes = [0.0f64; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            lanes[k] += value(x[k], y[k]);
        }
    }
    let mut total = ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) + ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]));
    for (&x, &y) in ra.iter().zip(rb) {
        total += value(x, y);
    }
    total
}

fn sum_run<T: Element>(values: &[T]) -> f64 {
    lanes_sum(values, values, |x, _| x.to_f64())
}

/// `sum(a * b)` with each product rounded to `T`, as a product buffer would
/// hold it: the same bits as `sum(a * b)` made of the two ops.
fn dot_run<T: Element>(a: &[T], b: &[T]) -> f64 {
    lanes_sum(a, b, |x, y| T::from_float(x.to_f64() * y.to_f64()).to_f64())
}

/// `sum(a * b)` over every element of two contiguous float32/float64 views
/// of one shape and dtype, as a one-element buffer of that dtype; `None`
/// for other operands (callers take the unfused path). One pass instead of
/// a product buffer and a sum (the backward of `scalar * tensor`), with the
/// same bits as those two ops.
pub fn dot(a: &CpuStorage, la: &Layout, b: &CpuStorage, lb: &Layout) -> Option<CpuStorage> {
    if la.shape != lb.shape || !la.is_contiguous() || !lb.is_contiguous() {
        return None;
    }
    fn run<T: Element>(x: &[T], lx: &Layout, y: &[T], ly: &Layout) -> f64 {
        let (x, y) = (super::map::dense(x, lx).expect("contiguous"), super::map::dense(y, ly).expect("contiguous"));
        // One run, as `sum` over all dims walks it (`sum_to`'s path).
        0.0 + dot_run(x, y)
    }
    match (a, b) {
        (CpuStorage::F32(x), CpuStorage::F32(y)) => Some(CpuStorage::F32(vec![run(x, la, y, lb) as f32].into())),
        (CpuStorage::F64(x), CpuStorage::F64(y)) => Some(CpuStorage::F64(vec![run(x, la, y, lb)].into())),
        _ => None,
    }
}

/// `run` over fixed-size chunks of `0..n`, the partial results added in
/// order from +0.0 (`Sum` for floats starts at -0.0): the same association
/// whether the chunks ran on the pool or not, so results never depend on
/// threading.
fn chunked(n: usize, run: impl Fn(std::ops::Range<usize>) -> f64 + Sync) -> f64 {
    let chunk = |i: usize| run(i * CHUNK..((i + 1) * CHUNK).min(n));
    let count = n.div_ceil(CHUNK);
    if super::parallel_worth(n, super::PARALLEL_MIN_CHEAP) {
        let parts: Vec<f64> = (0..count).into_par_iter().map(chunk).collect();
        parts.iter().fold(0.0, |acc, v| acc + v)
    } else {
        (0..count).map(chunk).fold(0.0, |acc, v| acc + v)
    }
}

fn sum_f64<T: Element>(values: &[T]) -> f64 {
    chunked(values.len(), |r| sum_run(&values[r]))
}

fn sum_i64<T: Element>(values: impl Iterator<Item = T>) -> i64 {
    values.map(T::to_i64).fold(0i64, i64::wrapping_add)
}

/// Half floats sum in float32 (then round back); integers and bools sum to
/// int64, PyTorch's result type for them.
fn is_half(data: &CpuStorage) -> bool {
    matches!(data.dtype(), DType::F16 | DType::BF16)
}

/// The sum of every element, as a one-element buffer of `sum_dtype`.
pub fn sum_all(data: &CpuStorage, layout: &Layout) -> CpuStorage {
    if is_half(data) {
        return super::in_compute_dtype(data, layout, sum_all);
    }
    if !layout.is_contiguous() {
        // Walk the view in place: an expanded view may be far larger than
        // its storage (`ones(1).expand(2**40).sum()`).
        let all: Vec<usize> = (0..layout.shape.len()).collect();
        return sum_dims(data, layout, &all);
    }
    crate::with_dtype!(data.dtype(), T => {
        let v = super::map::dense(T::slice(data), layout).expect("contiguous");
        match data.dtype() {
            DType::F32 => CpuStorage::F32(vec![sum_f64(v) as f32].into()),
            DType::F64 => CpuStorage::F64(vec![sum_f64(v)].into()),
            _ => CpuStorage::I64(vec![sum_i64(v.iter().copied())].into()),
        }
    })
}

/// Sums over `dims` (sorted, distinct); the result has the kept dimensions in
/// order (callers insert size-1 dims for `keepdim`).
pub fn sum_dims(data: &CpuStorage, layout: &Layout, dims: &[usize]) -> CpuStorage {
    if is_half(data) {
        return super::in_compute_dtype(data, layout, |d, l| sum_dims(d, l, dims));
    }
    // The input and the accumulators walk together: the accumulators step 0
    // along summed dims, so each output sums its elements in row-major order.
    let mut acc_strides = Strides::new();
    let mut outputs = 1usize;
    for d in (0..layout.ndim()).rev() {
        if dims.contains(&d) {
            acc_strides.push(0);
        } else {
            acc_strides.push(outputs as isize);
            outputs *= layout.shape[d];
        }
    }
    acc_strides.reverse();
    let it = Strided::new(&layout.shape, [&layout.strides, &acc_strides], [layout.offset, 0]);
    fn run<T: Element, A: Copy + Default + std::ops::AddAssign>(
        v: &[T],
        it: &Strided<2>,
        outputs: usize,
        conv: impl Fn(T) -> A,
        run_sum: impl Fn(&[T]) -> A,
    ) -> Vec<A> {
        let mut acc = vec![A::default(); outputs];
        it.runs(0, it.numel(), |[o, a], len, [s, sa]| match (s, sa) {
            (1, 0) => acc[a] += run_sum(&v[o..o + len]),
            (1, 1) => {
                for (x, &y) in acc[a..a + len].iter_mut().zip(&v[o..o + len]) {
                    *x += conv(y);
                }
            }
            _ => {
                for i in 0..len {
                    acc[(a as isize + i as isize * sa) as usize] += conv(v[(o as isize + i as isize * s) as usize]);
                }
            }
        });
        acc
    }
    match data {
        CpuStorage::F32(v) => {
            CpuStorage::F32(run(v, &it, outputs, |x| x as f64, sum_run).into_iter().map(|x| x as f32).collect())
        }
        CpuStorage::F64(v) => CpuStorage::F64(run(v, &it, outputs, |x| x, sum_run).into()),
        ints => crate::with_dtype!(ints.dtype(), T => {
            CpuStorage::I64(run(T::slice(ints), &it, outputs, T::to_i64, |r: &[T]| sum_i64(r.iter().copied())).into())
        }),
    }
}
