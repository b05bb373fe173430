//! Bindings of the factorizations in `ops::linalg`: private functions that
//! `rustgrad.linalg` wraps with their backward rules. Results carry no
//! history. The GIL is released while faer works.

use pyo3::prelude::*;

use super::tensor::{wrap, PyTensor};
use crate::ops::linalg;
use crate::tensor::Tensor;

type Py1<'py> = PyResult<Bound<'py, PyTensor>>;

fn detached(t: &PyTensor) -> Tensor {
    t.tensor().detach()
}

/// `A^-1` of a batch of square float matrices `(*, n, n)`; RuntimeError if
/// singular.
#[pyfunction]
pub fn _linalg_inv<'py>(py: Python<'py>, a: PyRef<'py, PyTensor>) -> Py1<'py> {
    let a = detached(&a);
    wrap(py, py.detach(|| linalg::inv(&a))?)
}

/// `det(A)` of a batch `(*, n, n)`, shaped `(*)`.
#[pyfunction]
pub fn _linalg_det<'py>(py: Python<'py>, a: PyRef<'py, PyTensor>) -> Py1<'py> {
    let a = detached(&a);
    wrap(py, py.detach(|| linalg::det(&a))?)
}

/// `X` with `A X = B`, `A` `(*, n, n)`, `B` `(*, n, k)` of the same batch
/// shape and dtype; RuntimeError if `A` is singular.
#[pyfunction]
pub fn _linalg_solve<'py>(py: Python<'py>, a: PyRef<'py, PyTensor>, b: PyRef<'py, PyTensor>) -> Py1<'py> {
    let (a, b) = (detached(&a), detached(&b));
    wrap(py, py.detach(|| linalg::solve(&a, &b))?)
}

/// The Cholesky factor (lower, or upper with `upper=True`) of a batch of
/// symmetric positive-definite matrices; RuntimeError naming the failing
/// leading minor otherwise.
#[pyfunction]
#[pyo3(signature = (a, upper=false))]
pub fn _linalg_cholesky<'py>(py: Python<'py>, a: PyRef<'py, PyTensor>, upper: bool) -> Py1<'py> {
    let a = detached(&a);
    wrap(py, py.detach(|| linalg::cholesky(&a, upper))?)
}

/// `(Q, R)` of a batch `(*, m, n)`; `mode` is "reduced", "complete" or "r".
#[pyfunction]
#[pyo3(signature = (a, mode="reduced"))]
pub fn _linalg_qr<'py>(py: Python<'py>, a: PyRef<'py, PyTensor>, mode: &str) -> PyResult<(Bound<'py, PyTensor>, Bound<'py, PyTensor>)> {
    let a = detached(&a);
    let (q, r) = py.detach(|| linalg::qr(&a, mode))?;
    Ok((wrap(py, q)?, wrap(py, r)?))
}

/// `(U, S, Vh)` of a batch `(*, m, n)`, singular values descending.
#[pyfunction]
#[pyo3(signature = (a, full_matrices=true))]
pub fn _linalg_svd<'py>(py: Python<'py>, a: PyRef<'py, PyTensor>, full_matrices: bool) -> PyResult<(Bound<'py, PyTensor>, Bound<'py, PyTensor>, Bound<'py, PyTensor>)> {
    let a = detached(&a);
    let (u, s, vh) = py.detach(|| linalg::svd(&a, full_matrices))?;
    Ok((wrap(py, u)?, wrap(py, s)?, wrap(py, vh)?))
}

/// `(eigenvalues ascending, eigenvectors as columns)` of a batch of
/// symmetric matrices, reading the lower (`UPLO="L"`) or upper triangle.
#[pyfunction]
#[pyo3(signature = (a, upper=false))]
pub fn _linalg_eigh<'py>(py: Python<'py>, a: PyRef<'py, PyTensor>, upper: bool) -> PyResult<(Bound<'py, PyTensor>, Bound<'py, PyTensor>)> {
    let a = detached(&a);
    let (l, q) = py.detach(|| linalg::eigh(&a, upper))?;
    Ok((wrap(py, l)?, wrap(py, q)?))
}
