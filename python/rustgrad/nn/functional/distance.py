"""``torch.nn.functional``: distances and similarities between vectors.

The formulas are ATen's (aten/src/ATen/native/Distance.cpp), written with
``Tensor.norm``, whose gradients (zero at a zero vector) are PyTorch's.
"""

from __future__ import annotations

import numpy as np

from ... import _core
from ..._composites import _broadcast_shape, _type_name
from ..._dtypes import result_type
from ...grad_mode import no_grad
from ..._arg_parser import Tensor, parsed

__all__ = ["cosine_similarity", "pairwise_distance", "pdist"]


@parsed
def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8):
    """``sum(x1 / max(||x1||, eps) * x2 / max(||x2||, eps))`` along ``dim``
    after broadcasting ``x1`` and ``x2``; the output drops ``dim``.
    PyTorch's current formula: each input is normalized first (no overflow
    of ``||x1|| * ||x2||``, results within ``[-1, 1]``), and the clamp to
    ``eps`` is applied to the norms outside autograd, so the gradient
    flows through the norms as if unclamped. RuntimeError when the common
    dtype is not floating or the shapes do not broadcast; IndexError for
    ``dim`` out of range."""
    common = result_type(x1, x2)
    if not common.is_floating_point:
        raise RuntimeError(f"expected common dtype to be floating point, yet common dtype is {_type_name(common)}")
    x1 = x1 if x1.is_floating_point() else x1.to(common)
    x2 = x2 if x2.is_floating_point() else x2.to(common)
    shape = _broadcast_shape(x1, x2)
    x1, x2 = x1.expand(shape), x2.expand(shape)

    def normalized(x):
        norm = x.norm(2, dim, keepdim=True).clone()
        with no_grad():
            norm.clamp_min_(eps)
        return x / norm

    return (normalized(x1) * normalized(x2)).sum(dim)


@parsed
def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False):
    """``||x1 - x2 + eps||_p`` over the last dim of the broadcast inputs
    (``eps`` keeps the norm's gradient finite for equal inputs).
    RuntimeError when the shapes do not broadcast."""
    innermost = max(x1.dim(), x2.dim()) - 1
    return (x1 - x2 + eps).norm(p, innermost, keepdim)


def _max_abs_all_ties(diff):
    """``max(|diff|)`` over dim 1 whose gradient reaches every entry tied
    for the maximum in full (``sign(diff) * grad``), as ATen's ``pdist``
    backward for ``p = inf`` (``Tensor.norm`` and ``amax`` split it among
    ties): the value is the detached maximum plus a term that is zero in
    value but carries the gradient."""
    mag = diff.abs()
    top = mag.amax(1, keepdim=True)
    ties = (mag == top).to(diff.dtype).detach()
    return top.reshape(-1).detach() + ((mag - mag.detach()) * ties).sum(1)


@parsed
def pdist(input: Tensor, p: float = 2):
    """The ``p``-norm distances between the rows of the 2-D ``(N, M)``
    input, for every pair ``i < j`` in row-major order: shape
    ``(N * (N - 1) / 2,)``. RuntimeError for input that is not 2-D or not
    floating, or negative ``p``."""
    if input.dim() != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.dim()}D")
    if not input.is_floating_point():
        raise RuntimeError("pdist only supports floating-point dtypes")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    rows, cols = np.triu_indices(input.shape[0], 1)
    diff = input.index_select(0, _core.tensor(rows, dtype=_core.int64)) - \
        input.index_select(0, _core.tensor(cols, dtype=_core.int64))
    if input.shape[1] == 0:
        return diff.sum(1)  # zeros, in the graph (no norm of empty rows)
    if p == float("inf"):
        return _max_abs_all_ties(diff)
    if p == 0:
        # The count of nonzero entries, with the zero gradient ATen's
        # pdist backward gives (``Tensor.norm`` gives none).
        keep = _core.ones(diff.shape[0], dtype=_core.bool)
        return _core.where(keep, diff.norm(0, 1), diff.sum(1))
    return diff.norm(p, 1)
