"""Module-level spellings of tensor methods (``torch.sin(x)`` is ``x.sin()``).

The element-wise functions of one tensor come from the compiled module's own
list (``_core._UNARY_FUNCTIONS``), so adding one in Rust adds its
``torch.`` function here too.
"""

from . import _core

_Tensor = _core.Tensor

_METHODS = tuple(_core._UNARY_FUNCTIONS) + (
    "add", "sub", "mul", "div", "sum", "mean", "norm", "t", "transpose", "reshape",
    "unsqueeze", "squeeze", "flatten", "clone", "matmul", "lt", "le", "gt", "ge", "eq",
    "ne", "masked_fill", "detach", "clamp", "clip", "clamp_min", "clamp_max", "maximum",
    "minimum", "logical_and", "logical_or", "logical_xor", "logical_not", "square", "round",
    "permute", "movedim", "moveaxis", "swapaxes", "swapdims", "narrow", "select", "split", "chunk",
    "unbind", "flip", "max", "min", "amax", "amin", "argmax", "argmin", "softmax", "log_softmax",
    "logsumexp", "var", "std", "gather", "scatter_add", "index_select", "index_add", "index_copy",
    "index_fill", "masked_select", "nonzero", "cumsum", "cumprod", "prod", "scatter", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "sort", "argsort", "topk", "all", "any",
    "count_nonzero", "fmod", "remainder", "floor_divide", "atan2", "arctan2", "copysign",
)


def _as_function(name):
    method = getattr(_Tensor, name)

    def function(input, *args, **kwargs):
        return method(input, *args, **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"``torch.{name}(input, ...)``: the same as ``input.{name}(...)``.\n\n{method.__doc__ or ''}"
    return function


for _name in _METHODS:
    globals()[_name] = _as_function(_name)


def pow(input, exponent):
    """``torch.pow``: either argument may be a number."""
    if isinstance(input, _Tensor):
        return input.pow(exponent)
    return exponent.__rpow__(input)


where = _core.where
subtract, multiply, divide, true_divide = sub, mul, div, div
negative, arcsin, arccos, arctan, fix = neg, asin, acos, atan, trunc  # noqa: F821

__all__ = list(_METHODS) + ["pow", "where", "subtract", "multiply", "divide", "true_divide", "negative",
                            "arcsin", "arccos", "arctan", "fix"]
