//! Batched matrix products: floats by faer's GEMM (chosen by measurement,
//! see `benches/gemm.rs` and `benches/RESULTS.md`), integers by ndarray.

use std::mem::MaybeUninit;

use ndarray::{ArrayView2, ShapeBuilder};
use rayon::prelude::*;

use super::{CpuStorage, Element};
use crate::layout::{numel, Layout};

/// Storage offsets of each matrix in a batch of `batch_shape` matrices laid
/// out by `layout` (already expanded to that batch shape).
fn batch_offsets(layout: &Layout, batch_shape: &[usize]) -> Vec<usize> {
    let nb = batch_shape.len();
    let batch = Layout { shape: batch_shape.into(), strides: layout.strides[..nb].into(), offset: layout.offset };
    batch.offsets().collect()
}

/// One matrix inside a buffer: its first element, and its row and column
/// strides (size-1 dimensions may carry any stride).
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

/// Below this many multiply-adds a product runs on one thread: faer's
/// split costs more than it saves (about 15 us at 32 x 32 x 32).
const THREADED_MIN_WORK: usize = 1 << 22;

/// One dtype's 2-D product `dst = a @ b` (n x k times k x m) into a dense
/// n x m block that holds zeros when `ZEROED`, else is uninitialised.
trait Product: Element {
    const ZEROED: bool;
    fn product(dst: *mut Self, a: &MatrixAt<Self>, b: &MatrixAt<Self>, nkm: (usize, usize, usize), threads: bool);
}

/// Floats: faer's GEMM (AVX-512/AVX2 kernels picked at run time, `nano-gemm`
/// for tiny sizes), which reads strided operands, so transposed views need
/// no copy. Its threads come from the current rayon pool: inside the
/// backward engine's pool, the engine's own, so a GEMM in a parallel branch
/// shares them instead of oversubscribing the cores.
macro_rules! faer_product {
    ($($t:ty),*) => {$(
        impl Product for $t {
            const ZEROED: bool = false;
            fn product(dst: *mut $t, a: &MatrixAt<$t>, b: &MatrixAt<$t>, (n, k, m): (usize, usize, usize), threads: bool) {
                let par = if threads && n * k * m >= THREADED_MIN_WORK { faer::Par::rayon(0) } else { faer::Par::Seq };
                // SAFETY: the operands' pointers and strides come from
                // layouts addressing n x k and k x m elements inside their
                // buffers; `dst` has room for n x m (row stride m), which
                // `Accum::Replace` writes without reading.
                unsafe {
                    let x = faer::MatRef::from_raw_parts(a.ptr, n, k, a.row_stride, a.col_stride);
                    let y = faer::MatRef::from_raw_parts(b.ptr, k, m, b.row_stride, b.col_stride);
                    let c = faer::MatMut::from_raw_parts_mut(dst, n, m, m as isize, 1);
                    faer::linalg::matmul::matmul(c, faer::Accum::Replace, x, y, 1.0, par);
                }
            }
        }
    )*};
}
faer_product!(f32, f64);

/// Integers: ndarray's plain loops (no GEMM crate does them), accumulating
/// into zeros.
impl Product for i64 {
    const ZEROED: bool = true;
    fn product(dst: *mut i64, a: &MatrixAt<i64>, b: &MatrixAt<i64>, (n, k, m): (usize, usize, usize), _: bool) {
        let view = |x: &MatrixAt<i64>, rows: usize, cols: usize| {
            // Size-1 dimensions may carry any stride; give them a harmless one.
            let rs = if rows <= 1 { 1 } else { x.row_stride as usize };
            let cs = if cols <= 1 { 1 } else { x.col_stride as usize };
            // SAFETY: as for the float products; layouts never hold
            // negative strides.
            unsafe { ArrayView2::from_shape_ptr((rows, cols).strides((rs, cs)), x.ptr) }
        };
        // SAFETY: `dst` holds n x m zeros.
        let out = unsafe { std::slice::from_raw_parts_mut(dst, n * m) };
        let mut c = ndarray::ArrayViewMut2::from_shape((n, m), out).expect("dense output");
        ndarray::linalg::general_mat_mul(1, &view(a, n, k), &view(b, k, m), 0, &mut c);
    }
}

/// `a @ b` for `a: (*batch, n, k)` and `b: (*batch, k, m)`, both already
/// expanded to one batch shape and of one dtype (not bool). Dense result.
pub fn matmul(a: &CpuStorage, la: &Layout, b: &CpuStorage, lb: &Layout) -> CpuStorage {
    fn run<T: Product>(a: &[T], la: &Layout, b: &[T], lb: &Layout) -> Vec<T> {
        let nd = la.ndim();
        let batch_shape = &la.shape[..nd - 2];
        let (n, k, m) = (la.shape[nd - 2], la.shape[nd - 1], lb.shape[nd - 1]);
        let (ao, bo) = (batch_offsets(la, batch_shape), batch_offsets(lb, batch_shape));
        let len = numel(batch_shape) * n * m;
        let mut out: Vec<T> = super::buffer(len);
        if len == 0 {
            return out;
        }
        let spare = &mut out.spare_capacity_mut()[..len];
        if T::ZEROED || k == 0 {
            spare.fill(MaybeUninit::new(T::default())); // an empty inner dimension sums to zeros
        }
        let product = |i: usize, dst: &mut [MaybeUninit<T>], threads: bool| {
            if k > 0 {
                T::product(dst.as_mut_ptr() as *mut T, &MatrixAt::new(a, la, ao[i]), &MatrixAt::new(b, lb, bo[i]), (n, k, m), threads);
            }
        };
        // Many small products run one per task; a few large ones each
        // spread over the pool.
        let work = n * m * k;
        let threads = super::threads_usable();
        if ao.len() > 1 && work < THREADED_MIN_WORK && work * ao.len() >= super::PARALLEL_MIN_ELEMENTS * 8 && threads {
            spare.par_chunks_mut(n * m).enumerate().for_each(|(i, dst)| product(i, dst, false));
        } else {
            spare.chunks_mut(n * m).enumerate().for_each(|(i, dst)| product(i, dst, threads));
        }
        // SAFETY: each n x m block was filled or written by its product.
        unsafe { out.set_len(len) };
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
