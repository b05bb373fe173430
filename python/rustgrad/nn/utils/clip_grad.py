"""``torch.nn.utils.clip_grad``: rescale or clamp the gradients of
parameters in place (after ``torch/nn/utils/clip_grad.py``; rustgrad has one
CPU device, so there is no per-device grouping and ``foreach`` is accepted
and ignored)."""

import types
import warnings

from ... import _core
from ..._core import Tensor
from ...grad_mode import no_grad

__all__ = ["clip_grad_norm", "clip_grad_norm_", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_"]


def _as_list(tensors):
    """A single tensor or an iterable of them, as a list."""
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _grads(parameters):
    return [p.grad for p in parameters if p.grad is not None]


@no_grad()
def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The ``norm_type``-norm of all ``tensors`` together, i.e. the norm of
    their individual norms (``inf`` for the max-norm); ``tensor(0.)`` for
    none.

    Raises RuntimeError (PyTorch's message) when the result is NaN or
    infinite and ``error_if_nonfinite``.
    """
    from ...linalg import vector_norm  # late: rustgrad.linalg imports after nn

    tensors = _as_list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return _core.tensor(0.0)
    norms = [vector_norm(t, norm_type) for t in tensors]
    total_norm = vector_norm(_core.stack(norms), norm_type)
    if error_if_nonfinite and not bool(total_norm.isfinite()):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it "
            "cannot be clipped. To disable this error and scale the gradients by the non-finite norm "
            "anyway, set `error_if_nonfinite=False`")
    return total_norm


@no_grad()
def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Multiplies every gradient by ``min(max_norm / (total_norm + 1e-6),
    1)`` in place (PyTorch's formula: the 1e-6 keeps a zero norm finite)."""
    grads = _grads(_as_list(parameters))
    if not grads:
        return
    clip_coef = (float(max_norm) / (total_norm + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(clip_coef.to(dtype=g.dtype))


@no_grad()
def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Rescales the gradients of ``parameters`` (a tensor or an iterable) so
    their total ``norm_type``-norm is at most ``max_norm``; returns the total
    norm before clipping (a 0-d tensor). Warns when given an empty
    generator."""
    if isinstance(parameters, types.GeneratorType):
        parameters = list(parameters)
        if not parameters:
            warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.", stacklevel=3)
    parameters = _as_list(parameters)
    total_norm = get_total_norm(_grads(parameters), norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total_norm, foreach)
    return total_norm


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Deprecated alias of :func:`clip_grad_norm_` (FutureWarning)."""
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`torch.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


@no_grad()
def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamps every gradient of ``parameters`` to
    ``[-clip_value, clip_value]`` in place; returns None."""
    clip_value = float(clip_value)
    for g in _grads(_as_list(parameters)):
        g.clamp_(min=-clip_value, max=clip_value)
