"""``torch.nn.functional``: lookup tables (``embedding``) and ``one_hot``.

``embedding`` is an ``index_select`` of the weight's rows, whose backward
(``index_add``) is the dense form of ATen's ``embedding_backward``; the
``padding_idx`` and ``scale_grad_by_freq`` options change only the
gradient, as in aten/src/ATen/native/Embedding.cpp.
"""

from __future__ import annotations

from ... import _core
from ..._composites import _type_name
from ...autograd.function import Function
from ...grad_mode import no_grad
from ..._arg_parser import Tensor, parsed

__all__ = ["embedding", "one_hot"]

_INDEX_DTYPES = ("torch.int64", "torch.int32")


class _ScaleGrad(Function):
    """Identity forward; multiplies the incoming gradient by ``scale``
    (no gradient for ``scale``). The backward is a tensor product, so it is
    differentiable again."""

    @staticmethod
    def forward(ctx, input, scale):
        ctx.save_for_backward(scale)
        return input.clone()

    @staticmethod
    def backward(ctx, grad):
        (scale,) = ctx.saved_tensors
        return grad * scale, None


def _check_indices(input, fn):
    if str(input.dtype) not in _INDEX_DTYPES:
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                           f"Long, Int; but got torch.{_type_name(input.dtype)}Tensor instead (while checking "
                           f"arguments for {fn})")


def _embedding_renorm_(weight, indices, max_norm, norm_type):
    """ATen's ``embedding_renorm_``, in place and outside autograd: every row
    named in ``indices`` whose ``norm_type``-norm exceeds ``max_norm`` is
    scaled by ``max_norm / (norm + 1e-7)`` (computed in float64)."""
    _check_indices(indices, "embedding_renorm_")
    with no_grad():
        rows = indices.reshape(-1).long().unique()
        selected = weight.index_select(0, rows)
        norms = selected.norm(norm_type, 1).double()
        scale = _core.where(norms > max_norm, max_norm / (norms + 1e-7), _core.ones_like(norms))
        weight.index_copy_(0, rows, selected * scale.to(weight.dtype).reshape(-1, 1))


@parsed
def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False):
    """Rows of the 2-D ``weight`` ``(V, D)`` picked by the int64/int32
    indices ``input`` (any shape): output ``input.shape + (D,)``, weight's
    dtype. ``padding_idx``: entries with this index send no gradient to
    their row. ``max_norm``: first renormalizes, in place, the rows used
    whose ``norm_type``-norm exceeds it. ``scale_grad_by_freq``: each row's
    gradient is divided by the number of times it appears in ``input``.
    ``sparse`` is accepted, but the gradient is always a dense tensor.
    AssertionError for ``padding_idx`` outside ``[-V, V)``; RuntimeError for
    non-integer indices or a weight that is not 2-D; IndexError for an index
    out of range."""
    if padding_idx is not None:
        if padding_idx > 0:
            if padding_idx >= weight.size(0):
                raise AssertionError("Padding_idx must be within num_embeddings")
        elif padding_idx < 0:
            if padding_idx < -weight.size(0):
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx = weight.size(0) + padding_idx
    else:
        padding_idx = -1
    if weight.dim() != 2:
        raise RuntimeError("'weight' must be 2-D")
    _check_indices(input, "embedding")
    if max_norm is not None:
        _embedding_renorm_(weight, input, max_norm, norm_type)
    flat = input.reshape(-1)
    out = weight.index_select(0, flat)
    if scale_grad_by_freq and out.requires_grad:
        ones = _core.ones_like(flat, dtype=weight.dtype)
        counts = _core.zeros(weight.size(0), dtype=weight.dtype).index_add(0, flat, ones)
        out = _ScaleGrad.apply(out, counts.reciprocal().index_select(0, flat).reshape(-1, 1))
    if padding_idx >= 0 and out.requires_grad:
        # Same values; the padding entries take the detached branch, so
        # their gradient is exactly zero (not ``0 * grad``).
        out = _core.where((flat != padding_idx).reshape(-1, 1), out, out.detach())
    return out.reshape(*input.shape, weight.size(1))


@parsed
def one_hot(tensor: Tensor, num_classes: int = -1):
    """``(*) -> (*, num_classes)`` int64 tensor with a 1 at each value of
    the int64 ``tensor``; ``num_classes=-1`` takes ``max + 1``. RuntimeError
    for a non-int64 tensor, negative values, values ``>= num_classes``, or
    an empty tensor without a positive ``num_classes``."""
    if str(tensor.dtype) != "torch.int64":
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if tensor.numel() == 0:
        if num_classes <= 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        return _core.zeros(*tensor.shape, num_classes, dtype=_core.int64)
    if int(tensor.min()) < 0:
        raise RuntimeError("Class values must be non-negative.")
    top = int(tensor.max())
    if num_classes == -1:
        num_classes = top + 1
    elif num_classes <= top:
        raise RuntimeError("Class values must be smaller than num_classes.")
    return (tensor.unsqueeze(-1) == _core.arange(num_classes)).long()
