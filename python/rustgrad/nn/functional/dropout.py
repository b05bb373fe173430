"""``torch.nn.functional``: dropout.

As ATen's CPU path (aten/src/ATen/native/Dropout.cpp, ``_dropout_impl``),
the noise is a Bernoulli(1 - p) mask, scaled, and multiplied into the input;
the gradient is that of the multiplication. The mask is drawn as
``rand < 1 - p`` from the default generator (so ``torch.manual_seed``
controls it): the core's ``bernoulli_`` takes a per-element slow path, ~6x
slower, and ``p`` is checked once here anyway.
Feature ("channel-wise") variants draw one value per (sample, channel) and
broadcast it over the spatial dims.
"""

from __future__ import annotations

import math
import warnings

from ... import _core
from ..._arg_parser import PARSED_FRAMES, Tensor, parsed

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"]

# SELU's negative saturation value -lambda * alpha (Klambauer et al., 2017),
# ATen's ``alpha`` constant for alpha dropout.
_SELU_SATURATION = 1.7580993408473766


def _check_args(p, training, name):
    """PyTorch's order: its Python code checks ``p``, then ATen parses
    ``train`` (a bool: TypeError otherwise), before anything is written."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not isinstance(training, bool):
        raise TypeError(f"{name}(): argument 'train' (position 3) must be bool, not {type(training).__name__}")


def _noise_shape(input, feature):
    """Element-wise noise has input's shape; feature noise is ``(N, C, 1,
    ...)``, drawn once per channel (ATen's ``make_feature_noise``)."""
    if not feature:
        return list(input.shape)
    if input.dim() < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    return list(input.shape[:2]) + [1] * (input.dim() - 2)


def _bernoulli(shape, q, dtype):
    """0/1 noise of ``shape`` and ``dtype``, 1 with probability ``q``. The
    uniforms are float32 whatever the dtype: a resolution of 2^-24 is ample
    for a probability."""
    return (_core.rand(shape, dtype=_core.float32) < q).to(dtype)


def _multiply(input, noise, inplace):
    return input.mul_(noise) if inplace else input * noise


def _dropout_impl(input, p, training, inplace, feature=False, alpha=False):
    """ATen's ``_dropout_impl``: identity when not training or ``p == 0``;
    zeros (times the input, so the gradient is zero too) when ``p == 1``."""
    if p == 0 or not training:
        return input
    if p == 1:
        return _multiply(input, _core.zeros((), dtype=input.dtype), inplace)
    noise = _bernoulli(_noise_shape(input, feature), 1 - p, input.dtype)
    if not alpha:
        return _multiply(input, noise.div_(1 - p), inplace)
    # Dropped units are set to the saturation value, then an affine map
    # ``a * x + b`` restores zero mean and unit variance.
    a = 1.0 / math.sqrt((_SELU_SATURATION ** 2 * p + 1) * (1 - p))
    b = (noise - 1) * (_SELU_SATURATION * a) + _SELU_SATURATION * a * p
    out = _multiply(input, noise.mul_(a), inplace)
    return out.add_(b) if inplace else out + b


@parsed(own_checks_first=True)
def dropout(input: Tensor, p=0.5, training=True, inplace=False):
    """Zeroes each element with probability ``p`` and scales the others by
    ``1 / (1 - p)``; identity when not ``training``. ``inplace`` writes into
    ``input``. ValueError for ``p`` outside ``[0, 1]``."""
    _check_args(p, training, "dropout")
    return _dropout_impl(input, p, training, inplace)


@parsed(own_checks_first=True)
def alpha_dropout(input: Tensor, p=0.5, training=False, inplace=False):
    """Dropout for SELU networks (Klambauer et al., 2017): dropped elements
    take SELU's saturation value and the result is renormalized to keep
    zero mean and unit variance. Note ``training`` defaults to False, as in
    PyTorch."""
    _check_args(p, training, "alpha_dropout")
    return _dropout_impl(input, p, training, inplace, alpha=True)


@parsed(own_checks_first=True)
def feature_alpha_dropout(input: Tensor, p=0.5, training=False, inplace=False):
    """``alpha_dropout`` with one draw per (sample, channel) of ``(N, C,
    *)`` input."""
    _check_args(p, training, "feature_alpha_dropout")
    return _dropout_impl(input, p, training, inplace, feature=True, alpha=True)


def _feature_dropout_unbatched(input, p, training, inplace):
    """Feature dropout of input lacking the batch dim: run on a view with
    one added (in place, that view aliases ``input``)."""
    return _dropout_impl(input.unsqueeze(0), p, training, inplace, feature=True).squeeze(0)


@parsed(own_checks_first=True)
def dropout1d(input: Tensor, p=0.5, training=True, inplace=False):
    """Zeroes whole channels of ``(N, C, L)`` or ``(C, L)`` input with
    probability ``p`` (scaling the rest by ``1 / (1 - p)``). RuntimeError
    for other ranks; ValueError for ``p`` outside ``[0, 1]``."""
    _check_args(p, training, "feature_dropout")
    inp_dim = input.dim()
    if inp_dim not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {inp_dim}D input. "
            "Note that dropout1d exists to provide channel-wise dropout on inputs with 1 "
            "spatial dimension, a channel dimension, and an optional batch dimension "
            "(i.e. 2D or 3D inputs).")
    if inp_dim == 2:
        return _feature_dropout_unbatched(input, p, training, inplace)
    return _dropout_impl(input, p, training, inplace, feature=True)


@parsed(own_checks_first=True)
def dropout2d(input: Tensor, p=0.5, training=True, inplace=False):
    """Zeroes whole channels of ``(N, C, H, W)`` input with probability
    ``p``. Like PyTorch, 3-D input is taken as ``(N, C, L)`` (channel-wise
    1-D dropout) with a warning, and other ranks warn that they are
    deprecated."""
    _check_args(p, training, "feature_dropout")
    inp_dim = input.dim()
    if inp_dim not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {inp_dim}-D input to dropout2d, which is deprecated "
            "and will result in an error in a future release. To retain the behavior "
            "and silence this warning, please use dropout instead. Note that dropout2d "
            "exists to provide channel-wise dropout on inputs with 2 spatial dimensions, "
            "a channel dimension, and an optional batch dimension (i.e. 3D or 4D inputs).", stacklevel=2 + PARSED_FRAMES)
    if inp_dim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise "
            "1D dropout behavior is desired - input is interpreted as shape (N, C, L), where C "
            "is the channel dim. This behavior will change in a future release to interpret the "
            "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.", stacklevel=2 + PARSED_FRAMES)
    return _dropout_impl(input, p, training, inplace, feature=True)


@parsed(own_checks_first=True)
def dropout3d(input: Tensor, p=0.5, training=True, inplace=False):
    """Zeroes whole channels of ``(N, C, D, H, W)`` or ``(C, D, H, W)``
    input with probability ``p``; other ranks warn that they are
    deprecated."""
    _check_args(p, training, "feature_dropout")
    inp_dim = input.dim()
    if inp_dim not in (4, 5):
        warnings.warn(
            f"dropout3d: Received a {inp_dim}-D input to dropout3d, which is deprecated "
            "and will result in an error in a future release. To retain the behavior "
            "and silence this warning, please use dropout instead. Note that dropout3d "
            "exists to provide channel-wise dropout on inputs with 3 spatial dimensions, "
            "a channel dimension, and an optional batch dimension (i.e. 4D or 5D inputs).", stacklevel=2 + PARSED_FRAMES)
    if inp_dim != 5:
        return _feature_dropout_unbatched(input, p, training, inplace)
    return _dropout_impl(input, p, training, inplace, feature=True)
