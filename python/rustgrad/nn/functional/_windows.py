"""The sliding-window planner shared by convolution, ``unfold``/``fold`` and
the pools (``convolution.py``, ``pooling.py``).

A ``_Windows`` plan says, for one spatial geometry, which input position
each tap of each window reads; it is computed with NumPy once per geometry
and kept in a cache bounded by bytes (``_cache.ByteLRU``). ``im2col``
gathers every window of an ``(R, P, A)`` tensor (``P`` flattened spatial
positions between ``R`` leading and ``A`` trailing rows, e.g. batch and
channels) into ``(R, L, K, A)`` columns (``L`` windows, ``K`` taps each,
both row-major over the spatial dims), with 0 for taps outside the input;
``col2im`` is its exact adjoint, summing columns back onto the positions
they read.

Each is one autograd node (an ``autograd.Function``) whose backward is the
other applied to the incoming gradient, so first and higher derivatives
alternate the two. The data is moved in one of three ways:

* ``"dense"``: one matmul with the ``(L*K, P)`` 0/1 matrix of the whole gather;
* ``"separable"``: one matmul per spatial dim, each gathering that dim's
  taps while keeping the taps of earlier dims block-diagonally, so the result
  is already in ``(L, K)`` order and nothing is permuted;
* ``"gather"``: ``index_select`` (``index_add`` for the adjoint) with a
  precomputed int64 index, after appending a zero row for padded taps.

whichever a cost model says is cheapest: the core's matmul is fast while its
``index_select``/``index_add`` move elements one by one (~40 ns per element
forward and backward), so the matmul plans win until the images get large.
A matmul multiplies every element by 0 or 1, which would spread an inf or
NaN over its whole row (``0 * inf = NaN``), so non-finite data always takes
the gather. The choice is made for every call on the data it moves: in a
backward pass that is the gradient, which is why the two are Functions and
not compositions that autograd would differentiate (a matmul plan's
backward is a matmul too, whatever the gradient holds).
"""

import math

import numpy as np

from ... import _core
from ...autograd.function import Function
from ._cache import ByteLRU

# The cost model of the data paths, per leading-and-trailing row, in units
# of one multiply-add of the core's matmul: a matmul stage costs
# ``(inner + _MATMUL_OVERHEAD)`` per element it writes (small contractions
# are far from peak), a gathered element ``_GATHER_COST`` (index_select
# forward plus index_add backward, ~40 ns against ~0.06 ns per multiply-add).
# Fitted to forward+backward timings of the core's float32 kernels on the
# 2-core development machine (4x4 to 28x28 images, 3x3 and 2x2 windows).
_MATMUL_OVERHEAD = 48
_GATHER_COST = 700.0
# The dense plan's matrix is cached per geometry and dtype: cap its size (it
# only wins on small images anyway).
_DENSE_MAX_ELEMENTS = 1 << 20

# Plans (and pooling's divisors) for the geometries in use: a few MB for a
# typical network, while one plan of a large image can hold tens of MB.
PLANS = ByteLRU(64 << 20)


class _Windows:
    """The windows of a sliding-window op over spatial size ``size``.

    ``taps[d]`` is an int64 array ``(K_d, L_d)``: tap ``k`` of window ``l``
    reads position ``taps[d][k, l]`` of spatial dim ``d``, or nothing
    (padding, a ceil-mode overhang, the unused end of a short adaptive
    window) where it is -1. A window's taps are the product of its per-dim
    taps: ``K = prod(K_d)`` taps, ``L = prod(L_d)`` windows.

    ``index`` is the ``(L, K)`` flat input position of every tap, ``P``
    for taps outside (the zero row the gather appends); the plan's only
    array of that size, shared by the tensors made from it. ``padded`` says
    whether any tap is outside, ``hollow`` whether a whole window is.
    Tensor constants derived from the plan are built on first use and kept
    (``const``); ``nbytes`` counts everything the plan holds."""

    def __init__(self, size, taps):
        self.size = tuple(int(s) for s in size)
        self.taps = tuple(np.asarray(t, dtype=np.int64) for t in taps)
        self.kernel = tuple(t.shape[0] for t in self.taps)
        self.out = tuple(t.shape[1] for t in self.taps)
        self.P, self.K, self.L = math.prod(self.size), math.prod(self.kernel), math.prod(self.out)
        nd = len(self.taps)
        flat = np.zeros((1,) * (2 * nd), dtype=np.int64)
        valid = np.ones((1,) * (2 * nd), dtype=bool)
        for d, t in enumerate(self.taps):
            shape = [1] * (2 * nd)
            shape[nd + d], shape[d] = t.shape  # axes (L_0..L_n, K_0..K_n)
            t = t.T.reshape(shape)
            flat = flat * self.size[d] + t
            valid = valid & (t >= 0)
        full = self.out + self.kernel
        index = np.where(np.broadcast_to(valid, full), np.broadcast_to(flat, full), self.P)
        self.index = index.reshape(self.L, self.K)
        inside = self.index < self.P
        self.padded = not bool(inside.all())
        self.hollow = self.L > 0 and not bool(inside.any(1).all())
        self._consts = {}
        self._const_bytes = 0

    @property
    def nbytes(self):
        return self.index.nbytes + sum(t.nbytes for t in self.taps) + self._const_bytes

    def const(self, kind, dtype=None):
        """A cached tensor: ``"index"`` (``(L, K)`` int64, ``index``'s own
        memory), ``"outside"`` (``(L, K)`` bool, True on taps outside the
        input), ``"first"`` (``(L,)``, each window's first tap inside), or
        the 0/1 matrix of a matmul stage of ``dtype``: ``"dense"`` or
        ``("separable", d)`` (see ``stages``)."""
        key = (kind, str(dtype))
        if key not in self._consts:
            t = self._consts[key] = self._build(kind, dtype)
            if kind != "index":
                self._const_bytes += t.numel() * t.element_size()
                PLANS.trim()  # this plan grew; it is the most recently used, so others go first
        return self._consts[key]

    def _build(self, kind, dtype):
        if kind == "index":
            return _core.from_numpy(self.index)  # shares the array's memory
        if kind == "outside":
            return _core.from_numpy(self.index == self.P)
        if kind == "first":  # (L,): each window's first tap inside the input (0 if none)
            return _core.from_numpy(np.argmax(self.index < self.P, axis=1).astype(np.int64))
        if kind == "dense":
            return _core.from_numpy(_one_hot(self.index, self.P).reshape(self.L * self.K, self.P)).to(dtype)
        d = kind[1]
        base = _one_hot(self.taps[d].T, self.size[d])  # (L_d, K_d, n_d)
        kp = math.prod(self.kernel[:d])
        # rows (l_d, k_<d, k_d), columns (k_<d, n_d): block-diagonal over the
        # taps of the earlier dims, which ride along in the rows
        m = np.einsum("pq,lkn->lpkqn", np.eye(kp), base)
        return _core.from_numpy(m.reshape(base.shape[0] * kp * base.shape[1], kp * self.size[d])).to(dtype)

    def stages(self, how):
        """The matmul stages of a plan, as ``(key, lead, rows, inner, rest)``:
        the data, viewed as ``(R * lead, inner, rest * A)``, is
        left-multiplied by the stage's ``(rows, inner)`` matrix."""
        if how == "dense":
            return [("dense", 1, self.L * self.K, self.P, 1)]
        return [(("separable", d), math.prod(self.out[:d]), self.out[d] * math.prod(self.kernel[:d + 1]),
                 math.prod(self.kernel[:d]) * self.size[d], math.prod(self.size[d + 1:]))
                for d in range(len(self.size))]

    def cost(self, how):
        """The modelled cost of a plan per leading and trailing row (see
        ``_MATMUL_OVERHEAD``)."""
        if how == "gather":
            return self.L * self.K * _GATHER_COST
        if how == "dense" and self.L * self.K * self.P > _DENSE_MAX_ELEMENTS:
            return math.inf
        return sum(lead * rows * rest * (inner + _MATMUL_OVERHEAD) for _, lead, rows, inner, rest in self.stages(how))

    def strategy(self, t):
        """How ``im2col``/``col2im`` move ``t``: the cheapest modelled plan,
        but ``"gather"`` when ``t`` holds an inf or NaN (see the module doc)."""
        if str(t.dtype) == "torch.bool":  # the core has no bool matmul
            return "gather"
        how = min(("dense", "separable", "gather"), key=self.cost)
        if how != "gather" and t.is_floating_point() and t.numel() > 0:
            # a finite sum means every element is finite (an overflow to inf
            # only sends finite data to the exact gather)
            if not bool(t.sum().isfinite()):
                how = "gather"
        return how


def _one_hot(index, n):
    """``index`` (any shape; values outside ``[0, n)`` mean none) as a 0/1
    array of shape ``index.shape + (n,)``."""
    out = np.zeros(index.shape + (n,))
    where = np.nonzero((index >= 0) & (index < n))
    out[where + (index[where],)] = 1
    return out


def _left(m, y):
    """``m @ y`` for ``y`` of shape ``(B, n, c)``; a plain 2-D matmul when ``c == 1``."""
    if y.shape[2] == 1:
        return (y.reshape(y.shape[0], y.shape[1]) @ m.t()).unsqueeze(2)
    return m @ y


def _gather(y, win):
    """``im2col`` without autograd."""
    r, a = y.shape[0], y.shape[2]
    how = win.strategy(y)
    if how == "gather":
        y = _core.cat([y, _core.zeros(r, 1, a, dtype=y.dtype)], 1)
        return y.index_select(1, win.const("index").reshape(-1)).reshape(r, win.L, win.K, a)
    for key, lead, _, inner, rest in win.stages(how):
        y = _left(win.const(key, y.dtype), y.reshape(r * lead, inner, rest * a))
    return y.reshape(r, win.L, win.K, a)


def _scatter(cols, win):
    """``col2im`` without autograd."""
    r, a = cols.shape[0], cols.shape[3]
    how = win.strategy(cols)
    if how == "gather":
        acc = _core.zeros(r, win.P + 1, a, dtype=cols.dtype)
        return acc.index_add(1, win.const("index").reshape(-1), cols.reshape(r, win.L * win.K, a))[:, :win.P]
    y = cols
    for key, lead, rows, _, rest in reversed(win.stages(how)):
        y = _left(win.const(key, cols.dtype).t(), y.reshape(r * lead, rows, rest * a))
    return y.reshape(r, win.P, a)


class _Im2Col(Function):
    """``im2col`` as one node; its backward is ``col2im`` of the gradient."""

    @staticmethod
    def forward(ctx, y, win):
        ctx.win = win
        return _gather(y, win)

    @staticmethod
    def backward(ctx, grad):
        return col2im(grad, ctx.win), None


class _Col2Im(Function):
    """``col2im`` as one node; its backward is ``im2col`` of the gradient."""

    @staticmethod
    def forward(ctx, cols, win):
        ctx.win = win
        return _scatter(cols, win)

    @staticmethod
    def backward(ctx, grad):
        return im2col(grad, ctx.win), None


def _recorded(t):
    return t.requires_grad and _core.is_grad_enabled()


def im2col(y, win):
    """The ``(R, L, K, A)`` columns of ``y`` (``(R, P, A)``, ``P = prod(win.size)``):
    ``cols[r, l, k, a]`` is ``y`` at tap ``k`` of window ``l``, 0 outside the input."""
    return _Im2Col.apply(y, win) if _recorded(y) else _gather(y, win)


def col2im(cols, win):
    """The adjoint of ``im2col``: ``(R, L, K, A)`` columns summed onto the
    input positions their taps read, ``(R, P, A)`` (taps outside dropped)."""
    return _Col2Im.apply(cols, win) if _recorded(cols) else _scatter(cols, win)


@PLANS.memoize
def sliding(size, kernel, stride, pad, dilation, out):
    """The plan of ``out[d]`` windows per dim over ``size``: tap ``k`` of
    window ``l`` reads ``l * stride - pad + k * dilation`` (``pad`` is the
    padding before the input; positions past either end are padding)."""
    taps = []
    for n, k, s, p, dl, o in zip(size, kernel, stride, pad, dilation, out):
        t = np.arange(o)[None, :] * s - p + np.arange(k)[:, None] * dl
        taps.append(np.where((t >= 0) & (t < n), t, -1))
    return _Windows(size, taps)


@PLANS.memoize
def adaptive(size, out):
    """The plan of adaptive pooling: window ``i`` of a dim spans
    ``[floor(i * n / out), ceil((i + 1) * n / out))`` (ATen's
    ``start_index``/``end_index``); shorter windows end in -1 taps."""
    taps = []
    for n, o in zip(size, out):
        i = np.arange(o)
        start, end = (i * n) // o, -((-(i + 1) * n) // o)
        k = int((end - start).max()) if o else 0
        t = start[None, :] + np.arange(k)[:, None]
        taps.append(np.where(t < end[None, :], t, -1))
    return _Windows(size, taps)
