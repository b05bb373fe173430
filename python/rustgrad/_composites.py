"""Operators that are compositions of others (as they are in PyTorch's own
Python layer): joining, grids, broadcasting helpers, NaN tests and
replacement, interpolation and fused multiply-adds. Each is differentiable
through the ops it is written with, and available as a ``torch.`` function
and, where PyTorch has one, a Tensor method."""

from __future__ import annotations

import math
import operator

import numpy as np

from . import _core
from ._dtypes import result_type as _result_type
from ._errors import allocation_as_runtime_error
from .autograd.function import Function
from .grad_mode import no_grad as _no_grad
from ._arg_parser import Sequence, Tensor, dtype, parsed

_Tensor = _core.Tensor


@parsed
def hstack(tensors: Sequence[Tensor]):
    """Joins along dim 1 (dim 0 for 1-D tensors)."""
    tensors = [t if t.dim() > 0 else t.reshape(1) for t in tensors]
    return _core.cat(tensors, 0 if tensors[0].dim() == 1 else 1)


@parsed
def vstack(tensors: Sequence[Tensor]):
    """Joins along dim 0, 1-D tensors as rows."""
    return _core.cat([t.reshape(1, -1) if t.dim() < 2 else t for t in tensors], 0)


row_stack = vstack


@parsed
def meshgrid(*tensors: Tensor | Sequence[Tensor], indexing: str | None = None):
    """Coordinate grids from 1-D tensors; ``indexing='ij'`` (PyTorch's
    default) or ``'xy'`` (the first two dims swapped)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    for t in tensors:
        if t.dim() > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t}")
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
        grids.append(t.reshape(view).expand(shape))
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


@parsed
def broadcast_to(input: Tensor, size: Sequence[int]):
    """``input.expand(size)``."""
    return input.expand(size)


@parsed
def view_as(input: Tensor, other: Tensor):
    """``input.view(other.shape)``."""
    return input.view(other.shape)


@parsed
def unflatten(input: Tensor, dim: int, sizes: Sequence[int]):
    """Dim ``dim`` split into ``sizes`` (one entry may be -1), as a view
    where the strides allow. IndexError for a dim out of range; RuntimeError
    for empty ``sizes``, sizes that do not multiply up to the dim's size, a
    0-d input, or more than one -1."""
    if input.dim() == 0:
        _wrap_dim(dim, 0)
        raise RuntimeError(f"unflatten got an unexpected error:\nDimension specified as {dim} but tensor has no "
                           "dimensions")
    dim = _wrap_dim(dim, input.dim())
    sizes = list(sizes)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    if sizes.count(-1) > 1:
        raise RuntimeError("unflatten got an unexpected error:\nonly one dimension can be inferred")
    shape = list(input.shape)
    known = math.prod(s for s in sizes if s != -1)
    if (-1 not in sizes and known != shape[dim]) or (-1 in sizes and (known == 0 or shape[dim] % known)):
        raise RuntimeError(f"unflatten: Provided sizes {sizes} don't multiply up to the size of dim {dim} "
                           f"({shape[dim]}) in the input tensor")
    return input.reshape(shape[:dim] + sizes + shape[dim + 1:])


@parsed
def tile(input: Tensor, dims: Sequence[int]):
    """Repeats ``input`` ``dims[i]`` times along each dim (dims padded with
    leading ones), by expanding a view and copying."""
    dims = list(dims)
    nd = max(len(dims), input.dim())
    dims = [1] * (nd - len(dims)) + dims
    x = input.reshape([1] * (nd - input.dim()) + list(input.shape))
    expanded_shape, view = [], []
    for r, s in zip(dims, x.shape):
        expanded_shape += [r, s]
        view += [1, s]
    # contiguous(): the result owns its memory, as PyTorch's; reshaping the
    # expanded view alone could keep its stride-0 dims (a write to one
    # repeat would then show in all of them).
    out = x.reshape(view).expand(expanded_shape).contiguous()
    return out.reshape([r * s for r, s in zip(dims, x.shape)])


@parsed
def repeat(input: Tensor, *sizes: int | Sequence[int]):
    """``Tensor.repeat(*sizes)``: the same as ``tile`` with every size given.
    TypeError without sizes; RuntimeError for fewer sizes than dims."""
    if not sizes:
        raise TypeError('repeat() missing 1 required positional arguments: "repeats"')
    if len(sizes) == 1 and isinstance(sizes[0], (list, tuple)):
        sizes = tuple(sizes[0])
    if len(sizes) < input.dim():
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor")
    if any(s < 0 for s in sizes):
        shape = [1] * (len(sizes) - input.dim()) + list(input.shape)
        out = [n * s for n, s in zip(shape, sizes)]
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(out)}: {out}")
    return tile(input, sizes)


@parsed
def isnan(input: Tensor):
    """Bool, where the element is NaN."""
    return input != input


@parsed
def isinf(input: Tensor):
    """Bool, where the element is +-inf (never, for integers and bools)."""
    if not input.is_floating_point():
        return _core.zeros(tuple(input.shape), dtype=_core.bool)
    return input.abs() == math.inf


@parsed
def isfinite(input: Tensor):
    """Bool, where the element is neither NaN nor +-inf."""
    return (input == input) & (input.abs() != math.inf) if input.is_floating_point() else _core.ones_like(input, dtype=_core.bool)


_FLOAT_MAX = {"torch.float16": 65504.0, "torch.bfloat16": 3.3895313892515355e38,
              "torch.float32": 3.4028234663852886e38, "torch.float64": 1.7976931348623157e308}


@parsed
def nan_to_num(input: Tensor, nan: float | None = 0.0, posinf: float | None = None, neginf: float | None = None):
    """NaN -> ``nan`` (0 by default), +inf -> ``posinf``, -inf -> ``neginf``
    (the dtype's largest / lowest finite values by default, as in NumPy and
    PyTorch; a replacement out of the dtype's range becomes +-inf). Same
    shape and dtype as ``input``; an integer or bool tensor has nothing to
    replace and comes back as a copy. Differentiable: the gradient is zero
    where an element was replaced."""
    if not input.is_floating_point():
        return input.clone()
    big = _FLOAT_MAX[str(input.dtype)]
    out = _core.where(input == -math.inf, -big if neginf is None else neginf, input)
    out = _core.where(input == math.inf, big if posinf is None else posinf, out)
    return _core.where(input != input, 0.0 if nan is None else nan, out)


_REDUCED = ("torch.float16", "torch.bfloat16")
_CTYPE_NAMES = {"float16": "c10::Half", "bfloat16": "c10::BFloat16", "float32": "float", "float64": "double",
                "uint8": "unsigned char", "int8": "signed char", "int16": "short int", "int32": "int",
                "int64": "long int", "bool": "bool"}


def _ctype_name(dtype):
    """The C++ name of a dtype, as some of PyTorch's messages print it ("float", "long int")."""
    return _CTYPE_NAMES[str(dtype).replace("torch.", "")]


def _sum_to(grad, shape):
    """``grad`` summed over the dims a tensor of ``shape`` was broadcast along."""
    shape = tuple(shape)
    if tuple(grad.shape) == shape:
        return grad
    lead = grad.dim() - len(shape)
    if lead:
        grad = grad.sum(tuple(range(lead)))
    dims = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(dims, keepdim=True) if dims else grad


def _grad_for(grad, t):
    """``grad`` reduced to tensor ``t``'s shape and cast to its dtype (None
    when ``t`` is not a tensor)."""
    if not isinstance(t, _Tensor):
        return None
    grad = _sum_to(grad, t.shape)
    return grad if grad.dtype == t.dtype else grad.to(t.dtype)


class _Lerp(Function):
    """``lerp`` with ATen's formula and derivatives: ``input + w * (end -
    input)`` where ``|w| < 0.5``, else ``end - (end - input) * (1 - w)`` (so
    each end is exact at its weight and an infinite end gives what PyTorch
    gives), computed in float32 for float16/bfloat16; gradients ``g * (1 -
    w)``, ``g * w`` and ``g * (end - input)``."""

    @staticmethod
    def forward(ctx, input, end, weight):
        ctx.save_for_backward(input, end, weight if isinstance(weight, _Tensor) else None)
        ctx.weight = weight
        dtype = _result_type(input, weight) if isinstance(weight, _Tensor) else input.dtype
        reduced = str(dtype) in _REDUCED  # computed in float32, as ATen's opmath
        a, b, w = ((t.float() if reduced and isinstance(t, _Tensor) else t) for t in (input, end, weight))
        diff = b - a
        if isinstance(w, _Tensor):
            out = _core.where(w.abs() < 0.5, a + w * diff, b - diff * (1 - w))
        else:
            out = a + w * diff if abs(w) < 0.5 else b - diff * (1 - w)
        return out.to(dtype) if reduced else out

    @staticmethod
    def backward(ctx, grad):
        input, end, weight = ctx.saved_tensors
        w = ctx.weight if weight is None else weight
        needs = ctx.needs_input_grad
        return (_grad_for(grad * (1 - w), input) if needs[0] else None,
                _grad_for(grad * w, end) if needs[1] else None,
                _grad_for(grad * (end - input), weight) if weight is not None and needs[2] else None)


_Lerp._backward_cls.__name__ = _Lerp._backward_cls.__qualname__ = "LerpBackward"


@parsed
def lerp(input: Tensor, end: Tensor, weight: Tensor | float):
    """Linear interpolation ``input + weight * (end - input)`` (``weight`` a
    number or a tensor; all broadcast together), computed as ATen does:
    for ``|weight| >= 0.5`` as ``end - (end - input) * (1 - weight)``, so
    ``weight`` 1 gives ``end`` exactly and infinite ends give PyTorch's
    values. ``input`` and ``end`` must have the same floating dtype, as
    must a ``weight`` tensor of one or more dims (a 0-d one joins the
    result dtype's promotion). RuntimeError for mismatched dtypes or shapes
    that do not broadcast; NotImplementedError for integer / bool tensors;
    TypeError when ``end`` is not a tensor. Differentiable w.r.t. all three
    (``(1 - weight) g``, ``weight g``, ``(end - input) g``)."""
    if not isinstance(end, _Tensor):
        raise TypeError(f"lerp(): argument 'end' (position 2) must be Tensor, not {type(end).__name__}")
    if not isinstance(weight, (_Tensor, int, float)):
        raise TypeError("lerp(): argument 'weight' (position 3) must be Tensor or Number, not "
                        f"{type(weight).__name__}")
    if end.dtype != input.dtype:
        raise RuntimeError(f"expected dtype {_ctype_name(input.dtype)} for `end` but got dtype "
                           f"{_ctype_name(end.dtype)}")
    if isinstance(weight, _Tensor) and weight.dim() > 0 and weight.dtype != input.dtype:
        raise RuntimeError(f"expected dtype {_ctype_name(input.dtype)} for `weight` but got dtype "
                           f"{_ctype_name(weight.dtype)}")
    _broadcast_shape(*(t for t in (input, end, weight) if isinstance(t, _Tensor)))
    if not input.is_floating_point():
        kind = "tensor" if isinstance(weight, _Tensor) and weight.dim() > 0 else "scalar"
        raise NotImplementedError(f'"lerp_kernel_{kind}" not implemented for \'{_type_name(input.dtype)}\'')
    return _Lerp.apply(input, end, weight)


@parsed
def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: float = 1):
    """``input + value * tensor1 * tensor2``."""
    return input + value * tensor1 * tensor2


@parsed
def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: float = 1):
    """``input + value * tensor1 / tensor2``."""
    return input + value * tensor1 / tensor2


class _Hypot(Function):
    """``sqrt(a^2 + b^2)`` of two tensors of one float dtype, without
    overflow or underflow in the squares: float16/bfloat16/float32 through
    float64, float64 as ``max * sqrt(1 + (min / max)^2)``. IEEE: inf when
    either is infinite (even with a NaN). Gradients ``g * a / out``,
    ``g * b / out`` (NaN where both are zero, as in PyTorch)."""

    @staticmethod
    def forward(ctx, input, other):
        ctx.save_for_backward(input, other)
        x, y = input.abs(), other.abs()
        if input.dtype != _core.float64:
            a, b = x.double(), y.double()
            out = (a * a + b * b).sqrt().to(input.dtype)
        else:
            big, small = x.maximum(y), x.minimum(y)
            ratio = small / big
            out = _core.where(big == 0, 0.0, big * (1 + ratio * ratio).sqrt())
        return _core.where((x == math.inf) | (y == math.inf), math.inf, out)

    @staticmethod
    def backward(ctx, grad):
        input, other = ctx.saved_tensors
        out = _Hypot.apply(input, other)  # recorded under create_graph: differentiable again
        needs = ctx.needs_input_grad
        return (_grad_for(grad * input / out, input) if needs[0] else None,
                _grad_for(grad * other / out, other) if needs[1] else None)


_Hypot._backward_cls.__name__ = _Hypot._backward_cls.__qualname__ = "HypotBackward0"


@parsed
def hypot(input: Tensor, other: Tensor):
    """``sqrt(input^2 + other^2)`` element-wise, for two tensors that
    broadcast together. The operands are first promoted to their common
    dtype (PyTorch's rules), which must be floating; the result has that
    dtype and is computed without intermediate overflow/underflow (float16/
    bfloat16/float32 via float64). inf where either operand is +-inf (even
    with a NaN), else NaN where one is NaN. TypeError when an argument is
    not a tensor; NotImplementedError for an integer or bool common dtype;
    RuntimeError when the shapes do not broadcast. Differentiable:
    ``g * input / out`` and ``g * other / out`` (NaN at 0, 0)."""
    for i, (name, t) in enumerate((("input", input), ("other", other))):
        if not isinstance(t, _Tensor):
            raise TypeError(f"hypot(): argument '{name}' (position {i + 1}) must be Tensor, not {type(t).__name__}")
    _broadcast_shape(input, other)
    dtype = _result_type(input, other)
    if not dtype.is_floating_point:
        raise NotImplementedError(f'"hypot_cpu" not implemented for \'{_type_name(dtype)}\'')
    return _Hypot.apply(input.to(dtype), other.to(dtype))


def _with_mean(statistic, input, dim, unbiased, keepdim, correction):
    if isinstance(dim, bool):  # PyTorch's overload ``(input, unbiased)``
        dim, unbiased = None, dim
    given = {} if unbiased is None else {"unbiased": unbiased}  # an explicit None is a TypeError, as in PyTorch
    return (getattr(input, statistic)(dim, keepdim=keepdim, correction=correction, **given),
            input.mean(dim, keepdim=keepdim))


@parsed
def var_mean(input: Tensor, dim: int | Sequence[int] | None = None, unbiased: bool | None = None,
             keepdim: bool = False, *, correction: float | None = None):
    """``(var, mean)`` over ``dim`` (all elements when None), with Bessel's
    ``correction`` (1 by default; ``unbiased=False`` is 0), as PyTorch's
    overloads ``(input, dim, *, correction, keepdim)``, ``(input, dim,
    unbiased, keepdim)`` and ``(input, unbiased)``."""
    return _with_mean("var", input, dim, unbiased, keepdim, correction)


@parsed
def std_mean(input: Tensor, dim: int | Sequence[int] | None = None, unbiased: bool | None = None,
             keepdim: bool = False, *, correction: float | None = None):
    """``(std, mean)`` over ``dim``, with the arguments of ``var_mean``."""
    return _with_mean("std", input, dim, unbiased, keepdim, correction)


def _band(input, diagonal, lower):
    if input.dim() < 2:
        raise RuntimeError(f"{'tril' if lower else 'triu'}: input tensor must have at least 2 dimensions")
    rows, cols = input.shape[-2], input.shape[-1]
    offset = _core.arange(cols).unsqueeze(0) - _core.arange(rows).unsqueeze(1)
    keep = offset <= diagonal if lower else offset >= diagonal
    return _core.where(keep, input, _core.zeros((), dtype=input.dtype))


@parsed
def tril(input: Tensor, diagonal: int = 0):
    """The lower triangle of the last two dims (from ``diagonal`` down); the
    rest zero."""
    return _band(input, diagonal, True)


@parsed
def triu(input: Tensor, diagonal: int = 0):
    """The upper triangle of the last two dims (from ``diagonal`` up)."""
    return _band(input, diagonal, False)


def _diagonal_positions(rows, cols, offset):
    r0, c0 = (0, offset) if offset >= 0 else (-offset, 0)
    n = max(0, min(rows - r0, cols - c0))
    return [(r0 + i) * cols + c0 + i for i in range(n)]


@parsed
def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1):
    """The diagonal ``offset`` of the matrices in dims ``dim1``, ``dim2``,
    as the last dim."""
    for position, (name, value) in enumerate((("offset", offset), ("dim1", dim1), ("dim2", dim2)), 1):
        try:
            operator.index(value)
        except TypeError:
            raise TypeError(f"diagonal(): argument '{name}' (position {position}) must be int, "
                            f"not {type(value).__name__}") from None
    nd = input.dim()
    d1, d2 = _wrap_dim(dim1, nd), _wrap_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    rest = [d for d in range(nd) if d not in (d1, d2)]
    moved = input.permute(*rest, d1, d2)
    rows, cols = moved.shape[-2], moved.shape[-1]
    flat = moved.reshape(*moved.shape[:-2], rows * cols)
    return flat.index_select(flat.dim() - 1, _core.tensor(_diagonal_positions(rows, cols, offset), dtype=_core.int64))


@parsed
def diag(input: Tensor, diagonal: int = 0):
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


@parsed
def roll(input: Tensor, shifts: int | Sequence[int], dims: int | Sequence[int] | None = None):
    """Elements shifted by ``shifts`` along ``dims`` (over the flattened
    tensor when ``dims`` is None), wrapping around."""
    if dims is None:
        return roll(input.flatten(), shifts, 0).reshape(input.shape)
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


@parsed
def repeat_interleave(input: Tensor, repeats: Tensor | int, dim: int | None = None):
    """Each element (or slice along ``dim``) repeated ``repeats`` times:
    an int, or an int64 tensor of one count per slice (0-d or one element:
    the same count for all). RuntimeError for negative counts and a count
    tensor of another size; RuntimeError, as PyTorch's allocator, for an
    output too big to allocate. Source: ATen's ``repeat_interleave`` (the
    index of each output slice, then ``index_select``)."""
    if dim is None:
        input, dim = input.flatten(), 0
    if input.dim() == 0:
        input = input.reshape(1)
    dim = _wrap_dim(dim, input.dim())
    n = input.shape[dim]
    if not isinstance(repeats, _Tensor):
        if repeats < 0:
            raise RuntimeError("Repeats must be non-negative")
        counts = np.full(n, repeats, dtype=np.int64)
    else:
        if repeats.dim() > 1:
            raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
        if repeats.numel() not in (1, n):
            raise RuntimeError(f"repeats must have the same size as input along dim, but got repeats.size(0) = "
                               f"{repeats.numel()} and input.size({dim}) = {n}")
        if repeats.is_floating_point() or repeats.dtype == _core.bool:
            raise NotImplementedError(f'"repeat_interleave_cpu" not implemented for \'{_type_name(repeats.dtype)}\'')
        counts = repeats.reshape(-1).numpy().astype(np.int64)
        if counts.size == 1:
            counts = np.full(n, counts[0])
        if (counts < 0).any():
            raise RuntimeError("repeats can not be negative")
    with allocation_as_runtime_error(_core._OUT_OF_MEMORY):
        index = np.repeat(np.arange(n, dtype=np.int64), counts)
    return input.index_select(dim, _core.from_numpy(index))


@parsed
def nansum(input: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False, *, dtype: dtype | None = None):
    """``sum`` over ``dim`` (all elements when None) with NaN counted as
    zero. Float inputs keep their dtype (or ``dtype``); integer and bool
    inputs give int64, as ``sum`` does. Differentiable: the gradient is
    zero at the NaNs."""
    if dtype is not None:
        input = input.to(dtype)
    if input.is_floating_point():
        input = _core.where(input != input, 0.0, input)
    return input.sum(dim, keepdim)


_TYPE_NAMES = {"float16": "Half", "bfloat16": "BFloat16", "float32": "Float", "float64": "Double", "uint8": "Byte",
               "int8": "Char", "int16": "Short", "int32": "Int", "int64": "Long", "bool": "Bool"}


def _recorded(*operands):
    """Whether autograd records an op on ``operands``: grad mode on and a
    tensor among them requiring grad."""
    return _core.is_grad_enabled() and any(isinstance(t, _Tensor) and t.requires_grad for t in operands)


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


@parsed
def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None):
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
    return input.expand(size_along(input)).gather(dim, indices.expand(size_along(indices)))


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
            inverse = inverse.reshape(input.shape)
    else:
        dim = _no_scalar_dim(input, dim)
        if sum(1 for s in input.shape if s == 0) > 1:
            raise RuntimeError("Number of zero sized dimensions is more than one, so unique cannot be applied")
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


@parsed
def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,
           dim: int | None = None):
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


@parsed(own_checks_first=True)
def unique_consecutive(input: Tensor, return_inverse: bool = False, return_counts: bool = False,
                       dim: int | None = None):
    """Like ``unique`` but collapsing only runs of equal adjacent elements
    (or slices along ``dim``), keeping their order, as C++'s
    ``std::unique``."""
    return _unique_impl(input, False, return_inverse, return_counts, dim)


@parsed
def empty_like(input: Tensor, *, dtype: dtype | None = None, layout=None, device=None, requires_grad=False,
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


# ---------------------------------------------------------------------------
# operands of binary ops written here: Python numbers, broadcasting, dtypes
# ---------------------------------------------------------------------------


def _broadcast_shape(*tensors):
    """The shape ``tensors`` broadcast to; RuntimeError with PyTorch's text
    (the first mismatch from the right) when they do not."""
    out = []
    for t in tensors:
        shape = list(t.shape)
        if len(shape) > len(out):
            out = [1] * (len(shape) - len(out)) + out
        for i in range(1, len(shape) + 1):
            a, b = out[-i], shape[-i]
            if a != b and a != 1 and b != 1:
                raise RuntimeError(f"The size of tensor a ({a}) must match the size of tensor b ({b}) at "
                                   f"non-singleton dimension {len(out) - i}")
            out[-i] = b if a == 1 else a
    return tuple(out)


def _number(x):
    """A Python number operand, checked as PyTorch's argument parser does:
    an int must lie in ``[-2**63, 2**64)`` (OverflowError otherwise)."""
    if isinstance(x, int) and not isinstance(x, bool):
        if x >= 2 ** 64:
            raise OverflowError("int too big to convert")
        if x < -2 ** 63:
            raise OverflowError("can't convert negative int to unsigned")
    return x


def _operand_dtype(input, other):
    """The promoted dtype of two operands (PyTorch's rules: a number only
    sets the category), with any int standing for itself (rustgrad's own
    ops read an int past int64 as a float)."""
    def stand_in(x):
        return 0 if isinstance(x, int) and not isinstance(x, bool) else x
    return _result_type(stand_in(input), stand_in(other))


def _is_number(x):
    return isinstance(x, (bool, int, float)) and not isinstance(x, _Tensor)


def _operands(name, input, other):
    """``(input, other)`` checked for a binary op that takes a tensor or a
    number on either side (not both numbers): numbers go through
    ``_number``; TypeError for anything else. Also checks that two tensors
    broadcast."""
    if not all(isinstance(x, _Tensor) or _is_number(x) for x in (input, other)) or \
            not any(isinstance(x, _Tensor) for x in (input, other)):
        raise TypeError(f"{name}() received an invalid combination of arguments - got "
                        f"({type(input).__name__}, {type(other).__name__})")
    if isinstance(input, _Tensor) and isinstance(other, _Tensor):
        _broadcast_shape(input, other)
    return _number(input), _number(other)


def _as_tensor(x, dtype):
    """Tensor ``x`` converted to ``dtype``, or number ``x`` as a 0-d tensor
    of ``dtype`` (an int wrapping around into an integer dtype, as PyTorch
    casts its operands)."""
    if isinstance(x, _Tensor):
        return x if x.dtype == dtype else x.to(dtype)
    if dtype.is_floating_point:
        return _core.tensor(float(x) if x >= 2 ** 63 else x, dtype=dtype)
    if x >= 2 ** 63:  # an int in [2**63, 2**64) reads as an unsigned 64-bit value
        x -= 2 ** 64
    return _core.tensor(x).to(dtype)


def _inplace(name):
    """``self.<name>_(...)``: the out-of-place op's result written into
    ``self`` by ``_inplace``'s machinery (dtype and shape checks, ``copy_``);
    imported at call time, as ``_inplace`` imports this module."""
    def method(self, *args, **kwargs):
        from ._inplace import _make
        return _make(name)(self, *args, **kwargs)

    method.__name__ = name + "_"
    method.__doc__ = (f"In place ``{name}``: writes ``self.{name}(...)`` into ``self`` and returns ``self``; "
                      "RuntimeError when the result's dtype cannot be cast to ``self``'s or its shape differs.")
    return method


# ---------------------------------------------------------------------------
# division with a rounding mode
# ---------------------------------------------------------------------------

_core_div, _core_div_ = _Tensor.div, _Tensor.div_


class _RoundedDivision(Function):
    """Puts ``values`` (a rounded quotient of ``input`` and ``other``) in
    the graph with PyTorch's derivative of ``div(..., rounding_mode=...)``:
    zero for both operands (derivatives.yaml: ``div.Tensor_mode``)."""

    @staticmethod
    def forward(ctx, values, input, other):
        ctx.like = [(tuple(t.shape), t.dtype) if isinstance(t, _Tensor) else None for t in (input, other)]
        return values

    @staticmethod
    def backward(ctx, grad):
        return (None,) + tuple(None if s is None else _core.zeros(s[0], dtype=s[1]) for s in ctx.like)


_RoundedDivision._backward_cls.__name__ = _RoundedDivision._backward_cls.__qualname__ = "DivBackward2"


def _rounded_quotient(input, other, dtype, mode):
    """``input / other`` rounded by ``mode`` in the promoted ``dtype``, as
    ATen's ``div_trunc`` / ``div_floor`` kernels compute it."""
    a = _as_tensor(input, dtype)
    if not dtype.is_floating_point:
        b = _as_tensor(other, dtype)
        if mode == "trunc":  # a - fmod(a, b) is an exact multiple of b, between 0 and a
            a = a - a.fmod(b)
        return a.floor_divide(b)
    if str(dtype) in _REDUCED and (not isinstance(other, _Tensor) or other.numel() == 1):
        # float16 / bfloat16 by a single-element divisor: ATen's opmath path,
        # in float32 with the divisor's original value, rounded once
        a, b = a.float(), _as_tensor(other, _core.float32)
        out = a.floor_divide(b) if mode == "floor" else _core_div(a, b).trunc()
        return out.to(dtype)
    b = _as_tensor(other, dtype)
    return a.floor_divide(b) if mode == "floor" else _core_div(a, b).trunc()


@parsed
def div(input: Tensor | float, other: Tensor | float, *, rounding_mode: str | None = None):
    """``input / other`` (either may be a number; they broadcast together).

    ``rounding_mode=None``: true division; integer and bool inputs give the
    default float dtype (float32). ``'trunc'``: the quotient rounded toward
    zero; ``'floor'``: rounded down (the same as ``floor_divide``). With a
    rounding mode the result has the promoted dtype of the operands (integer
    inputs do integer division, a number wrapping into the tensor's integer
    dtype); float results follow IEEE (``x / 0`` is +-inf or NaN and stays
    so; float16/bfloat16 by a single-element divisor round once, from
    float32, as ATen does).

    Errors: RuntimeError for any other ``rounding_mode`` string (PyTorch's
    text), for shapes that do not broadcast and for an integer division by
    zero ("ZeroDivisionError"); NotImplementedError for two bool operands
    with a rounding mode; TypeError for other argument types. Differentiable
    for float inputs: ``rounding_mode=None`` as ``/``; with a rounding mode
    the gradient is zero, as in PyTorch."""
    if rounding_mode is None:
        if isinstance(input, _Tensor):
            return _core_div(input, other)
        if isinstance(other, _Tensor) and _is_number(input):
            return other.__rtruediv__(_number(input))
        raise TypeError(f"div() received an invalid combination of arguments - got "
                        f"({type(input).__name__}, {type(other).__name__})")
    if not isinstance(rounding_mode, str):
        raise TypeError(f"div(): argument 'rounding_mode' must be str, not {type(rounding_mode).__name__}")
    if rounding_mode not in ("trunc", "floor"):
        raise RuntimeError("div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                           f"'{rounding_mode}'")
    input, other = _operands("div", input, other)
    dtype = _operand_dtype(input, other)
    if dtype == _core.bool:
        raise NotImplementedError(f'"div_{rounding_mode}_cpu" not implemented for \'Bool\'')
    with _no_grad():
        out = _rounded_quotient(input, other, dtype, rounding_mode)
    if _recorded(input, other):
        out = _RoundedDivision.apply(out, input, other)
    return out


@parsed
def divide(input: Tensor | float, other: Tensor | float, *, rounding_mode: str | None = None):
    """Alias of ``div`` (the same arguments, result and errors)."""
    return div(input, other, rounding_mode=rounding_mode)


@parsed
def true_divide(input: Tensor | float, other: Tensor | float):
    """``div(input, other)`` without a rounding mode: true division (integer
    and bool inputs give float32). TypeError for a ``rounding_mode``."""
    return div(input, other)


@parsed
def div_(self: Tensor, other: Tensor | float, *, rounding_mode: str | None = None):
    """In place ``div``: ``self`` becomes ``self.div(other,
    rounding_mode=...)``; returns ``self``. RuntimeError when the result
    dtype cannot be cast to ``self``'s (true division of an integer tensor:
    "result type Float can't be cast to the desired output type Long"), when
    broadcasting would change ``self``'s shape, and on a leaf that requires
    grad; otherwise as ``div``."""
    if rounding_mode is None:
        return _core_div_(self, other)
    return _inplace("div")(self, other, rounding_mode=rounding_mode)


@parsed
def divide_(self: Tensor, other: Tensor | float, *, rounding_mode: str | None = None):
    """Alias of ``div_``."""
    return div_(self, other, rounding_mode=rounding_mode)


@parsed
def true_divide_(self: Tensor, other: Tensor | float):
    """In place ``true_divide``: ``div_(other)`` without a rounding mode."""
    return _core_div_(self, other)


# ---------------------------------------------------------------------------
# equal, type
# ---------------------------------------------------------------------------


@parsed
def equal(input: Tensor, other: Tensor):
    """True (a Python bool) when ``input`` and ``other`` have the same size
    and equal elements, compared after promoting to their common dtype (an
    int64 1 equals a float32 1.0; NaN equals nothing, not even itself; -0.0
    equals 0.0); no broadcasting (a 0-d tensor is not equal to a 1-element
    1-D one); two empty tensors of one shape are equal. TypeError when an
    argument is not a tensor."""
    for i, (name, t) in enumerate((("input", input), ("other", other))):
        if not isinstance(t, _Tensor):
            raise TypeError(f"equal(): argument '{name}' (position {i + 1}) must be Tensor, not {type(t).__name__}")
    if tuple(input.shape) != tuple(other.shape):
        return False
    with _no_grad():
        return bool((input == other).all().item())


def _equal_method(self, other):
    """``Tensor.equal(other)``: ``torch.equal(self, other)`` (a Python bool:
    same size and equal elements after type promotion). TypeError when
    ``other`` is not a tensor."""
    if not isinstance(other, _Tensor):
        raise TypeError(f"equal(): argument 'other' (position 1) must be Tensor, not {type(other).__name__}")
    return equal(self, other)


def _tensor_type_name(dtype):
    return f"torch.{_type_name(dtype)}Tensor"


_TENSOR_TYPES = {_tensor_type_name(d): d for d in (
    _core.float16, _core.bfloat16, _core.float32, _core.float64, _core.uint8, _core.int8, _core.int16,
    _core.int32, _core.int64, _core.bool)}


def _type(self, dtype=None, non_blocking=False, **kwargs):
    """``Tensor.type()``: with no ``dtype``, the tensor's type name as
    PyTorch spells it ('torch.FloatTensor', 'torch.DoubleTensor',
    'torch.HalfTensor', 'torch.BFloat16Tensor', 'torch.ByteTensor',
    'torch.CharTensor', 'torch.ShortTensor', 'torch.IntTensor',
    'torch.LongTensor', 'torch.BoolTensor'). With a dtype or such a name,
    ``self.to(dtype)`` (``self`` itself when it already has that type; a
    'torch.cuda.*' name asks for CUDA, which raises as ``to('cuda')``
    does). ``non_blocking`` (and the old ``async`` keyword) is accepted and
    ignored. ValueError for an unknown type name, TypeError for another
    kind of ``dtype`` or another keyword."""
    for key in kwargs:
        if key != "async":
            raise TypeError(f"type() got an unexpected keyword argument '{key}'")
    if dtype is None:
        return _tensor_type_name(self.dtype)
    if isinstance(dtype, str):
        cuda = dtype.startswith("torch.cuda.")
        target = _TENSOR_TYPES.get(dtype.replace("torch.cuda.", "torch.", 1) if cuda else dtype)
        if target is None:
            raise ValueError(f"invalid type: '{dtype}'")
        if cuda:
            return self.to("cuda", target)
        dtype = target
    if not isinstance(dtype, _core.dtype):
        raise TypeError("dtype must be a type, str, or dtype object")
    return self if dtype == self.dtype else self.to(dtype)


# ---------------------------------------------------------------------------
# shifts
# ---------------------------------------------------------------------------


def _shift(name, input, other, left):
    op = "lshift" if left else "rshift"
    input, other = _operands(name, input, other)
    dtype = _operand_dtype(input, other)
    if dtype.is_floating_point or dtype == _core.bool:
        raise NotImplementedError(f'"{op}_cpu" not implemented for \'{_type_name(dtype)}\'')
    bits = 8 * dtype.itemsize
    signed = dtype != _core.uint8
    with _no_grad():
        x, s = _as_tensor(input, dtype), _as_tensor(other, dtype)
        # ATen: a negative shift (as the signed type) or one of the bit width
        # or more shifts every bit out; to the right, a signed value keeps its
        # sign bit, so shifts stop at bits - 1
        limit = bits - 1 if signed and not left else bits
        valid = (s < limit) & (s >= 0) if signed else s < limit
        k = _core.where(valid, s, _core.zeros((), dtype=dtype)).to(_core.int64)
        powers = _core.tensor([(1 << i) - (2 ** 64 if i == 63 else 0) for i in range(limit)]).to(dtype)
        p = powers.index_select(0, k.reshape(-1)).reshape(k.shape)
        zero = _core.zeros((), dtype=dtype)
        if left:
            return _core.where(valid, x * p, zero)
        rest = _core.where(x < 0, _core.full((), -1, dtype=dtype), zero) if signed else zero
        return _core.where(valid, x.floor_divide(p), rest)


def bitwise_left_shift(input, other):
    """``input << other``, element-wise, for integer tensors (uint8, int8,
    int16, int32, int64) or numbers (not both numbers), broadcast together
    in their promoted dtype (a number wraps into the tensor's dtype, as in
    PyTorch). Bits shifted past the width are lost (two's complement
    wrap-around); a shift amount that is negative or at least the bit width
    gives 0, as ATen's kernel does. NotImplementedError for a float or bool
    common dtype ("lshift_cpu" not implemented for 'Float'); RuntimeError
    for shapes that do not broadcast; TypeError for other argument types.
    Not differentiable (integer result)."""
    return _shift("bitwise_left_shift", input, other, True)


def bitwise_right_shift(input, other):
    """``input >> other``, element-wise: an arithmetic shift (rounding toward
    -inf, keeping the sign of signed values), for integer tensors or numbers
    as ``bitwise_left_shift``. A shift amount that is negative or at least
    the bit width minus one (signed; the bit width for uint8) gives -1 for a
    negative value and 0 otherwise, as ATen's kernel does. Errors as
    ``bitwise_left_shift`` ("rshift_cpu")."""
    return _shift("bitwise_right_shift", input, other, False)


def _shift_operator(function, symbol, reflected):
    def operator(self, other):
        if not (isinstance(other, _Tensor) or _is_number(other)):
            return NotImplemented
        return function(other, self) if reflected else function(self, other)

    operator.__doc__ = f"``{symbol}``: ``{function.__name__}``{' (reflected)' if reflected else ''}."
    return operator


_Tensor.__lshift__ = _shift_operator(bitwise_left_shift, "<<", False)
_Tensor.__rlshift__ = _shift_operator(bitwise_left_shift, "<<", True)
_Tensor.__rshift__ = _shift_operator(bitwise_right_shift, ">>", False)
_Tensor.__rrshift__ = _shift_operator(bitwise_right_shift, ">>", True)
_Tensor.bitwise_left_shift_ = _Tensor.__ilshift__ = _inplace("bitwise_left_shift")
_Tensor.bitwise_right_shift_ = _Tensor.__irshift__ = _inplace("bitwise_right_shift")
_Tensor.div_, _Tensor.divide_, _Tensor.true_divide_ = div_, divide_, true_divide_
_Tensor.type = _type
_Tensor.equal = _equal_method


_METHODS = ("take_along_dim", "unique", "unique_consecutive", "tril", "triu", "diagonal", "diag", "roll", "repeat_interleave", "nansum", "broadcast_to", "view_as", "unflatten", "tile", "repeat", "isnan", "isinf", "isfinite",
            "nan_to_num", "lerp", "addcmul", "addcdiv", "hypot", "div", "divide", "true_divide",
            "bitwise_left_shift", "bitwise_right_shift")
for _name in _METHODS:
    setattr(_Tensor, _name, globals()[_name])


def _spread_sizes(function, param):
    """The method form of ``function(input, sizes)``: PyTorch's method also
    takes the ints spread out (``x.tile(2, 1)``, ``x.broadcast_to(2, 3)``),
    and requires them (TypeError)."""
    def method(self, *sizes):
        if not sizes:
            raise TypeError(f'{function.__name__}() missing 1 required positional arguments: "{param}"')
        return function(self, sizes[0] if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes)

    method.__name__ = method.__qualname__ = function.__name__
    method.__doc__ = function.__doc__
    return method


_Tensor.tile = _spread_sizes(tile, "dims")
_Tensor.broadcast_to = _spread_sizes(broadcast_to, "size")


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

__all__ = ["hstack", "vstack", "row_stack", "meshgrid", "var_mean", "std_mean", "empty_like", "logspace",
           "equal"] + list(_METHODS)
