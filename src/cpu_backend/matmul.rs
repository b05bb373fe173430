//! Batched matrix products: floats by the `gemm` crate (chosen by
//! measurement, see `benches/gemm.rs` and `benches/RESULTS.md`), integers
//! by ndarray.

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

/// One row-major view of a matrix for `gemm`: its first element, and
/// its row and column strides (size-1 dimensions may carry any stride).
struct MatrixAt<T> {
    ptr: *const T,
    row_stride: isize,
    col_stride: isize,
}

impl<T> MatrixAt<T> {
    fn new(data: &[T], layout: &Layout, offset: usize) -> MatrixAt<T> {
        let nd = layout.ndim();
        MatrixAt { ptr: data[offset..].as_ptr(), row_stride: layout.strides[nd - 2], col_stride: layout.strides[nd - 1] }
    }
}

/// `dst = a @ b` (n x k times k x m, `dst` dense n x m) by the `gemm`
/// crate, which reads strided operands (transposed views need no copy)
/// and splits large products over the current rayon pool: inside the
/// backward engine's pool that is the engine's own threads, so a GEMM in a
/// parallel branch shares them instead of oversubscribing the cores.
fn gemm_into<T: 'static + num_traits::Zero + num_traits::One>(
    dst: &mut [T],
    a: &MatrixAt<T>,
    b: &MatrixAt<T>,
    (n, k, m): (usize, usize, usize),
    threads: bool,
) {
    let par = if threads { gemm::Parallelism::Rayon(0) } else { gemm::Parallelism::None };
    // SAFETY: `dst` holds n * m elements (row stride m, column stride 1);
    // the operands' pointers and strides come from layouts that address
    // n x k and k x m elements inside their buffers.
    unsafe {
        gemm::gemm(
            n, m, k,
            dst.as_mut_ptr(), 1, m as isize, false,
            a.ptr, a.col_stride, a.row_stride,
            b.ptr, b.col_stride, b.row_stride,
            T::zero(), T::one(), false, false, false, par,
        )
    }
}

/// `a @ b` for `a: (*batch, n, k)` and `b: (*batch, k, m)`, both already
/// expanded to one batch shape and of one dtype (not bool). Dense result.
pub fn matmul(a: &CpuStorage, la: &Layout, b: &CpuStorage, lb: &Layout) -> CpuStorage {
    fn run<T: Element + ndarray::LinalgScalar>(a: &[T], la: &Layout, b: &[T], lb: &Layout) -> Vec<T> {
        let nd = la.ndim();
        let batch_shape = &la.shape[..nd - 2];
        let (n, k, m) = (la.shape[nd - 2], la.shape[nd - 1], lb.shape[nd - 1]);
        let (ao, bo) = (batch_offsets(la, batch_shape), batch_offsets(lb, batch_shape));
        let mut out = vec![T::default(); numel(batch_shape) * n * m];
        if n * m == 0 {
            return out;
        }
        let is_float = T::DTYPE.is_float();
        let product = |i: usize, dst: &mut [T], threads: bool| {
            if k == 0 {
                return; // an empty sum: zeros
            }
            if is_float {
                gemm_into(dst, &MatrixAt::new(a, la, ao[i]), &MatrixAt::new(b, lb, bo[i]), (n, k, m), threads);
            } else {
                // Integers: ndarray's plain loops (no GEMM crate does them).
                // Safety: offsets come from the layouts of `a` and `b`.
                let (x, y) = unsafe { (matrix(a, la, ao[i]), matrix(b, lb, bo[i])) };
                let mut c = ndarray::ArrayViewMut2::from_shape((n, m), dst).expect("dense output");
                ndarray::linalg::general_mat_mul(T::one(), &x, &y, T::zero(), &mut c);
            }
        };
        // Many small products run one per task; a few large ones each
        // spread over the pool.
        let work = n * m * k;
        let threads = super::threads_usable();
        if ao.len() > 1 && work < (1 << 21) && work * ao.len() >= super::PARALLEL_MIN_ELEMENTS * 8 && threads {
            out.par_chunks_mut(n * m).enumerate().for_each(|(i, dst)| product(i, dst, false));
        } else {
            out.chunks_mut(n * m).enumerate().for_each(|(i, dst)| product(i, dst, threads));
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
