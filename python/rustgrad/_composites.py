"""Operators that are compositions of others (as they are in PyTorch's own
Python layer): joining, grids, broadcasting helpers, NaN tests and
replacement, interpolation and fused multiply-adds. Each is differentiable
through the ops it is written with, and available as a ``torch.`` function
and, where PyTorch has one, a Tensor method."""

import math

from . import _core

_Tensor = _core.Tensor


def hstack(tensors):
    """Joins along dim 1 (dim 0 for 1-D tensors)."""
    tensors = [t if t.dim() > 0 else t.reshape(1) for t in tensors]
    return _core.cat(tensors, 0 if tensors[0].dim() == 1 else 1)


def vstack(tensors):
    """Joins along dim 0, 1-D tensors as rows."""
    return _core.cat([t.reshape(1, -1) if t.dim() < 2 else t for t in tensors], 0)


row_stack = vstack


def meshgrid(*tensors, indexing=None):
    """Coordinate grids from 1-D tensors; ``indexing='ij'`` (PyTorch's
    default) or ``'xy'`` (the first two dims swapped)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    indexing = indexing or "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but received: {indexing}")
    swap = indexing == "xy" and len(tensors) >= 2
    ts = list(tensors)
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    shape = [t.numel() for t in ts]
    grids = []
    for i, t in enumerate(ts):
        view = [1] * len(ts)
        view[i] = -1
        grids.append(t.reshape(*view).expand(*shape))
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def broadcast_to(input, size):
    """``input.expand(size)``."""
    return input.expand(*size)


def view_as(input, other):
    """``input.view(other.shape)``."""
    return input.view(*other.shape)


def unflatten(input, dim, sizes):
    """Dim ``dim`` split into ``sizes`` (one entry may be -1)."""
    shape = list(input.shape)
    dim = dim % max(input.dim(), 1)
    return input.reshape(*(shape[:dim] + list(sizes) + shape[dim + 1:]))


def tile(input, dims):
    """Repeats ``input`` ``dims[i]`` times along each dim (dims padded with
    leading ones), by expanding a view and copying."""
    dims = list(dims)
    nd = max(len(dims), input.dim())
    dims = [1] * (nd - len(dims)) + dims
    x = input.reshape(*([1] * (nd - input.dim()) + list(input.shape)))
    expanded_shape, view = [], []
    for r, s in zip(dims, x.shape):
        expanded_shape += [r, s]
        view += [1, s]
    out = x.reshape(*view).expand(*expanded_shape)
    return out.reshape(*[r * s for r, s in zip(dims, x.shape)])


def repeat(input, *sizes):
    """``Tensor.repeat(*sizes)``: the same as ``tile`` with every size given."""
    if len(sizes) == 1 and isinstance(sizes[0], (list, tuple)):
        sizes = tuple(sizes[0])
    if len(sizes) < input.dim():
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor")
    return tile(input, sizes)


def isnan(input):
    """Bool, where the element is NaN."""
    return input != input


def isinf(input):
    """Bool, where the element is +-inf."""
    return input.abs() == math.inf


def isfinite(input):
    """Bool, where the element is neither NaN nor +-inf."""
    return (input == input) & (input.abs() != math.inf) if input.is_floating_point() else _core.ones_like(input, dtype=_core.bool)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """NaN -> ``nan``, +inf -> ``posinf``, -inf -> ``neginf`` (the dtype's
    largest / lowest finite values by default, as in NumPy and PyTorch)."""
    big = 3.4028234663852886e38 if input.dtype == _core.float32 else 1.7976931348623157e308
    out = _core.where(input != input, nan, input)
    out = _core.where(out == math.inf, big if posinf is None else posinf, out)
    return _core.where(out == -math.inf, -big if neginf is None else neginf, out)


def lerp(input, end, weight):
    """``input + weight * (end - input)``."""
    return input + weight * (end - input)


def addcmul(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 * tensor2``."""
    return input + value * tensor1 * tensor2


def addcdiv(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 / tensor2``."""
    return input + value * tensor1 / tensor2


def hypot(input, other):
    """``sqrt(input^2 + other^2)``."""
    return (input * input + other * other).sqrt()


def var_mean(input, dim=None, *, correction=1, keepdim=False):
    """``(var, mean)`` over ``dim``, with Bessel's ``correction``."""
    return input.var(dim, keepdim=keepdim, correction=correction), input.mean(dim, keepdim=keepdim)


def std_mean(input, dim=None, *, correction=1, keepdim=False):
    """``(std, mean)`` over ``dim``."""
    return input.std(dim, keepdim=keepdim, correction=correction), input.mean(dim, keepdim=keepdim)


def _band(input, diagonal, lower):
    if input.dim() < 2:
        raise RuntimeError(f"{'tril' if lower else 'triu'}: input tensor must have at least 2 dimensions")
    rows, cols = input.shape[-2], input.shape[-1]
    offset = _core.arange(cols).unsqueeze(0) - _core.arange(rows).unsqueeze(1)
    keep = offset <= diagonal if lower else offset >= diagonal
    return _core.where(keep, input, _core.zeros((), dtype=input.dtype))


def tril(input, diagonal=0):
    """The lower triangle of the last two dims (from ``diagonal`` down); the
    rest zero."""
    return _band(input, diagonal, True)


def triu(input, diagonal=0):
    """The upper triangle of the last two dims (from ``diagonal`` up)."""
    return _band(input, diagonal, False)


def _diagonal_positions(rows, cols, offset):
    r0, c0 = (0, offset) if offset >= 0 else (-offset, 0)
    n = max(0, min(rows - r0, cols - c0))
    return [(r0 + i) * cols + c0 + i for i in range(n)]


def diagonal(input, offset=0, dim1=0, dim2=1):
    """The diagonal ``offset`` of the matrices in dims ``dim1``, ``dim2``,
    as the last dim."""
    nd = input.dim()
    d1, d2 = dim1 % nd, dim2 % nd
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    rest = [d for d in range(nd) if d not in (d1, d2)]
    moved = input.permute(*rest, d1, d2)
    rows, cols = moved.shape[-2], moved.shape[-1]
    flat = moved.reshape(*moved.shape[:-2], rows * cols)
    return flat.index_select(flat.dim() - 1, _core.tensor(_diagonal_positions(rows, cols, offset), dtype=_core.int64))


def diag(input, diagonal=0):
    """1-D input: the square matrix with it on diagonal ``diagonal``; 2-D
    input: that diagonal."""
    if input.dim() == 2:
        return globals()["diagonal"](input, diagonal)
    if input.dim() != 1:
        raise RuntimeError("diag(): Supports 1D or 2D tensors. Got " + f"{input.dim()}D")
    size = input.shape[0] + abs(diagonal)
    flat = _core.zeros(size * size, dtype=input.dtype)
    positions = _core.tensor(_diagonal_positions(size, size, diagonal), dtype=_core.int64)
    return flat.index_copy(0, positions, input).reshape(size, size)


def roll(input, shifts, dims=None):
    """Elements shifted by ``shifts`` along ``dims`` (over the flattened
    tensor when ``dims`` is None), wrapping around."""
    if dims is None:
        return roll(input.flatten(), shifts, 0).reshape(*input.shape)
    shifts = [shifts] if isinstance(shifts, int) else list(shifts)
    dims = [dims] if isinstance(dims, int) else list(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    out = input
    for shift, dim in zip(shifts, dims):
        n = out.shape[dim]
        if n == 0:
            continue
        k = shift % n
        if k:
            out = _core.cat([out.narrow(dim, n - k, k), out.narrow(dim, 0, n - k)], dim)
    return out


def repeat_interleave(input, repeats, dim=None):
    """Each element (or slice along ``dim``) repeated ``repeats`` times
    (an int, or a tensor of one count per element)."""
    if dim is None:
        input, dim = input.flatten(), 0
    n = input.shape[dim]
    counts = [int(repeats)] * n if not isinstance(repeats, _Tensor) or repeats.dim() == 0 else repeats.tolist()
    if len(counts) != n:
        raise RuntimeError("repeats must have the same size as input along dim")
    index = [i for i, c in enumerate(counts) for _ in range(c)]
    return input.index_select(dim, _core.tensor(index, dtype=_core.int64))


def nansum(input, dim=None, keepdim=False):
    """``sum`` with NaN counted as zero."""
    return _core.where(input != input, 0.0, input).sum(dim, keepdim)


_METHODS = ("tril", "triu", "diagonal", "diag", "roll", "repeat_interleave", "nansum", "broadcast_to", "view_as", "unflatten", "tile", "repeat", "isnan", "isinf", "isfinite",
            "nan_to_num", "lerp", "addcmul", "addcdiv", "hypot")
for _name in _METHODS:
    setattr(_Tensor, _name, globals()[_name])


def _logical(name, symbol):
    method = getattr(_Tensor, name)

    def operator(self, other):
        return method(self, other if isinstance(other, _Tensor) else _core.tensor(other))

    operator.__doc__ = f"``{symbol}``: ``{name}`` (a bool tensor)."
    return operator


def _invert(self):
    """``~``: logical not of a bool tensor."""
    if self.dtype != _core.bool:
        raise TypeError("~ (bitwise not) is only supported on bool tensors here")
    return self.logical_not()


_Tensor.__and__ = _Tensor.__rand__ = _logical("logical_and", "&")
_Tensor.__or__ = _Tensor.__ror__ = _logical("logical_or", "|")
_Tensor.__xor__ = _Tensor.__rxor__ = _logical("logical_xor", "^")
_Tensor.__invert__ = _invert

__all__ = ["hstack", "vstack", "row_stack", "meshgrid", "var_mean", "std_mean"] + list(_METHODS)
