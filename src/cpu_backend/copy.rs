//! Copies: gathering a view into a dense buffer, dtype casts, strided writes.

use super::{CpuStorage, Element};
use crate::dtype::{DType, Scalar};
use crate::layout::Layout;

/// The elements of a view, densely, in row-major order.
pub fn gather(data: &CpuStorage, layout: &Layout) -> CpuStorage {
    crate::with_dtype!(data.dtype(), T => T::wrap(super::map::map_unary(T::slice(data), layout, |x: T| x)))
}

fn convert<S: Element, D: Element>(src: &[S], layout: &Layout, f: impl Fn(S) -> D + Sync) -> Vec<D> {
    super::map::map_unary(src, layout, f)
}

/// The elements of a view converted to `to`, densely.
pub fn cast(data: &CpuStorage, layout: &Layout, to: DType) -> CpuStorage {
    use CpuStorage as C;
    match (data, to) {
        (_, to) if to == data.dtype() => gather(data, layout),
        (C::F32(v), DType::F64) => C::F64(convert(v, layout, |x| x as f64)),
        (C::F64(v), DType::F32) => C::F32(convert(v, layout, |x| x as f32)),
        (C::I64(v), DType::F32) => C::F32(convert(v, layout, |x| x as f32)),
        (C::I64(v), DType::F64) => C::F64(convert(v, layout, |x| x as f64)),
        (C::F32(v), DType::I64) => C::I64(convert(v, layout, |x| x as i64)),
        (C::F64(v), DType::I64) => C::I64(convert(v, layout, |x| x as i64)),
        (C::Bool(v), to) => crate::with_dtype!(to, T => T::wrap(convert(v, layout, |x| T::from_f64(x as i64 as f64)))),
        (src, DType::Bool) => crate::with_dtype!(src.dtype(), T => C::Bool(convert(T::slice(src), layout, |x: T| x.to_f64() != 0.0))),
        (src, to) => unreachable!("cast {:?} -> {:?} covered above", src.dtype(), to),
    }
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
            for (o, &v) in dst_layout.offsets().zip(from) {
                to[o] = v;
            }
        }
    })
}

/// Sets every element of the view to `value`.
pub fn fill(dst: &mut CpuStorage, layout: &Layout, value: Scalar) {
    crate::with_dtype!(dst.dtype(), T => {
        let v = T::from_scalar(value);
        let to = T::slice_mut(dst);
        if layout.is_contiguous() {
            to[layout.offset..layout.offset + layout.numel()].fill(v);
        } else {
            for o in layout.offsets() {
                to[o] = v;
            }
        }
    })
}

/// `dst[offsets[i]] += src[i]` (dense `src`), summing where several
/// elements map to one place. Numeric buffers of one dtype (this carries
/// gradients); a bool `src` is or-ed in.
pub fn scatter_add(dst: &mut CpuStorage, offsets: impl Iterator<Item = usize>, src: &CpuStorage) {
    fn add<T: Copy>(dst: &mut [T], offsets: impl Iterator<Item = usize>, src: &[T], f: impl Fn(T, T) -> T) {
        for (o, &v) in offsets.zip(src) {
            dst[o] = f(dst[o], v);
        }
    }
    match (dst, src) {
        (CpuStorage::F32(d), CpuStorage::F32(s)) => add(d, offsets, s, |a, b| a + b),
        (CpuStorage::F64(d), CpuStorage::F64(s)) => add(d, offsets, s, |a, b| a + b),
        (CpuStorage::I64(d), CpuStorage::I64(s)) => add(d, offsets, s, i64::wrapping_add),
        (CpuStorage::Bool(d), CpuStorage::Bool(s)) => add(d, offsets, s, |a, b| a | b),
        (d, s) => {
            let s = cast(s, &Layout::contiguous(&[s.len()]), d.dtype());
            scatter_add(d, offsets, &s)
        }
    }
}

/// The elements of `data` at `offsets`, densely.
pub fn gather_at(data: &CpuStorage, offsets: &[usize]) -> CpuStorage {
    crate::with_dtype!(data.dtype(), T => {
        let src = T::slice(data);
        T::wrap(offsets.iter().map(|&o| src[o]).collect())
    })
}
