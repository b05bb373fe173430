"""Matrix and vector products with PyTorch's names and shape checks
(``mm``, ``bmm``, ``mv``, ``dot``, ``vdot``, ``outer``, ``addmm``,
``baddbmm``, ``tensordot``, ``kron``), as ``torch.`` functions and, where
PyTorch has them, Tensor methods. Each checks its operands as PyTorch does
(same error text) and computes through ``matmul`` (``outer`` and ``kron``
through a broadcast ``*``), whose backward rules serve them all."""

from __future__ import annotations

import math

from . import _core
from ._composites import _wrap_dims
from ._arg_parser import Tensor, parsed

_Tensor = _core.Tensor


def _size(t):
    return "x".join(str(s) for s in t.shape)


@parsed
def mm(input: Tensor, mat2: Tensor):
    """``input @ mat2`` for matrices ``[n, m]`` and ``[m, p]`` -> ``[n, p]``.
    RuntimeError for other ranks or mismatched inner sizes."""
    for name, t in (("self", input), ("mat2", mat2)):
        if t.dim() != 2:
            raise RuntimeError(f"{name} must be a matrix" if name == "mat2" else
                               f"mm: self must be a matrix, got {t.dim()}-D tensor")
    if input.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"mm: mat1 and mat2 shapes cannot be multiplied ({_size(input)} and {_size(mat2)})")
    return input.matmul(mat2)


@parsed
def bmm(input: Tensor, mat2: Tensor):
    """Batched ``[b, n, m] @ [b, m, p] -> [b, n, p]`` (no broadcasting)."""
    if input.dim() != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if mat2.dim() != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    b, n, m = input.shape
    if tuple(mat2.shape[:2]) != (b, m):
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{b}, {m}] "
                           f"but got: [{mat2.shape[0]}, {mat2.shape[1]}].")
    return input.matmul(mat2)


@parsed
def mv(input: Tensor, vec: Tensor):
    """Matrix-vector product ``[n, m] @ [m] -> [n]``."""
    if input.dim() != 2 or vec.dim() != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {input.dim()}, {vec.dim()}")
    if input.shape[1] != vec.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({input.shape[0]}), mat ({_size(input)}), vec ({vec.shape[0]})")
    return input.matmul(vec)


@parsed
def dot(input: Tensor, tensor: Tensor):
    """Inner product of two 1-D tensors of the same length (a 0-d tensor)."""
    if input.dim() != 1 or tensor.dim() != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.dim()}D and {tensor.dim()}D tensors")
    if input.shape[0] != tensor.shape[0]:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{input.shape[0]}] and src [{tensor.shape[0]}] "
                           f"to have the same number of elements, but got {input.shape[0]} and {tensor.shape[0]} "
                           "elements respectively")
    return input.matmul(tensor)


@parsed
def outer(input: Tensor, vec2: Tensor):
    """Outer product of 1-D tensors ``[n]`` and ``[m]`` -> ``[n, m]``."""
    for name, t in (("self", input), ("vec2", vec2)):
        if t.dim() != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t.dim()}-D")
    return input.unsqueeze(1) * vec2.unsqueeze(0)


@parsed
def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: float = 1, alpha: float = 1):
    """``beta * input + alpha * (mat1 @ mat2)``, ``input`` broadcast to the
    product's shape."""
    return _scaled_sum(input, mm(mat1, mat2), beta, alpha)


@parsed
def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: float = 1, alpha: float = 1):
    """``beta * input + alpha * bmm(batch1, batch2)``."""
    return _scaled_sum(input, bmm(batch1, batch2), beta, alpha)


def _scaled_sum(input, product, beta, alpha):
    product = product if alpha == 1 else product * alpha
    if beta == 0:
        # PyTorch ignores input's values (even NaN) when beta is 0, and gives
        # it a zero gradient: masked_fill keeps it in the graph as zeros.
        return product + input.masked_fill(_core.tensor(True), 0)
    return (input if beta == 1 else input * beta) + product


@parsed
def vdot(input: Tensor, other: Tensor):
    """``sum(conj(input) * other)`` of 1-D tensors of the same length and
    dtype; rustgrad has no complex numbers, so this is ``dot`` (with its
    errors, whose text PyTorch shares)."""
    return dot(input, other)


@parsed
def tensordot(a: Tensor, b: Tensor, dims=2):
    """Sums the products of ``a`` and ``b`` over the dims ``dims[0]`` of
    ``a`` paired with ``dims[1]`` of ``b`` (two lists of dims, or an int
    ``d``: the last ``d`` dims of ``a`` with the first ``d`` of ``b``; a
    tensor of either form is read the same way). The result has ``a``'s
    other dims, then ``b``'s. A paired dim of size 1 on one side is summed
    out first, as PyTorch does. Same dtypes only. RuntimeError for a
    negative ``d``, lists of different lengths, a repeated dim or
    mismatched sizes; IndexError for a dim out of range. Source: ATen's
    ``tensordot`` (permute both, reshape to matrices, one ``matmul``)."""
    if isinstance(dims, _Tensor):
        dims = dims.tolist() if dims.numel() > 1 else int(dims.item())
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > min(a.dim(), b.dim()):
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        dims = (list(range(-dims, 0)), list(range(dims)))
    elif not isinstance(dims, (list, tuple)):
        raise RuntimeError("tensordot expects dims to be int or tuple[list[int], list[int]] or list[list[int]] "
                           f"containing two lists, but got dims={dims}")
    dims_a, dims_b = dims
    for position, (name, d) in enumerate((("dims_self", dims_a), ("dims_other", dims_b)), 3):
        if not isinstance(d, (list, tuple)):
            raise TypeError(f"tensordot(): argument '{name}' (position {position}) must be tuple of ints, "
                            f"not {type(d).__name__}")
    if len(dims_a) != len(dims_b):
        raise RuntimeError("both dimension lists should have same length")
    if a.dtype != b.dtype:
        raise RuntimeError("both inputs should have same dtype")
    da, db = _wrap_dims(dims_a, a.dim()), _wrap_dims(dims_b, b.dim())
    for i, (x, y) in enumerate(zip(da, db)):
        if b.shape[y] == 1:
            a = a.sum(x, keepdim=True)
        elif a.shape[x] == 1:
            b = b.sum(y, keepdim=True)
        elif a.shape[x] != b.shape[y]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {a.shape[x]} in dim "
                               f"{dims_a[i]} and second has size {b.shape[y]} in dim {dims_b[i]}")
    free_a = [d for d in range(a.dim()) if d not in da]
    free_b = [d for d in range(b.dim()) if d not in db]
    size = lambda t, ds: math.prod(t.shape[d] for d in ds)  # noqa: E731
    left = a.permute([*free_a, *da]).reshape(size(a, free_a), size(a, da))
    right = b.permute([*db, *free_b]).reshape(size(b, db), size(b, free_b))
    return left.matmul(right).reshape([a.shape[d] for d in free_a] + [b.shape[d] for d in free_b])


@parsed
def kron(input: Tensor, other: Tensor):
    """The Kronecker product: for operands padded with leading size-1 dims
    to the same ndim, ``out[i*s + j] = input[i] * other[j]`` in each dim,
    ``s`` being ``other``'s size there, so dim ``k`` has size
    ``input.shape[k] * other.shape[k]``. Any ndim (0-d included), dtypes
    promoted as ``*`` does. Source: ATen's ``kron`` (the operands
    interleaved as ``[a0, 1, a1, 1, ...]`` and ``[1, b0, 1, b1, ...]``,
    multiplied with broadcasting, reshaped)."""
    nd = max(input.dim(), other.dim())
    sa = [1] * (nd - input.dim()) + list(input.shape)
    sb = [1] * (nd - other.dim()) + list(other.shape)
    a = input.reshape([s for d in sa for s in (d, 1)])
    b = other.reshape([s for d in sb for s in (1, d)])
    return (a * b).reshape([x * y for x, y in zip(sa, sb)])


_FUNCTIONS = {"mm": mm, "bmm": bmm, "mv": mv, "dot": dot, "outer": outer, "addmm": addmm, "baddbmm": baddbmm,
              "vdot": vdot, "kron": kron}
for _name, _f in _FUNCTIONS.items():
    setattr(_Tensor, _name, _f)

__all__ = list(_FUNCTIONS) + ["tensordot"]  # PyTorch has no Tensor.tensordot
