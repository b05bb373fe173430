//! Matrix factorizations for `torch.linalg`, computed by `faer` (never our
//! own numerics): LU for `inv`/`det`/`solve`, Cholesky, Householder QR, SVD
//! and the symmetric eigendecomposition. Each works on a batch `(*, m, n)`
//! of float32/float64 matrices and returns results without history; the
//! Python layer (`rustgrad/linalg.py`) records their backward rules, which
//! are compositions of differentiable ops (PyTorch's derivatives.yaml).

use faer::linalg::solvers::{DenseSolveCore, Solve};
use faer::{Mat, MatRef, Side};

use crate::bail;
use crate::cpu_backend::{CpuStorage, Element};
use crate::dtype::DType;
use crate::error::Result;
use crate::layout::Shape;
use crate::tensor::Tensor;

/// One result of a factorization per matrix: a matrix, or a vector (the
/// column of a one-column `Mat`) whose dim is dropped.
pub enum Part<T> {
    Matrix(Mat<T>),
    Vector(Mat<T>),
}

/// Float types faer factorizes.
pub trait LinalgFloat: faer::traits::RealField + Element + Copy {}
impl LinalgFloat for f32 {}
impl LinalgFloat for f64 {}

/// Checks `a` is a batch of float32/float64 matrices (square if asked), with
/// PyTorch's messages for `op`.
fn check(op: &str, a: &Tensor, square: bool) -> Result<()> {
    if a.ndim() < 2 {
        bail!(Runtime, "{op}: The input tensor A must have at least 2 dimensions.");
    }
    match a.dtype() {
        DType::F32 | DType::F64 => {}
        DType::F16 | DType::BF16 => bail!(Runtime, "{op}: Low precision dtypes not supported. Got {}", a.dtype().scalar_name()),
        d => bail!(Runtime, "{op}: Expected a floating point or complex tensor as input. Got {}", d.scalar_name()),
    }
    let (m, n) = (a.shape()[a.ndim() - 2], a.shape()[a.ndim() - 1]);
    if square && m != n {
        bail!(Runtime, "{op}: A must be batches of square matrices, but they are {m} by {n} matrices");
    }
    Ok(())
}

/// Runs `f` on every matrix of the batch `a` and stacks each of its parts
/// over the batch dims.
fn per_matrix<T: LinalgFloat>(a: &Tensor, f: &dyn Fn(MatRef<'_, T>) -> Result<Vec<Part<T>>>) -> Result<Vec<Tensor>> {
    let nd = a.ndim();
    let (m, n) = (a.shape()[nd - 2], a.shape()[nd - 1]);
    let batch: Shape = a.shape()[..nd - 2].into();
    let dense = a.to_dense();
    let values = T::slice(&dense);
    let count: usize = batch.iter().product();
    let mut parts: Vec<(Vec<T>, Shape)> = Vec::new();
    for b in 0..count {
        let matrix = MatRef::from_row_major_slice(&values[b * m * n..(b + 1) * m * n], m, n);
        for (i, part) in f(matrix)?.into_iter().enumerate() {
            let (mat, vector) = match part {
                Part::Matrix(x) => (x, false),
                Part::Vector(x) => (x, true),
            };
            if b == 0 {
                let mut shape = batch.clone();
                shape.push(mat.nrows());
                if !vector {
                    shape.push(mat.ncols());
                }
                parts.push((Vec::with_capacity(count * mat.nrows() * mat.ncols()), shape));
            }
            let out = &mut parts[i].0;
            for r in 0..mat.nrows() {
                out.extend((0..mat.ncols()).map(|c| mat[(r, c)]));
            }
        }
    }
    if count == 0 {
        // An empty batch: run once on a zero matrix for the parts' shapes.
        let zero = vec![T::default(); m * n];
        for part in f(MatRef::from_row_major_slice(&zero, m, n))? {
            let (mat, vector) = match part {
                Part::Matrix(x) => (x, false),
                Part::Vector(x) => (x, true),
            };
            let mut shape = batch.clone();
            shape.push(mat.nrows());
            if !vector {
                shape.push(mat.ncols());
            }
            parts.push((Vec::new(), shape));
        }
    }
    Ok(parts.into_iter().map(|(v, shape)| Tensor::from_cpu(T::wrap(v), &shape)).collect())
}

/// Dispatches a factorization over float32/float64 after `check`; `$flag`
/// is the one option the factorization takes (a generic fn cannot capture).
macro_rules! factorize {
    ($op:expr, $a:expr, $square:expr, $flag:expr, |$m:ident, $f:ident| $body:expr) => {{
        check($op, $a, $square)?;
        fn run<T: LinalgFloat>(a: &Tensor, $f: bool) -> Result<Vec<Tensor>> {
            per_matrix::<T>(a, &|$m: MatRef<'_, T>| $body)
        }
        match $a.dtype() {
            DType::F32 => run::<f32>($a, $flag),
            _ => run::<f64>($a, $flag),
        }
    }};
}

fn column<T: LinalgFloat>(values: impl ExactSizeIterator<Item = T>) -> Mat<T> {
    let v: Vec<T> = values.collect();
    Mat::from_fn(v.len(), 1, |i, _| v[i])
}

/// `A^-1` for square `A` (LU with partial pivoting). RuntimeError naming the
/// first zero pivot for a singular matrix, as PyTorch's `linalg.inv`.
pub fn inv(a: &Tensor) -> Result<Tensor> {
    let parts = factorize!("linalg.inv", a, true, false, |m, _unused| {
        let lu = m.partial_piv_lu();
        if let Some(i) = (0..m.nrows()).find(|&i| lu.U()[(i, i)] == T::default()) {
            bail!(
                Runtime,
                "linalg.inv: The diagonal element {} is zero, the inversion could not be completed because the input matrix is singular.",
                i + 1
            );
        }
        Ok(vec![Part::Matrix(lu.inverse())])
    })?;
    Ok(parts.into_iter().next().expect("one part"))
}

/// `det(A)` for square `A`, shaped like the batch.
pub fn det(a: &Tensor) -> Result<Tensor> {
    let parts = factorize!("linalg.det", a, true, false, |m, _unused| Ok(vec![Part::Vector(column(std::iter::once(m.determinant())))]))?;
    let d = parts.into_iter().next().expect("one part");
    let batch: Shape = a.shape()[..a.ndim() - 2].into();
    super::view::reshape_to(&d, &batch)
}

/// `X` with `A X = B` for square `A` `(*, n, n)` and `B` `(*, n, k)` of the
/// same batch shape and dtype. RuntimeError for a singular `A`.
pub fn solve(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    check("linalg.solve", a, true)?;
    check("linalg.solve", b, false)?;
    if a.dtype() != b.dtype() {
        bail!(Runtime, "linalg.solve: Expected A and B to have the same dtype, but found A of type {} and B of type {} instead", a.dtype().scalar_name(), b.dtype().scalar_name());
    }
    if b.ndim() != a.ndim() || b.shape()[..b.ndim() - 1] != a.shape()[..a.ndim() - 1] {
        bail!(Runtime, "linalg.solve: Incompatible shapes of A and B for the equation AX = B ({:?} and {:?})", a.shape(), b.shape());
    }
    // Solve against [A | B] column blocks: factorize each A, apply to its B.
    let joined = super::join::cat(&[a.detach(), b.detach()], -1)?;
    let parts = factorize!("linalg.solve", &joined, false, false, |m, _unused| {
        let n = m.nrows();
        let lu = m.subcols(0, n).partial_piv_lu();
        if (0..n).any(|i| lu.U()[(i, i)] == T::default()) {
            bail!(Runtime, "torch.linalg.solve: The solver failed because the input matrix is singular.");
        }
        Ok(vec![Part::Matrix(lu.solve(m.subcols(n, m.ncols() - n)))])
    })?;
    Ok(parts.into_iter().next().expect("one part"))
}

/// The lower Cholesky factor `L` (`A = L L^T`) of symmetric positive-definite
/// `A` (only its lower triangle is read); `upper=True` gives `L^T`.
pub fn cholesky(a: &Tensor, upper: bool) -> Result<Tensor> {
    let parts = factorize!("linalg.cholesky", a, true, false, |m, _unused| match m.llt(Side::Lower) {
        Ok(llt) => Ok(vec![Part::Matrix(llt.L().to_owned())]),
        Err(_) => {
            // faer does not say which minor failed; find the first one that
            // is not positive-definite, as PyTorch's message names it.
            let order = (1..=m.nrows())
                .find(|&k| m.submatrix(0, 0, k, k).llt(Side::Lower).is_err())
                .unwrap_or(m.nrows());
            bail!(
                Runtime,
                "linalg.cholesky: The factorization could not be completed because the input is not positive-definite (the leading minor of order {order} is not positive-definite)."
            )
        }
    })?;
    let l = parts.into_iter().next().expect("one part");
    if upper {
        super::contiguous(&super::view::transpose(&l, -2, -1)?)
    } else {
        Ok(l)
    }
}

/// Householder QR: `(Q, R)` with `mode` "reduced" (`Q` `(*, m, k)`, `R`
/// `(*, k, n)`, `k = min(m, n)`), "complete" (`Q` `(*, m, m)`) or "r" (`Q`
/// empty). Signs are faer's; PyTorch's (LAPACK) may differ per column.
pub fn qr(a: &Tensor, mode: &str) -> Result<(Tensor, Tensor)> {
    if !matches!(mode, "reduced" | "complete" | "r") {
        bail!(Runtime, "qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), 'r', or 'complete'");
    }
    let parts = factorize!("linalg.qr", a, false, mode == "complete", |m, complete| {
        let qr = m.qr();
        let (q, r) = if complete { (qr.compute_Q(), qr.R()) } else { (qr.compute_thin_Q(), qr.thin_R()) };
        // Only the upper triangle of faer's R is defined.
        let r = Mat::from_fn(r.nrows(), r.ncols(), |i, j| if i <= j { r[(i, j)] } else { T::default() });
        Ok(vec![Part::Matrix(q), Part::Matrix(r)])
    })?;
    let mut it = parts.into_iter();
    let (q, r) = (it.next().expect("Q"), it.next().expect("R"));
    if mode == "r" {
        return Ok((Tensor::from_cpu(CpuStorage::filled(a.dtype(), 0, crate::dtype::Scalar::Int(0)), &[0]), r));
    }
    Ok((q, r))
}

/// The SVD `A = U diag(S) Vh`, singular values descending: `U` `(*, m, k)`,
/// `S` `(*, k)`, `Vh` `(*, k, n)` with `k = min(m, n)`, or square `U`/`Vh`
/// with `full_matrices`. RuntimeError if faer does not converge.
pub fn svd(a: &Tensor, full_matrices: bool) -> Result<(Tensor, Tensor, Tensor)> {
    let parts = factorize!("linalg.svd", a, false, full_matrices, |m, full_matrices| {
        let svd = if full_matrices { m.svd() } else { m.thin_svd() };
        let svd = svd.map_err(|_| crate::error::Error::Runtime("linalg.svd: The algorithm failed to converge because the input matrix is ill-conditioned or has too many repeated singular values.".into()))?;
        let s = svd.S().column_vector();
        Ok(vec![
            Part::Matrix(svd.U().to_owned()),
            Part::Vector(column((0..s.nrows()).map(|i| s[i]))),
            Part::Matrix(svd.V().transpose().to_owned()),
        ])
    })?;
    let mut it = parts.into_iter();
    Ok((it.next().expect("U"), it.next().expect("S"), it.next().expect("Vh")))
}

/// The eigendecomposition of symmetric `A` (only the `UPLO` triangle read):
/// eigenvalues ascending `(*, n)` and orthonormal eigenvectors as columns.
pub fn eigh(a: &Tensor, upper: bool) -> Result<(Tensor, Tensor)> {
    let parts = factorize!("linalg.eigh", a, true, upper, |m, upper| {
        let side = if upper { Side::Upper } else { Side::Lower };
        let evd = m
            .self_adjoint_eigen(side)
            .map_err(|_| crate::error::Error::Runtime("linalg.eigh: The algorithm failed to converge because the input matrix is ill-conditioned or has too many repeated eigenvalues.".into()))?;
        let s = evd.S().column_vector();
        Ok(vec![Part::Vector(column((0..s.nrows()).map(|i| s[i]))), Part::Matrix(evd.U().to_owned())])
    })?;
    let mut it = parts.into_iter();
    Ok((it.next().expect("L"), it.next().expect("Q")))
}
