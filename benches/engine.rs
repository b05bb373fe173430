//! Criterion benchmarks of the rustgrad crate used as a plain Rust library
//! (no Python). Build and run with
//!
//!     cargo bench --no-default-features --bench engine
//!
//! (`--no-default-features` turns off the `python` feature, i.e. PyO3.)
//! Pass a filter to run one group, e.g. `cargo bench --no-default-features
//! --bench engine -- engine/`.
//!
//! Groups:
//! * `elementwise`: `ops::add` / `ops::mul` of two f32 tensors and the
//!   vectorised `sin`, `exp`, `tanh` of one (1k, 1M elements), forward
//!   only, inputs not requiring grad (no graph is recorded).
//! * `strided`: on a 1024 x 1024 f32 matrix, `add` of a broadcast row and
//!   of a broadcast column, `sum` over dim 0 and over dim 1, and the
//!   contiguous copy of its transpose: the kernels that walk views as runs.
//! * `matmul`: `ops::matmul::matmul` of two f32 square matrices (64, 256);
//!   its throughput line counts flops (2n^3) as "elements", so Gelem/s
//!   reads as GFLOP/s.
//! * `sum`: full reduction `ops::sum` of an f32 tensor (1k, 1M elements).
//! * `engine`: the backward engine.
//!   - `chain100_fwd_bwd`: build a 100-op chain (`y = y * 1.0001 + 0.001`,
//!     50 muls + 50 adds) on a 4-element leaf, `sum`, and `backward`.
//!   - `chain100_backward`: the same graph built in untimed setup; only
//!     `backward` is timed (graph snapshot, scheduling, 101 tiny backward rules).
//!   - `wide16_backward/sequential|parallel`: 16 branches
//!     `sin(x * c_i)` on a 262144-element leaf summed together, then `sum`;
//!     graph built in setup, `backward` timed with
//!     `BackwardOptions { parallel: Some(false) }` vs `Some(true)` (rayon).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};

use rustgrad::autograd::{backward, BackwardOptions};
use rustgrad::dtype::Scalar;
use rustgrad::ops::{self, Arg};
use rustgrad::Tensor;

fn filled(n: usize, seed: u32) -> Vec<f32> {
    // Deterministic values in [-1, 1), no RNG dependency.
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s as f32 / u32::MAX as f32) * 2.0 - 1.0
        })
        .collect()
}

fn tensor(n: usize, shape: &[usize], seed: u32) -> Tensor {
    Tensor::from_vec(filled(n, seed), shape)
}

fn ones_like(t: &Tensor) -> Tensor {
    Tensor::full(t.shape(), Scalar::Float(1.0), t.dtype())
}

/// Short runs: 20 samples, 0.5 s warm-up, 2 s measurement per bench.
fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

fn bench_elementwise(c: &mut Criterion) {
    let mut g = c.benchmark_group("elementwise");
    for &n in &[1usize << 10, 1 << 20] {
        let a = tensor(n, &[n], 1);
        let b = tensor(n, &[n], 2);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("add", n), &n, |bch, _| {
            bch.iter(|| black_box(ops::add(black_box(&a), black_box(&b)).unwrap()))
        });
        g.bench_with_input(BenchmarkId::new("mul", n), &n, |bch, _| {
            bch.iter(|| black_box(ops::mul(black_box(&a), black_box(&b)).unwrap()))
        });
        g.bench_with_input(BenchmarkId::new("sin", n), &n, |bch, _| {
            bch.iter(|| black_box(ops::unary::sin(black_box(&a)).unwrap()))
        });
        g.bench_with_input(BenchmarkId::new("exp", n), &n, |bch, _| {
            bch.iter(|| black_box(ops::unary::exp(black_box(&a)).unwrap()))
        });
        g.bench_with_input(BenchmarkId::new("tanh", n), &n, |bch, _| {
            bch.iter(|| black_box(ops::unary::tanh(black_box(&a)).unwrap()))
        });
    }
    g.finish();
}

/// Views and broadcasting: what the strided-run kernels serve.
fn bench_strided(c: &mut Criterion) {
    let mut g = c.benchmark_group("strided");
    let (rows, cols) = (1024usize, 1024usize);
    let m = tensor(rows * cols, &[rows, cols], 8);
    let row = tensor(cols, &[cols], 9);
    let col = tensor(rows, &[rows, 1], 10);
    g.throughput(Throughput::Elements((rows * cols) as u64));
    g.bench_function("add_row_broadcast/1024x1024", |bch| {
        bch.iter(|| black_box(ops::add(black_box(&m), black_box(&row)).unwrap()))
    });
    g.bench_function("add_col_broadcast/1024x1024", |bch| {
        bch.iter(|| black_box(ops::add(black_box(&m), black_box(&col)).unwrap()))
    });
    g.bench_function("sum_dim0/1024x1024", |bch| {
        bch.iter(|| black_box(ops::sum(black_box(&m), Some(&[0]), false, None).unwrap()))
    });
    g.bench_function("sum_dim1/1024x1024", |bch| {
        bch.iter(|| black_box(ops::sum(black_box(&m), Some(&[1]), false, None).unwrap()))
    });
    let t = ops::view::transpose(&m, 0, 1).unwrap();
    g.bench_function("transpose_copy/1024x1024", |bch| {
        bch.iter(|| black_box(ops::convert::contiguous_copy(black_box(&t)).unwrap()))
    });
    g.finish();
}

fn bench_matmul(c: &mut Criterion) {
    let mut g = c.benchmark_group("matmul");
    for &n in &[64usize, 256] {
        let a = tensor(n * n, &[n, n], 3);
        let b = tensor(n * n, &[n, n], 4);
        g.throughput(Throughput::Elements((2 * n * n * n) as u64)); // flops
        g.bench_with_input(BenchmarkId::new("square", n), &n, |bch, _| {
            bch.iter(|| black_box(ops::matmul::matmul(black_box(&a), black_box(&b)).unwrap()))
        });
    }
    g.finish();
}

fn bench_sum(c: &mut Criterion) {
    let mut g = c.benchmark_group("sum");
    for &n in &[1usize << 10, 1 << 20] {
        let a = tensor(n, &[n], 5);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("all", n), &n, |bch, _| {
            bch.iter(|| black_box(ops::sum(black_box(&a), None, false, None).unwrap()))
        });
    }
    g.finish();
}

/// `sum(chain)` where chain is 50 x (`y * 1.0001 + 0.001`): 100 recorded ops.
fn chain100(x: &Tensor) -> Tensor {
    let mut y = x.clone();
    for _ in 0..50 {
        y = ops::mul(&y, Arg::from(1.0001)).unwrap();
        y = ops::add(&y, Arg::from(0.001)).unwrap();
    }
    ops::sum(&y, None, false, None).unwrap()
}

/// `sum(sin(x * c_0) + ... + sin(x * c_15))`: 16 independent branches.
fn wide16(x: &Tensor) -> Tensor {
    let mut acc: Option<Tensor> = None;
    for i in 0..16 {
        let scaled = ops::mul(x, Arg::from(1.0 + i as f64 * 0.1)).unwrap();
        let branch = ops::unary::sin(&scaled).unwrap();
        acc = Some(match acc {
            None => branch,
            Some(a) => ops::add(&a, &branch).unwrap(),
        });
    }
    ops::sum(&acc.unwrap(), None, false, None).unwrap()
}

fn run_backward(root: &Tensor, parallel: Option<bool>) {
    let seed = ones_like(root);
    backward(&[root.clone()], &[seed], BackwardOptions { parallel, ..Default::default() }, None).unwrap();
}

fn bench_engine(c: &mut Criterion) {
    let mut g = c.benchmark_group("engine");

    // Sanity check: d/dx sum(chain) = 1.0001^50 per element.
    {
        let x = tensor(4, &[4], 6);
        x.set_requires_grad(true).unwrap();
        run_backward(&chain100(&x), None);
        let gx = x.grad().unwrap().to_vec::<f32>().unwrap();
        let want = 1.0001f32.powi(50);
        assert!(gx.iter().all(|v| (v - want).abs() < 1e-4), "chain100 grad {gx:?} != {want}");
    }

    let x = tensor(4, &[4], 6);
    x.set_requires_grad(true).unwrap();
    g.bench_function("chain100_fwd_bwd", |bch| {
        bch.iter(|| {
            x.set_grad(None).unwrap();
            let root = chain100(&x);
            run_backward(&root, None);
            black_box(x.grad())
        })
    });
    g.bench_function("chain100_backward", |bch| {
        bch.iter_batched(
            || {
                x.set_grad(None).unwrap();
                chain100(&x)
            },
            |root| {
                run_backward(&root, None);
                root // dropped outside the timed region
            },
            BatchSize::SmallInput,
        )
    });

    let n = 262_144;
    let big = tensor(n, &[n], 7);
    big.set_requires_grad(true).unwrap();
    // Both schedules must give the same (bitwise) gradient.
    {
        let mut grads = Vec::new();
        for parallel in [false, true] {
            big.set_grad(None).unwrap();
            run_backward(&wide16(&big), Some(parallel));
            grads.push(big.grad().unwrap().to_vec::<f32>().unwrap());
        }
        assert_eq!(grads[0], grads[1], "sequential and parallel backward differ");
    }
    g.throughput(Throughput::Elements((16 * n) as u64));
    for (label, parallel) in [("sequential", false), ("parallel", true)] {
        g.bench_function(BenchmarkId::new("wide16_backward", label), |bch| {
            bch.iter_batched(
                || {
                    big.set_grad(None).unwrap();
                    wide16(&big)
                },
                |root| {
                    run_backward(&root, Some(parallel));
                    root
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_elementwise, bench_strided, bench_matmul, bench_sum, bench_engine
}
criterion_main!(benches);
