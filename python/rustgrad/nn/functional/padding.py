"""``torch.nn.functional.pad``: constant, reflect, replicate and circular
padding, with the checks and messages of ATen's ``pad``
(aten/src/ATen/native/PadNd.cpp, ReflectionPad.cpp, ReplicationPadding.cpp,
padding.h).

``pad`` lists (left, right) pairs from the last dim backwards; negative
entries crop. Constant padding writes the (cropped) input into a tensor
filled with ``value``; the other modes gather each padded dim with an
index vector (``index_select``, whose backward sums the gradient of the
copies into their source), so all of them are differentiable to any
order.
"""

from __future__ import annotations

import numpy as np

from ... import _core
from ..._utils import format_shape
from ..._arg_parser import Sequence, Tensor, parsed

__all__ = ["pad"]

_MODES = ("constant", "reflect", "replicate", "circular")
_AXES = "DHW"


def _pairs(input, pad):
    """``[(dim, left, right)]`` for the padded dims, last dim first."""
    return [(input.dim() - 1 - j, pad[2 * j], pad[2 * j + 1]) for j in range(len(pad) // 2)]


def _constant(input, pad, value):
    """ATen's ``constant_pad_nd``: crop by the negative pads (narrow), then,
    if any pad is positive, copy into a new tensor filled with ``value``."""
    cropped = input
    for d, left, right in _pairs(input, pad):
        if left < 0:
            cropped = _narrow(cropped, d, -left, cropped.shape[d] + left)
        if right < 0:
            cropped = _narrow(cropped, d, 0, cropped.shape[d] + right)
    if all(p <= 0 for p in pad):
        return cropped.clone()
    shape = list(input.shape)
    window = [slice(None)] * input.dim()
    for d, left, right in _pairs(input, pad):
        shape[d] += left + right
        window[d] = slice(max(left, 0), shape[d] - max(right, 0))
    out = _core.full(shape, value, dtype=input.dtype)
    out[tuple(window)] = cropped
    return out


def _narrow(t, dim, start, length):
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    return t.narrow(dim, start, length)


def _unsupported(input, pad):
    return NotImplementedError(
        f"Padding size {len(pad)} is not supported for {input.dim()}D input tensor.\n"
        "Supported combinations for non-constant padding:\n"
        "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
        "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
        "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")


def _check_nonempty(input, k):
    """ATen's ``padding::check_valid_input``: every dim but a batch dim
    must be non-empty."""
    dims = input.shape[1:] if input.dim() == k + 2 else input.shape
    if any(s == 0 for s in dims):
        raise RuntimeError(f"Expected {k + 1}D or {k + 2}D (batch mode) tensor with possibly 0 batch size and "
                           f"other non-zero dimensions for input, but got: {format_shape(input.shape)}")


def _check_output_size(input, pad):
    """Reflect and replicate padding need a non-empty result."""
    pairs = _pairs(input, pad)[::-1]  # outermost padded dim first: D, H, W
    sizes = [input.shape[d] for d, _, _ in pairs]
    out = [s + left + right for s, (_, left, right) in zip(sizes, pairs)]
    if all(o >= 1 for o in out):
        return
    names = _AXES[3 - len(pairs):]
    if len(pairs) == 1:
        raise RuntimeError(f"input (W: {sizes[0]}) is too small. Calculated output W: {out[0]}")
    got = " ".join(f"{n}: {o}" for n, o in zip(names, out))
    had = ", ".join(f"{n}: {s}" for n, s in zip(names, sizes))
    raise RuntimeError(f"Calculated output {got} must be >= 1 in every dimension (input {had})")


def _check_reflect(input, pad):
    for j, (d, left, right) in enumerate(_pairs(input, pad)):
        if not (left < input.shape[d] and right < input.shape[d]):
            raise RuntimeError(f"Argument #{4 + 2 * j}: Padding size should be less than the corresponding input "
                               f"dimension, but got: padding ({left}, {right}) at dimension {d} of input "
                               f"{format_shape(input.shape)}")


def _check_circular(input, pad):
    for d, left, right in _pairs(input, pad)[::-1]:
        size = input.shape[d]
        if left > size or right > size:
            raise RuntimeError("Padding value causes wrapping around more than once.")
        if size + left + right < 0:
            raise RuntimeError("Negative padding value is resulting in an empty dimension")


def _reflect_index(size, left, right):
    """Source positions of a reflected dim, ``-left .. size+right-1`` folded
    about both edges (edge not repeated); valid for pads < size, and for
    negative pads, which index past the crop as ATen's kernel does."""
    i = np.abs(np.arange(-left, size + right))
    return (size - 1) - np.abs((size - 1) - i)


def _replicate_index(size, left, right):
    return np.clip(np.arange(-left, size + right), 0, size - 1)


def _gather_pad(input, pad, index_fn):
    out = input
    for d, left, right in _pairs(input, pad):
        if left == right == 0:
            continue
        index = index_fn(out.shape[d], left, right)
        out = out.index_select(d, _core.tensor(np.ascontiguousarray(index), dtype=_core.int64))
    return out


def _circular(input, pad):
    """ATen's ``_pad_circular``: negative pads crop first, positive pads
    then wrap around the cropped dim. (Where the crop leaves fewer entries
    than a positive pad needs, ATen reads outside what it wrote; this
    raises instead.)"""
    cropped = input
    for d, left, right in _pairs(input, pad):
        size = cropped.shape[d]
        start = min(max(-left, 0), size)
        cropped = cropped.narrow(d, start, max(size - max(-right, 0) - start, 0))
    grow = [max(p, 0) for p in pad]
    for d, left, right in _pairs(input, grow):
        if max(left, right) > cropped.shape[d]:
            raise RuntimeError("Padding value causes wrapping around more than once.")

    def wrap(size, left, right):
        return np.arange(-left, size + right) % max(size, 1)

    return _gather_pad(cropped, grow, wrap)


@parsed
def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None):
    """Pads (or, with negative entries, crops) the last ``len(pad) // 2``
    dims of ``input``; ``pad`` is ``(left_last, right_last, left_prev,
    right_prev, ...)``. ``mode``: ``'constant'`` (fill with ``value``,
    default 0, cast to input's dtype, any rank), ``'reflect'`` (mirror
    without repeating the edge; pads must be smaller than the dim),
    ``'replicate'`` (repeat the edge), ``'circular'`` (wrap around; pads at
    most the dim). The non-constant modes pad the last 1, 2 or 3 dims of an
    input with one or two more dims (an optional batch dim and a channel
    dim). TypeError for non-int pads; NotImplementedError for an unknown
    mode or an unsupported rank; RuntimeError for an odd or too long
    ``pad``, a ``value`` with a non-constant mode, or sizes out of range."""
    pad = list(pad)
    for i, p in enumerate(pad):
        if not isinstance(p, int) and not (isinstance(p, _core.Tensor) and not p.is_floating_point()):
            raise TypeError(f"pad(): argument 'pad' (position 2) must be tuple of ints, but found element of type "
                            f"{type(p).__name__} at pos {i}")
    pad = [int(p) for p in pad]
    if mode not in _MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) > 2 * input.dim():
        raise RuntimeError("Padding length should be less than or equal to two times the input dimension but got "
                           f"padding length {len(pad)} and input of dimension {input.dim()}")
    if mode == "constant":
        return _constant(input, pad, 0 if value is None else value)
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    k = len(pad) // 2
    if k not in (1, 2, 3) or input.dim() not in (k + 1, k + 2):
        raise _unsupported(input, pad)
    if mode == "circular":
        _check_circular(input, pad)
        return _circular(input, pad)
    _check_nonempty(input, k)
    if mode == "reflect":
        _check_reflect(input, pad)
    _check_output_size(input, pad)
    return _gather_pad(input, pad, _reflect_index if mode == "reflect" else _replicate_index)
