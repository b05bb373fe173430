"""Module-level spellings of tensor methods (``torch.sin(x)`` is ``x.sin()``).

The element-wise functions of one tensor come from the compiled module's own
list (``_core._UNARY_FUNCTIONS``), so adding one in Rust adds its
``torch.`` function here too.
"""

from __future__ import annotations

from . import _core
from ._arg_parser import Sequence, Tensor, parsed
from ._utils import NOT_GIVEN

_Tensor = _core.Tensor

_METHODS = tuple(_core._UNARY_FUNCTIONS) + (
    "add", "sub", "mul", "sum", "mean", "norm", "t", "transpose",
    "unsqueeze", "flatten", "clone", "matmul", "lt", "le", "gt", "ge", "eq",
    "ne", "masked_fill", "detach", "clamp", "clip", "clamp_min", "clamp_max", "maximum",
    "minimum", "logical_and", "logical_or", "logical_xor", "logical_not", "square", "round",
    "movedim", "moveaxis", "swapaxes", "swapdims", "narrow", "select", "split", "chunk",
    "unbind", "max", "min", "amax", "amin", "argmax", "argmin", "softmax", "log_softmax",
    "logsumexp", "var", "std", "gather", "scatter_add", "index_select", "index_add", "index_copy",
    "index_fill", "masked_select", "nonzero", "cumsum", "cumprod", "prod", "scatter", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "sort", "argsort", "topk", "all", "any",
    "fmod", "remainder", "floor_divide", "atan2", "arctan2", "copysign",
    "scatter_reduce", "cummax", "cummin", "logcumsumexp",
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


# The functions whose sizes or dims are one sequence, where the methods also
# take them spread out (``x.flip(0)``, ``torch.flip(x, (0,))``).
@parsed
def reshape(input: Tensor, shape: Sequence[int]):
    """``torch.reshape(input, shape)``: ``input.reshape(shape)``."""
    return input.reshape(shape)


@parsed
def permute(input: Tensor, dims: Sequence[int]):
    """``torch.permute(input, dims)``: ``input.permute(dims)``."""
    return input.permute(dims)


@parsed
def flip(input: Tensor, dims: Sequence[int]):
    """``torch.flip(input, dims)``: ``input.flip(dims)``."""
    return input.flip(dims)


@parsed
def squeeze(input: Tensor, dim: int | Sequence[int] = NOT_GIVEN):
    """``torch.squeeze(input, dim)``: ``input.squeeze(dim)`` (one dim or a
    sequence of them), or every size-1 dim without ``dim``."""
    return input.squeeze() if dim is NOT_GIVEN else input.squeeze(dim)


@parsed
def count_nonzero(input: Tensor, dim: int | Sequence[int] | None = None):
    """``torch.count_nonzero(input, dim=None)``: ``input.count_nonzero(dim)``
    (one dim or a sequence of them; all elements for None)."""
    return input.count_nonzero(dim)


def pow(input, exponent):
    """``torch.pow``: either argument may be a number, not both (TypeError,
    as PyTorch, rather than Python's own power of two numbers)."""
    if isinstance(input, _Tensor):
        return input.pow(exponent)
    if not isinstance(exponent, _Tensor):
        raise TypeError(f"pow() received an invalid combination of arguments - got ({type(input).__name__}, "
                        f"{type(exponent).__name__}), but expected one of:\n"
                        " * (Tensor input, Tensor exponent)\n * (Number self, Tensor exponent)\n"
                        " * (Tensor input, Number exponent)")
    return exponent.__rpow__(input)


def where(condition, input=NOT_GIVEN, other=NOT_GIVEN):
    """``torch.where(condition, input, other)``: ``input`` where
    ``condition`` (a bool tensor) is True, else ``other`` (tensors or
    numbers, broadcast together; the result dtype is their promoted one).

    ``torch.where(condition)`` (one argument): the same as
    ``torch.nonzero(condition, as_tuple=True)``: a tuple of 1-D int64
    tensors, one per dim of ``condition`` (any dtype; a 0-d condition counts
    as 1-D, as in PyTorch), holding the coordinates of its nonzero elements
    in row-major order. TypeError when only one of ``input`` / ``other`` is
    given or ``condition`` is not a tensor; otherwise the errors of the
    three-argument form (RuntimeError for shapes that do not broadcast)."""
    if input is NOT_GIVEN and other is NOT_GIVEN:
        if not isinstance(condition, _Tensor):
            raise TypeError(f"where(): argument 'condition' (position 1) must be Tensor, not "
                            f"{type(condition).__name__}")
        return condition.nonzero(as_tuple=True)
    if input is NOT_GIVEN or other is NOT_GIVEN or input is None or other is None:
        raise TypeError("where() received an invalid combination of arguments - expected (Tensor condition) or "
                        "(Tensor condition, Tensor input, Tensor other)")
    return _core.where(condition, input, other)


subtract, multiply = sub, mul  # noqa: F821
negative, arcsin, arccos, arctan, fix = neg, asin, acos, atan, trunc  # noqa: F821

# ``div`` / ``divide`` / ``true_divide`` (with ``rounding_mode``) live in
# ``_composites``.
__all__ = list(_METHODS) + ["reshape", "permute", "flip", "squeeze", "count_nonzero", "pow", "where", "subtract",
                            "multiply", "negative", "arcsin", "arccos", "arctan", "fix"]
