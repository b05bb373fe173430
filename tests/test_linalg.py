"""``torch.linalg``'s factorizations and solvers: ``inv``/``inv_ex``,
``det``, ``slogdet``, ``solve``/``solve_ex``, ``cholesky``/``cholesky_ex``,
``qr``, ``svd``/``svdvals``, ``eigh``/``eigvalsh``, the matrix norms that need
singular values, and the top-level aliases (``torch.det``, ``logdet``,
``slogdet``, ``inverse``, ``svd``) and Tensor methods.

Values are checked against NumPy (decompositions through their invariants,
as signs may differ from LAPACK's), gradients by gradcheck/gradgradcheck in
float64 on well-conditioned inputs (gauge-invariant losses for svd/eigh), and,
where PyTorch is installed, values, gradients, errors and result types
against PyTorch."""

import math

import numpy as np
import pytest

import rustgrad as rg
from conftest import REFERENCE, N

L = rg.linalg
gradcheck = rg.autograd.gradcheck
gradgradcheck = rg.autograd.gradgradcheck

DTYPES = ["float32", "float64"]
BATCHES = [(), (3,), (2, 1)]


def tol(dtype):
    return dict(rtol=2e-4, atol=2e-5) if dtype == "float32" else dict(rtol=1e-9, atol=1e-10)


def rng(seed):
    return np.random.default_rng(seed)


def wellcond(seed, shape, dtype="float64"):
    """Random square matrices plus ``n I``: far from singular."""
    n = shape[-1]
    return (rng(seed).standard_normal(shape) + n * np.eye(n)).astype(dtype)


def spd(seed, shape, dtype="float64"):
    """Symmetric positive-definite matrices."""
    x = rng(seed).standard_normal(shape)
    return (x @ np.swapaxes(x, -1, -2) + shape[-1] * np.eye(shape[-1])).astype(dtype)


def sym(seed, shape, dtype="float64"):
    """Symmetric matrices (distinct eigenvalues, almost surely)."""
    x = rng(seed).standard_normal(shape)
    return (x + np.swapaxes(x, -1, -2)).astype(dtype)


def randn(seed, shape, dtype="float64"):
    return rng(seed).standard_normal(shape).astype(dtype)


def T(a, requires_grad=False):
    return rg.tensor(np.ascontiguousarray(a), requires_grad=requires_grad)


def close(actual, expected, dtype):
    actual = N(actual) if isinstance(actual, rg.Tensor) else np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"{actual.shape} != {expected.shape}"
    np.testing.assert_allclose(actual, expected, **tol(dtype))


def mT(a):
    return np.swapaxes(a, -1, -2)


def orthonormal_columns(q, dtype):
    k = q.shape[-1]
    close(mT(q) @ q, np.broadcast_to(np.eye(k), q.shape[:-2] + (k, k)), dtype)


# ---------------------------------------------------------------------------
# values against NumPy
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("n", [1, 3])
def test_inv_det_slogdet_match_numpy(dtype, batch, n):
    a = wellcond(1, batch + (n, n), dtype)
    a[..., 0, :] *= -1  # some negative determinants
    A = T(a)
    close(L.inv(A), np.linalg.inv(a), dtype)
    close(rg.inverse(A), np.linalg.inv(a), dtype)
    close(L.det(A), np.linalg.det(a), dtype)
    sign, logabs = np.linalg.slogdet(a)
    result = L.slogdet(A)
    close(result.sign, sign, dtype)
    close(result.logabsdet, logabs, dtype)
    close(rg.logdet(T(spd(2, batch + (n, n), dtype))), np.linalg.slogdet(spd(2, batch + (n, n)))[1], dtype)
    assert L.inv(A).dtype == A.dtype and L.det(A).dtype == A.dtype


def test_slogdet_does_not_over_or_underflow():
    for scale, expected in ((0.01, 200 * math.log(0.01)), (-100.0, 200 * math.log(100.0))):
        sign, logabs = L.slogdet(scale * rg.eye(200, dtype=rg.float64))
        assert sign.item() == 1.0
        assert logabs.item() == pytest.approx(expected, rel=1e-12)


def test_slogdet_and_logdet_of_singular_and_negative_matrices():
    singular = T(np.array([[1.0, 2.0], [2.0, 4.0]]))
    sign, logabs = L.slogdet(singular)
    assert sign.item() == 0 and logabs.item() == -math.inf
    assert rg.logdet(singular).item() == -math.inf
    assert math.isnan(rg.logdet(T(np.array([[0.0, 1.0], [1.0, 0.0]]))).item())
    assert L.det(singular).item() == 0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("a_shape,b_shape,left", [
    ((3, 3), (3, 2), True), ((3, 3), (3,), True), ((2, 3, 3), (2, 3), True), ((2, 3, 3), (3,), True),
    ((2, 3, 3), (3, 3), True), ((1, 3, 3), (4, 3, 2), True), ((5, 1, 3, 3), (4, 3, 1), True),
    ((3, 3), (2, 4, 3, 2), True), ((3, 3), (5, 3), False), ((2, 3, 3), (5, 3), False), ((5, 1, 3, 3), (4, 3), False),
    ((2, 3, 3), (2, 4, 3), False),
])
def test_solve_matches_numpy_with_broadcasting(dtype, a_shape, b_shape, left):
    a, b = wellcond(3, a_shape, dtype), randn(4, b_shape, dtype)
    X = L.solve(T(a), T(b), left=left)
    if left:
        vector = len(b_shape) == 1 or (len(b_shape) == len(a_shape) - 1 and b_shape == a_shape[:-1])
        bb = b[..., None] if vector else b
        batch = np.broadcast_shapes(a_shape[:-2], bb.shape[:-2])
        want = np.linalg.solve(np.broadcast_to(a, batch + a_shape[-2:]), np.broadcast_to(bb, batch + bb.shape[-2:]))
        want = want[..., 0] if vector else want
    else:
        batch = np.broadcast_shapes(a_shape[:-2], b_shape[:-2])
        at = np.broadcast_to(mT(a), batch + a_shape[-2:])
        want = mT(np.linalg.solve(at, np.broadcast_to(mT(b), batch + b_shape[::-1][:2])))
    close(X, want, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", BATCHES)
def test_cholesky_matches_numpy_and_reads_the_lower_triangle(dtype, batch):
    a = spd(5, batch + (4, 4), dtype)
    want = np.linalg.cholesky(a)
    garbage = a + np.triu(np.full((4, 4), 7.0), 1).astype(dtype)  # the upper triangle is not read
    close(L.cholesky(T(garbage)), want, dtype)
    close(L.cholesky(T(a), upper=True), mT(want), dtype)
    result, info = L.cholesky_ex(T(a))
    close(result, want, dtype)
    assert N(info).tolist() == np.zeros(batch, dtype=np.int32).tolist() and info.dtype == rg.int32


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 3), (5, 3), (3, 5), (2, 4, 2), (2, 1, 2, 4)])
def test_qr_reconstructs_with_orthonormal_q_and_triangular_r(dtype, shape):
    a = randn(6, shape, dtype)
    m, n = shape[-2:]
    k = min(m, n)
    Q, R = L.qr(T(a))
    q, r = N(Q), N(R)
    assert q.shape == shape[:-2] + (m, k) and r.shape == shape[:-2] + (k, n)
    orthonormal_columns(q, dtype)
    close(np.tril(r, -1), np.zeros_like(r), dtype)
    close(q @ r, a, dtype)
    Qc, Rc = L.qr(T(a), mode="complete")
    assert tuple(Qc.shape) == shape[:-2] + (m, m) and tuple(Rc.shape) == shape[:-2] + (m, n)
    orthonormal_columns(N(Qc), dtype)
    close(np.tril(N(Rc), -1), np.zeros_like(N(Rc)), dtype)
    close(N(Qc) @ N(Rc), a, dtype)
    Qr, Rr = L.qr(T(a), mode="r")
    assert tuple(Qr.shape) == (0,)
    close(np.abs(N(Rr)), np.abs(r), dtype)  # R is unique up to the signs of its rows
    close(np.abs(r), np.abs(np.linalg.qr(a)[1]), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 3), (5, 3), (3, 5), (2, 4, 2), (2, 1, 2, 4)])
@pytest.mark.parametrize("full_matrices", [True, False])
def test_svd_reconstructs_with_orthonormal_factors(dtype, shape, full_matrices):
    a = randn(7, shape, dtype)
    m, n = shape[-2:]
    k = min(m, n)
    U, S, Vh = L.svd(T(a), full_matrices=full_matrices)
    u, s, vh = N(U), N(S), N(Vh)
    assert u.shape == shape[:-2] + ((m, m) if full_matrices else (m, k))
    assert vh.shape == shape[:-2] + ((n, n) if full_matrices else (k, n))
    close(s, np.linalg.svd(a, compute_uv=False), dtype)
    assert (np.diff(s, axis=-1) <= 0).all() and (s >= 0).all()
    orthonormal_columns(u, dtype)
    orthonormal_columns(mT(vh), dtype)
    close((u[..., :k] * s[..., None, :]) @ vh[..., :k, :], a, dtype)
    close(L.svdvals(T(a)), s, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("UPLO", ["L", "U"])
def test_eigh_solves_the_eigen_equation_reading_one_triangle(dtype, batch, UPLO):
    a = sym(8, batch + (4, 4), dtype)
    other = np.triu(np.full((4, 4), 5.0), 1) if UPLO == "L" else np.tril(np.full((4, 4), 5.0), -1)
    values, vectors = L.eigh(T(a + other.astype(dtype)), UPLO=UPLO)
    w, v = N(values), N(vectors)
    close(w, np.linalg.eigvalsh(a), dtype)
    assert (np.diff(w, axis=-1) >= 0).all()
    orthonormal_columns(v, dtype)
    close(a @ v, v * w[..., None, :], dtype)
    close(L.eigvalsh(T(a + other.astype(dtype)), UPLO=UPLO), w, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_matrix_norms_from_singular_values(dtype):
    a = randn(9, (2, 4, 3), dtype)
    s = np.linalg.svd(a, compute_uv=False)
    close(L.matrix_norm(T(a), "nuc"), s.sum(-1), dtype)
    close(L.matrix_norm(T(a), 2), s.max(-1), dtype)
    close(L.matrix_norm(T(a), -2), s.min(-1), dtype)
    close(L.norm(T(a[0]), 2), s[0].max(), dtype)
    moved = np.moveaxis(a, (2, 0), (-2, -1))  # dim=(2, 0): matrices of a[:, i, :].T
    want = np.linalg.svd(moved, compute_uv=False).sum(-1)
    close(L.matrix_norm(T(a), "nuc", dim=(2, 0), keepdim=True), want[None, :, None], dtype)


def test_empty_inputs():
    assert tuple(L.inv(rg.zeros(3, 0, 0)).shape) == (3, 0, 0)
    assert L.det(rg.zeros(0, 0)).item() == 1.0
    assert tuple(L.det(rg.zeros(0, 2, 2)).shape) == (0,)
    U, S, Vh = L.svd(rg.zeros(0, 3))
    assert (tuple(U.shape), tuple(S.shape), tuple(Vh.shape)) == ((0, 0), (0,), (3, 3))
    Q, R = L.qr(rg.zeros(0, 3))
    assert (tuple(Q.shape), tuple(R.shape)) == ((0, 0), (0, 3))
    assert tuple(L.eigh(rg.zeros(2, 0, 0)).eigenvectors.shape) == (2, 0, 0)
    assert L.matrix_norm(rg.ones(0, 3), 2).item() == 0.0


# ---------------------------------------------------------------------------
# results: named tuples, the _ex variants, aliases and methods
# ---------------------------------------------------------------------------


def test_named_tuple_results():
    a = wellcond(10, (3, 3))
    A = T(a)
    cases = [(L.svd(A), "linalg_svd", ("U", "S", "Vh")), (L.qr(A), "linalg_qr", ("Q", "R")),
             (L.eigh(A), "linalg_eigh", ("eigenvalues", "eigenvectors")),
             (L.slogdet(A), "linalg_slogdet", ("sign", "logabsdet")), (rg.slogdet(A), "slogdet", ("sign", "logabsdet")),
             (L.inv_ex(A), "linalg_inv_ex", ("inverse", "info")),
             (L.solve_ex(A, A), "linalg_solve_ex", ("result", "info")),
             (L.cholesky_ex(A @ A.mT), "linalg_cholesky_ex", ("L", "info")), (rg.svd(A), "svd", ("U", "S", "V"))]
    for result, name, fields in cases:
        assert type(result).__name__ == name
        assert type(result).__module__ == "torch.return_types"
        assert isinstance(result, tuple) and len(result) == len(fields)
        for i, f in enumerate(fields):
            assert getattr(result, f) is result[i]


def test_ex_variants_report_failures_in_info():
    batch = rg.stack([rg.eye(3), T(np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 0.0, 1.0]])).float()])
    inverse, info = L.inv_ex(batch)
    assert info.tolist() == [0, 2] and info.dtype == rg.int32
    assert np.allclose(N(inverse[0]), np.eye(3))
    chol = rg.stack([rg.eye(3), -rg.eye(3), rg.diag(rg.tensor([1.0, 2.0, -1.0]))])
    assert L.cholesky_ex(chol).info.tolist() == [0, 1, 3]
    assert L.cholesky_ex(chol, upper=True).info.tolist() == [0, 1, 3]
    result, info = L.solve_ex(rg.stack([rg.eye(3), rg.zeros(3, 3)]), rg.ones(3, 1))
    assert info.tolist() == [0, 1]
    assert np.allclose(N(result[0]), 1.0)
    assert tuple(L.solve_ex(rg.zeros(2, 1, 3, 3), rg.ones(4, 3, 1)).info.shape) == (2, 1)
    with pytest.raises(L.LinAlgError, match=r"^linalg\.inv_ex: \(Batch element 1\): The diagonal element 2 is zero"):
        L.inv_ex(batch, check_errors=True)
    with pytest.raises(L.LinAlgError, match=r"^linalg\.cholesky_ex: \(Batch element 1\): .*order 1 is not"):
        L.cholesky_ex(chol, check_errors=True)
    with pytest.raises(L.LinAlgError, match=r"^torch\.linalg\.solve_ex: The solver failed"):
        L.solve_ex(rg.zeros(3, 3), rg.ones(3, 1), check_errors=True)


@pytest.mark.skipif(REFERENCE is not None, reason="rustgrad's own choice for failed matrices")
def test_ex_variants_fill_failed_results_with_nan_without_gradient():
    a = rg.stack([rg.eye(2, dtype=rg.float64), rg.zeros(2, 2, dtype=rg.float64)]).requires_grad_()
    inverse, info = L.inv_ex(a)
    assert np.isnan(N(inverse[1])).all()
    inverse[0].sum().backward()
    assert np.allclose(N(a.grad[1]), 0.0) and np.allclose(N(a.grad[0]), -np.ones((2, 2)))


def test_top_level_functions_and_tensor_methods():
    a = wellcond(11, (2, 3, 3))
    A = T(a)
    close(rg.det(A), np.linalg.det(a), "float64")
    close(A.det(), np.linalg.det(a), "float64")
    close(A.inverse(), np.linalg.inv(a), "float64")
    close(A.slogdet().logabsdet, np.linalg.slogdet(a)[1], "float64")
    close(T(spd(1, (3, 3))).logdet(), np.linalg.slogdet(spd(1, (3, 3)))[1], "float64")
    U, S, V = A.svd()
    close(N(U) * N(S)[..., None, :] @ mT(N(V)), a, "float64")
    U, S, V = rg.svd(T(randn(1, (4, 3))), some=False)
    assert (tuple(U.shape), tuple(V.shape)) == ((4, 4), (3, 3))
    U, S, V = rg.svd(T(randn(1, (4, 3))), compute_uv=False)
    assert not N(U).any() and not N(V).any() and tuple(U.shape) == (4, 4)
    close(S, np.linalg.svd(randn(1, (4, 3)), compute_uv=False), "float64")
    for f in (rg.cholesky, rg.qr, rg.Tensor.cholesky, rg.Tensor.qr):
        with pytest.raises(RuntimeError, match="deprecated since version 1.9 and is now removed"):
            f(rg.eye(2))


def test_aliases_and_methods_are_the_ones_pytorch_has(torch):
    for name in ("det", "logdet", "slogdet", "inverse", "svd", "cholesky", "qr"):
        assert hasattr(rg, name) == hasattr(torch, name), name
        assert hasattr(rg.Tensor, name) == hasattr(torch.Tensor, name), name
    for name in ("inv", "inv_ex", "det", "slogdet", "solve", "solve_ex", "cholesky", "cholesky_ex", "qr", "svd",
                 "svdvals", "eigh", "eigvalsh", "LinAlgError"):
        assert hasattr(rg.linalg, name) and hasattr(torch.linalg, name), name
    assert issubclass(rg.linalg.LinAlgError, RuntimeError)


# ---------------------------------------------------------------------------
# gradients: gradcheck and gradgradcheck in float64
# ---------------------------------------------------------------------------


def usv(r):
    return (r[0] * r[1].unsqueeze(-2)) @ r[2]


GRAD_CASES = {  # name: (function of rustgrad-or-torch module and tensors, input arrays)
    "inv": (lambda m, A: m.linalg.inv(A), [wellcond(20, (2, 3, 3))]),
    "inv_ex": (lambda m, A: m.linalg.inv_ex(A).inverse, [wellcond(20, (2, 3, 3))]),
    "det": (lambda m, A: m.linalg.det(A), [wellcond(21, (2, 3, 3))]),
    "slogdet": (lambda m, A: m.linalg.slogdet(A).logabsdet, [wellcond(22, (2, 3, 3)) * np.array([1, -1, 1])]),
    "logdet": (lambda m, A: m.logdet(A), [spd(23, (2, 3, 3))]),
    "solve": (lambda m, A, B: m.linalg.solve(A, B), [wellcond(24, (2, 3, 3)), randn(25, (3, 2))]),
    "solve_vector": (lambda m, A, B: m.linalg.solve(A, B), [wellcond(26, (2, 3, 3)), randn(27, (3,))]),
    "solve_broadcast": (lambda m, A, B: m.linalg.solve(A, B), [wellcond(26, (1, 3, 3)), randn(27, (2, 3, 2))]),
    "solve_right": (lambda m, A, B: m.linalg.solve(A, B, left=False), [wellcond(28, (3, 3)), randn(29, (2, 4, 3))]),
    "solve_ex": (lambda m, A, B: m.linalg.solve_ex(A, B).result, [wellcond(24, (2, 3, 3)), randn(25, (3, 2))]),
    "cholesky": (lambda m, X: m.linalg.cholesky(X @ X.mT + 3 * m.eye(3, dtype=X.dtype)), [randn(30, (2, 3, 3))]),
    "cholesky_upper": (lambda m, X: m.linalg.cholesky(X @ X.mT + 3 * m.eye(3, dtype=X.dtype), upper=True),
                       [randn(31, (3, 3))]),
    "cholesky_ex": (lambda m, X: m.linalg.cholesky_ex(X @ X.mT + 3 * m.eye(3, dtype=X.dtype)).L, [randn(30, (3, 3))]),
    "qr_tall": (lambda m, A: tuple(m.linalg.qr(A)), [randn(32, (2, 4, 3))]),
    "qr_wide": (lambda m, A: tuple(m.linalg.qr(A)), [randn(33, (2, 3, 4))]),
    "qr_only_r": (lambda m, A: m.linalg.qr(A).R, [randn(34, (4, 3))]),
    "qr_only_q_wide": (lambda m, A: m.linalg.qr(A).Q, [randn(34, (3, 4))]),
    "qr_complete_wide": (lambda m, A: tuple(m.linalg.qr(A, mode="complete")), [randn(35, (3, 4))]),
    "svdvals": (lambda m, A: m.linalg.svdvals(A), [randn(36, (2, 4, 3))]),
    "svd_usv_tall": (lambda m, A: usv(m.linalg.svd(A, full_matrices=False)), [randn(37, (2, 4, 3))]),
    "svd_usv_wide": (lambda m, A: usv(m.linalg.svd(A, full_matrices=False)), [randn(38, (2, 3, 4))]),
    "svd_projector": (lambda m, A: (lambda r: r.U @ r.U.mT)(m.linalg.svd(A, full_matrices=False)), [randn(39, (4, 3))]),
    "svd_full_abs": (lambda m, A: (lambda r: (r.U[..., :3].abs(), r.S, r.Vh.abs()))(m.linalg.svd(A)),
                     [randn(40, (4, 3))]),
    "svd_top_level": (lambda m, A: (lambda r: r.U.abs() + r.S.unsqueeze(-2))(m.svd(A)), [randn(41, (2, 4, 3))]),
    "eigvalsh": (lambda m, X: m.linalg.eigvalsh(X + X.mT), [randn(42, (2, 4, 4))]),
    "eigh_abs_vectors": (lambda m, X: (lambda r: (r[0], r[1].abs()))(m.linalg.eigh(X + X.mT)), [randn(43, (2, 4, 4))]),
    "eigh_upper": (lambda m, X: (lambda r: r[1] @ r[1].mT * r[0].sum())(m.linalg.eigh(X + X.mT, UPLO="U")),
                   [randn(44, (4, 4))]),
    "nuclear_norm": (lambda m, A: m.linalg.matrix_norm(A, "nuc"), [randn(45, (2, 4, 3))]),
    "spectral_norm_dims": (lambda m, A: m.linalg.matrix_norm(A, 2, dim=(0, 2), keepdim=True), [randn(46, (4, 2, 3))]),
    "min_singular_norm": (lambda m, A: m.linalg.norm(A, -2), [randn(47, (4, 3))]),
}


@pytest.mark.parametrize("name", list(GRAD_CASES))
def test_gradcheck_and_gradgradcheck(name):
    f, arrays = GRAD_CASES[name]
    inputs = [T(a, requires_grad=True) for a in arrays]
    assert gradcheck(lambda *xs: f(rg, *xs), inputs)
    assert gradgradcheck(lambda *xs: f(rg, *xs), inputs)


@pytest.mark.parametrize("name", list(GRAD_CASES))
def test_gradients_match_pytorch(torch, name):
    f, arrays = GRAD_CASES[name]
    with rg.no_grad():
        outs = f(rg, *[T(a) for a in arrays])
    shapes = [tuple(o.shape) for o in (outs if isinstance(outs, tuple) else (outs,))]
    cotangents = [rng(99).standard_normal(shape) for shape in shapes]
    grads = []
    for m in (rg, torch):
        inputs = [m.tensor(a, requires_grad=True) for a in arrays]
        outs = f(m, *inputs)
        outs = outs if isinstance(outs, tuple) else (outs,)
        grads.append([np.array(g.tolist()) for g in m.autograd.grad(outs, inputs, [m.tensor(c) for c in cotangents])])
    for g_rg, g_torch in zip(*grads):
        np.testing.assert_allclose(g_rg, g_torch, rtol=1e-8, atol=1e-10)


def test_float32_gradients_are_float32():
    a = rg.tensor(wellcond(50, (2, 3, 3), "float32"), requires_grad=True)
    loss = L.inv(a).sum() + L.det(a).sum() + L.svdvals(a).sum() + L.eigvalsh(a @ a.mT).sum() + L.qr(a).R.sum()
    loss.backward()
    assert a.grad.dtype == rg.float32 and np.isfinite(N(a.grad)).all()


def test_det_double_backward_of_a_singular_matrix():
    a = T(np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]]), requires_grad=True)
    assert gradgradcheck(L.det, [a])
    (g,) = rg.autograd.grad(L.det(a), a, create_graph=True)
    adjugate_t = np.array([[4.0, 4.0, -4.0], [-2.0, -2.0, 2.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(N(g), adjugate_t, atol=1e-12)


@pytest.mark.skipif(REFERENCE is not None, reason="PyTorch's first-order pass gives 0 for exactly singular matrices")
def test_det_gradient_of_a_singular_matrix_is_the_adjugate():
    a = T(np.array([[1.0, 2.0], [2.0, 4.0]]), requires_grad=True)
    L.det(a).backward()
    np.testing.assert_allclose(N(a.grad), [[4.0, -2.0], [-2.0, 1.0]], atol=1e-12)


def test_det_of_matrices_with_a_zero_pivot_column():
    a = np.array([[[0.0, 0.0], [0.0, 1.0]], [[0.0, 0.0], [0.0, 0.0]], [[0.0, 1.0], [0.0, 0.0]],
                  [[2.0, 1.0], [1.0, 1.0]]])
    for dtype in DTYPES:
        close(L.det(T(a.astype(dtype))), np.linalg.det(a).astype(dtype), dtype)
    sign, logabs = L.slogdet(T(a))
    assert N(sign).tolist() == [0.0, 0.0, 0.0, 1.0]
    assert N(logabs)[:3].tolist() == [-math.inf] * 3


@pytest.mark.skipif(REFERENCE is not None, reason="PyTorch's first-order pass gives 0 for exactly singular matrices")
def test_det_gradient_of_a_batch_mixing_singular_and_regular_matrices():
    a = np.array([[[1.0, 2.0], [2.0, 4.0]], [[3.0, 1.0], [0.0, 2.0]], [[0.0, 1.0], [0.0, 0.0]],
                  [[0.0, 0.0], [0.0, 0.0]]])
    A = T(a, requires_grad=True)
    assert gradcheck(L.det, [A])
    L.det(A).sum().backward()
    adjugate_t = np.stack([a[:, 1, 1], -a[:, 1, 0], -a[:, 0, 1], a[:, 0, 0]], -1).reshape(-1, 2, 2)
    np.testing.assert_allclose(N(A.grad), adjugate_t, atol=1e-12)


def test_qr_backward_errors():
    a = T(randn(60, (4, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match="The derivative of linalg.qr depends on Q, which is not computed when "
                                           "mode='r'"):
        L.qr(a, mode="r").R.sum().backward()
    with pytest.raises(RuntimeError, match="not differentiable when mode='complete' and nrows > ncols"):
        L.qr(a, mode="complete").R.sum().backward()


@pytest.mark.parametrize("make,name", [
    (lambda A: L.inv(A), "LinalgInvExBackward0"), (lambda A: L.inv_ex(A).inverse, "LinalgInvExBackward0"),
    (lambda A: L.det(A), "LinalgDetBackward0"), (lambda A: L.slogdet(A).logabsdet, "LinalgSlogdetBackward0"),
    (lambda A: L.solve(A, A), "LinalgSolveExBackward0"), (lambda A: L.cholesky(A @ A.mT), "LinalgCholeskyExBackward0"),
    (lambda A: L.qr(A).Q, "LinalgQrBackward0"), (lambda A: L.svd(A).S, "LinalgSvdBackward0"),
    (lambda A: L.svdvals(A), "LinalgSvdBackward0"), (lambda A: L.eigh(A).eigenvalues, "LinalgEighBackward0"),
    (lambda A: rg.det(A), "LinalgDetBackward0"), (lambda A: rg.inverse(A), "LinalgInvExBackward0"),
])
def test_grad_fn_names(make, name):
    out = make(T(wellcond(61, (3, 3)), requires_grad=True))
    assert type(out.grad_fn).__name__ == name


def test_sign_of_slogdet_requires_grad_but_gets_none():
    a = T(wellcond(62, (3, 3)), requires_grad=True)
    sign, logabs = L.slogdet(a)
    assert sign.requires_grad
    (sign * 3).sum().backward()
    assert a.grad is None or not N(a.grad).any()


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------


def test_errors_without_pytorch():
    with pytest.raises(L.LinAlgError, match=r"^linalg\.inv: The diagonal element 1 is zero"):
        L.inv(rg.zeros(2, 2))
    with pytest.raises(L.LinAlgError, match=r"^linalg\.inv: \(Batch element 1\): The diagonal element 1 is zero"):
        L.inv(rg.stack([rg.eye(2), rg.zeros(2, 2)]))
    with pytest.raises(RuntimeError, match=r"^linalg\.det: A must be batches of square matrices, but they are 2 by 3"):
        L.det(rg.ones(2, 3))
    with pytest.raises(RuntimeError, match=r"^linalg\.svd: The input tensor A must have at least 2 dimensions\.$"):
        L.svd(rg.ones(3))
    with pytest.raises(NotImplementedError, match=r"^linalg\.qr: Expected a floating point or complex tensor as "
                                                  r"input\. Got Long$"):
        L.qr(rg.ones(3, 3, dtype=rg.int64))
    with pytest.raises(NotImplementedError, match=r"^linalg\.inv: Low precision dtypes not supported\. Got Half$"):
        L.inv(rg.eye(2, dtype=rg.float16))
    with pytest.raises(L.LinAlgError, match=r"leading minor of order 2 is not positive-definite"):
        L.cholesky(rg.diag(rg.tensor([1.0, -1.0])))
    with pytest.raises(L.LinAlgError, match=r"^torch\.linalg\.solve: The solver failed because the input matrix is "
                                            r"singular\.$"):
        L.solve(rg.zeros(2, 2), rg.ones(2))
    with pytest.raises(RuntimeError, match=r"Incompatible shapes of A and B for the equation AX = B \(3x3 and 4x1\)"):
        L.solve(rg.eye(3), rg.ones(4))
    with pytest.raises(RuntimeError, match=r"^Expected UPLO argument to be 'L' or 'U', but got X$"):
        L.eigh(rg.eye(3), UPLO="X")


def _error(f):
    try:
        f()
    except Exception as e:  # noqa: BLE001
        return {"_LinAlgError": "LinAlgError"}.get(type(e).__name__, type(e).__name__), str(e)
    return None


ERROR_INPUTS = {
    "int": lambda m: m.ones(3, 3, dtype=m.int64), "bool": lambda m: m.ones(3, 3, dtype=m.bool),
    "half": lambda m: m.eye(3, dtype=m.float16), "bfloat16": lambda m: m.eye(3, dtype=m.bfloat16),
    "int_1d": lambda m: m.ones(3, dtype=m.int64), "half_nonsquare": lambda m: m.ones(2, 3, dtype=m.float16),
    "int_nonsquare": lambda m: m.ones(2, 3, dtype=m.int64), "1d": lambda m: m.ones(3), "0d": lambda m: m.tensor(1.0),
    "nonsquare": lambda m: m.ones(2, 3), "singular": lambda m: m.zeros(3, 3),
    "singular_batch1": lambda m: m.zeros(1, 3, 3),
    "singular_batch": lambda m: m.stack([m.eye(3), m.zeros(3, 3), m.zeros(3, 3)]),
    "not_pd_minor3": lambda m: m.diag(m.tensor([1.0, 2.0, -3.0])), "nan_batch": lambda m: m.full((2, 3, 3), math.nan),
}
ERROR_FUNCTIONS = {
    "inv": lambda m, A: m.linalg.inv(A), "inv_ex": lambda m, A: m.linalg.inv_ex(A, check_errors=True),
    "det": lambda m, A: m.linalg.det(A), "slogdet": lambda m, A: m.linalg.slogdet(A),
    "cholesky": lambda m, A: m.linalg.cholesky(A),
    "cholesky_ex": lambda m, A: m.linalg.cholesky_ex(A, check_errors=True),
    "qr": lambda m, A: m.linalg.qr(A), "qr_bad_mode": lambda m, A: m.linalg.qr(A, mode="full"),
    "svd": lambda m, A: m.linalg.svd(A), "svdvals": lambda m, A: m.linalg.svdvals(A),
    "svd_driver": lambda m, A: m.linalg.svd(A, driver="gesvd"),
    "eigh_bad_uplo": lambda m, A: m.linalg.eigh(A, UPLO="X"),
    "eigh": lambda m, A: m.linalg.eigh(A.nan_to_num() if A.is_floating_point() else A),
    "solve": lambda m, A: m.linalg.solve(A, A), "solve_ex": lambda m, A: m.linalg.solve_ex(A, A, check_errors=True),
    "torch.logdet": lambda m, A: m.logdet(A), "torch.svd": lambda m, A: m.svd(A),
    "torch.inverse": lambda m, A: m.inverse(A),
    "nuclear_norm": lambda m, A: m.linalg.matrix_norm(A, "nuc"),
}


@pytest.mark.parametrize("fn", list(ERROR_FUNCTIONS))
def test_errors_match_pytorch(torch, fn):
    f = ERROR_FUNCTIONS[fn]
    for name, make in ERROR_INPUTS.items():
        got, want = _error(lambda: f(rg, make(rg))), _error(lambda: f(torch, make(torch)))
        assert got == want, f"{fn} on {name}: {got} != {want}"


@pytest.mark.parametrize("a_shape,b_shape,left,b_dtype", [
    ((3, 3), (4,), True, None), ((3, 3), (), True, None), ((2, 3, 3), (4, 3, 1), True, None),
    ((2, 3, 3), (5, 2, 3), False, None), ((3, 3), (3,), False, None), ((1, 1), (1,), False, None),
    ((3, 3), (3, 5), False, None), ((3, 3), (3,), True, "float64"), ((3, 3), (3,), True, "int64"),
    ((4, 3), (4,), True, None), ((3,), (3,), True, None),
])
def test_solve_shape_and_dtype_errors_match_pytorch(torch, a_shape, b_shape, left, b_dtype):
    def run(m):
        A = m.ones(a_shape)
        B = m.ones(b_shape, dtype=getattr(m, b_dtype) if b_dtype else m.float32)
        return m.linalg.solve(A, B, left=left)

    got, want = _error(lambda: run(rg)), _error(lambda: run(torch))
    assert want is not None and got == want


def test_singular_solve_names_a_batch_element_of_a(torch):
    for a_shape, b_shape in (((3, 3), (2, 3, 1)), ((1, 3, 3), (4, 3, 1)), ((2, 3, 3), (3, 1))):
        def run(m):
            A = m.zeros(*a_shape)
            if a_shape[0] == 2:
                A = m.stack([m.eye(3), m.zeros(3, 3)])
            return m.linalg.solve(A, m.ones(*b_shape))

        got, want = _error(lambda: run(rg)), _error(lambda: run(torch))
        assert want is not None and got == want


# ---------------------------------------------------------------------------
# values and result types against PyTorch
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_values_match_pytorch(torch, dtype):
    a, s, b = wellcond(70, (2, 3, 3), dtype), spd(71, (2, 3, 3), dtype), randn(72, (2, 3, 2), dtype)
    pairs = [
        lambda m, A, S, B: m.linalg.inv(A), lambda m, A, S, B: m.linalg.det(A),
        lambda m, A, S, B: m.linalg.slogdet(A).logabsdet, lambda m, A, S, B: m.linalg.slogdet(A).sign,
        lambda m, A, S, B: m.linalg.solve(A, B), lambda m, A, S, B: m.linalg.solve(A, B[..., 0]),
        lambda m, A, S, B: m.linalg.solve(A, B.mT, left=False), lambda m, A, S, B: m.linalg.cholesky(S),
        lambda m, A, S, B: m.linalg.cholesky(S, upper=True), lambda m, A, S, B: m.linalg.svdvals(B),
        lambda m, A, S, B: m.linalg.eigvalsh(S), lambda m, A, S, B: m.linalg.eigvalsh(A, UPLO="U"),
        lambda m, A, S, B: m.linalg.matrix_norm(B, "nuc"), lambda m, A, S, B: m.linalg.matrix_norm(B, -2),
        lambda m, A, S, B: m.logdet(S), lambda m, A, S, B: m.linalg.qr(B).R.abs(),
        lambda m, A, S, B: m.linalg.eigh(S).eigenvectors.abs(), lambda m, A, S, B: m.linalg.svd(A).U.abs(),
    ]
    for f in pairs:
        got = f(rg, T(a), T(s), T(b))
        want = f(torch, torch.tensor(a), torch.tensor(s), torch.tensor(b))
        assert str(got.dtype) == str(want.dtype)
        close(got, want.numpy(), dtype)


def test_infinity_norm_gradient_is_zero_at_a_nan_norm_and_split_among_ties():
    x = rg.tensor([1.0, math.nan, -2.0], requires_grad=True)
    L.vector_norm(x, math.inf).backward()
    assert N(x.grad).tolist() == [0.0, 0.0, 0.0]
    x = rg.tensor([[1.0, -2.0, 2.0], [3.0, 0.0, -3.0]], dtype=rg.float64, requires_grad=True)
    L.vector_norm(x, math.inf, dim=(0, 1), keepdim=True).sum().backward()
    assert N(x.grad).tolist() == [[0.0, 0.0, 0.0], [0.5, 0.0, -0.5]]
    x = rg.tensor([[1.0, -2.0, 2.5], [3.0, 0.5, -2.0]], dtype=rg.float64, requires_grad=True)
    assert gradcheck(lambda t: L.vector_norm(t, -math.inf, dim=1), [x])


def test_matrix_norm_checks_the_length_of_dim_before_its_range():
    with pytest.raises(RuntimeError, match=r"^linalg\.matrix_norm: dim must be a 2-tuple\. Got 2$"):
        L.matrix_norm(rg.ones(1, 1), dim=(2,))
    with pytest.raises(RuntimeError, match=r"^linalg\.matrix_norm: dim must be a 2-tuple\. Got 0 1 5$"):
        L.matrix_norm(rg.ones(2, 3, 4), dim=(0, 1, 5))
