"""Per-channel vectors against ``(N, C, *)`` tensors, by matmuls with ones.

The core's broadcasting arithmetic is far slower than its same-shape
arithmetic (a ``(1, C, 1, 1)`` multiply ~25x, its backward's reduction
more), and so are its reductions over several dims, while a rank-1 matmul
with a vector of ones writes or sums the same elements at matmul speed. So a
bias, a batch-norm scale or shift is expanded to the full shape with ones
(``expand_channels``) and a per-channel statistic summed with ones
(``sum_channels``); the gradients of both are matmuls too, and of any order.
Used by ``linear``, the convolutions and ``batch_norm``.
"""

import math

from ... import _core

__all__ = ["expand_channels", "sum_channels", "add_channels"]

# Below this many elements the matmuls' fixed costs match the broadcasting
# add's (~10 us forward and backward on the development machine), and a
# plain add keeps small problems' sums in the core's own order.
_SMALL = 1024


def _ones(rows, cols, like):
    return _core.ones(rows, cols, dtype=like.dtype)


def expand_channels(v, shape):
    """The ``(C,)`` vector ``v`` broadcast to ``shape`` ``(N, C, *)``, as a
    new contiguous tensor."""
    n, c, s = shape[0], shape[1], math.prod(shape[2:])
    row = v.reshape(1, c) if s == 1 else (v.reshape(c, 1) @ _ones(1, s, v)).reshape(1, c * s)
    return (_ones(n, 1, v) @ row).reshape(shape)


def sum_channels(x):
    """The ``(C,)`` sums of ``(N, C, *)`` ``x`` over every dim but 1."""
    n, c, s = x.shape[0], x.shape[1], math.prod(x.shape[2:])
    total = _ones(1, n, x) @ x.reshape(n, c * s)  # (1, C * S): summed over the batch
    return total.reshape(c) if s == 1 else (total.reshape(c, s) @ _ones(s, 1, x)).reshape(c)


def add_channels(x, v):
    """``x`` ``(N, C, *)`` plus the ``(C,)`` vector ``v`` on every channel
    (``x`` itself when ``v`` is None); a plain broadcasting add below
    ``_SMALL`` elements."""
    if v is None:
        return x
    if x.numel() < _SMALL:
        return x + v.reshape((1, v.shape[0]) + (1,) * (x.dim() - 2))
    return x + expand_channels(v, tuple(x.shape))
