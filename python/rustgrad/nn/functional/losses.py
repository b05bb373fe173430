"""``torch.nn.functional``: losses."""

from ... import _core

__all__ = ["binary_cross_entropy_with_logits"]


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """Sigmoid followed by binary cross entropy, computed in a numerically
    stable form (``max(x, 0) - x*t + log(1 + exp(-|x|))``)."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    return _core.binary_cross_entropy_with_logits(input, target, weight, pos_weight, reduction)


def _legacy_reduction(size_average, reduce):
    """PyTorch's mapping of the deprecated ``size_average``/``reduce`` flags."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"
