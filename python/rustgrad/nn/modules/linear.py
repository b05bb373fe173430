"""``torch.nn`` layers: ``Identity``, ``Linear`` and ``Bilinear`` (after
``torch/nn/modules/linear.py``: same parameters, initialisation and
reprs)."""

import math

from ... import _core
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module

__all__ = ["Identity", "Linear", "Bilinear"]


def _empty_parameter(*shape, device=None, dtype=None):
    """An uninitialised ``Parameter`` of ``shape`` (the layers'
    ``device=``/``dtype=`` factory keywords; default dtype when None)."""
    return Parameter(_core.empty(shape, dtype=dtype, device=device))


class Identity(Module):
    """Returns its input unchanged; any constructor arguments are ignored
    (so it can stand in for another layer)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """``y = x @ weight.T + bias``.

    ``weight`` (out_features, in_features) and ``bias`` (out_features,) are
    drawn from U(-1/sqrt(in_features), 1/sqrt(in_features)) (PyTorch's
    ``kaiming_uniform_(a=sqrt(5))``); ``bias=False`` registers ``bias`` as
    None. Input (*, in_features), output (*, out_features).
    """

    __constants__ = ["in_features", "out_features"]

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = _empty_parameter(out_features, in_features, **factory_kwargs)
        if bias:
            self.bias = _empty_parameter(out_features, **factory_kwargs)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """Redraws weight and bias with PyTorch's default scheme."""
        # a=sqrt(5) makes kaiming_uniform_ U(-1/sqrt(fan_in), 1/sqrt(fan_in))
        # (pytorch/pytorch#57109).
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Bilinear(Module):
    """``y = x1^T A x2 + b``: ``weight`` (out_features, in1_features,
    in2_features), ``bias`` (out_features,), both from U(-1/sqrt(in1),
    1/sqrt(in1)). Inputs (*, in1_features) and (*, in2_features), output
    (*, out_features). ValueError when ``in1_features <= 0``.
    """

    __constants__ = ["in1_features", "in2_features", "out_features"]

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None, dtype=None):
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        self.in1_features = in1_features
        self.in2_features = in2_features
        self.out_features = out_features
        self.weight = _empty_parameter(out_features, in1_features, in2_features, **factory_kwargs)
        if bias:
            self.bias = _empty_parameter(out_features, **factory_kwargs)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """Redraws weight and bias from U(-1/sqrt(in1), 1/sqrt(in1))."""
        if self.in1_features <= 0:
            raise ValueError(f"in1_features must be > 0, but got (in1_features={self.in1_features})")
        bound = 1 / math.sqrt(self.weight.size(1))
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
