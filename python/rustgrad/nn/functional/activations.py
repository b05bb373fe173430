"""``torch.nn.functional``: activations.

Element-wise activations (most have a kernel in the core; the rest are
composed from differentiable ops with PyTorch's values at the kinks and for
NaN), ``glu``, ``prelu``, ``rrelu`` and the softmax family. ``inplace=True``
writes the result into the input, as PyTorch does, with its errors (e.g. on
a leaf that requires grad); the ``<name>_`` functions are the in-place forms.
Formulas follow PyTorch's documentation of each function.
"""

from __future__ import annotations

import math
import warnings

from ... import _core
from ..._arg_parser import PARSED_FRAMES, Sequence, Tensor, dtype, parsed

__all__ = [
    "relu", "relu_", "relu6", "sigmoid", "tanh", "silu", "mish", "softsign", "softplus", "leaky_relu",
    "leaky_relu_", "elu", "elu_", "selu", "selu_", "celu", "celu_", "hardtanh", "hardtanh_", "hardsigmoid",
    "hardswish", "gelu", "threshold", "threshold_", "logsigmoid", "tanhshrink", "hardshrink", "softshrink",
    "prelu", "rrelu", "rrelu_", "glu", "softmax", "log_softmax", "softmin", "gumbel_softmax",
]


def _maybe_inplace(input, fn, inplace):
    """``fn(input)``, or with ``inplace`` that result written into ``input``
    (PyTorch's in-place errors apply, e.g. on a leaf that requires grad)."""
    if not inplace:
        return fn(input)
    # fn runs on a copy when autograd records: its backward may need the
    # input's old values, which the write below would overwrite.
    recorded = input.requires_grad and _core.is_grad_enabled()
    return input.copy_(fn(input.clone() if recorded else input))


def _inplace_form(fn):
    """``fn_(input, ...)``: ``fn(input, ..., inplace=True)``."""

    def inplace_fn(input, *args, **kwargs):
        return fn(input, *args, inplace=True, **kwargs)

    inplace_fn.__name__ = fn.__name__ + "_"
    inplace_fn.__doc__ = f"In-place version of :func:`{fn.__name__}`."
    return inplace_fn


@parsed
def relu(input: Tensor, inplace=False):
    """``max(x, 0)`` (NaN and -0. pass through)."""
    return input.relu_() if inplace else input.relu()


@parsed
def relu_(input: Tensor):
    """In-place version of :func:`relu`."""
    return input.relu_()


@parsed
def sigmoid(input: Tensor):
    """``1 / (1 + exp(-x))``."""
    return input.sigmoid()


@parsed
def tanh(input: Tensor):
    """Hyperbolic tangent."""
    return input.tanh()


@parsed
def silu(input: Tensor, inplace=False):
    """``x * sigmoid(x)``."""
    return _maybe_inplace(input, _core.silu, inplace)


@parsed
def mish(input: Tensor, inplace=False):
    """``x * tanh(softplus(x))``."""
    return _maybe_inplace(input, _core.mish, inplace)


@parsed
def softsign(input: Tensor):
    """``x / (1 + |x|)``."""
    return _core.softsign(input)


@parsed
def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0):
    """``log(1 + exp(beta * x)) / beta``, linear where ``beta * x > threshold``."""
    return _core.softplus(input, beta, threshold)


@parsed
def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace=False):
    """``x`` for ``x >= 0``, ``negative_slope * x`` otherwise."""
    return _maybe_inplace(input, lambda x: _core.leaky_relu(x, negative_slope), inplace)


@parsed
def elu(input: Tensor, alpha: float = 1.0, inplace=False):
    """``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise."""
    return _maybe_inplace(input, lambda x: _core.elu(x, alpha), inplace)


@parsed
def selu(input: Tensor, inplace=False):
    """ELU with the constants of Klambauer et al. (2017)."""
    return _maybe_inplace(input, _core.selu, inplace)


@parsed
def celu(input: Tensor, alpha: float = 1.0, inplace=False):
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""
    return _maybe_inplace(input, lambda x: _core.celu(x, alpha), inplace)


@parsed(own_checks_first=True)
def hardtanh(input: Tensor, min_val=-1.0, max_val=1.0, inplace=False):
    """``x`` clipped to ``[min_val, max_val]``. ValueError when
    ``min_val > max_val``."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _maybe_inplace(input, lambda x: _core.hardtanh(x, min_val, max_val), inplace)


@parsed
def relu6(input: Tensor, inplace=False):
    """``min(max(0, x), 6)``."""
    return _maybe_inplace(input, _core.relu6, inplace)


@parsed
def hardsigmoid(input: Tensor, inplace=False):
    """``relu6(x + 3) / 6``."""
    return _maybe_inplace(input, _core.hardsigmoid, inplace)


@parsed
def hardswish(input: Tensor, inplace=False):
    """``x * relu6(x + 3) / 6`` (Howard et al. 2019)."""
    return _maybe_inplace(input, _core.hardswish, inplace)


@parsed
def gelu(input: Tensor, approximate: str = "none"):
    """GELU (Hendrycks & Gimpel 2016), exact or with ``approximate='tanh'``."""
    return _core.gelu(input, approximate)


def _keep_dtype(result, input):
    """Casts a composed result back to the input's dtype (a Python scalar in
    ``where`` may have promoted an integer input)."""
    return result if result.dtype == input.dtype else result.to(input.dtype)


@parsed
def threshold(input: Tensor, threshold: float, value: float, inplace=False):
    """``value`` where ``x <= threshold``, ``x`` elsewhere (NaN stays NaN);
    the result has the input's dtype."""
    return _maybe_inplace(input, lambda x: _keep_dtype(_core.where(x <= threshold, value, x), x), inplace)


@parsed
def logsigmoid(input: Tensor):
    """``log(sigmoid(x))``, computed as ``x - log1p(exp(x))`` for ``x < 0``
    and ``-log1p(exp(-x))`` otherwise, so neither side overflows."""
    # softplus with an infinite threshold is log1p(exp(.)) without the linear
    # cut-off (exact); each branch only sees arguments <= 0 where selected.
    inf = math.inf
    return _core.where(input < 0, input - _core.softplus(input, 1.0, inf), -_core.softplus(-input, 1.0, inf))


@parsed
def tanhshrink(input: Tensor):
    """``x - tanh(x)``."""
    return input - input.tanh()


def _check_lambd(input, lambd):
    """softshrink's range check, with PyTorch's message."""
    # Late imports: rustgrad defines these after importing nn.
    from ... import finfo
    from ..._composites import _type_name

    high = finfo(input.dtype).max
    if not 0 <= lambd <= high:
        raise RuntimeError(f"lambda must be in range [0, {high:g}] for input dtype {_type_name(input.dtype)}, "
                           f"but found {lambd:g}")


@parsed
def hardshrink(input: Tensor, lambd: float = 0.5):
    """0 where ``|x| <= lambd``, ``x`` elsewhere (NaN stays NaN)."""
    return _core.where((input >= -lambd) & (input <= lambd), 0.0, input)


@parsed
def softshrink(input: Tensor, lambd: float = 0.5):
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, 0 in
    between (NaN stays NaN). RuntimeError for a negative ``lambd``."""
    _check_lambd(input, lambd)
    # input * 0 (not 0.) in the middle keeps NaN, as PyTorch's kernel does.
    return _core.where(input > lambd, input - lambd, _core.where(input < -lambd, input + lambd, input * 0))


@parsed
def prelu(input: Tensor, weight: Tensor):
    """``x`` for ``x > 0``, ``weight * x`` otherwise; ``weight`` is one
    value or one per channel (dim 1 of ``input``; a 1-D input is one
    channel).

    Raises RuntimeError with PyTorch's messages for a weight of more than one
    dimension or a count that matches neither 1 nor the channels.
    """
    if weight.dim() > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {weight.dim()}")
    channels = input.shape[1] if input.dim() >= 2 else 1
    if weight.numel() == 1:
        w = weight.reshape(())
    elif weight.numel() == channels:
        w = weight.reshape(channels, *[1] * (input.dim() - 2))
    else:
        raise RuntimeError("Mismatch of parameter numbers and input channel size. Found parameter numbers = "
                           f"{weight.numel()} and channel size = {channels}.")
    return _core.where(input > 0, input, input * w)


@parsed
def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False, inplace=False):
    """Randomized leaky ReLU (Xu et al. 2015): negative inputs are scaled by
    a slope drawn from U(lower, upper) per element when ``training``, by
    ``(lower + upper) / 2`` otherwise. RuntimeError when ``lower > upper``."""
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)

    def randomized(x):
        slopes = _core.zeros_like(x).uniform_(lower, upper)
        return _core.where(x >= 0, x, x * slopes)

    return _maybe_inplace(input, randomized, inplace)


leaky_relu_ = _inplace_form(leaky_relu)
elu_ = _inplace_form(elu)
selu_ = _inplace_form(selu)
celu_ = _inplace_form(celu)
hardtanh_ = _inplace_form(hardtanh)
threshold_ = _inplace_form(threshold)
rrelu_ = _inplace_form(rrelu)


@parsed
def glu(input: Tensor, dim=-1):
    """Gated linear unit: ``a * sigmoid(b)`` for the two halves ``a, b`` of
    ``input`` along ``dim``. RuntimeError for a scalar or an odd size."""
    if input.dim() == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    wrapped = dim % input.dim()
    if input.shape[wrapped] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {wrapped} is size "
                           f"{input.shape[wrapped]}")
    a, b = input.chunk(2, dim)
    return a * b.sigmoid()


def _get_softmax_dim(name, ndim, stacklevel):
    """PyTorch's deprecated implicit dim: 0 for 0-, 1- and 3-d inputs, else
    1, with its warning."""
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. "
                  "Change the call to include dim=X as an argument.", stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def _softmax_like(method, name, input, dim, stacklevel, dtype):
    if dim is None:
        dim = _get_softmax_dim(name, input.dim(), stacklevel + 1 + PARSED_FRAMES)
    fn = getattr(input, method)
    return fn(dim) if dtype is None else fn(dim, dtype=dtype)


@parsed
def softmax(input: Tensor, dim: int | Sequence[int] | None = None, _stacklevel=3, dtype: dtype | None = None):
    """``exp(x) / sum(exp(x))`` along ``dim`` (computed in ``dtype`` when
    given). ``dim=None`` picks PyTorch's implicit dim with a warning."""
    return _softmax_like("softmax", "softmax", input, dim, _stacklevel, dtype)


@parsed
def log_softmax(input: Tensor, dim: int | Sequence[int] | None = None, _stacklevel=3, dtype: dtype | None = None):
    """``x - logsumexp(x)`` along ``dim``; ``dim=None`` as in
    :func:`softmax`."""
    return _softmax_like("log_softmax", "log_softmax", input, dim, _stacklevel, dtype)


@parsed
def softmin(input: Tensor, dim=None, _stacklevel=3, dtype: dtype | None = None):
    """``softmax(-x)`` along ``dim``; ``dim=None`` as in :func:`softmax`."""
    return _softmax_like("softmax", "softmin", -input, dim, _stacklevel, dtype)


@parsed
def gumbel_softmax(logits: Tensor, tau=1, hard=False, eps: float = 1e-10, dim: int | Sequence[int] | None = -1):
    """Samples from the Gumbel-softmax distribution (Jang et al. 2016):
    ``softmax((logits + g) / tau)`` with ``g = -log(Exp(1))`` noise. With
    ``hard``, the result is one-hot (the argmax) in the forward pass and has
    the soft sample's gradient (straight-through). ``eps`` is unused, as in
    PyTorch."""
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2 + PARSED_FRAMES)
    gumbels = -_core.zeros_like(logits).exponential_().log()
    y_soft = ((logits + gumbels) / tau).softmax(dim)
    if not hard:
        return y_soft
    index = y_soft.max(dim, keepdim=True)[1]
    y_hard = _core.zeros_like(logits).scatter_(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft
