//! Which GEMM crate rustgrad's matmul uses, chosen by measurement:
//!
//!     cargo bench --no-default-features --bench gemm
//!
//! The same row-major product `C = A @ B` of two random square matrices by
//! each maintained candidate, on all cores and on one:
//! * `matrixmultiply` (through ndarray's `general_mat_mul`; what rustgrad
//!   used before, single-threaded),
//! * `gemm` (sarah quinones' crate, `Parallelism::Rayon`),
//! * `faer::linalg::matmul::matmul` (the same author's newer kernels:
//!   `nano-gemm` for tiny sizes, `private-gemm-x86` with AVX-512 above).
//!
//! Throughput counts 2n^3 flops as "elements": read Gelem/s as GFLOP/s.
//! `benches/RESULTS.md` records a run and the choice it led to.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use faer::{Accum, MatMut, MatRef, Par};
use ndarray::Array2;

trait Float: faer::traits::ComplexField + ndarray::LinalgScalar + Copy + Send + Sync + 'static {
    const NAME: &'static str;
    fn from_f32(x: f32) -> Self;
}

impl Float for f32 {
    const NAME: &'static str = "f32";
    fn from_f32(x: f32) -> Self {
        x
    }
}

impl Float for f64 {
    const NAME: &'static str = "f64";
    fn from_f32(x: f32) -> Self {
        x as f64
    }
}

fn random<T: Float>(n: usize, seed: u32) -> Array2<T> {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    Array2::from_shape_simple_fn((n, n), || {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        T::from_f32((s as f32 / u32::MAX as f32) * 2.0 - 1.0)
    })
}

/// `c = a @ b` for row-major n x n matrices, by each candidate.
fn with_gemm<T: Float>(a: &Array2<T>, b: &Array2<T>, c: &mut Array2<T>, par: gemm::Parallelism) {
    let n = a.nrows();
    // SAFETY: three dense n x n row-major buffers (column stride 1, row stride n).
    unsafe {
        gemm::gemm(
            n, n, n,
            c.as_mut_ptr(), 1, n as isize, false,
            a.as_ptr(), 1, n as isize,
            b.as_ptr(), 1, n as isize,
            T::zero(), T::one(), false, false, false, par,
        )
    }
}

fn with_faer<T: Float>(a: &Array2<T>, b: &Array2<T>, c: &mut Array2<T>, par: Par) {
    let n = a.nrows() as isize;
    let (rows, cols) = (a.nrows(), a.ncols());
    // SAFETY: as above; faer takes (row stride, column stride).
    unsafe {
        let (a, b) = (MatRef::from_raw_parts(a.as_ptr(), rows, cols, n, 1), MatRef::from_raw_parts(b.as_ptr(), rows, cols, n, 1));
        let c = MatMut::from_raw_parts_mut(c.as_mut_ptr(), rows, cols, n, 1);
        faer::linalg::matmul::matmul(c, Accum::Replace, a, b, T::one(), par);
    }
}

fn with_matrixmultiply<T: Float>(a: &Array2<T>, b: &Array2<T>, c: &mut Array2<T>) {
    ndarray::linalg::general_mat_mul(T::one(), a, b, T::zero(), c);
}

fn compare<T: Float>(c: &mut Criterion, sizes: &[usize]) {
    let mut group = c.benchmark_group(format!("gemm_{}", T::NAME));
    for &n in sizes {
        let (a, b) = (random::<T>(n, 1), random::<T>(n, 2));
        let mut out = Array2::<T>::zeros((n, n));
        group.throughput(Throughput::Elements(2 * (n as u64).pow(3)));
        if n >= 1024 {
            group.sample_size(10);
        }
        group.bench_with_input(BenchmarkId::new("matrixmultiply_1t", n), &n, |bench, _| {
            bench.iter(|| with_matrixmultiply(black_box(&a), black_box(&b), &mut out))
        });
        for (name, threads) in [("gemm_1t", gemm::Parallelism::None), ("gemm_all", gemm::Parallelism::Rayon(0))] {
            group.bench_with_input(BenchmarkId::new(name, n), &n, |bench, _| {
                bench.iter(|| with_gemm(black_box(&a), black_box(&b), &mut out, threads))
            });
        }
        for (name, par) in [("faer_1t", Par::Seq), ("faer_all", Par::rayon(0))] {
            group.bench_with_input(BenchmarkId::new(name, n), &n, |bench, _| {
                bench.iter(|| with_faer(black_box(&a), black_box(&b), &mut out, par))
            });
        }
    }
    group.finish();
}

fn gemm_f32(c: &mut Criterion) {
    compare::<f32>(c, &[32, 128, 512, 1024, 2048]);
}

fn gemm_f64(c: &mut Criterion) {
    compare::<f64>(c, &[128, 1024]);
}

fn config() -> Criterion {
    Criterion::default().sample_size(20).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2))
}

criterion_group! { name = benches; config = config(); targets = gemm_f32, gemm_f64 }
criterion_main!(benches);
