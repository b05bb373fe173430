"""``torch.linalg``: norms, factorizations (``cholesky``, ``qr``, ``svd``,
``eigh``), ``det``/``slogdet``, ``inv`` and ``solve``, with PyTorch's
signatures, named-tuple results and errors, plus the top-level aliases and
Tensor methods PyTorch has (``torch.det``, ``Tensor.inverse``, ...).

The factorizations are computed, batched and without history, by the core
(``_core._linalg_*``, float32/float64 through ``faer``); each is wrapped
here in an ``autograd.Function`` whose backward is PyTorch's formula
(``tools/autograd/derivatives.yaml`` and ``FunctionsManual.cpp``) written
with differentiable rustgrad ops and the saved outputs, so double backward
works where PyTorch's does."""

from __future__ import annotations

import collections
import math
import numbers
import re
import sys

from . import _core
from ._composites import _WithoutDerivative, _type_name, _wrap_dim, _wrap_dims
from ._dtypes import finfo, promote_types
from .autograd.function import Function
from ._arg_parser import Number, Sequence, Tensor, dtype, parsed

__all__ = ["vector_norm", "matrix_norm", "norm", "LinAlgError", "inv", "inv_ex", "det", "slogdet", "solve",
           "solve_ex", "cholesky", "cholesky_ex", "qr", "svd", "svdvals", "eigh", "eigvalsh"]


def _check_input(x, fn):
    if not x.is_floating_point():
        raise NotImplementedError(f"{fn}: Expected a floating point or complex tensor as input. "
                                  f"Got {_type_name(x.dtype)}")


def _check_dtype(x, dtype, fn):
    """The ``dtype=`` argument: a float dtype ``x`` converts to without
    narrowing."""
    if dtype is None:
        return
    if not dtype.is_floating_point:
        raise RuntimeError(f"{fn}: dtype should be floating point or complex, but got {_type_name(dtype)}")
    if promote_types(dtype, x.dtype) != dtype:
        raise RuntimeError(f"{fn}: the dtype of the input ({_type_name(x.dtype)}) should be convertible without "
                           f"narrowing to the specified dtype ({_type_name(dtype)})")


@parsed(name="linalg_vector_norm")
def vector_norm(x: Tensor, ord: Number = 2, dim: int | Sequence[int] | None = None, keepdim: bool = False, *,
                dtype: dtype | None = None):
    """The vector ``ord``-norm of ``x`` over ``dim`` (an int or a sequence;
    all elements when None or empty), the other dims kept as a batch:
    ``(sum |x|^ord)^(1/ord)``; ``inf``/``-inf``: max/min of ``|x|``; ``0``:
    the number of non-zero elements. Float input; the result has its dtype,
    or ``dtype``, to which ``x`` is first converted (without narrowing).

    Gradients are PyTorch's: 0 where the norm is 0 (the 2-norm of a zero
    vector included); ``inf``/``-inf`` split theirs evenly among tied
    elements; ``ord=0`` passes none.

    Errors: NotImplementedError for an int/bool input; TypeError for a
    non-number ``ord``; RuntimeError for a non-float or narrowing ``dtype``,
    a repeated dim, and (no identity) an ``inf`` or negative ``ord`` over an
    empty set; IndexError for a dim out of range. Source: PyTorch's
    ``torch/_refs/linalg`` ``vector_norm`` and ATen's
    ``linalg_vector_norm_backward``."""
    _check_input(x, "linalg.vector_norm")
    if isinstance(ord, (str, bool)) or not isinstance(ord, numbers.Real):
        raise TypeError(f"linalg_vector_norm(): argument 'ord' (position 2) must be Number, not {type(ord).__name__}")
    ord = ord if type(ord) in (int, float) else float(ord)  # a NumPy scalar as Python's
    given = dim is not None and (isinstance(dim, int) or len(dim) > 0)
    dims = _wrap_dims([dim] if isinstance(dim, int) else dim, x.dim()) if given else []
    dims = dims if x.dim() else []  # a 0-d tensor's dim 0 is all of it
    _check_dtype(x, dtype, "linalg.vector_norm")
    if ord < 0 or ord == math.inf:  # reductions without an identity
        if x.numel() == 0 and not given:
            raise RuntimeError(f"linalg.vector_norm cannot compute the {ord} norm on an empty tensor because the "
                               "operation does not have an identity")
        for d in dims:
            if x.shape[d] == 0:
                raise RuntimeError(f"linalg.vector_norm cannot compute the {ord} norm on the dimension {d}because "
                                   "this dimension is empty and the operation does not have an identity")
    if dtype is not None:
        x = x.to(dtype)
    # Reductions get every dim rather than dim=None: the core's sum and norm
    # drop the dims of a dim=None reduction even with keepdim=True.
    dims = dims or list(range(x.dim()))
    if ord == 0:  # in the graph, but PyTorch sends no gradient through it
        return _WithoutDerivative.apply(x, (x != 0).sum(dims, keepdim, dtype=x.dtype))
    if abs(ord) == math.inf:
        return _InfNorm.apply(x, dims, keepdim, ord > 0)
    if ord > 0:
        return _core_norm(x, ord, dims, keepdim)
    # ord < 0: a zero element makes the norm 0, and PyTorch's gradient 0 for
    # the whole vector; those vectors are computed on ones and their norm
    # replaced, so that neither pass meets 0 ** ord.
    zero = (x == 0).any(dims, keepdim=True)
    out = (_core.where(zero, 1.0, x).abs() ** ord).sum(dims, keepdim=True) ** (1.0 / ord)
    out = _core.where(zero, 0.0, out)
    return out if keepdim else out.reshape([s for d, s in enumerate(out.shape) if d not in dims])


class _InfNorm(Function):
    """``max``/``min`` of ``|x|`` over ``dims``; backward PyTorch's
    ``norm_backward`` for infinite orders: ``sgn(x) g / count`` on the
    elements equal to the norm or NaN (``count`` of them: ties split the
    gradient), 0 elsewhere; ``sgn(NaN)`` is 0, so a NaN norm sends 0."""

    @staticmethod
    def forward(ctx, x, dims, keepdim, is_max):
        a = x.abs()
        out = a.amax(dims, True) if is_max else a.amin(dims, True)
        ctx.save_for_backward(x, out)
        ctx.dims, ctx.keepdim = dims, keepdim
        return out if keepdim else out.reshape([s for d, s in enumerate(out.shape) if d not in dims])

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        a = x.detach().abs()
        mask = ((a == out.detach()) | (a != a)).to(x.dtype)
        count = mask.sum(ctx.dims, keepdim=True)
        sgn = _core.where(x != x, 0.0, x.detach().sign())
        return sgn * mask * (g.reshape(list(out.shape)) / count), None, None, None


@parsed
def matrix_norm(A: Tensor, ord: float | str = "fro", dim: int | Sequence[int] | None = (-2, -1),
                keepdim: bool = False, *, dtype: dtype | None = None):
    """The matrix norm of the matrices in dims ``dim`` (a pair) of ``A``
    (``[..., m, n]`` by default), the other dims a batch: ``'fro'``, the
    square root of the sum of squares; ``1``/``-1``: the max/min over
    columns of the column's absolute sum; ``inf``/``-inf``: the same over
    rows; ``'nuc'``, ``2``/``-2``: the sum, largest and smallest of the
    singular values (``svdvals``). Float input; ``dtype`` as in
    ``vector_norm``; the gradients are those of the ops composed
    (``vector_norm``, ``amax``/``amin``, ``svdvals``).

    Errors (RuntimeError unless said): fewer than 2 dims; ``dim`` not two
    different dims (IndexError when out of range); an unknown ``ord``;
    NotImplementedError for int/bool input. Source: PyTorch's
    ``torch/_refs/linalg`` ``matrix_norm``."""
    if A.dim() < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    dim = [dim] if isinstance(dim, int) else list(dim)
    if len(dim) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(map(str, dim))}")
    dim = [_wrap_dim(d, A.dim()) for d in dim]
    if dim[0] == dim[1]:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dim[0]}, {dim[1]})")
    _check_dtype(A, dtype, "linalg.matrix_norm")
    if ord not in ("fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf) or isinstance(ord, bool):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    _check_input(A, "linalg.matrix_norm")
    if ord == "fro":
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if ord in ("nuc", 2, -2):  # from the singular values of the matrices moved to the last two dims
        _check_low_precision(A, "linalg.matrix_norm")
        B = A if dim == [A.dim() - 2, A.dim() - 1] else A.movedim(dim, [-2, -1])
        s = svdvals(B if dtype is None else B.to(dtype))
        if s.shape[-1] == 0 and ord == -2:
            raise IndexError("amin(): Expected reduction dim -1 to have non-zero size.")
        if ord == "nuc":
            out = s.sum(-1)
        elif s.shape[-1] == 0:  # the max of nothing is 0 for a norm (a constant, as in PyTorch)
            out = _core.zeros(list(s.shape[:-1]), dtype=s.dtype)
        else:
            out = s.amax(-1) if ord == 2 else s.amin(-1)
        if keepdim:
            for d in sorted(dim):
                out = out.unsqueeze(d)
        return out
    d0, d1 = dim if abs(ord) == 1 else dim[::-1]  # 1: sums down columns; inf: along rows
    if not keepdim and d0 < d1:
        d1 -= 1
    sums = vector_norm(A, 1, d0, keepdim, dtype=dtype)
    if sums.shape[d1] == 0 and ord > 0:  # the max of nothing is 0 for a norm
        shape = list(sums.shape)
        shape[d1:d1 + 1] = [1] if keepdim else []
        return _core.zeros(shape, dtype=sums.dtype)
    return sums.amax(d1, keepdim) if ord > 0 else sums.amin(d1, keepdim)


@parsed
def norm(A: Tensor, ord: float | str | None = None, dim: int | Sequence[int] | None = None, keepdim: bool = False, *,
         dtype: dtype | None = None):
    """A vector or a matrix norm, chosen as PyTorch does: a matrix norm
    (``matrix_norm``) when ``ord`` is a string, or given with a 2-tuple
    ``dim`` or, without ``dim``, a 2-D ``A``; otherwise the vector norm
    (``vector_norm``, ``ord`` 2 when None; so the default over a matrix is
    the Frobenius norm). RuntimeError for a ``dim`` of length other than 1
    or 2, and for an ``ord`` without ``dim`` on an ``A`` that is not 1-D or
    2-D; the chosen norm's errors otherwise. Source: ATen's
    ``linalg_norm``."""
    if dim is not None:
        dim = [dim] if isinstance(dim, int) else list(dim)
        if len(dim) not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {dim}")
    elif ord is not None and A.dim() not in (1, 2):
        raise RuntimeError("linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
                           f"Got {A.dim()}D.")
    if isinstance(ord, str) or (ord is not None and (len(dim) == 2 if dim is not None else A.dim() == 2)):
        return matrix_norm(A, ord, (0, 1) if dim is None else dim, keepdim, dtype=dtype)
    return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)


# ---------------------------------------------------------------------------
# errors, checks and small helpers
# ---------------------------------------------------------------------------


class LinAlgError(RuntimeError):
    """``torch.linalg.LinAlgError``: a factorization or solve failed on its
    input (singular, not positive-definite, no convergence). A subclass of
    RuntimeError, as PyTorch's ``torch._C._LinAlgError``."""


_FAILURES = ("singular", "positive-definite", "failed to converge")


def _named(name, fields):
    cls = collections.namedtuple(name, fields)
    cls.__module__ = "torch.return_types"
    cls.__doc__ = f"``torch.return_types.{name}``: the named tuple ``({', '.join(fields)})``."
    return cls


_InvEx = _named("linalg_inv_ex", ("inverse", "info"))
_SlogdetResult = _named("linalg_slogdet", ("sign", "logabsdet"))
_SlogdetLegacy = _named("slogdet", ("sign", "logabsdet"))
_SolveEx = _named("linalg_solve_ex", ("result", "info"))
_CholeskyEx = _named("linalg_cholesky_ex", ("L", "info"))
_QrResult = _named("linalg_qr", ("Q", "R"))
_SvdResult = _named("linalg_svd", ("U", "S", "Vh"))
_SvdLegacy = _named("svd", ("U", "S", "V"))
_EighResult = _named("linalg_eigh", ("eigenvalues", "eigenvectors"))


def _check_matrix(A, fn, name="A"):
    if A.dim() < 2:
        raise RuntimeError(f"{fn}: The input tensor {name} must have at least 2 dimensions.")


def _check_square(A, fn):
    _check_matrix(A, fn)
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{fn}: A must be batches of square matrices, but they are {A.shape[-2]} by "
                           f"{A.shape[-1]} matrices")


def _check_float(A, fn):
    if not A.is_floating_point():
        raise NotImplementedError(f"{fn}: Expected a floating point or complex tensor as input. "
                                  f"Got {_type_name(A.dtype)}")


def _low_precision(A):
    return A.dtype in (_core.float16, _core.bfloat16)


def _check_low_precision(A, fn):
    if _low_precision(A):
        raise NotImplementedError(f"{fn}: Low precision dtypes not supported. Got {_type_name(A.dtype)}")


def _check_kernel(A, kernel):
    """PyTorch's dispatch error for a dtype its CPU kernel lacks."""
    if not A.is_floating_point() or _low_precision(A):
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_type_name(A.dtype)}'")


def _is_failure(error):
    return isinstance(error, RuntimeError) and any(s in str(error) for s in _FAILURES)


def _elements(A):
    """The matrices of ``A`` (``(*, m, n)``) one by one."""
    flat = A.reshape(-1, A.shape[-2], A.shape[-1])
    return [flat[i] for i in range(flat.shape[0])]


def _failure(message, A, probe, head=None):
    """The LinAlgError for a core failure on ``A``: PyTorch's text, with the
    index of the first failing matrix (found by running ``probe`` on each)
    for a batched ``A``, and ``head`` (the function's name) if given."""
    if A.dim() > 2:
        for i, a in enumerate(_elements(A)):
            try:
                probe(a)
            except RuntimeError as e:
                if not _is_failure(e):
                    raise
                name, _, rest = str(e).partition(": ")
                message = f"{name}: (Batch element {i}): {rest}"
                break
    if head is not None:
        message = head + ": " + message.partition(": ")[2]
    return LinAlgError(message)


def _guard(call, A, probe, head=None):
    """``call()``, its failures raised as LinAlgError (see ``_failure``)."""
    try:
        return call()
    except LinAlgError:
        raise
    except RuntimeError as e:
        if not _is_failure(e):
            raise
        message = str(e)
    raise _failure(message, A, probe, head)


def _failed(A, probe):
    """For the ``*_ex`` functions: which matrices of ``A`` ``probe`` fails
    on (a bool tensor of the batch shape) and LAPACK's ``info`` for each
    (int32: the failing diagonal element / leading minor, 0 for success)."""
    batch = list(A.shape[:-2])
    codes = []
    for a in _elements(A):
        try:
            probe(a)
            codes.append(0)
        except RuntimeError as e:
            if not _is_failure(e):
                raise
            found = re.search(r"diagonal element (\d+)|leading minor of order (\d+)", str(e))
            codes.append(int(found.group(1) or found.group(2)) if found else 1)
    info = _core.tensor(codes, dtype=_core.int32).reshape(batch)
    return info != 0, info


def _replace_failed(A, failed, run):
    """``run`` on ``A`` with its failing matrices swapped for the identity,
    the results of those set to NaN (they get no gradient)."""
    mask = failed.unsqueeze(-1).unsqueeze(-1)
    eye = _core.eye(A.shape[-1], dtype=A.dtype)
    out = run(_core.where(mask, eye, A))
    return _core.where(mask, math.nan, out)


def _no_info(A):
    return _core.zeros(list(A.shape[:-2]), dtype=_core.int32)


def _ex(result, A, probe, name, check_errors, run, run_around_failures, info_probe=None):
    """The ``*_ex`` functions' shape: ``result(run(), info)`` with zero
    ``info``; if a matrix of ``A`` fails, LinAlgError (from ``probe``'s
    message) when ``check_errors``, else ``run_around_failures(failed)`` (see
    ``_replace_failed``) with the ``info`` codes of ``info_probe``."""
    try:
        return result(run(), _no_info(A))
    except RuntimeError as e:
        if not _is_failure(e):
            raise
        if check_errors:
            raise _failure(str(e), A, probe, name) from None
    failed, info = _failed(A, info_probe or probe)
    return result(run_around_failures(failed), info)


def _eye_bool(n):
    return _core.eye(n, dtype=_core.bool)


def _diag_embed(v):
    """Square matrices with ``v`` (``(*, k)``) on their diagonals."""
    return _core.where(_eye_bool(v.shape[-1]), v.unsqueeze(-1), _core.zeros((), dtype=v.dtype))


def _scaled_eye(d, n):
    """``d[..., None, None] * I_n``."""
    return _diag_embed(d.unsqueeze(-1).expand(*d.shape, n))


def _masked_fmap(mask, f1, f2, *tensors):
    """``f1`` on the matrices (leading dims ``mask.shape``) where ``mask``
    holds, ``f2`` on the others, put back in order (PyTorch's
    ``masked_fmap``); differentiable through ``index_select``."""
    if bool(mask.all()):
        return f1(*tensors)
    if not bool(mask.any()):
        return f2(*tensors)
    nb, bdims = mask.numel(), mask.dim()
    flat = [t.reshape(nb, *t.shape[bdims:]) for t in tensors]
    m = mask.reshape(-1)
    i1, i2 = m.nonzero().reshape(-1), m.logical_not().nonzero().reshape(-1)
    r1 = f1(*[t.index_select(0, i1) for t in flat])
    r2 = f2(*[t.index_select(0, i2) for t in flat])
    out = _core.cat([r1, r2], 0).index_select(0, _core.cat([i1, i2]).argsort())
    return out.reshape([*mask.shape, *out.shape[1:]])


def _rename_node(fn, name):
    """Gives ``fn``'s graph nodes PyTorch's ``grad_fn`` class name."""
    fn._backward_cls.__name__ = fn._backward_cls.__qualname__ = name


def _core_det(A):
    """The core's determinant, with the NaN it gives for a matrix with an
    all-zero pivot column (``[[0, 0], [0, 1]]``; LAPACK's LU carries on past
    a zero pivot and gives 0) replaced by 0 where ``A`` is finite."""
    d = _core._linalg_det(A)
    nan = d != d
    if bool(nan.any()):
        finite = (A.abs() != math.inf).all(-1).all(-1) & (A == A).all(-1).all(-1)
        d = _core.where(nan & finite, 0.0, d)
    return d


def _probe_inv(a):
    return _core._linalg_inv(a)


def _probe_solve(a):
    return _core._linalg_solve(a, _core.zeros((a.shape[-1], 1), dtype=a.dtype))


# ---------------------------------------------------------------------------
# autograd Functions: the core factorizations with PyTorch's backward
# ---------------------------------------------------------------------------


class _Inv(Function):
    """``A^-1``; backward ``-A^-T g A^-T`` (derivatives.yaml, linalg_inv_ex)."""

    @staticmethod
    def forward(ctx, A):
        X = _core._linalg_inv(A)
        ctx.save_for_backward(X)
        return X

    @staticmethod
    def backward(ctx, g):
        X, = ctx.saved_tensors
        Xt = X.mT
        return -(Xt @ (g @ Xt))


class _Solve(Function):
    """``X`` with ``A X = B`` for ``A`` ``(*, n, n)``, ``B`` ``(*, n, k)`` of
    the same batch shape; backward ``gB = A^-T g``, ``gA = -gB X^T``
    (``linalg_solve_backward``)."""

    @staticmethod
    def forward(ctx, A, B):
        X = _core._linalg_solve(A, B)
        ctx.save_for_backward(A, X)
        return X

    @staticmethod
    def backward(ctx, g):
        A, X = ctx.saved_tensors
        gB = _solve_square(A.mT, g)
        gA = -(gB @ X.mT) if ctx.needs_input_grad[0] else None
        return gA, gB if ctx.needs_input_grad[1] else None


def _solve_square(A, B):
    """Differentiable ``A^-1 B`` for matrices of one batch shape (used by the
    backward formulas); LinAlgError when ``A`` is singular."""
    return _guard(lambda: _Solve.apply(A, B), A, _probe_solve)


def _solve_right(X, R):
    """Differentiable ``X R^-T`` (PyTorch's ``solve_triangular(R^T, X,
    left=False)``), as ``(R^-1 X^T)^T``."""
    return _solve_square(R, X.mT).mT


class _Det(Function):
    """``det(A)``; backward (``linalg_det_backward``, its higher-order
    branch): ``g det(A) A^-T`` where ``|det| >= 100 eps``, else the
    adjugate from the SVD, ``g det(U)det(V^T) U diag(prod_{j!=i} s_j) V^T``,
    which is also right for singular ``A``."""

    @staticmethod
    def forward(ctx, A):
        d = _core_det(A)
        ctx.save_for_backward(A, d)
        return d

    @staticmethod
    def backward(ctx, g):
        A, d = ctx.saved_tensors
        if A.numel() == 0:
            return _core.zeros(tuple(A.shape), dtype=A.dtype)  # as PyTorch: an empty gradient, not None
        n = A.shape[-1]
        eps = finfo(A.dtype).eps
        # (det A^-1)^T rather than solve(A^T, det I): the LU of A is then the
        # one the determinant came from, and its small pivot cancels out.
        return _masked_fmap(d.abs() < 100.0 * eps, _adjugate_grad,
                            lambda A, d, g: _solve_square(A, _scaled_eye(g * d, n)).mT, A, d, g)


def _adjugate_grad(A, d, g):
    """``g adj(A)^T`` through the SVD (PyTorch's ``singular`` branch of
    ``linalg_det_backward``)."""
    U, S, Vh = _Svd.apply(A, True)
    alpha = _core._linalg_det(U.detach()) * _core._linalg_det(Vh.detach()) * g  # +-1: no gradient
    k = S.shape[-1]
    others = _core.where(_eye_bool(k), 1.0, S.unsqueeze(-2).expand(*S.shape[:-1], k, k)).prod(-1)
    D = alpha.unsqueeze(-1) * others
    return (U * D.unsqueeze(-2)) @ Vh


def _slogdet_values(A):
    """``(sign, log|det|)`` from the core's determinant, or, where that
    under/overflows, from a QR factorization (``det Q = +-1``; ``log|det|``
    = the sum of ``log|R_ii|``). Exactly singular (a zero LU pivot): sign 0,
    ``-inf``; NaN input: sign 0, NaN (as PyTorch)."""
    det = _core_det(A)
    absdet = det.abs()
    tiny = finfo(A.dtype).tiny
    good = (absdet >= tiny) & (absdet != math.inf)
    if bool(good.all()):
        return det.sign(), absdet.log()
    Q, R = _core._linalg_qr(A)
    diag = R.diagonal(0, -2, -1)
    logabs_qr = diag.abs().log().sum(-1)
    sign_qr = _core._linalg_det(Q).sign() * diag.sign().prod(-1)
    singular = (det == 0) & (logabs_qr >= math.log(tiny))
    sign = _core.where(good, det.sign(), _core.where(singular, 0.0, sign_qr))
    logabs = _core.where(good, absdet.log(), _core.where(singular, -math.inf, logabs_qr))
    return _core.where(logabs != logabs, 0.0, sign), logabs


class _Slogdet(Function):
    """``(sign, log|det A|)``; backward (``slogdet_backward``): ``g A^-T``
    from ``logabsdet``'s gradient (``sign`` gets none). Singular matrices
    get ``g adj(A)^T / 0`` (infinite), where PyTorch's LU gives infinities
    too."""

    @staticmethod
    def forward(ctx, A):
        ctx.set_materialize_grads(False)
        sign, logabs = _slogdet_values(A)
        ctx.save_for_backward(A, sign)
        return sign, logabs

    @staticmethod
    def backward(ctx, gsign, glog):
        if glog is None:
            return None
        A, sign = ctx.saved_tensors
        if A.numel() == 0:
            return None
        n = A.shape[-1]
        return _masked_fmap(sign == 0, lambda A, g: _adjugate_grad(A, None, g) / 0.0,
                            lambda A, g: _solve_square(A, _scaled_eye(g, n)).mT, A, glog)


class _Cholesky(Function):
    """The Cholesky factor; backward PyTorch's ``cholesky_backward``
    (Murray 2016): ``Phi = L^T gL`` lower, symmetrised with half diagonal,
    then ``L^-T Phi L^-1``."""

    @staticmethod
    def forward(ctx, A, upper):
        L = _core._linalg_cholesky(A, upper)
        ctx.upper = upper
        ctx.save_for_backward(L)
        return L

    @staticmethod
    def backward(ctx, gL):
        L, = ctx.saved_tensors
        if ctx.upper:
            L, gL = L.mT, gL.mT
        gA = (L.mT @ gL).tril()
        gA = 0.5 * (gA + gA.tril(-1).mT)
        gA = _solve_square(L.mT, gA)
        gA = _solve_square(L.mT, gA.mT).mT  # gA L^-1
        return gA, None


class _Qr(Function):
    """``(Q, R)``; backward PyTorch's ``linalg_qr_backward``."""

    @staticmethod
    def forward(ctx, A, mode):
        ctx.set_materialize_grads(False)
        Q, R = _core._linalg_qr(A, mode)
        m, n = A.shape[-2], A.shape[-1]
        if mode == "complete" and R.shape[-2] != m:  # the core returns R (n, n) for m > n
            R = _core.cat([R, _core.zeros([*R.shape[:-2], m - R.shape[-2], n], dtype=R.dtype)], -2)
        ctx.mode = mode
        ctx.save_for_backward(Q, R)
        return Q, R

    @staticmethod
    def backward(ctx, gQ, gR):
        if ctx.mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                               "Please use linalg.qr(A, mode='reduced') if you are going to differentiate through "
                               "linalg.qr.")
        Q, R = ctx.saved_tensors
        m, n = Q.shape[-2], R.shape[-1]
        if ctx.mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and nrows > ncols.")
        if gQ is None and gR is None:
            return None, None
        if gQ is not None:
            gA = gR @ R.mT - Q.mT @ gQ if gR is not None else -(Q.mT @ gQ)
        else:
            gA = gR @ R.mT
        if m >= n:
            upper = gA.triu()
            gA = Q @ (upper + upper.triu(1).mT)  # syminvadj: X + X^T with X's own diagonal
            if gQ is not None:
                gA = gA + gQ
            return _solve_right(gA, R), None
        gA = -gA
        gA = Q @ (gA - gA.mT).tril()
        gA = _solve_right(gA, R.narrow(-1, 0, m))
        gA = _core.cat([gA, _core.zeros([*gA.shape[:-1], n - m], dtype=gA.dtype)], -1)
        if gR is not None:
            gA = gA + Q @ gR
        return gA, None


class _Svd(Function):
    """``(U, S, Vh)``; backward PyTorch's ``svd_backward`` (real case; the
    ``E_jk = s_k^2 - s_j^2`` matrix; with ``full_matrices`` the extra
    columns/rows are ignored, as in derivatives.yaml). Gauge-invariant
    losses only; repeated singular values give inf/NaN, as in PyTorch."""

    @staticmethod
    def forward(ctx, A, full_matrices):
        ctx.set_materialize_grads(False)
        try:
            U, S, Vh = _core._linalg_svd(A, full_matrices)
        except RuntimeError as e:
            # The core fails on infinities, where LAPACK returns NaN: so do
            # those matrices here (NaN input was rejected before).
            infinite = (A.abs() == math.inf).any(-1).any(-1)
            if not _is_failure(e) or not bool(infinite.any()):
                raise
            mask = infinite.unsqueeze(-1).unsqueeze(-1)
            U, S, Vh = _core._linalg_svd(_core.where(mask, 0.0, A), full_matrices)
            U, S, Vh = (_core.where(mask, math.nan, U), _core.where(infinite.unsqueeze(-1), math.nan, S),
                        _core.where(mask, math.nan, Vh))
        ctx.full_matrices = full_matrices
        ctx.save_for_backward(U, S, Vh)
        return U, S, Vh

    @staticmethod
    def backward(ctx, gU, gS, gVh):
        U, S, Vh = ctx.saved_tensors
        k = S.shape[-1]
        if ctx.full_matrices:
            U, Vh = U.narrow(-1, 0, k), Vh.narrow(-2, 0, k)
            gU = gU.narrow(-1, 0, k) if gU is not None else None
            gVh = gVh.narrow(-2, 0, k) if gVh is not None else None
        return _svd_backward(gU, gS, gVh, U, S, Vh), None


def _svd_backward(gU, gS, gVh, U, S, Vh):
    if gS is None and gU is None and gVh is None:
        return None
    m, n = U.shape[-2], Vh.shape[-1]
    if gU is None and gVh is None:  # svdvals: U diag(gS) Vh
        return U @ (gS.unsqueeze(-1) * Vh) if m >= n else (U * gS.unsqueeze(-2)) @ Vh
    UhgU = U.mT @ gU if gU is not None else None
    UhgU = UhgU - UhgU.mT if UhgU is not None else None
    VhgV = Vh @ gVh.mT if gVh is not None else None
    VhgV = VhgV - VhgV.mT if VhgV is not None else None
    S2 = S * S
    E = _core.where(_eye_bool(S.shape[-1]), 1.0, S2.unsqueeze(-2) - S2.unsqueeze(-1))
    if gU is not None and gVh is not None:
        ret = (UhgU * S.unsqueeze(-2) + S.unsqueeze(-1) * VhgV) / E
    elif gU is not None:
        ret = (UhgU / E) * S.unsqueeze(-2)
    else:
        ret = S.unsqueeze(-1) * (VhgV / E)
    if gS is not None:
        ret = ret + _diag_embed(gS)
    if m > n and gU is not None:
        gA = U @ ret
        gUSinv = gU / S.unsqueeze(-2)
        gA = gA + gUSinv - U @ (U.mT @ gUSinv)
        return gA @ Vh
    if m < n and gVh is not None:
        gA = ret @ Vh
        SinvgVh = gVh / S.unsqueeze(-1)
        gA = gA + SinvgVh - (SinvgVh @ Vh.mT) @ Vh
        return U @ gA
    return U @ (ret @ Vh) if m >= n else (U @ ret) @ Vh


class _Eigh(Function):
    """``(eigenvalues, eigenvectors)`` of symmetric matrices; backward
    PyTorch's ``linalg_eig_backward`` (hermitian case):
    ``V (skew(V^T gV)/2 / E + diag(gL)) V^T``, ``E_ij = l_j - l_i``."""

    @staticmethod
    def forward(ctx, A, upper):
        ctx.set_materialize_grads(False)
        try:
            L, V = _core._linalg_eigh(A, upper)
        except RuntimeError as e:
            # The core fails to converge on some non-finite input (LAPACK on
            # others): those matrices get NaN here, their failure is not raised.
            read = A.triu() if upper else A.tril()
            bad = ((read != read) | (read.abs() == math.inf)).any(-1).any(-1)
            if not _is_failure(e) or not bool(bad.any()):
                raise
            mask = bad.unsqueeze(-1).unsqueeze(-1)
            L, V = _core._linalg_eigh(_core.where(mask, 0.0, A), upper)
            L, V = _core.where(bad.unsqueeze(-1), math.nan, L), _core.where(mask, math.nan, V)
        ctx.save_for_backward(L, V)
        return L, V

    @staticmethod
    def backward(ctx, gL, gV):
        L, V = ctx.saved_tensors
        if gL is None and gV is None:
            return None, None
        if gV is None:
            return (V * gL.unsqueeze(-2)) @ V.mT, None
        VhgV = V.mT @ gV
        VhgV = 0.5 * (VhgV - VhgV.mT)
        E = _core.where(_eye_bool(L.shape[-1]), 1.0, L.unsqueeze(-2) - L.unsqueeze(-1))
        ret = VhgV / E
        if gL is not None:
            ret = ret + _diag_embed(gL)  # the diagonal of the skew part is 0
        return V @ (ret @ V.mT), None


for _fn, _name in ((_InfNorm, "LinalgVectorNormBackward0"), (_Inv, "LinalgInvExBackward0"), (_Solve, "LinalgSolveExBackward0"), (_Det, "LinalgDetBackward0"),
                   (_Slogdet, "LinalgSlogdetBackward0"), (_Cholesky, "LinalgCholeskyExBackward0"),
                   (_Qr, "LinalgQrBackward0"), (_Svd, "LinalgSvdBackward0"), (_Eigh, "LinalgEighBackward0")):
    _rename_node(_fn, _name)


# ---------------------------------------------------------------------------
# the public functions
# ---------------------------------------------------------------------------


def _check_inv(A, fn="linalg.inv"):
    _check_square(A, fn)
    _check_float(A, fn)
    _check_low_precision(A, fn)


@parsed
def inv(A: Tensor):
    """``A^-1`` of square matrices ``(*, n, n)`` (float32/float64).
    Differentiable: ``-A^-T g A^-T``. LinAlgError for a singular matrix
    (``(Batch element i)`` naming the first in a batch); RuntimeError for
    fewer than 2 dims or non-square; NotImplementedError for an int/bool or
    half/bfloat16 input."""
    _check_inv(A)
    return _guard(lambda: _Inv.apply(A), A, _probe_inv)


@parsed
def inv_ex(A: Tensor, *, check_errors: bool = False):
    """``(inverse, info)``: ``inv`` that reports failures in ``info``
    (int32, the batch shape; LAPACK's index of the zero pivot, 0 for
    success) rather than raising, unless ``check_errors``. A failed
    matrix's inverse is NaN here (LAPACK's partial result in PyTorch) and
    gets no gradient."""
    _check_inv(A)
    return _ex(_InvEx, A, _probe_inv, "linalg.inv_ex", check_errors, lambda: _Inv.apply(A),
               lambda failed: _replace_failed(A, failed, _Inv.apply))


@parsed
def inverse(input: Tensor):
    """``torch.inverse`` / ``Tensor.inverse``: ``linalg.inv``."""
    return inv(input)


@parsed
def det(A: Tensor):
    """The determinant of square matrices ``(*, n, n)``, shaped ``(*)``.
    Differentiable (twice too): ``g det(A) A^-T``, the adjugate through the
    SVD where ``|det| < 100 eps``, so singular matrices get the true
    gradient (PyTorch's first-order pass gives 0 for exactly singular ones
    and the adjugate only with ``create_graph``). Errors as ``inv``, half
    input naming ``lu_cpu`` as PyTorch."""
    _check_square(A, "linalg.det")
    _check_float(A, "linalg.det")
    _check_kernel(A, "lu_cpu")
    return _Det.apply(A)


def _slogdet(A, fn):
    _check_square(A, fn)
    _check_float(A, fn)
    _check_low_precision(A, fn)
    return _Slogdet.apply(A)


@parsed
def slogdet(A: Tensor):
    """``(sign, logabsdet)`` of square matrices: ``det = sign *
    exp(logabsdet)`` without over/underflow; sign 0 and ``-inf`` for
    singular ones. Differentiable through ``logabsdet``: ``g A^-T``."""
    return _SlogdetResult(*_slogdet(A, "linalg.slogdet"))


def _slogdet_top(input):
    """``torch.slogdet`` / ``Tensor.slogdet``: ``linalg.slogdet`` as the
    named tuple ``torch.return_types.slogdet``."""
    return _SlogdetLegacy(*_slogdet(input, "linalg.slogdet"))


@parsed
def logdet(input: Tensor):
    """``torch.logdet`` / ``Tensor.logdet``: ``log(det(A))``: NaN for a
    negative determinant, ``-inf`` for a singular matrix. Differentiable as
    ``slogdet``'s ``logabsdet``."""
    sign, logabs = _slogdet(input, "logdet")
    return _core.where(sign == -1, math.nan, logabs)


def _broadcast_batch(b, a):
    """Broadcast of batch shapes ``b`` (of B) and ``a`` (of A), with
    PyTorch's ``infer_size`` error."""
    nd = max(len(a), len(b))
    b, a = [1] * (nd - len(b)) + list(b), [1] * (nd - len(a)) + list(a)
    out = []
    for i, (x, y) in enumerate(zip(b, a)):
        if x != y and x != 1 and y != 1:
            raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b ({y}) at "
                               f"non-singleton dimension {i}")
        out.append(y if x == 1 else x)
    return out


def _solve_prepare(A, B, left):
    """PyTorch's checks of ``linalg.solve``; returns ``(A', B', vector)``:
    the system ``A' X' = B'`` (transposed for ``left=False``) with both
    expanded to the common batch shape, and whether B is a vector."""
    fn = "linalg.solve"
    _check_float(A, fn)
    if A.dtype != B.dtype:
        raise RuntimeError(f"{fn}: Expected A and B to have the same dtype, but found A of type "
                           f"{_type_name(A.dtype)} and B of type {_type_name(B.dtype)} instead")
    vector = B.dim() == 1 or (A.dim() - 1 == B.dim() and list(B.shape) == list(A.shape[:-1]))
    B_ = B.unsqueeze(-1) if vector else B
    _check_square(A, fn)
    _check_matrix(B_, fn, "B")
    if (A.shape[-2] != B_.shape[-2]) if left else (A.shape[-1] != B_.shape[-1]):
        raise RuntimeError(f"{fn}: Incompatible shapes of A and B for the equation {'AX = B' if left else 'XA = B'} "
                           f"({A.shape[-2]}x{A.shape[-1]} and {B_.shape[-2]}x{B_.shape[-1]})")
    batch = _broadcast_batch(B_.shape[:-2], A.shape[:-2])
    if not left and vector:
        raise RuntimeError(f"{fn}: Vector broadcasting of the left hand side is not supported for left=False. "
                           "In this case linalg.solve is equivalent to B / A.squeeze(-1)")
    _check_kernel(A, "lu_cpu")
    if not left:
        A, B_ = A.mT, B_.mT
    n = A.shape[-1]
    return A.expand(*batch, n, n), B_.expand(*batch, *B_.shape[-2:]), vector


def _solve_finish(X, left, vector):
    X = X if left else X.mT
    return X.squeeze(-1) if vector else X


@parsed
def solve(A: Tensor, B: Tensor, *, left: bool = True):
    """``X`` with ``A X = B`` (``X A = B`` for ``left=False``): ``A``
    ``(*, n, n)``; ``B`` ``(*, n, k)``, or a vector ``(*, n)`` (when 1-D,
    or shaped ``A.shape[:-1]``); batch dims broadcast. Differentiable
    (twice too): ``gB = A^-T g``, ``gA = -gB X^T``. LinAlgError for a
    singular ``A``; RuntimeError for mismatched shapes/dtypes;
    NotImplementedError for int/bool (or half) ``A``."""
    A_, B_, vector = _solve_prepare(A, B, left)
    X = _guard(lambda: _Solve.apply(A_, B_), A if left else A.mT, _probe_solve)
    return _solve_finish(X, left, vector)


@parsed
def solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False):
    """``(result, info)``: ``solve`` reporting singular matrices in ``info``
    (int32, ``A``'s batch shape) instead of raising (unless
    ``check_errors``); their results are NaN, without gradient."""
    A_, B_, vector = _solve_prepare(A, B, left)
    At = A if left else A.mT

    def solved(a):
        return _Solve.apply(a.expand(A_.shape), B_)

    def finished(X, info):
        return _SolveEx(_solve_finish(X, left, vector), info)

    return _ex(finished, At, _probe_solve, "torch.linalg.solve_ex", check_errors, lambda: solved(At),
               lambda failed: _replace_failed(At, failed, solved), info_probe=_probe_inv)


def _check_cholesky(A):
    _check_square(A, "linalg.cholesky")
    _check_float(A, "linalg.cholesky")
    _check_kernel(A, "cholesky_cpu")


@parsed
def cholesky(A: Tensor, *, upper: bool = False):
    """The Cholesky factor ``L`` (lower, ``A = L L^T``; or ``U = L^T`` with
    ``upper=True``) of symmetric positive-definite matrices, reading the
    lower triangle. Differentiable (PyTorch's ``cholesky_backward``, a
    symmetric gradient). LinAlgError naming the failing leading minor for
    a matrix that is not positive-definite."""
    _check_cholesky(A)
    return _guard(lambda: _Cholesky.apply(A, upper), A, lambda a: _core._linalg_cholesky(a, upper))


@parsed
def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False):
    """``(L, info)``: ``cholesky`` reporting failures in ``info`` (int32, the
    order of the failing leading minor, 0 for success) instead of raising,
    unless ``check_errors``. A failed matrix's factor is NaN here (LAPACK's
    partial factor in PyTorch) and gets no gradient."""
    _check_cholesky(A)
    factor = lambda a: _Cholesky.apply(a, upper)  # noqa: E731
    return _ex(_CholeskyEx, A, lambda a: _core._linalg_cholesky(a, upper), "linalg.cholesky_ex", check_errors,
               lambda: factor(A), lambda failed: _replace_failed(A, failed, factor))


@parsed
def qr(A: Tensor, mode: str = "reduced"):
    """``(Q, R)`` with ``A = Q R`` for ``A`` ``(*, m, n)``, ``k = min(m,
    n)``: ``mode='reduced'``: Q ``(*, m, k)``, R ``(*, k, n)``;
    ``'complete'``: Q ``(*, m, m)``, R ``(*, m, n)``; ``'r'``: R only (Q an
    empty tensor). Signs may differ from LAPACK's. Differentiable
    (``linalg_qr_backward``) except for ``'r'`` and ``'complete'`` with
    ``m > n``, whose backward raises as in PyTorch."""
    _check_matrix(A, "linalg.qr")
    _check_float(A, "linalg.qr")
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), 'r', "
                           "or 'complete'")
    _check_kernel(A, "geqrf_cpu")
    return _QrResult(*_Qr.apply(A, mode))


def _check_svd(A, driver):
    _check_matrix(A, "linalg.svd")
    _check_float(A, "linalg.svd")
    if driver is not None:
        raise RuntimeError("torch.linalg.svd: keyword argument `driver=` is only supported on CUDA inputs with "
                           "cuSOLVER backend.")
    _check_kernel(A, "linalg_svd_cpu")


def _svd(A, full_matrices):
    def nan_check(a):
        if bool((a != a).any()):
            raise RuntimeError("linalg.svd: The algorithm failed to converge because the input matrix contained "
                               "non-finite values.")

    def run():
        nan_check(A)
        return _Svd.apply(A, full_matrices)

    return _guard(run, A, lambda a: (nan_check(a), _core._linalg_svd(a, full_matrices)))


@parsed
def svd(A: Tensor, full_matrices: bool = True, *, driver: str | None = None):
    """``(U, S, Vh)`` with ``A = U diag(S) Vh``, ``S`` descending, for ``A``
    ``(*, m, n)``: U ``(*, m, m)`` and Vh ``(*, n, n)`` (``full_matrices``)
    or ``(*, m, k)``/``(*, k, n)``. Signs of singular vectors may differ
    from LAPACK's. Differentiable (``svd_backward``) for losses invariant to
    those signs. LinAlgError for NaN input (as PyTorch); a matrix with
    infinities gives NaN (LAPACK's results there vary); ``driver`` is
    CUDA-only (an error, as on PyTorch's CPU)."""
    _check_svd(A, driver)
    return _SvdResult(*_svd(A, full_matrices))


@parsed
def svdvals(A: Tensor, *, driver: str | None = None):
    """The singular values of ``A`` ``(*, m, n)``, descending, ``(*, k)``.
    Differentiable: ``U diag(g) Vh``."""
    _check_svd(A, driver)
    return _svd(A, False)[1]


@parsed
def _svd_top(input: Tensor, some: bool = True, compute_uv: bool = True):
    """``torch.svd`` / ``Tensor.svd``: ``(U, S, V)`` (``V``, not ``Vh``),
    reduced unless ``some=False``; with ``compute_uv=False`` U and V are
    zero-filled ``(*, m, m)``/``(*, n, n)``."""
    if input.dim() < 2:
        raise RuntimeError(f"linalg.svd: input should have at least 2 dimensions, but has {input.dim()} "
                           "dimensions instead")
    if compute_uv:
        U, S, Vh = svd(input, full_matrices=not some)
        return _SvdLegacy(U, S, Vh.mT)
    S = svdvals(input)
    m, n, batch = input.shape[-2], input.shape[-1], list(input.shape[:-2])
    return _SvdLegacy(_core.zeros(batch + [m, m], dtype=input.dtype), S,
                      _core.zeros(batch + [n, n], dtype=input.dtype))


def _eigh(A, UPLO):
    _check_square(A, "linalg.eigh")
    if not isinstance(UPLO, str) or len(UPLO) != 1 or UPLO.upper() not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    _check_kernel(A, "linalg_eigh_cpu")
    upper = UPLO.upper() == "U"
    return _guard(lambda: _Eigh.apply(A, upper), A, lambda a: _core._linalg_eigh(a, upper))


@parsed
def eigh(A: Tensor, UPLO: str = "L"):
    """``(eigenvalues, eigenvectors)`` of symmetric matrices ``(*, n, n)``
    (only the ``UPLO`` triangle is read): eigenvalues ascending, unit
    eigenvectors as columns (signs may differ from LAPACK's).
    Differentiable (``linalg_eig_backward``) for losses invariant to the
    eigenvectors' signs, with distinct eigenvalues. Non-finite input gives
    NaN or whatever the core returns, never an error (LAPACK raises for
    some such matrices, not for others)."""
    return _EighResult(*_eigh(A, UPLO))


@parsed
def eigvalsh(A: Tensor, UPLO: str = "L"):
    """The eigenvalues of symmetric matrices, ascending. Differentiable:
    ``V diag(g) V^T``."""
    return _eigh(A, UPLO)[0]


_REMOVED = {
    "cholesky": ("This function was deprecated since version 1.9 and is now removed. `torch.cholesky` is deprecated "
                 "in favor of `torch.linalg.cholesky`.\nL = torch.cholesky(A) should be replaced with:\n"
                 "L = torch.linalg.cholesky(A)\nU = torch.cholesky(A, upper=True) should be replaced with:\n"
                 "U = torch.linalg.cholesky(A).mH"),
    "qr": ("This function was deprecated since version 1.9 and is now removed. `torch.qr` is deprecated in favor of "
           "`torch.linalg.qr` and the boolean parameter `some` has been replaced with a string parameter `mode`.\n\n"
           "Q, R = torch.qr(A) should be replaced with:\nQ, R = torch.linalg.qr(A, mode='reduced')\n\nand\n\n"
           "Q, R = torch.qr(A, some=False) should be replaced with:\nQ, R = torch.linalg.qr(A, mode='complete')\n\n"),
}


def _cholesky_removed(input, upper=False):
    """``torch.cholesky`` / ``Tensor.cholesky``: removed from PyTorch; raises
    its RuntimeError pointing to ``linalg.cholesky``."""
    raise RuntimeError(_REMOVED["cholesky"])


def _qr_removed(input, some=True):
    """``torch.qr`` / ``Tensor.qr``: removed from PyTorch; raises its
    RuntimeError pointing to ``linalg.qr``."""
    raise RuntimeError(_REMOVED["qr"] + ("Since `some` was set to True, use mode='reduced'." if some else
                                         "Since `some` was set to False, use mode='complete'."))


# torch.<name> and Tensor.<name>: set on the package and the Tensor class.
_TOP_LEVEL = {"det": det, "logdet": logdet, "slogdet": _slogdet_top, "inverse": inverse, "svd": _svd_top,
              "cholesky": _cholesky_removed, "qr": _qr_removed}
_package = sys.modules[__name__.rpartition(".")[0]]
for _name, _fn in _TOP_LEVEL.items():
    _fn.__name__ = _fn.__qualname__ = _name
    setattr(_package, _name, _fn)
    setattr(_core.Tensor, _name, _fn)


_core_norm = _core.Tensor.norm


def _norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """``torch.norm`` / ``Tensor.norm(p='fro', dim=None, keepdim=False,
    dtype=None)``: the vector ``p``-norm over ``dim`` (all elements when
    None): 'fro' and None are the 2-norm, 'nuc' the nuclear norm of the
    matrices in the last two dims (or ``dim``), any number as
    ``linalg.vector_norm`` (``inf``/``-inf``, 0 and negative ``p``
    included). Finite ``p > 0`` runs in the core directly. Errors as
    ``linalg.vector_norm``; RuntimeError for another string."""
    if isinstance(p, str) and p == "nuc":
        return matrix_norm(input, "nuc", dim if dim is not None else (-2, -1), keepdim, dtype=dtype)
    fast = p is None or isinstance(p, str) or (type(p) in (int, float) and 0 < p < math.inf)
    if fast and dtype is None:
        return _core_norm(input, p, dim, keepdim)
    return vector_norm(input, 2 if p in (None, "fro") else p, dim, keepdim, dtype=dtype)


_norm.__name__ = _norm.__qualname__ = "norm"
_core.Tensor.norm = _norm
