"""``torch.linalg``: norms of vectors and matrices, with PyTorch's argument
names, dispatch and error text, differentiable through the ops they are
composed of. The decompositions (``svd``, ``qr``, ``eigh``, ...) and the
solvers are still to come, and with ``svd`` the matrix norms that need
singular values (``ord='nuc'``, ``2``, ``-2``)."""

import math

from . import _core
from ._composites import _WithoutDerivative, _type_name, _wrap_dim, _wrap_dims
from ._dtypes import promote_types

__all__ = ["vector_norm", "matrix_norm", "norm"]


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


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
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
    if isinstance(ord, (str, bool)) or not isinstance(ord, (int, float)):
        raise TypeError(f"linalg_vector_norm(): argument 'ord' (position 2) must be Number, not {type(ord).__name__}")
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
        return x.abs().amax(dims, keepdim) if ord > 0 else x.abs().amin(dims, keepdim)
    if ord > 0:
        return x.norm(ord, dims, keepdim)
    # ord < 0: a zero element makes the norm 0, and PyTorch's gradient 0 for
    # the whole vector; those vectors are computed on ones and their norm
    # replaced, so that neither pass meets 0 ** ord.
    zero = (x == 0).any(dims, keepdim=True)
    out = (_core.where(zero, 1.0, x).abs() ** ord).sum(dims, keepdim=True) ** (1.0 / ord)
    out = _core.where(zero, 0.0, out)
    return out if keepdim else out.reshape([s for d, s in enumerate(out.shape) if d not in dims])


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """The matrix norm of the matrices in dims ``dim`` (a pair) of ``A``
    (``[..., m, n]`` by default), the other dims a batch: ``'fro'``, the
    square root of the sum of squares; ``1``/``-1``: the max/min over
    columns of the column's absolute sum; ``inf``/``-inf``: the same over
    rows. ``'nuc'``, ``2`` and ``-2`` need singular values: they raise
    NotImplementedError until ``linalg.svd`` exists. Float input; ``dtype``
    as in ``vector_norm``; the gradients are those of the ops composed
    (``vector_norm``, ``amax``/``amin``).

    Errors (RuntimeError unless said): fewer than 2 dims; ``dim`` not two
    different dims (IndexError when out of range); an unknown ``ord``;
    NotImplementedError for int/bool input. Source: PyTorch's
    ``torch/_refs/linalg`` ``matrix_norm``."""
    if A.dim() < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    dim = [_wrap_dim(d, A.dim()) for d in ([dim] if isinstance(dim, int) else dim)]
    if len(dim) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(map(str, dim))}")
    if dim[0] == dim[1]:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dim[0]}, {dim[1]})")
    _check_dtype(A, dtype, "linalg.matrix_norm")
    if ord not in ("fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf) or isinstance(ord, bool):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    _check_input(A, "linalg.matrix_norm")
    if ord == "fro":
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if ord in ("nuc", 2, -2):
        raise NotImplementedError(f"linalg.matrix_norm: ord={ord!r} needs the singular values (linalg.svd), "
                                  "which rustgrad does not have yet")
    d0, d1 = dim if abs(ord) == 1 else dim[::-1]  # 1: sums down columns; inf: along rows
    if not keepdim and d0 < d1:
        d1 -= 1
    sums = vector_norm(A, 1, d0, keepdim, dtype=dtype)
    if sums.shape[d1] == 0 and ord > 0:  # the max of nothing is 0 for a norm
        shape = list(sums.shape)
        shape[d1:d1 + 1] = [1] if keepdim else []
        return _core.zeros(shape, dtype=sums.dtype)
    return sums.amax(d1, keepdim) if ord > 0 else sums.amin(d1, keepdim)


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
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
