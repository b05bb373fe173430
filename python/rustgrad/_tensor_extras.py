"""Tensor conveniences training code reaches for: the ``new_*`` factories
(a new tensor with this one's dtype), ``reshape_as``, and the closeness
tests ``isclose``/``allclose`` (PyTorch's formula, ``|a - b| <= atol +
|rtol * b|``, with NaN equal under ``equal_nan`` and infinities equal when
identical)."""

from __future__ import annotations

import warnings

from . import _core
from ._composites import _type_name
from ._arg_parser import Sequence, Tensor, dtype, parsed

_Tensor = _core.Tensor

__all__ = ["isclose", "allclose", "is_floating_point"]


def _sizes(size):
    """``(2, 3)``, ``[2, 3]`` or ``2, 3`` as one tuple."""
    return tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)


def _factory(make, what):
    def new(self, *size, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False):
        if not size:
            raise TypeError(f'new_{what}() missing 1 required positional arguments: "size"')
        out = make(_sizes(size), dtype=dtype or self.dtype, device=device)
        return out.requires_grad_(requires_grad) if requires_grad else out

    new.__name__ = f"new_{what}"
    new.__doc__ = (f"A new tensor of {what} shaped ``size`` (ints or one sequence), with this tensor's dtype "
                   "unless ``dtype`` is given; ``requires_grad`` as asked.")
    return new


@parsed
def new_full(self: Tensor, size: Sequence[int], fill_value: float, *, dtype: dtype | None = None, device=None,
             requires_grad=False, layout=None, pin_memory=False):
    """A new tensor shaped ``size`` filled with ``fill_value``, with this
    tensor's dtype unless ``dtype`` is given."""
    return _core.full(tuple(size), fill_value, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)


def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False):
    """A copy of ``data`` as a new leaf with this tensor's dtype unless
    ``dtype`` is given; warns, as PyTorch, when ``data`` is a tensor."""
    if isinstance(data, _Tensor):
        warnings.warn(
            "To copy construct from a tensor, it is recommended to use sourceTensor.detach().clone() or "
            "sourceTensor.detach().clone().requires_grad_(True), rather than tensor.new_tensor(sourceTensor).",
            UserWarning, stacklevel=2)
        data = data.detach()
    return _core.tensor(data, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)


@parsed
def reshape_as(self: Tensor, other: Tensor):
    """``self.reshape(other.shape)``."""
    return self.reshape(other.shape)


@parsed
def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False):
    """Element-wise ``|input - other| <= atol + |rtol * other|`` as a bool
    tensor (broadcast); equal values (infinities included) are close, NaNs
    only with ``equal_nan``. RuntimeError for different dtypes or a
    negative tolerance, TypeError when ``other`` is not a tensor."""
    if not isinstance(other, _Tensor):
        raise TypeError(f"isclose(): argument 'other' (position 2) must be Tensor, not {type(other).__name__}")
    if input.dtype != other.dtype:
        raise RuntimeError(f"{_type_name(input.dtype)} did not match {_type_name(other.dtype)}")
    for name, tol in (("rtol", rtol), ("atol", atol)):
        if tol < 0:
            raise RuntimeError(f"{name} must be greater than or equal to zero, but got {tol}")
    close = input == other
    if equal_nan and input.is_floating_point():
        close = close | (input.isnan() & other.isnan())
    if rtol == 0 and atol == 0 or input.dtype == _core.bool:
        return close
    if not input.is_floating_point():
        input, other = input.to(_core.float32), other.to(_core.float32)
    error = (input - other).abs()
    return close | (error.isfinite() & (error <= atol + (rtol * other).abs()))


@parsed
def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False):
    """Whether every element pair is ``isclose`` (a Python bool)."""
    return bool(isclose(input, other, rtol, atol, equal_nan).all().item())


@parsed
def is_floating_point(input: Tensor):
    """Whether ``input``'s dtype is a floating-point one."""
    return input.is_floating_point()


def _iter(self):
    """Iterates over the first dimension (``unbind(0)``'s views), as
    PyTorch's ``Tensor.__iter__``; TypeError for a 0-d tensor (Python's
    fallback through ``__getitem__`` would give an empty iteration)."""
    if self.dim() == 0:
        raise TypeError("iteration over a 0-d tensor")
    return iter(self.unbind(0))


_Tensor.__iter__ = _iter
_Tensor.new_zeros = _factory(_core.zeros, "zeros")
_Tensor.new_ones = _factory(_core.ones, "ones")
_Tensor.new_empty = _factory(_core.empty, "empty")
_Tensor.new_full = new_full
_Tensor.new_tensor = new_tensor
_Tensor.reshape_as = reshape_as
_Tensor.isclose = isclose
_Tensor.allclose = allclose
