//! Sums. Float sums accumulate in f64 and, when large, in fixed-size chunks
//! summed in order, so results never depend on how rayon split the work.

use rayon::prelude::*;

use super::{CpuStorage, Element};
use crate::dtype::DType;
use crate::layout::{Layout, Shape, Strides};

const CHUNK: usize = 1 << 14;

fn sum_f64<T: Element>(values: &[T]) -> f64 {
    if super::parallel_worth(values.len()) {
        let parts: Vec<f64> = values
            .par_chunks(CHUNK)
            .map(|c| c.iter().fold(0.0, |acc, &x| acc + x.to_f64()))
            .collect();
        parts.iter().fold(0.0, |acc, x| acc + x)
    } else {
        // fold from +0.0: `Sum` for floats starts at -0.0, and an empty
        // sum must print as 0.
        values.iter().fold(0.0, |acc, &x| acc + x.to_f64())
    }
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
    let gathered;
    let data = if layout.is_contiguous() {
        data
    } else {
        gathered = super::gather(data, layout);
        &gathered
    };
    let dense = Layout::contiguous(&layout.shape);
    let dense = if layout.is_contiguous() { layout } else { &dense };
    crate::with_dtype!(data.dtype(), T => {
        let v = super::map::dense(T::slice(data), dense).expect("contiguous");
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
    // Reorder the view so the reduced dimensions come last: then every run of
    // `inner` consecutive elements in row-major order is one output element.
    let mut shape = Shape::new();
    let mut strides = Strides::new();
    let mut inner = 1usize;
    for d in (0..layout.ndim()).filter(|d| !dims.contains(d)) {
        shape.push(layout.shape[d]);
        strides.push(layout.strides[d]);
    }
    for &d in dims {
        shape.push(layout.shape[d]);
        strides.push(layout.strides[d]);
        inner *= layout.shape[d];
    }
    let permuted = Layout { shape, strides, offset: layout.offset };
    let outer = if inner == 0 { permuted.shape[..permuted.ndim() - dims.len()].iter().product() } else { permuted.numel() / inner };
    fn run<T: Element, A: Copy + Default + std::ops::Add<Output = A>>(
        v: &[T],
        l: &Layout,
        outer: usize,
        inner: usize,
        conv: impl Fn(T) -> A,
    ) -> Vec<A> {
        let mut out = vec![A::default(); outer];
        if inner > 0 {
            for (i, o) in l.offsets().enumerate() {
                out[i / inner] = out[i / inner] + conv(v[o]);
            }
        }
        out
    }
    match data {
        CpuStorage::F32(v) => CpuStorage::F32(run(v, &permuted, outer, inner, |x| x as f64).into_iter().map(|x| x as f32).collect()),
        CpuStorage::F64(v) => CpuStorage::F64(run(v, &permuted, outer, inner, |x| x).into()),
        ints => crate::with_dtype!(ints.dtype(), T => {
            CpuStorage::I64(run(T::slice(ints), &permuted, outer, inner, T::to_i64).into())
        }),
    }
}
