"""``torch.nn.functional``: max, average, adaptive and power-average pooling.

Every pool gathers its windows with the planner of ``_windows`` (the one
convolution uses) as ``(N, C, L, K)`` columns (``L`` windows of ``K``
taps) and reduces the taps: ``max`` (whose gradient goes to the first
maximum of a window, as PyTorch's) or a sum over a divisor. Taps in the
padding, past a ceil-mode edge or beyond a short adaptive window read 0,
which a max pool replaces by -inf. Everything is built from differentiable
ops, so gradients of any order come from autograd.

Output sizes, window bounds and divisors follow ATen
(``Pool.h``'s ``pooling_output_shape``, ``AvgPoolKernel.cpp``,
``AdaptivePooling.h``'s ``start_index``/``end_index``), as do the error
messages, which differ between the 1-d and 2-d functions as in PyTorch.
"""

from __future__ import annotations

import numpy as np

from ... import _core
from ..._composites import _type_name
from ..._dtypes import iinfo
from ..._errors import allocation_as_runtime_error
from ..._utils import format_shape
from . import _windows
from ..._arg_parser import Sequence, Tensor, parsed

__all__ = ["max_pool1d", "max_pool2d", "max_pool1d_with_indices", "max_pool2d_with_indices",
           "avg_pool1d", "avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d",
           "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
           "adaptive_avg_pool1d", "adaptive_avg_pool2d", "lp_pool1d", "lp_pool2d"]


def _not_implemented(fn, input, floating_only=False):
    """PyTorch's NotImplementedError for dtypes a pooling kernel lacks."""
    name = str(input.dtype).replace("torch.", "")
    if name == "bool" or (floating_only and not input.is_floating_point()):
        raise NotImplementedError(f'"{fn}" not implemented for \'{_type_name(input.dtype)}\'')


# ---------------------------------------------------------------------------
# the reductions, on batched (N, C, *size) input
# ---------------------------------------------------------------------------

def _columns(x, win):
    n, c = x.shape[0], x.shape[1]
    return _windows.im2col(x.reshape(n * c, win.P, 1), win).reshape(n, c, win.L, win.K)


def _max(x, win, return_indices):
    """The max of every window and, with ``return_indices``, its flat
    position in the input's spatial dims (the first maximum of a window)."""
    n, c = x.shape[0], x.shape[1]
    if win.L == 0:
        values = _core.zeros(n, c, *win.out, dtype=x.dtype)
        return (values, _core.zeros(n, c, *win.out, dtype=_core.int64)) if return_indices else values
    cols = _columns(x, win)
    if win.padded:
        if x.is_floating_point():
            cols = cols.masked_fill(win.const("outside"), float("-inf"))
        else:  # the core's masked_fill rejects int64's minimum as a Python int
            low = _core.full((), iinfo(x.dtype).min, dtype=x.dtype)
            cols = _core.where(win.const("outside"), low, cols)
    values, arg = cols.max(-1)
    if win.padded:
        # A window whose real taps are all -inf ties with its -inf padding;
        # ATen's max starts from the first real tap, so the index and the
        # gradient go there.
        outside = win.const("outside").expand(n, c, win.L, win.K).gather(3, arg.unsqueeze(3)).squeeze(3)
        if bool(outside.any()):
            arg = _core.where(outside, win.const("first"), arg)
            values = cols.gather(3, arg.unsqueeze(3)).squeeze(3)
    values = values.reshape(n, c, *win.out)
    if not return_indices:
        return values
    flat = win.const("index").expand(n, c, win.L, win.K).gather(3, arg.unsqueeze(3))
    if win.hollow:  # a window with no tap inside reports -1 (ATen: its first tap past the padding)
        flat = flat.masked_fill(flat == win.P, -1)
    return values, flat.reshape(n, c, *win.out)


def _mean(x, win, divisor):
    """The sum of every window over ``divisor`` (a NumPy ``(L,)`` array);
    integer input is divided with truncation, as ATen's integer kernels."""
    n, c = x.shape[0], x.shape[1]
    total = _columns(x, win).sum(-1) if win.L else _core.zeros(n, c, 0, dtype=x.dtype)
    if x.is_floating_point():
        out = total / _core.from_numpy(divisor).to(x.dtype)
    else:
        out = total.div(_core.from_numpy(divisor.astype(np.int64)), rounding_mode="trunc")
    return out.reshape(n, c, *win.out)


# ---------------------------------------------------------------------------
# sliding-window geometry (ATen's pooling_output_shape and pool2d_shape_check)
# ---------------------------------------------------------------------------

def _two(value, message):
    """An int or a 1- or 2-sequence as a pair; RuntimeError(message) otherwise."""
    if isinstance(value, int):
        return (value, value)
    value = tuple(int(v) for v in value)
    if len(value) not in (1, 2):
        raise RuntimeError(message)
    return value * (3 - len(value))


def _pool2d_args(fn, kernel_size, stride, padding, dilation):
    k = _two(kernel_size, f"{fn}: kernel_size must either be a single int, or a tuple of two ints")
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) else \
        _two(stride, f"{fn}: stride must either be omitted, a single int, or a tuple of two ints")
    p = _two(padding, f"{fn}: padding must either be a single int, or a tuple of two ints")
    d = _two(dilation, f"{fn}: dilation must be either a single int, or a tuple of two ints")
    return k, s, p, d


def _output_size(n, k, s, p, d, ceil_mode):
    """ATen's ``pooling_output_shape`` (with its checks): in ceil mode the
    last window must start inside the input or the left padding."""
    if s == 0:
        raise RuntimeError("stride should not be zero")
    if p < 0:
        raise RuntimeError(f"pad must be non-negative, but got pad: {p}")
    if p > ((k - 1) * d + 1) // 2:
        raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={p}, kernel_size={k} "
                           f"and dilation={d}")
    out = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _pool2d_plan(x, k, s, p, d, ceil_mode):
    """The window plan of a 2-d pool over batched ``x``, after ATen's checks."""
    out = tuple(_output_size(n, *a, ceil_mode) for n, a in zip(x.shape[2:], zip(k, s, p, d)))
    if min(k) <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kH: {k[0]} kW: {k[1]}")
    if min(s) <= 0:
        raise RuntimeError(f"stride should be greater than zero, but got dH: {s[0]} dW: {s[1]}")
    if min(d) <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilationH: {d[0]} dilationW: {d[1]}")
    if min(out) < 1:
        c, h, w = x.shape[1:]
        raise RuntimeError(f"Given input size: ({c}x{h}x{w}). Calculated output size: ({c}x{out[0]}x{out[1]}). "
                           "Output size is too small")
    return _windows.sliding(tuple(x.shape[2:]), k, s, p, d, out)


def _batched(x):
    """``x`` with a batch dim (3-d input is unbatched) and whether it was
    unbatched, after ATen's check that every non-batch dim is non-empty."""
    if x.dim() not in (3, 4) or any(s == 0 for s in x.shape[-3:]):
        raise RuntimeError("Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but "
                           f"got:{format_shape(x.shape)}")
    return (x.unsqueeze(0), True) if x.dim() == 3 else (x, False)


def _unbatch(result, unbatched):
    if isinstance(result, tuple):
        return tuple(_unbatch(r, unbatched) for r in result)
    return result.squeeze(0) if unbatched else result


# ---------------------------------------------------------------------------
# max pooling
# ---------------------------------------------------------------------------

@parsed
def max_pool2d(input: Tensor, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
               padding: int | Sequence[int] | str = 0, dilation: int | Sequence[int] = 1, ceil_mode: bool = False,
               return_indices=False):
    """2-D max pooling of ``(N, C, H, W)`` or ``(C, H, W)`` input: the max
    of every ``kernel_size`` window (taps ``dilation`` apart, every
    ``stride``, default ``kernel_size``), with implicit -inf ``padding``
    (at most half the effective kernel) on both sides; per dim
    ``out = floor_or_ceil((in + 2p - d(k - 1) - 1) / s) + 1``, where
    ``ceil_mode`` drops a last window that would start in the right
    padding. With ``return_indices`` also the int64 flat index
    (``h * W + w``) of each max, the first on ties. Errors: PyTorch's
    RuntimeErrors; NotImplementedError for bool."""
    if input.dim() not in (3, 4):
        raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")
    _not_implemented("max_pool2d", input)
    k, s, p, d = _pool2d_args("max_pool2d", kernel_size, stride, padding, dilation)
    x, unbatched = _batched(input)
    return _unbatch(_max(x, _pool2d_plan(x, k, s, p, d, ceil_mode), return_indices), unbatched)


@parsed
def max_pool2d_with_indices(input: Tensor, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
                            padding: int | Sequence[int] | str = 0, dilation: int | Sequence[int] = 1,
                            ceil_mode: bool = False, return_indices=False):
    """``max_pool2d`` returning ``(values, indices)``."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True)


def _one(fn, value, name, none_ok=False):
    """max_pool1d's own parameter checks: an int or a 1-sequence."""
    if isinstance(value, int):
        return value
    value = tuple(value)
    if len(value) != 1:
        kinds = {"kernel_size": "an int, list of ints or tuple of ints", "stride": "None, an int, list of ints, or "
                 "tuple of ints", "padding": "an int, list of ints, or tuple of ints",
                 "dilation": "an int, list of ints or tuple of ints"}[name]
        raise RuntimeError(f"{fn}() {name} must be {kinds} of size 1 but got size {len(value)}")
    return int(value[0])


@parsed
def max_pool1d(input: Tensor, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
               padding: int | Sequence[int] | str = 0, dilation: int | Sequence[int] = 1, ceil_mode: bool = False,
               return_indices=False):
    """1-D max pooling of ``(N, C, L)`` or ``(C, L)`` input (see
    ``max_pool2d``; indices are positions along ``L``). Errors are
    ``max_pool1d``'s own RuntimeErrors (e.g. "max_pool1d() padding should be
    at most half of kernel size, ..."); NotImplementedError for integer
    and bool input, as PyTorch's ``max_pool1d_impl``."""
    if input.dim() not in (2, 3) or any(s == 0 for s in input.shape[-2:]):
        raise RuntimeError("max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size for "
                           f"input, but got:{format_shape(input.shape)}")
    _not_implemented("max_pool1d_impl", input, floating_only=True)
    k = _one("max_pool1d", kernel_size, "kernel_size")
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) else \
        _one("max_pool1d", stride, "stride")
    p, d = _one("max_pool1d", padding, "padding"), _one("max_pool1d", dilation, "dilation")
    for value, name, ok in ((k, "kernel_size", k > 0), (s, "stride", s > 0)):
        if not ok:
            raise RuntimeError(f"max_pool1d() {name} must be greater than zero, but got {value}")
    if p < 0:
        raise RuntimeError(f"max_pool1d() padding must be non-negative, but got {p}")
    if p > k // 2:
        raise RuntimeError(f"max_pool1d() padding should be at most half of kernel size, but got padding={p} and "
                           f"kernel_size={k}")
    if d <= 0:
        raise RuntimeError(f"max_pool1d() dilation must be greater than zero, but got {d}")
    x, unbatched = (input.unsqueeze(0), True) if input.dim() == 2 else (input, False)
    out = _output_size(x.shape[2], k, s, p, d, ceil_mode)
    if out <= 0:
        raise RuntimeError(f"max_pool1d() Invalid computed output size: {out}")
    win = _windows.sliding((x.shape[2],), (k,), (s,), (p,), (d,), (out,))
    return _unbatch(_max(x, win, return_indices), unbatched)


@parsed
def max_pool1d_with_indices(input: Tensor, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
                            padding: int | Sequence[int] | str = 0, dilation: int | Sequence[int] = 1,
                            ceil_mode: bool = False, return_indices=False):
    """``max_pool1d`` returning ``(values, indices)``."""
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True)


# ---------------------------------------------------------------------------
# average pooling
# ---------------------------------------------------------------------------

@_windows.PLANS.memoize
def _avg_divisor(size, kernel, stride, pad, out, count_include_pad):
    """ATen's divide factor per window (``(L,)``): the window clipped to the
    padded input when ``count_include_pad``, else to the input itself."""
    divisor = np.ones(())
    for n, k, s, p, o in zip(size, kernel, stride, pad, out):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, n)
        divisor = np.multiply.outer(divisor, end - start)
    return divisor.reshape(-1).astype(np.float64)


@parsed
def avg_pool2d(input: Tensor, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
               padding: int | Sequence[int] | str = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None):
    """2-D average pooling of ``(N, C, H, W)`` or ``(C, H, W)`` input: each
    window's sum over its size, counting the zero ``padding`` when
    ``count_include_pad`` (taps past a ceil-mode edge never count), or over
    ``divisor_override``. Output sizes as ``max_pool2d`` (no dilation).
    Integer input is averaged with truncating division, as ATen's. Errors:
    PyTorch's ("divisor must be not zero", window/padding checks)."""
    if input.dim() < 3:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-max(input.dim(), 1)}, "
                         f"{max(input.dim(), 1) - 1}], but got -3)")
    _not_implemented("avg_pool2d", input)
    k, s, p, _ = _pool2d_args("avg_pool2d", kernel_size, stride, padding, 1)
    x, unbatched = _batched(input)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    win = _pool2d_plan(x, k, s, p, (1, 1), ceil_mode)
    if divisor_override is not None:
        divisor = np.full(win.L, float(divisor_override))
    else:
        divisor = _avg_divisor(win.size, k, s, p, win.out, bool(count_include_pad))
    return _unbatch(_mean(x, win, divisor), unbatched)


def _one_int(fn, value, name):
    """The Python argument parser's check of an ``IntArrayRef[1]`` argument."""
    if isinstance(value, int):
        return (value,)
    value = tuple(int(v) for v in value)
    if len(value) != 1:
        raise RuntimeError(f"{fn}() argument '{name}' should contain one int (got {len(value)})")
    return value


def _check_1d(fn, input):
    if input.dim() not in (2, 3):
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {input.dim()}-dimensional tensor for argument #1 "
                           f"'self' (while checking arguments for {fn})")


@parsed
def avg_pool1d(input: Tensor, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
               padding: int | Sequence[int] | str = 0, ceil_mode: bool = False, count_include_pad: bool = True):
    """1-D average pooling of ``(N, C, L)`` or ``(C, L)`` input: computed as
    ``avg_pool2d`` over a height-1 input, whose messages it shares, as in
    PyTorch."""
    _check_1d("avg_pool1d", input)
    k = _one_int("avg_pool1d", kernel_size, "kernel_size")
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) else \
        _one_int("avg_pool1d", stride, "stride")
    p = _one_int("avg_pool1d", padding, "padding")
    out = avg_pool2d(input.unsqueeze(-2), (1,) + k, (1,) + s, (0,) + p, ceil_mode, count_include_pad)
    return out.squeeze(-2)


# ---------------------------------------------------------------------------
# adaptive pooling
# ---------------------------------------------------------------------------

def _adaptive_plan(fn, input, output_size, nd):
    """The adaptive window plan of batched ``input`` after ATen's checks;
    ``None`` in ``output_size`` keeps that input size."""
    if input.dim() not in (nd + 1, nd + 2):
        sep = ": " if fn.startswith("adaptive_max") else " "
        raise RuntimeError(f"{fn}(): Expected {nd + 1}D or {nd + 2}D tensor, but got{sep}{format_shape(input.shape)}")
    out = (output_size,) * nd if isinstance(output_size, int) or output_size is None else tuple(output_size)
    if len(out) != nd:
        raise RuntimeError(f"{fn}: output_size must be {nd}" if fn.startswith("adaptive_avg")
                           else f"{fn}(): internal error: output_size.size() must be {nd}")
    size = tuple(input.shape[-nd:])
    out = tuple(n if o is None else int(o) for n, o in zip(size, out))
    for i in range(1, input.dim()):
        if input.shape[i] == 0:
            raise RuntimeError(f"{fn}(): Expected input to have non-zero size for non-batch dimensions, but input "
                               f"has sizes {format_shape(input.shape)} with dimension {i} being empty")
    if min(out) < 0:
        if fn.startswith("adaptive_avg"):
            raise RuntimeError(f"{fn}: elements of output_size must be greater than or equal to 0 but received "
                               "{" + ", ".join(map(str, out)) + "}")
        shape = format_shape(tuple(input.shape[:-nd]) + out)
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(out)}: {shape}")
    x, unbatched = (input.unsqueeze(0), True) if input.dim() == nd + 1 else (input, False)
    with allocation_as_runtime_error(_core._OUT_OF_MEMORY):  # output_size=2**40: a plan of 2**40 windows
        return x, unbatched, _windows.adaptive(size, out)


@parsed
def adaptive_avg_pool2d(input: Tensor, output_size):
    """2-D adaptive average pooling of ``(N, C, H, W)`` or ``(C, H, W)``
    input to ``output_size`` (an int, or a pair whose ``None`` keeps the
    input size): output ``(i, j)`` averages rows
    ``[floor(i * H / oH), ceil((i + 1) * H / oH))`` and likewise columns.
    Floating input only (NotImplementedError otherwise, as PyTorch)."""
    x, unbatched, win = _adaptive_plan("adaptive_avg_pool2d", input, output_size, 2)
    _not_implemented("adaptive_avg_pool2d", input, floating_only=True)
    divisor = (win.index < win.P).sum(1).astype(np.float64)
    return _unbatch(_mean(x, win, divisor), unbatched)


@parsed(own_checks_first=True)
def adaptive_max_pool2d(input: Tensor, output_size, return_indices=False):
    """2-D adaptive max pooling (windows as ``adaptive_avg_pool2d``); with
    ``return_indices`` also each max's flat index ``h * W + w``."""
    x, unbatched, win = _adaptive_plan("adaptive_max_pool2d", input, output_size, 2)
    _not_implemented("adaptive_max_pool2d", input, floating_only=True)
    return _unbatch(_max(x, win, return_indices), unbatched)


@parsed(own_checks_first=True)
def adaptive_max_pool2d_with_indices(input: Tensor, output_size, return_indices=False):
    """``adaptive_max_pool2d`` returning ``(values, indices)``."""
    return adaptive_max_pool2d(input, output_size, return_indices=True)


@parsed
def adaptive_avg_pool1d(input: Tensor, output_size: int | Sequence[int | None]):
    """1-D adaptive average pooling of ``(N, C, L)`` or ``(C, L)`` input,
    computed (and checked) as ``adaptive_avg_pool2d`` over height 1, as in
    PyTorch."""
    _check_1d("adaptive_avg_pool1d", input)
    out = _one_int("adaptive_avg_pool1d", output_size, "output_size")
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1,) + out).squeeze(-2)


@parsed
def adaptive_max_pool1d(input: Tensor, output_size: int | Sequence[int | None], return_indices=False):
    """1-D adaptive max pooling of ``(N, C, L)`` or ``(C, L)`` input; with
    ``return_indices`` also each max's position along ``L``."""
    _check_1d("adaptive_max_pool1d", input)
    out = _one_int("adaptive_max_pool1d", output_size, "output_size")
    x, unbatched, win = _adaptive_plan("adaptive_max_pool1d", input, out, 1)
    _not_implemented("adaptive_max_pool2d", input, floating_only=True)
    return _unbatch(_max(x, win, return_indices), unbatched)


@parsed
def adaptive_max_pool1d_with_indices(input: Tensor, output_size: int | Sequence[int | None],
                                     return_indices=False):
    """``adaptive_max_pool1d`` returning ``(values, indices)``."""
    return adaptive_max_pool1d(input, output_size, return_indices=True)


# ---------------------------------------------------------------------------
# power-average pooling
# ---------------------------------------------------------------------------

def _lp(input, norm_type, max_pool, avg_pool, kernel_size, window, stride, ceil_mode):
    """``torch.nn.functional.lp_pool{1,2}d``'s formula:
    ``(sum over the window of x^p)^(1/p)``, computed as PyTorch does from
    the average (``sign(a) * relu(|a|) * window`` keeps its gradient zero
    where the sum is zero); ``p = +-inf`` is a max pool of ``|x|``."""
    if isinstance(norm_type, (int, float)):
        if norm_type == 0:
            raise ValueError(f"norm_type must be a non-zero value, but got {norm_type}")
        if norm_type == float("inf"):
            return max_pool(input.abs(), kernel_size, stride, 0, 1, ceil_mode)
        if norm_type == -float("inf"):
            return -max_pool(-input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    if stride is not None:
        out = avg_pool(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    else:
        out = avg_pool(input.pow(norm_type), kernel_size, padding=0, ceil_mode=ceil_mode)
    return (out.sign() * out.abs().relu()).mul(window).pow(1.0 / norm_type)


@parsed(own_checks_first=True)
def lp_pool2d(input: Tensor, norm_type, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
              ceil_mode: bool = False):
    """2-D power-average pooling: ``(sum of x^p over each window)^(1/p)``
    (``norm_type`` p; no padding). ValueError for ``p == 0``."""
    kw, kh = _two(kernel_size, "lp_pool2d: kernel_size must either be a single int, or a tuple of two ints")
    return _lp(input, norm_type, max_pool2d, avg_pool2d, kernel_size, kw * kh, stride, ceil_mode)


@parsed
def lp_pool1d(input: Tensor, norm_type: float, kernel_size: int | Sequence[int],
              stride: int | Sequence[int] | None = None, ceil_mode: bool = False):
    """1-D power-average pooling (see ``lp_pool2d``)."""
    return _lp(input, norm_type, max_pool1d, avg_pool1d, kernel_size, kernel_size, stride, ceil_mode)
