"""Module-level spellings of tensor methods (``torch.sin(x)`` is ``x.sin()``)."""

from . import _core

_Tensor = _core.Tensor

_METHODS = (
    "add", "sub", "mul", "div", "neg", "sin", "cos", "exp", "log", "log1p",
    "sqrt", "tanh", "sigmoid", "relu", "abs", "sign", "reciprocal", "sum",
    "mean", "norm", "t", "transpose", "reshape", "unsqueeze", "squeeze",
    "flatten", "clone", "matmul", "mm", "lt", "le", "gt", "ge", "eq", "ne",
    "masked_fill", "detach",
)


def _as_function(name):
    method = getattr(_Tensor, name)

    def function(input, *args, **kwargs):
        return method(input, *args, **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"``torch.{name}(input, ...)``: the same as ``input.{name}(...)``."
    return function


for _name in _METHODS:
    globals()[_name] = _as_function(_name)


def pow(input, exponent):
    """``torch.pow``: either argument may be a number."""
    if isinstance(input, _Tensor):
        return input.pow(exponent)
    return exponent.__rpow__(input)


subtract, multiply, divide, true_divide = sub, mul, div, div

__all__ = list(_METHODS) + ["pow", "subtract", "multiply", "divide", "true_divide"]
