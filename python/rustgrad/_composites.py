"""Operators that are compositions of others (as they are in PyTorch's own
Python layer): joining, grids, broadcasting helpers, NaN tests and
replacement, interpolation and fused multiply-adds. Each is differentiable
through the ops it is written with, and available as a ``torch.`` function
and, where PyTorch has one, a Tensor method."""

import math

from . import _core
from .autograd.function import Function

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


def _with_mean(statistic, input, dim, unbiased, keepdim, correction):
    if isinstance(dim, bool):  # PyTorch's overload ``(input, unbiased)``
        dim, unbiased = None, dim
    return (getattr(input, statistic)(dim, unbiased, keepdim, correction=correction),
            input.mean(dim, keepdim=keepdim))


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(var, mean)`` over ``dim`` (all elements when None), with Bessel's
    ``correction`` (1 by default; ``unbiased=False`` is 0), as PyTorch's
    overloads ``(input, dim, *, correction, keepdim)``, ``(input, dim,
    unbiased, keepdim)`` and ``(input, unbiased)``."""
    return _with_mean("var", input, dim, unbiased, keepdim, correction)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(std, mean)`` over ``dim``, with the arguments of ``var_mean``."""
    return _with_mean("std", input, dim, unbiased, keepdim, correction)


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


_TYPE_NAMES = {"float16": "Half", "bfloat16": "BFloat16", "float32": "Float", "float64": "Double", "uint8": "Byte",
               "int8": "Char", "int16": "Short", "int32": "Int", "int64": "Long", "bool": "Bool"}


def _type_name(dtype):
    """PyTorch's C++ name of a dtype ("Float", "Long"), as its messages print it."""
    return _TYPE_NAMES[str(dtype).replace("torch.", "")]


def _wrap_dim(dim, ndim):
    """``dim`` in ``[0, ndim)``; IndexError with PyTorch's text when out of
    range (a 0-d tensor takes dims -1 and 0, as in PyTorch)."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim % n


def _wrap_dims(dims, ndim):
    """A list of wrapped dims; RuntimeError if one appears twice."""
    out = [_wrap_dim(d, ndim) for d in dims]
    for i, d in enumerate(out):
        if d in out[:i]:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    return out


def _no_scalar_dim(input, dim):
    """The check PyTorch makes where a dim must name a real dimension."""
    if input.dim() == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    return _wrap_dim(dim, input.dim())


class _WithoutDerivative(Function):
    """``values``, computed from ``input`` outside autograd, put in the graph
    as a function of ``input`` the way PyTorch's ops without a derivative
    are: the result requires grad when ``input`` does, and its backward
    sends no gradient (``op`` None) or raises NotImplementedError naming
    ``op``."""

    @staticmethod
    def forward(ctx, input, values, op=None):
        ctx.op = op
        return values

    @staticmethod
    def backward(ctx, grad):
        if ctx.op is not None:
            raise NotImplementedError(f"the derivative for '{ctx.op}' is not implemented.")
        return None, None, None


def take_along_dim(input, indices, dim=None):
    """Picks the values at ``indices`` along ``dim``, as NumPy's
    ``take_along_axis``: ``input`` and ``indices`` (int64, same ndim)
    broadcast against each other in every dim but ``dim``, and the result
    has ``indices``' size along ``dim``. With ``dim=None`` both are
    flattened (a 1-D result of ``indices.numel()`` values; a non-contiguous
    ``input`` too, where PyTorch's ``view`` raises). RuntimeError for
    non-int64 indices, different ndims, shapes that do not broadcast or an
    index out of range; IndexError for a bad ``dim``. Differentiable w.r.t.
    ``input`` (through ``gather``). Source: ATen's ``take_along_dim``."""
    if indices.dtype != _core.int64:
        raise RuntimeError("torch.take_along_dim(): dtype of indices should be Long but got "
                           f"{_type_name(indices.dtype)}")
    if dim is None:
        return input.reshape(-1).gather(0, indices.reshape(-1))
    if input.dim() != indices.dim():
        raise RuntimeError("torch.take_along_dim(): input and indices should have the same number of dimensions, "
                           f"but got {input.dim()} dimensions for input, and {indices.dim()} dimensions for indices")
    dim = _no_scalar_dim(input, dim)
    shape = []
    for i, (a, b) in enumerate(zip(input.shape, indices.shape)):
        if a != b and 1 not in (a, b) and i != dim:
            raise RuntimeError(f"The size of tensor a ({a}) must match the size of tensor b ({b}) at "
                               f"non-singleton dimension {i}")
        shape.append(b if a == 1 else a)
    size_along = lambda t: shape[:dim] + [t.shape[dim]] + shape[dim + 1:]  # noqa: E731
    return input.expand(*size_along(input)).gather(dim, indices.expand(*size_along(indices)))


def _runs(rows, order, return_inverse, return_counts):
    """The runs of equal rows of the 2-D ``rows`` (equal rows adjacent):
    ``(first row of each run, run number of each row, run lengths)``.
    ``order`` is the original position of each row when ``rows`` was
    sorted (the run numbers are scattered back to those positions), None
    when not. NaN equals nothing, so each NaN is a run of its own."""
    n = rows.shape[0]
    new = _core.ones(min(n, 1), dtype=_core.bool)
    if n > 1:
        new = _core.cat([new, (rows[1:] != rows[:-1]).any(1)])
    starts = new.nonzero().reshape(-1)
    inverse = counts = None
    if return_inverse:
        inverse = new.cumsum(0) - 1
        if order is not None:
            inverse = _core.zeros(n, dtype=_core.int64).index_copy(0, order, inverse)
    if return_counts:
        bounds = _core.cat([starts, _core.tensor([n])])
        counts = bounds[1:] - bounds[:-1]
    return rows.index_select(0, starts), inverse, counts


def _unique_impl(input, sort, return_inverse, return_counts, dim):
    """``unique`` (``sort=True``) and ``unique_consecutive``: the input as
    rows (one element each for ``dim=None``, else the slices along
    ``dim``), optionally sorted lexicographically, then split into runs."""
    source, input = input, input.detach()
    if dim is None:
        rows, order = input.reshape(-1, 1), None
        if sort:
            values, order = rows.reshape(-1).sort(stable=True)
            rows = values.reshape(-1, 1)
        values, inverse, counts = _runs(rows, order, return_inverse, return_counts)
        values = values.reshape(-1)
        if return_inverse:
            inverse = inverse.reshape(*input.shape)
    else:
        dim = _no_scalar_dim(input, dim)
        moved = input.movedim(dim, 0)
        n, rest = moved.shape[0], list(moved.shape[1:])
        if n and 0 in rest:
            raise RuntimeError("There are 0 sized dimensions, and they aren't selected, so unique cannot be applied")
        rows, order = moved.reshape(n, math.prod(rest)), None
        if sort and n > 1:  # lexicographic: stable sorts by each column, the last first
            order = _core.arange(n)
            for c in reversed(range(rows.shape[1])):
                order = order.index_select(0, rows.select(1, c).index_select(0, order).argsort(stable=True))
            rows = rows.index_select(0, order)
        values, inverse, counts = _runs(rows, order, return_inverse, return_counts)
        values = values.reshape(values.shape[0], *rest).movedim(0, dim)
    if source.requires_grad:
        op = "unique_consecutive" if not sort else "_unique2" if dim is None else "unique_dim"
        values = _WithoutDerivative.apply(source, values, op)
    extra = tuple(t for t, wanted in ((inverse, return_inverse), (counts, return_counts)) if wanted)
    return (values,) + extra if extra else values


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct elements of ``input`` in ascending order (flattened for
    ``dim=None``; with ``dim``, the distinct slices along it, in
    lexicographic order), plus, if asked, ``inverse`` (int64, the position
    in the result of each element: ``input.shape``, or ``[input.size(dim)]``)
    and ``counts`` (int64, occurrences of each). Returns the tensor alone, or
    a tuple when ``return_inverse``/``return_counts``. Any dtype; NaNs are
    each distinct. The result is always sorted (PyTorch's CPU result is too,
    whatever ``sorted`` says); it requires grad with ``input``, as in
    PyTorch, but has no derivative (backward raises NotImplementedError).
    IndexError for a bad
    ``dim``; RuntimeError when another dim is empty. Source: NumPy's
    ``unique`` (sort, then mark where a value differs from its predecessor)."""
    return _unique_impl(input, True, return_inverse, return_counts, dim)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """Like ``unique`` but collapsing only runs of equal adjacent elements
    (or slices along ``dim``), keeping their order, as C++'s
    ``std::unique``."""
    return _unique_impl(input, False, return_inverse, return_counts, dim)


def empty_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None):
    """An uninitialised (here: zero-filled) contiguous tensor of
    ``input``'s shape, and its dtype unless ``dtype`` is given."""
    return _core.empty(tuple(input.shape), dtype=dtype or input.dtype, device=device, requires_grad=requires_grad)


def logspace(start, end, steps, base=10.0, *, dtype=None, layout=None, device=None, requires_grad=False):
    """``steps`` values ``base ** e`` for exponents evenly spaced from
    ``start`` to ``end`` (1-D, float32 by default). Computed as ATen's CPU
    kernel does: float64 exponents and powers, the first half stepped from
    ``start``, the second from ``end`` (so both ends are exact), with
    ``start``/``end`` and their difference first rounded to the result
    dtype (for int64: truncated, as are the powers). One step gives
    ``base ** start``. RuntimeError for negative ``steps``."""
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    dtype = dtype or _core.float32
    first, last = _core.tensor(start, dtype=dtype), _core.tensor(end, dtype=dtype)
    start, end, span = (v.item() for v in (first, last, last - first))
    i = _core.arange(steps, dtype=_core.float64)
    step = span / (steps - 1) if steps > 1 else 0.0
    half = steps // 2 if steps > 1 else 1  # one step: ``base ** start``
    exponents = _core.where(i < half, start + step * i, end - step * (steps - 1 - i))
    out = (float(base) ** exponents).to(dtype)
    return out.requires_grad_(requires_grad)


_METHODS = ("take_along_dim", "unique", "unique_consecutive", "tril", "triu", "diagonal", "diag", "roll", "repeat_interleave", "nansum", "broadcast_to", "view_as", "unflatten", "tile", "repeat", "isnan", "isinf", "isfinite",
            "nan_to_num", "lerp", "addcmul", "addcdiv", "hypot")
for _name in _METHODS:
    setattr(_Tensor, _name, globals()[_name])


def _bitwise(name, symbol, reflected=False):
    method = getattr(_Tensor, name)

    def operator(self, other):
        if reflected:
            return method(_core.tensor(other), self) if not isinstance(other, _Tensor) else method(other, self)
        return method(self, other)

    operator.__doc__ = f"``{symbol}``: ``{name}`` (bitwise on integers, logical on bools)."
    return operator


_Tensor.__and__, _Tensor.__rand__ = _bitwise("bitwise_and", "&"), _bitwise("bitwise_and", "&", True)
_Tensor.__or__, _Tensor.__ror__ = _bitwise("bitwise_or", "|"), _bitwise("bitwise_or", "|", True)
_Tensor.__xor__, _Tensor.__rxor__ = _bitwise("bitwise_xor", "^"), _bitwise("bitwise_xor", "^", True)


def _invert(self):
    """``~``: ``bitwise_not``; TypeError for floats, as PyTorch's operator."""
    if self.is_floating_point():
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")
    return self.bitwise_not()


_Tensor.__invert__ = _invert

__all__ = ["hstack", "vstack", "row_stack", "meshgrid", "var_mean", "std_mean", "empty_like", "logspace"] + list(_METHODS)
