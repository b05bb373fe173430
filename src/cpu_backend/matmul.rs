//! Batched matrix products. Each 2-D product goes to ndarray's `dot`
//! (matrixmultiply for floats: single-threaded, so running several products
//! on rayon's pool never nests thread pools).

use ndarray::{ArrayView2, ShapeBuilder};
use rayon::prelude::*;

use super::{CpuStorage, Element};
use crate::layout::{numel, Layout};

/// A 2-D view of a matrix inside `data`, at `offset` with the last two
/// dimensions of `layout`.
///
/// Safety: `offset` and the strides address elements inside `data`, and the
/// strides are non-negative (layouts never hold negative strides).
unsafe fn matrix<'a, T>(data: &'a [T], layout: &Layout, offset: usize) -> ArrayView2<'a, T> {
    let nd = layout.ndim();
    let (r, c) = (layout.shape[nd - 2], layout.shape[nd - 1]);
    let (sr, sc) = (layout.strides[nd - 2] as usize, layout.strides[nd - 1] as usize);
    // Size-1 dimensions may carry any stride; give them a harmless one.
    let (sr, sc) = (if r <= 1 { 1 } else { sr }, if c <= 1 { 1 } else { sc });
    ArrayView2::from_shape_ptr((r, c).strides((sr, sc)), data.as_ptr().add(offset))
}

/// Storage offsets of each matrix in a batch of `batch_shape` matrices laid
/// out by `layout` (already expanded to that batch shape).
fn batch_offsets(layout: &Layout, batch_shape: &[usize]) -> Vec<usize> {
    let nb = batch_shape.len();
    let batch = Layout { shape: batch_shape.into(), strides: layout.strides[..nb].into(), offset: layout.offset };
    batch.offsets().collect()
}

/// `a @ b` for `a: (*batch, n, k)` and `b: (*batch, k, m)`, both already
/// expanded to one batch shape and of one dtype (not bool). Dense result.
pub fn matmul(a: &CpuStorage, la: &Layout, b: &CpuStorage, lb: &Layout) -> CpuStorage {
    fn run<T: Element + ndarray::LinalgScalar>(a: &[T], la: &Layout, b: &[T], lb: &Layout) -> Vec<T> {
        let nd = la.ndim();
        let batch_shape = &la.shape[..nd - 2];
        let (n, m) = (la.shape[nd - 2], lb.shape[nd - 1]);
        let (ao, bo) = (batch_offsets(la, batch_shape), batch_offsets(lb, batch_shape));
        let mut out = vec![T::default(); numel(batch_shape) * n * m];
        if n * m == 0 {
            return out;
        }
        let product = |i: usize, dst: &mut [T]| {
            // Safety: offsets come from the layouts of `a` and `b`.
            let (x, y) = unsafe { (matrix(a, la, ao[i]), matrix(b, lb, bo[i])) };
            let mut c = ndarray::ArrayViewMut2::from_shape((n, m), dst).expect("dense output");
            ndarray::linalg::general_mat_mul(T::one(), &x, &y, T::zero(), &mut c);
        };
        let work = n * m * la.shape[nd - 1];
        if ao.len() > 1 && work * ao.len() >= super::PARALLEL_MIN_ELEMENTS * 8 && super::threads_usable() {
            out.par_chunks_mut(n * m).enumerate().for_each(|(i, dst)| product(i, dst));
        } else {
            out.chunks_mut(n * m).enumerate().for_each(|(i, dst)| product(i, dst));
        }
        out
    }
    match (a, b) {
        (CpuStorage::F32(x), CpuStorage::F32(y)) => CpuStorage::F32(run(x, la, y, lb).into()),
        (CpuStorage::F64(x), CpuStorage::F64(y)) => CpuStorage::F64(run(x, la, y, lb).into()),
        (CpuStorage::I64(x), CpuStorage::I64(y)) => CpuStorage::I64(run(x, la, y, lb).into()),
        (x, y) if x.dtype() == y.dtype() && x.dtype().compute() != x.dtype() => {
            let (dtype, wide) = (x.dtype(), x.dtype().compute());
            let dense = |l: &Layout| Layout::contiguous(&l.shape);
            let out = matmul(&super::cast(x, la, wide), &dense(la), &super::cast(y, lb, wide), &dense(lb));
            super::cast(&out, &Layout::contiguous(&[out.len()]), dtype)
        }
        (x, y) => unreachable!("matmul of {:?} and {:?}: op layer promotes", x.dtype(), y.dtype()),
    }
}
