//! Copies: gathering a view into a dense buffer, dtype casts, strided writes.

use super::strided::Strided;
use super::{CpuStorage, Element};
use crate::dtype::{DType, Scalar};
use crate::layout::Layout;

/// The elements of a view, densely, in row-major order.
pub fn gather(data: &CpuStorage, layout: &Layout) -> CpuStorage {
    crate::with_dtype!(data.dtype(), T => T::wrap(super::map::map_unary(T::slice(data), layout, |x: T| x)))
}

fn convert<S: Element, D: Element>(src: &[S], layout: &Layout, f: impl Fn(S) -> D + Sync + Copy) -> Vec<D> {
    super::map::map_unary(src, layout, f)
}

/// The elements of a view converted to `to`, densely: floats through `f64`,
/// integers and bools through `i64` (so narrowing wraps), and anything to
/// bool by comparing with zero (NaN is true, as in PyTorch).
pub fn cast(data: &CpuStorage, layout: &Layout, to: DType) -> CpuStorage {
    if to == data.dtype() {
        return gather(data, layout);
    }
    let from_float = data.dtype().is_float();
    crate::with_dtype!(data.dtype(), S => {
        let src = S::slice(data);
        crate::with_dtype!(to, D => D::wrap(if to == DType::Bool {
            convert(src, layout, |x: S| D::from_i64((x.to_f64() != 0.0) as i64))
        } else if from_float && to.is_float() {
            convert(src, layout, |x: S| D::from_float(x.to_f64()))
        } else {
            convert(src, layout, |x: S| D::from_i64(x.to_i64()))
        }))
    })
}

/// Calls `f(start, len, step)` for each run of the view's elements.
fn runs_of(layout: &Layout, f: impl FnMut(usize, usize, isize)) {
    let mut f = f;
    let it = Strided::new(&layout.shape, [&layout.strides], [layout.offset]);
    it.runs(0, it.numel(), |[o], len, [s]| f(o, len, s));
}

/// Writes dense `src` (same dtype, `dst_layout.numel()` elements) into the
/// view `dst_layout` of `dst`.
pub fn write_strided(dst: &mut CpuStorage, dst_layout: &Layout, src: &CpuStorage) {
    crate::with_dtype!(dst.dtype(), T => {
        let from = T::slice(src);
        let to = T::slice_mut(dst);
        if from.is_empty() {
            // An empty view's offset may lie past the end of the buffer.
        } else if dst_layout.is_contiguous() {
            let start = dst_layout.offset;
            to[start..start + from.len()].copy_from_slice(from);
        } else {
            let mut pos = 0;
            runs_of(dst_layout, |o, len, s| {
                for (i, &v) in from[pos..pos + len].iter().enumerate() {
                    to[(o as isize + i as isize * s) as usize] = v;
                }
                pos += len;
            });
        }
    })
}

/// Sets every element of the view to `value`.
pub fn fill(dst: &mut CpuStorage, layout: &Layout, value: Scalar) {
    crate::with_dtype!(dst.dtype(), T => {
        let v = T::from_scalar(value);
        let to = T::slice_mut(dst);
        if layout.numel() == 0 {
            // An empty view's offset may lie past the end of the buffer.
        } else if layout.is_contiguous() {
            to[layout.offset..layout.offset + layout.numel()].fill(v);
        } else {
            runs_of(layout, |o, len, s| {
                for i in 0..len {
                    to[(o as isize + i as isize * s) as usize] = v;
                }
            });
        }
    })
}

/// `dst[offsets[i]] += src[i]` (dense `src`), summing where several
/// elements map to one place. Numeric buffers of one dtype (this carries
/// gradients); a bool `src` is or-ed in.
pub fn scatter_add(dst: &mut CpuStorage, offsets: impl Iterator<Item = usize>, src: &CpuStorage) {
    if src.dtype() != dst.dtype() {
        let src = cast(src, &Layout::contiguous(&[src.len()]), dst.dtype());
        return scatter_add(dst, offsets, &src);
    }
    crate::with_dtype!(dst.dtype(), T => {
        let d = T::slice_mut(dst);
        for (o, &v) in offsets.zip(T::slice(src)) {
            d[o] = d[o].accumulate(v);
        }
    })
}

/// The elements of `data` at `offsets`, densely.
pub fn gather_at(data: &CpuStorage, offsets: &[usize]) -> CpuStorage {
    crate::with_dtype!(data.dtype(), T => {
        let src = T::slice(data);
        T::wrap(offsets.iter().map(|&o| src[o]).collect())
    })
}

/// Runs `kernel` on the view converted to its compute dtype
/// (`DType::compute`) and converts the result back to the view's dtype: how
/// half floats and narrow integers reuse the float32 and int64 kernels.
pub fn in_compute_dtype(
    data: &CpuStorage,
    layout: &Layout,
    kernel: impl FnOnce(&CpuStorage, &Layout) -> CpuStorage,
) -> CpuStorage {
    let dtype = data.dtype();
    if dtype.compute() == dtype {
        return kernel(data, layout);
    }
    let out = kernel(&cast(data, layout, dtype.compute()), &Layout::contiguous(&layout.shape));
    cast(&out, &Layout::contiguous(&[out.len()]), dtype)
}
