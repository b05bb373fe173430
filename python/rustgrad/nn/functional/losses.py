"""``torch.nn.functional``: losses.

Every loss here is composed of the core's differentiable ops (so first and
higher-order gradients come from the core's autograd), except
``binary_cross_entropy``, whose backward follows ATen's explicit formula,
and ``binary_cross_entropy_with_logits``, a core kernel. Formulas, argument
checks and error texts follow PyTorch: ``torch/nn/functional.py`` for the
Python-level ones and ATen's ``Loss.cpp``, ``LossNLL.cpp``,
``LossMultiMargin.cpp`` and ``PointwiseOps`` for the rest.

``reduction`` is ``'mean'`` (the default), ``'sum'`` or ``'none'``; the
deprecated ``size_average``/``reduce`` flags, when either is given, override
it (with PyTorch's deprecation warning).
"""

from __future__ import annotations

import math
import warnings

from ... import _core
from ..._composites import _broadcast_shape, _type_name
from ...autograd.function import Function
from ...grad_mode import no_grad
from .distance import pairwise_distance
from ..._arg_parser import PARSED_FRAMES, Tensor, parsed

__all__ = [
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cosine_embedding_loss", "cross_entropy",
    "gaussian_nll_loss", "hinge_embedding_loss", "huber_loss", "kl_div", "l1_loss", "margin_ranking_loss",
    "mse_loss", "multi_margin_loss", "multilabel_soft_margin_loss", "nll_loss", "poisson_nll_loss",
    "smooth_l1_loss", "soft_margin_loss", "triplet_margin_loss", "triplet_margin_with_distance_loss",
]

# ---------------------------------------------------------------------------
# reduction handling (torch/nn/_reduction.py)
# ---------------------------------------------------------------------------


def _legacy_reduction(size_average, reduce):
    """PyTorch's mapping of the deprecated ``size_average``/``reduce`` flags
    to a reduction string, with its deprecation warning."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    reduction = ("mean" if size_average else "sum") if reduce else "none"
    warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{reduction}' instead.",
                  stacklevel=2)
    return reduction


def _valid_reduction(reduction, message="{} is not a valid value for reduction"):
    """``reduction`` if it is ``'none'``, ``'mean'`` or ``'sum'``, else
    ValueError with ``message`` (the losses PyTorch writes in Python word
    it in their own ways)."""
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(message.format(reduction))
    return reduction


def _checked_reduction(reduction):
    """``reduction`` validated as ``_Reduction.get_enum`` does: ValueError for
    an unknown one, a warning for the old ``'elementwise_mean'``."""
    if reduction == "elementwise_mean":
        warnings.warn("reduction='elementwise_mean' is deprecated. Please use reduction='mean' instead.",
                      stacklevel=2)
        return "mean"
    return _valid_reduction(reduction)


def _reduction(size_average, reduce, reduction):
    """The reduction a loss applies: the legacy flags when either is given,
    else ``reduction`` (validated)."""
    if size_average is not None or reduce is not None:
        return _legacy_reduction(size_average, reduce)
    return _checked_reduction(reduction)


def _reduce(loss, reduction):
    """ATen's ``apply_loss_reduction``: the elementwise ``loss`` itself, its
    sum, or its mean (NaN for an empty ``loss``)."""
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _reduce_weighted(loss, weight, reduction, normalize):
    """The reduction of the losses that take an elementwise ``weight``
    (``mse_loss``, ``l1_loss``, ``huber_loss``): ``'mean'`` divides the
    weighted sum by ``weight.sum()`` when ``normalize``, else by the element
    count. Unknown reductions raise those functions' own ValueError."""
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.sum() / weight.sum() if normalize else loss.mean()
    raise ValueError(f"Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', 'sum'.")


def _size_warning(input, target):
    """The UserWarning PyTorch's regression losses give when ``target``'s
    size differs from ``input``'s (it is then broadcast, usually by
    mistake). Points at the loss's caller."""
    if target.size() != input.size():
        warnings.warn(f"Using a target size ({target.size()}) that is different to the input size ({input.size()}). "
                      "This will likely lead to incorrect results due to broadcasting. "
                      "Please ensure they have the same size.", stacklevel=4 + PARSED_FRAMES)


def _not_differentiable(function, **arguments):
    """The RuntimeError PyTorch raises, while grad mode is on, when an
    argument its kernel has no derivative for (a class weight, a target)
    requires grad."""
    if not _core.is_grad_enabled():
        return
    for name, t in arguments.items():
        if t is not None and t.requires_grad:
            raise RuntimeError(f"The function '{function}' is not differentiable with respect to argument '{name}'. "
                               "This input cannot have requires_grad True.")


def _as_class_dim(weight, ndim, class_dim):
    """A ``(C,)`` per-class ``weight`` viewed so it broadcasts along
    ``class_dim`` of an ``ndim``-dimensional tensor."""
    if ndim <= 1:
        return weight
    shape = [1] * ndim
    shape[class_dim] = weight.shape[0]
    return weight.view(shape)


def _check_class_weight(weight, n_classes, prefix=""):
    """RuntimeError unless ``weight`` is None or 1-D with one entry per class."""
    if weight is not None and (weight.dim() != 1 or weight.numel() != n_classes):
        raise RuntimeError(f"{prefix}weight tensor should be defined either for all {n_classes} classes or no classes "
                           f"but got weight tensor of shape: {list(weight.shape)}")


def _check_same_dtype(weight, input):
    """RuntimeError unless ``weight`` (if any) has ``input``'s dtype: ATen's
    nll and multi-margin kernels read it as the input's scalar type."""
    if weight is not None and weight.dtype != input.dtype:
        raise RuntimeError(f"expected scalar type {_type_name(input.dtype)} but found {_type_name(weight.dtype)}")


# ---------------------------------------------------------------------------
# regression losses
# ---------------------------------------------------------------------------


def _regression_loss(pointwise, input, target, reduction, size_average=None, reduce=None, weight=None,
                     normalize=True):
    """The shared body of ``mse_loss``, ``l1_loss``, ``smooth_l1_loss`` and
    ``huber_loss``, in PyTorch's order: the size warning, the legacy flags,
    broadcasting (RuntimeError when the shapes do not broadcast), the
    reduction check, then ``pointwise(input - target)`` (which may reject
    its parameter) reduced, optionally weighted elementwise (``weight`` of
    ``input``'s size, else ValueError; ``normalize``: its ``'mean'`` divides
    by ``weight.sum()``)."""
    _size_warning(input, target)
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    _broadcast_shape(input, target)
    if weight is None:
        reduction = _checked_reduction(reduction)
        return _reduce(pointwise(input - target), reduction)
    if weight.size() != input.size():
        raise ValueError("Weights and input must have the same size.")
    return _reduce_weighted(pointwise(input - target) * weight, weight, reduction, normalize)


def _square(d):
    return d.square()


def _abs(d):
    return d.abs()


def _smooth_l1(beta):
    """ATen's smooth-L1 term of a difference ``d``: ``0.5 d**2 / beta`` where
    ``|d| < beta``, else ``|d| - 0.5 beta``; ``|d|`` for ``beta == 0``."""
    def pointwise(d):
        if beta < 0:
            raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
        z = d.abs()
        if beta == 0:
            return z
        return _core.where(z < beta, 0.5 * z * z / beta, z - 0.5 * beta)
    return pointwise


def _huber(delta):
    """ATen's Huber term: ``0.5 d**2`` where ``|d| < delta``, else
    ``delta (|d| - 0.5 delta)`` (``delta * smooth_l1`` with ``beta = delta``)."""
    def pointwise(d):
        if delta <= 0:
            raise RuntimeError("huber_loss does not support non-positive values for delta.")
        z = d.abs()
        return _core.where(z < delta, 0.5 * z * z, delta * (z - 0.5 * delta))
    return pointwise


@parsed
def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
             weight: Tensor | None = None):
    """Squared error ``(input - target)**2``, reduced.

    ``input`` and ``target`` broadcast (with a UserWarning when their sizes
    differ); the ``'none'`` result has the broadcast shape. ``weight`` (of
    ``input``'s size) scales each element; its ``'mean'`` is
    ``sum(w * l) / sum(w)``."""
    return _regression_loss(_square, input, target, reduction, size_average, reduce, weight)


@parsed
def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
            weight: Tensor | None = None):
    """Absolute error ``|input - target|``, reduced; broadcasting and
    ``weight`` as in ``mse_loss``."""
    return _regression_loss(_abs, input, target, reduction, size_average, reduce, weight)


@parsed
def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
                   beta: float = 1.0):
    """Smooth L1 (Girshick 2015): quadratic below ``beta``, linear above;
    ``beta == 0`` is ``l1_loss``. Broadcasting as in ``mse_loss``;
    RuntimeError for a negative ``beta``."""
    return _regression_loss(_smooth_l1(beta), input, target, reduction, size_average, reduce)


@parsed
def huber_loss(input: Tensor, target: Tensor, reduction="mean", delta: float = 1.0, weight: Tensor | None = None):
    """Huber loss: ``0.5 d**2`` for ``|d| < delta``, else
    ``delta (|d| - 0.5 delta)``. RuntimeError for ``delta <= 0``. With
    ``weight`` (of ``input``'s size) the ``'mean'`` is the plain mean of the
    weighted terms (not normalized by the weights), as in PyTorch."""
    return _regression_loss(_huber(delta), input, target, reduction, weight=weight, normalize=False)


# ---------------------------------------------------------------------------
# classification: nll_loss and cross_entropy (aten/src/ATen/native/LossNLL.cpp)
# ---------------------------------------------------------------------------


def _check_nll_shapes(input, target):
    """``nll_loss_nd``'s shape checks (ValueError / RuntimeError with
    PyTorch's texts); returns ``target``, a ``(1,)`` target of a 1-D input
    read as a 0-d one."""
    if input.dim() < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input.dim()})")
    if input.dim() == 1:
        if target.dim() == 1:
            if target.shape[0] != 1:
                raise ValueError(f"For 1D input, 1D target must have size 1, but got target size: {target.shape[0]}")
            target = target.reshape(())
    elif (target.shape[0] if target.dim() else 0) != input.shape[0]:
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
                         f"({target.shape[0] if target.dim() else 0}).")
    if target.dtype not in (_core.int64, _core.uint8):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {_type_name(target.dtype)}")
    if input.dim() <= 2:
        if target.dim() > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    elif input.dim() == 4:
        if target.dim() != 3:
            raise RuntimeError("only batches of spatial targets supported (3D tensors) but got targets of "
                               f"dimension: {target.dim()}")
        if tuple(target.shape[1:]) != tuple(input.shape[2:]):
            raise RuntimeError(f"size mismatch (got input: {list(input.shape)} , target: {list(target.shape)}")
    elif tuple(target.shape[1:]) != tuple(input.shape[2:]):
        raise RuntimeError(f"Expected target size {[input.shape[0]] + list(input.shape[2:])}, "
                           f"got {list(target.shape)}")
    return target


def _nll_terms(input, target, weight, ignore_index):
    """The unreduced negative log likelihood of log-probabilities ``input``
    (``(C,)`` or ``(N, C, d1, ...)``) at class indices ``target`` (``()``
    or ``(N, d1, ...)``, int64 or uint8), picked with one ``gather`` so the
    gradient is the core's scatter. Returns ``(loss, total_weight, ignored)``:
    ``loss[i] = -w[t_i] * input[i, t_i]`` (0 where ``t_i == ignore_index``)
    and the denominator of the ``'mean'`` reduction (the summed weights of
    the counted targets, or their count), and the mask of ignored targets.

    Errors as ATen's: the shape checks of ``_check_nll_shapes``, RuntimeError
    for a ``weight`` that is not ``(C,)`` or that requires grad (weights get
    no gradient in PyTorch), IndexError "Target t is out of bounds." for the
    first counted target outside ``[0, C)``."""
    target = _check_nll_shapes(input, target)
    class_dim = 0 if input.dim() == 1 else 1
    n_classes = input.shape[class_dim]
    _not_differentiable("nll_loss_forward" if input.dim() <= 2 else "nll_loss2d_forward", weight=weight)
    _check_class_weight(weight, n_classes)
    _check_same_dtype(weight, input)
    target = target.long()
    ignored = target == ignore_index
    index = target.masked_fill(ignored, 0)
    out_of_bounds = (index < 0).logical_or(index >= n_classes)
    if out_of_bounds.any().item():
        raise IndexError(f"Target {index[out_of_bounds].reshape(-1)[0].item()} is out of bounds.")
    picked = input.gather(class_dim, index.unsqueeze(class_dim)).squeeze(class_dim)
    # masked_fill rather than a multiplication by 0: a -inf log-probability
    # at an ignored target must give 0, not NaN (and no gradient).
    loss = -picked.masked_fill(ignored, 0)
    if weight is None:
        return loss, ignored.logical_not().sum(), ignored
    w = weight[index].masked_fill(ignored, 0)
    return loss * w, w.sum(), ignored


def _reduce_nll(loss, total_weight, reduction):
    """``nll_loss``'s reduction: the ``'mean'`` divides by the total weight
    of the counted targets (NaN when there are none, as in PyTorch)."""
    if reduction == "mean":
        return loss.sum() / total_weight
    return _reduce(loss, reduction)


@parsed
def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None, ignore_index: int = -100,
             reduce=None, reduction: str = "mean"):
    """Negative log likelihood of log-probabilities ``input`` (``(C,)``,
    ``(N, C)`` or ``(N, C, d1, ...)``) at class indices ``target`` (``()``,
    ``(N,)`` or ``(N, d1, ...)``, int64 or uint8).

    ``weight`` (``(C,)``) scales each class; ``'mean'`` is the weighted sum
    divided by the summed weights of the targets. Targets equal to
    ``ignore_index`` count nothing. Errors: see ``_nll_terms``."""
    reduction = _reduction(size_average, reduce, reduction)
    loss, total_weight, _ = _nll_terms(input, target, weight, ignore_index)
    return _reduce_nll(loss, total_weight, reduction)


def _cross_entropy_probs(logp, target, weight, reduction, label_smoothing):
    """ATen's ``cross_entropy_loss_prob_target``: ``-sum_c w_c p_c log q_c``
    per sample, with ``p`` smoothed to ``p (1 - ls) + ls / C``; ``'mean'``
    divides by the number of samples (NaN when empty)."""
    class_dim = 0 if logp.dim() == 1 else 1
    n_classes = logp.shape[class_dim]
    _check_class_weight(weight, n_classes, prefix="cross_entropy: ")
    if label_smoothing > 0.0:
        target = target * (1 - label_smoothing) + label_smoothing / n_classes
    terms = logp * target
    if weight is not None:
        terms = terms * _as_class_dim(weight, logp.dim(), class_dim)
    if reduction == "none":
        return -terms.sum(class_dim)
    if reduction == "sum":
        return -terms.sum()
    return -terms.sum() / (logp.numel() // n_classes if n_classes else 0)


def _cross_entropy_smoothed(logp, target, weight, reduction, ignore_index, label_smoothing):
    """ATen's ``cross_entropy_loss_label_smoothing``: ``(1 - ls) * nll +
    (ls / C) * smooth``, where ``smooth = -sum_c w_c log q_c`` per counted
    sample, reduced with the same denominator as the nll term."""
    loss, total_weight, ignored = _nll_terms(logp, target, weight, ignore_index)
    class_dim = 0 if logp.dim() == 1 else 1
    n_classes = logp.shape[class_dim]
    if weight is not None:
        logp = logp * _as_class_dim(weight, logp.dim(), class_dim)
    smooth = -logp.sum(class_dim).masked_fill(ignored, 0)
    return ((1 - label_smoothing) * _reduce_nll(loss, total_weight, reduction)
            + _reduce_nll(smooth, total_weight, reduction) * (label_smoothing / n_classes))


@parsed
def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                  ignore_index: int = -100, reduce=None, reduction: str = "mean", label_smoothing: float = 0.0):
    """Cross entropy between the logits ``input`` (``(C,)``, ``(N, C)`` or
    ``(N, C, d1, ...)``; the class dim is 1, or 0 for 1-D input) and either
    class indices (``target`` of the other dims, int64 or uint8; with
    ``weight``, ``ignore_index`` as in ``nll_loss``) or class probabilities
    (``target`` of ``input``'s shape, floating point; ``ignore_index`` must
    stay negative).

    ``log_softmax`` then an nll that gathers (``aten/src/ATen/native/
    LossNLL.cpp``). ``label_smoothing`` in ``[0, 1]`` mixes the target with
    the uniform distribution; RuntimeError above 1 (negative values are
    ignored, as in PyTorch)."""
    reduction = _reduction(size_average, reduce, reduction)
    class_dim = 0 if input.dim() == 1 else 1
    if input.shape == target.shape:
        if not target.is_floating_point():
            raise RuntimeError("Expected floating point type for target with class probabilities, got "
                               f"{_type_name(target.dtype)}")
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target")
    if label_smoothing > 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    logp = input.log_softmax(class_dim)
    if input.shape == target.shape:
        return _cross_entropy_probs(logp, target, weight, reduction, label_smoothing)
    if label_smoothing > 0.0:
        return _cross_entropy_smoothed(logp, target, weight, reduction, ignore_index, label_smoothing)
    loss, total_weight, _ = _nll_terms(logp, target, weight, ignore_index)
    return _reduce_nll(loss, total_weight, reduction)


# ---------------------------------------------------------------------------
# binary and probabilistic losses
# ---------------------------------------------------------------------------


class _BinaryCrossEntropy(Function):
    """The elementwise BCE ``-(t max(log x, -100) + (1 - t) max(log(1 - x),
    -100))`` with ATen's derivatives (``derivatives.yaml``): for ``x``,
    ``(x - t) / max(x (1 - x), 1e-12)``, which stays finite where the log is
    clamped (a saturated sigmoid still learns); for ``t``, the unclamped
    ``log(1 - x) - log x``."""

    @staticmethod
    def forward(ctx, input, target):
        ctx.save_for_backward(input, target)
        return _bce_terms(input, target)

    @staticmethod
    def backward(ctx, grad):
        input, target = ctx.saved_tensors
        grad_input = grad_target = None
        if ctx.needs_input_grad[0]:
            grad_input = grad * (input - target) / ((1 - input) * input).clamp_min(1e-12)
        if ctx.needs_input_grad[1]:
            grad_target = grad * ((-input).log1p() - input.log())
        return grad_input, grad_target


def _bce_terms(input, target):
    """ATen's CPU kernel: ``(t - 1) max(log1p(-x), -100) - t max(log x, -100)``."""
    return (target - 1) * (-input).log1p().clamp_min(-100) - target * input.log().clamp_min(-100)


def _broadcast_weight(weight, shape):
    """``weight`` expanded to ``shape`` as ``binary_cross_entropy`` does
    (``torch.broadcast_shapes`` then ``expand``), with PyTorch's errors."""
    for i in range(1, weight.dim() + 1):
        if i <= len(shape) and weight.shape[-i] not in (1, shape[-i]) and shape[-i] != 1:
            raise RuntimeError(f"Attempting to broadcast a dimension of length {weight.shape[-i]} at {-i}! "
                               f"Mismatching argument at index 1 had {weight.size()}; but expected shape should be "
                               f"broadcastable to {list(shape)}")
    n = max(len(shape), weight.dim())
    padded = (1,) * (n - len(shape)) + tuple(shape)
    full = tuple(a if b == 1 else b for a, b in zip(padded, (1,) * (n - weight.dim()) + tuple(weight.shape)))
    if full != tuple(shape):
        raise RuntimeError(f"output with shape {list(shape)} doesn't match the broadcast shape {list(full)}")
    return weight.expand(full)


def _check_unit_interval(t, name):
    """RuntimeError unless every element of ``t`` lies in [0, 1] (NaN fails)."""
    if not ((t >= 0).logical_and(t <= 1)).all().item():
        raise RuntimeError(f"all elements of {name} should be between 0 and 1")


@parsed
def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None, reduce=None,
                         reduction: str = "mean"):
    """Binary cross entropy of probabilities ``input`` against ``target``
    (same size and dtype, both in [0, 1]); the logs are clamped at -100 as
    in PyTorch, so ``input`` 0 or 1 gives a finite loss. ``weight``
    broadcasts to ``target``'s shape.

    Errors: ValueError when the sizes differ; RuntimeError for different
    dtypes ("Found dtype Double but expected Float") or values outside
    [0, 1]."""
    reduction = _reduction(size_average, reduce, reduction)
    if target.size() != input.size():
        raise ValueError(f"Using a target size ({target.size()}) that is different to the input size "
                         f"({input.size()}) is deprecated. Please ensure they have the same size.")
    if weight is not None:
        # the kernel reads the weight in the input's dtype (no promotion)
        weight = _broadcast_weight(weight, target.shape).to(input.dtype)
    if target.dtype != input.dtype:
        raise RuntimeError(f"Found dtype {_type_name(target.dtype)} but expected {_type_name(input.dtype)}")
    _not_differentiable("binary_cross_entropy", weight=weight)
    _check_unit_interval(input, "input")
    _check_unit_interval(target, "target")
    loss = _BinaryCrossEntropy.apply(input, target)
    return _reduce(loss if weight is None else loss * weight, reduction)


@parsed
def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                                     reduce=None, reduction: str = "mean", pos_weight: Tensor | None = None):
    """Sigmoid followed by binary cross entropy, in the numerically stable
    form ``(1 - t) x + (1 + (p - 1) t) log(1 + exp(-x))`` (``p`` the
    ``pos_weight``, broadcast along the last dim), in one core kernel.
    ``weight`` broadcasts to ``input``. ValueError when ``target``'s size
    differs from ``input``'s or for an unknown reduction."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    _not_differentiable("binary_cross_entropy_with_logits", weight=weight, pos_weight=pos_weight)
    return _core.binary_cross_entropy_with_logits(input, target, weight, pos_weight, reduction)


def _xlogy_self(t):
    """``xlogy(t, t)``: ``t log t`` with 0 where ``t == 0`` (NaN stays NaN).
    Its gradient is NaN at the zeros, as ATen's ``xlogy`` derivative gives
    (``t / t`` from the second argument)."""
    return _core.where(t == 0, 0.0, t * t.log())


@parsed
def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
           log_target: bool = False):
    """Pointwise KL divergence ``target (log target - input)`` of the
    log-probabilities ``input`` from ``target`` (probabilities, or
    log-probabilities with ``log_target``: ``exp(t) (t - input)``).

    ``reduction='batchmean'`` divides the sum by ``input.size(0)`` (the true
    KL divergence of a batch); ``'mean'`` (the default) divides by the
    element count and warns, as in PyTorch. RuntimeError for integer
    operands."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
        applied = reduction
    else:
        if reduction == "mean":
            warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                          "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                          "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                          stacklevel=2 + PARSED_FRAMES)
        applied = "sum" if reduction == "batchmean" else _checked_reduction(reduction)
    if not (input.is_floating_point() and target.is_floating_point()):
        raise RuntimeError("kl_div: Integral inputs not supported.")
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = _xlogy_self(target) - target * input
    reduced = _reduce(loss, applied)
    if reduction == "batchmean" and input.dim() != 0:
        reduced = reduced / input.shape[0]
    return reduced


@parsed
def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False, size_average=None,
                     eps: float = 1e-8, reduce=None, reduction: str = "mean"):
    """Negative log likelihood of ``target`` under a Poisson distribution of
    rate ``exp(input)`` (``log_input``: ``exp(x) - t x``) or ``input``
    (``x - t log(x + eps)``). ``full`` adds the Stirling term
    ``t log t - t + 0.5 log(2 pi t)`` where ``t > 1``."""
    reduction = _reduction(size_average, reduce, reduction)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        stirling = target * target.log() - target + 0.5 * (2 * math.pi * target).log()
        loss = loss + stirling.masked_fill(target <= 1, 0)
    return _reduce(loss, reduction)


@parsed
def gaussian_nll_loss(input: Tensor, target: Tensor, var: Tensor | float, full=False, eps: float = 1e-6,
                      reduction: str = "mean"):
    """Negative log likelihood of ``target`` under a Gaussian of mean
    ``input`` and variance ``var``: ``0.5 (log var + (input - target)**2 /
    var)`` (+ ``0.5 log(2 pi)`` with ``full``). ``var`` is a float, of
    ``input``'s size, or one dim short / size-1 in one dim (one variance
    shared across it). ``var`` is clamped to ``eps`` outside autograd, so
    its gradient passes the clamp unchanged, as in PyTorch.

    ValueError for a negative ``var``, a ``var`` of another size or an
    unknown reduction."""
    if isinstance(var, float):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = var * _core.ones_like(input)
    elif (var < 0).any().item():
        raise ValueError("var has negative entry/entries")
    if var.size() != input.size():
        if input.size()[:-1] == var.size():
            var = var.unsqueeze(-1)
        elif not (input.dim() == var.dim()
                  and sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1):
            raise ValueError("var is of incorrect size")
    _valid_reduction(reduction, "{} is not valid")
    var = var.clone()
    with no_grad():
        var.clamp_(min=eps)
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


# ---------------------------------------------------------------------------
# margin and embedding losses
# ---------------------------------------------------------------------------


def _hinge_terms(input, target, margin):
    """``hinge_embedding_loss``'s terms: ``x`` where ``target != -1`` plus
    ``max(0, margin - x)`` where ``target != 1`` (ATen adds both, so a
    target that is neither takes both)."""
    hinge = (margin - input).clamp_min(0).masked_fill(target == 1, 0)
    return hinge + input.masked_fill(target == -1, 0)


@parsed
def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, size_average=None, reduce=None,
                         reduction: str = "mean"):
    """Hinge embedding loss (ATen ``hinge_embedding_loss``): ``x`` for
    targets 1, ``max(0, margin - x)`` for targets -1; shapes broadcast."""
    reduction = _reduction(size_average, reduce, reduction)
    return _reduce(_hinge_terms(input, target, margin), reduction)


@parsed
def soft_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean"):
    """Two-class logistic loss ``log(1 + exp(-target * input))`` (ATen's
    form). ``target`` must broadcast to ``input``'s shape (RuntimeError
    otherwise, as ATen writes into an ``input``-shaped result)."""
    reduction = _reduction(size_average, reduce, reduction)
    shape = _broadcast_shape(input, target)
    if shape != tuple(input.shape):
        raise RuntimeError(f"output with shape {list(input.shape)} doesn't match the broadcast shape {list(shape)}")
    _not_differentiable("soft_margin_loss", target=target)
    return _reduce((-input * target).exp().log1p(), reduction)


@parsed
def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0, size_average=None,
                        reduce=None, reduction: str = "mean"):
    """Ranking loss ``max(0, -target (input1 - input2) + margin)`` for
    targets 1 (``input1`` should rank higher) or -1. RuntimeError unless the
    three tensors have the same number of dims; shapes broadcast."""
    reduction = _reduction(size_average, reduce, reduction)
    if input1.dim() != input2.dim() or input1.dim() != target.dim():
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
                           f"input1: {input1.size()}, input2: {input2.size()}, target: {target.size()} ")
    return _reduce((-target * (input1 - input2) + margin).clamp_min(0), reduction)


@parsed
def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0, size_average=None,
                          reduce=None, reduction: str = "mean"):
    """Cosine embedding loss (ATen ``cosine_embedding_loss``): ``1 - cos``
    for targets 1, ``max(0, cos - margin)`` for targets -1 (0 otherwise),
    where ``cos`` is taken along the last dim of ``(N, D)`` inputs with
    ``(N,)`` targets, or of ``(D,)`` inputs with a 0-d target; the squared
    norms get ``1e-12`` added. RuntimeError for other dims."""
    reduction = _reduction(size_average, reduce, reduction)
    dim = target.dim()
    if dim > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if input1.dim() != dim + 1 or input2.dim() != dim + 1:
        raise RuntimeError(f"{dim}D target tensor expects {dim + 1}D input tensors, but found inputs with sizes "
                           f"{list(input1.shape)} and {list(input2.shape)}.")
    eps = 1e-12
    prod = (input1 * input2).sum(dim)
    norms = (((input1 * input1).sum(dim) + eps) * ((input2 * input2).sum(dim) + eps)).sqrt()
    cos = prod / norms
    loss = (1 - cos).masked_fill(target != 1, 0) + (cos - margin).clamp_min(0).masked_fill(target != -1, 0)
    return _reduce(loss, reduction)


def _triplet_loss(distance, anchor, positive, negative, margin, swap, reduction):
    """``max(0, margin + d(a, p) - d(a, n))`` reduced, with ``d(a, n)``
    replaced by ``min(d(a, n), d(p, n))`` when ``swap`` (Balntas et al.
    2016); the checks both triplet losses make, in their order."""
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    dims = (anchor.dim(), positive.dim(), negative.dim())
    if len(set(dims)) != 1:
        raise RuntimeError("The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {dims[0]}D, positive {dims[1]}D, and negative {dims[2]}D "
                           "inputs")
    d_pos = distance(anchor, positive)
    d_neg = distance(anchor, negative)
    if swap:
        d_neg = d_neg.minimum(distance(positive, negative))
    return _reduce((margin + d_pos - d_neg).clamp_min(0), reduction)


@parsed(own_checks_first=True)
def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin=1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, size_average=None, reduce=None, reduction: str = "mean"):
    """Triplet loss of ``(N, D)`` (or ``(D,)``) embeddings with the
    ``p``-norm ``pairwise_distance`` (``eps`` added to the differences):
    ``max(0, margin + d(a, p) - d(a, n))``, ``swap`` as in
    ``_triplet_loss``. ValueError for ``margin <= 0``; RuntimeError when the
    inputs have different numbers of dims."""
    reduction = _reduction(size_average, reduce, reduction)
    return _triplet_loss(lambda x1, x2: pairwise_distance(x1, x2, p, eps), anchor, positive, negative, margin,
                         swap, reduction)


@parsed
def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *, distance_function=None,
                                      margin: float = 1.0, swap=False, reduction: str = "mean"):
    """``triplet_margin_loss`` with any ``distance_function(x1, x2)``
    returning one non-negative distance per sample (default:
    ``pairwise_distance``). ValueError for an unknown reduction or
    ``margin <= 0``."""
    return _triplet_loss(distance_function or pairwise_distance, anchor, positive, negative, margin, swap,
                         _valid_reduction(reduction))


@parsed
def multilabel_soft_margin_loss(input: Tensor, target, weight: Tensor | None = None, size_average=None, reduce=None,
                                reduction: str = "mean"):
    """Multi-label one-versus-all logistic loss: ``-(t logsigmoid(x) + (1 -
    t) logsigmoid(-x))``, optionally weighted, averaged over the last (class)
    dim, then reduced. ValueError for an unknown reduction."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    # -logsigmoid(x) = softplus(-x): finite for any x (softplus is x itself
    # past its threshold of 20, off by under 2e-9 there).
    loss = target * _core.softplus(-input, 1.0, 20.0) + (1 - target) * _core.softplus(input, 1.0, 20.0)
    if weight is not None:
        loss = loss * weight
    class_dim = input.dim() - 1
    loss = loss.sum(class_dim) / input.shape[class_dim]
    return _reduce(loss, _valid_reduction(reduction, "{} is not valid"))


def _check_multi_margin(input, target, weight):
    """``multi_margin_loss``'s argument checks (``LossMultiMargin.cpp``)."""
    if not (input.dim() <= 1 and input.numel() > 0 or input.dim() == 2 and input.shape[1] > 0):
        raise RuntimeError("Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
                           f"{list(input.shape)}")
    n_samples = 1 if input.dim() <= 1 else input.shape[0]
    if not (target.dim() <= 1 and target.numel() == n_samples):
        raise RuntimeError("multi_margin_loss: target tensor should be 1-D with size equal to the number of input "
                           f"samples (batch size). Expected target size [{n_samples}], but got "
                           f"{list(target.shape)}. Input has shape {list(input.shape)}.")
    if target.dtype != _core.int64:
        raise RuntimeError(f"expected scalar type Long but found {_type_name(target.dtype)}")
    n_classes = 1 if input.dim() == 0 else input.shape[-1]
    if weight is not None and weight.numel() != n_classes:
        raise RuntimeError(f"inconsistent weight size, expected {n_classes} but got {list(weight.shape)}")
    if ((target < 0).logical_or(target >= n_classes)).any().item():
        raise RuntimeError("target out of range")


@parsed(own_checks_first=True)
def multi_margin_loss(input: Tensor, target: Tensor, p=1, margin: float = 1.0, weight: Tensor | None = None,
                      size_average=None, reduce=None, reduction: str = "mean"):
    """Multi-class hinge loss of scores ``input`` (``(C,)`` or ``(N, C)``)
    at class indices ``target`` (``()``/``(1,)`` or ``(N,)``, int64):
    ``sum_{j != y} w_y max(0, margin - x_y + x_j)**p / C`` per sample,
    ``p`` 1 or 2. ValueError for another ``p`` or a ``weight`` that is not
    1-D; RuntimeError (ATen's texts) for the shapes or a target outside
    ``[0, C)``."""
    reduction = _reduction(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.dim() != 1:
        raise ValueError("weight must be one-dimensional")
    _check_multi_margin(input, target, weight)
    _check_same_dtype(weight, input)
    _not_differentiable("multi_margin_loss", weight=weight)
    scores = input.reshape(-1, 1 if input.dim() == 0 else input.shape[-1])
    index = target.reshape(-1, 1)
    margins = (margin - scores.gather(1, index) + scores).clamp_min(0)
    if p == 2:
        margins = margins * margins
    if weight is not None:
        margins = margins * weight[index]
    # the j == y term is max(0, margin)**p, which ATen leaves out
    margins = margins.scatter(1, index, 0.0)
    loss = margins.sum(1) / scores.shape[1]
    return _reduce(loss if input.dim() == 2 else loss.reshape(()), reduction)
