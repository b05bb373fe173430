"""``torch.nn`` layers: one module per activation function.

Each module stores its constructor arguments as attributes and calls the
functional form of ``nn.functional`` with them; the reprs are PyTorch's
(``ReLU(inplace=True)``, ``LeakyReLU(negative_slope=0.01)``,
``Softmax(dim=1)``, ``Hardshrink(0.5)``). After
``torch/nn/modules/activation.py``.
"""

import warnings

from ... import _core
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module

__all__ = [
    "Threshold", "ReLU", "RReLU", "Hardtanh", "ReLU6", "Sigmoid", "Hardsigmoid", "Tanh", "SiLU", "Mish",
    "Hardswish", "ELU", "CELU", "SELU", "GLU", "GELU", "Hardshrink", "LeakyReLU", "LogSigmoid", "Softplus",
    "Softshrink", "PReLU", "Softsign", "Tanhshrink", "Softmin", "Softmax", "Softmax2d", "LogSoftmax",
]


class _Activation(Module):
    """An activation module: ``forward(x)`` is ``F.<_fn>(x, *fields)`` with
    the attributes named by ``_args``; ``extra_repr`` is ``_repr`` formatted
    with the attributes, followed by ``inplace=True`` when set."""

    _fn = None
    _args = ()
    _repr = ""

    def __init__(self, **attributes):
        super().__init__()
        for name, value in attributes.items():
            setattr(self, name, value)

    def forward(self, input):
        return getattr(F, self._fn)(input, *(getattr(self, a) for a in self._args))

    def extra_repr(self):
        parts = [self._repr.format(**self.__dict__)] if self._repr else []
        if getattr(self, "inplace", False):
            parts.append("inplace=True")
        return ", ".join(parts)


class Threshold(_Activation):
    """``value`` where ``x <= threshold``, ``x`` elsewhere."""

    _fn, _args, _repr = "threshold", ("threshold", "value", "inplace"), "threshold={threshold}, value={value}"

    def __init__(self, threshold, value, inplace=False):
        super().__init__(threshold=threshold, value=value, inplace=inplace)


class ReLU(_Activation):
    """``max(x, 0)``."""

    _fn, _args = "relu", ("inplace",)

    def __init__(self, inplace=False):
        super().__init__(inplace=inplace)


class RReLU(_Activation):
    """Randomized leaky ReLU: slopes from U(lower, upper) in training,
    their mean in evaluation."""

    _repr = "lower={lower}, upper={upper}"

    def __init__(self, lower=1.0 / 8, upper=1.0 / 3, inplace=False):
        super().__init__(lower=lower, upper=upper, inplace=inplace)

    def forward(self, input):
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)


class Hardtanh(_Activation):
    """``x`` clipped to ``[min_val, max_val]``; AssertionError unless
    ``max_val > min_val``. ``min_value``/``max_value`` are deprecated
    spellings (FutureWarning)."""

    _fn, _args, _repr = "hardtanh", ("min_val", "max_val", "inplace"), "min_val={min_val}, max_val={max_val}"

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False, min_value=None, max_value=None):
        if min_value is not None:
            warnings.warn("keyword argument `min_value` is deprecated and renamed to `min_val`",
                          FutureWarning, stacklevel=2)
            min_val = min_value
        if max_value is not None:
            warnings.warn("keyword argument `max_value` is deprecated and renamed to `max_val`",
                          FutureWarning, stacklevel=2)
            max_val = max_value
        super().__init__(min_val=min_val, max_val=max_val, inplace=inplace)
        if self.max_val <= self.min_val:
            raise AssertionError(f"max_val ({self.max_val}) must be greater than min_val ({self.min_val})")


class ReLU6(Hardtanh):
    """``min(max(0, x), 6)``."""

    _repr = ""

    def __init__(self, inplace=False):
        super().__init__(0.0, 6.0, inplace)


class Sigmoid(_Activation):
    """``1 / (1 + exp(-x))``."""

    _fn = "sigmoid"


class Tanh(_Activation):
    """Hyperbolic tangent."""

    _fn = "tanh"


class _InplaceActivation(_Activation):
    """An activation whose only argument is ``inplace``."""

    _args = ("inplace",)

    def __init__(self, inplace=False):
        super().__init__(inplace=inplace)


class Hardsigmoid(_InplaceActivation):
    """``relu6(x + 3) / 6``. (PyTorch's repr omits ``inplace``.)"""

    _fn = "hardsigmoid"

    def extra_repr(self):
        return ""


class Hardswish(_InplaceActivation):
    """``x * relu6(x + 3) / 6``. (PyTorch's repr omits ``inplace``.)"""

    _fn = "hardswish"

    def extra_repr(self):
        return ""


class SiLU(_InplaceActivation):
    """``x * sigmoid(x)``."""

    _fn = "silu"


class Mish(_InplaceActivation):
    """``x * tanh(softplus(x))``."""

    _fn = "mish"


class SELU(_InplaceActivation):
    """Scaled ELU (Klambauer et al. 2017)."""

    _fn = "selu"


class ELU(_Activation):
    """``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise."""

    _fn, _args, _repr = "elu", ("alpha", "inplace"), "alpha={alpha}"

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__(alpha=alpha, inplace=inplace)


class CELU(ELU):
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""

    _fn = "celu"


class GLU(_Activation):
    """``a * sigmoid(b)`` for the halves of the input along ``dim``."""

    _fn, _args, _repr = "glu", ("dim",), "dim={dim}"

    def __init__(self, dim=-1):
        super().__init__(dim=dim)


class GELU(_Activation):
    """Gaussian error linear unit, exact or ``approximate='tanh'``."""

    _fn, _args, _repr = "gelu", ("approximate",), "approximate={approximate!r}"

    def __init__(self, approximate="none"):
        super().__init__(approximate=approximate)


class Hardshrink(_Activation):
    """0 where ``|x| <= lambd``, ``x`` elsewhere."""

    _fn, _args, _repr = "hardshrink", ("lambd",), "{lambd}"

    def __init__(self, lambd=0.5):
        super().__init__(lambd=lambd)


class Softshrink(Hardshrink):
    """``x -/+ lambd`` outside ``[-lambd, lambd]``, 0 inside."""

    _fn = "softshrink"


class LeakyReLU(_Activation):
    """``x`` for ``x >= 0``, ``negative_slope * x`` otherwise."""

    _fn, _args, _repr = "leaky_relu", ("negative_slope", "inplace"), "negative_slope={negative_slope}"

    def __init__(self, negative_slope=1e-2, inplace=False):
        super().__init__(negative_slope=negative_slope, inplace=inplace)


class LogSigmoid(_Activation):
    """``log(sigmoid(x))``."""

    _fn = "logsigmoid"


class Softplus(_Activation):
    """``log(1 + exp(beta * x)) / beta``, linear above ``threshold``."""

    _fn, _args, _repr = "softplus", ("beta", "threshold"), "beta={beta}, threshold={threshold}"

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__(beta=beta, threshold=threshold)


class Softsign(_Activation):
    """``x / (1 + |x|)``."""

    _fn = "softsign"


class Tanhshrink(_Activation):
    """``x - tanh(x)``."""

    _fn = "tanhshrink"


class PReLU(Module):
    """``x`` for ``x > 0``, ``weight * x`` otherwise, with a learnable
    ``weight`` of ``num_parameters`` values (1, or the number of input
    channels) initialised to ``init``."""

    __constants__ = ["num_parameters"]

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        self.num_parameters = num_parameters
        super().__init__()
        self.init = init
        self.weight = Parameter(_core.empty(num_parameters, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self):
        """Refills ``weight`` with ``init``."""
        init.constant_(self.weight, self.init)

    def forward(self, input):
        return F.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class _SoftmaxFamily(_Activation):
    """Softmax-like modules: ``dim`` (int or None for PyTorch's deprecated
    implicit choice); TypeError for another type."""

    _repr = "dim={dim}"
    _check_dim = True

    def __init__(self, dim=None):
        if self._check_dim and dim is not None and (not isinstance(dim, int) or isinstance(dim, bool)):
            raise TypeError(f"dim must be an int or None, got {type(dim)}")
        super().__init__(dim=dim)

    def __setstate__(self, state):
        super().__setstate__(state)
        self.__dict__.setdefault("dim", None)

    def forward(self, input):
        # _stacklevel=5 makes the implicit-dim warning point at the caller.
        return getattr(F, self._fn)(input, self.dim, _stacklevel=5)


class Softmax(_SoftmaxFamily):
    """``exp(x) / sum(exp(x))`` along ``dim``."""

    _fn = "softmax"


class LogSoftmax(_SoftmaxFamily):
    """``log(softmax(x))`` along ``dim``."""

    _fn = "log_softmax"


class Softmin(_SoftmaxFamily):
    """``softmax(-x)`` along ``dim`` (PyTorch does not type-check ``dim``)."""

    _fn = "softmin"
    _check_dim = False


class Softmax2d(Module):
    """Softmax over the channels (dim -3) of a 3-D or 4-D input; ValueError
    for other ranks."""

    def forward(self, input):
        if input.dim() not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {input.dim()}D instead")
        return F.softmax(input, -3, _stacklevel=5)
