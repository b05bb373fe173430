"""``torch.nn`` layers: padding (``ZeroPad``, ``ConstantPad``,
``ReflectionPad``, ``ReplicationPad`` and ``CircularPad``, each in 1-d, 2-d
and 3-d forms), calling ``F.pad``. ``padding`` is an int (the same on every
side) or a tuple ``(left, right[, top, bottom[, front, back]])``. After
``torch/nn/modules/padding.py``."""

from .. import functional as F
from .module import Module
from .utils import _ntuple

__all__ = [
    "CircularPad1d", "CircularPad2d", "CircularPad3d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
    "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d",
    "ReplicationPad3d", "ZeroPad1d", "ZeroPad2d", "ZeroPad3d",
]


class _PadNd(Module):
    """``F.pad(input, self.padding, self._mode)`` over the last ``_dims``
    dims; repr is the padding tuple."""

    __constants__ = ["padding"]
    _mode = None
    _dims = 1

    def __init__(self, padding):
        super().__init__()
        self.padding = _ntuple(2 * self._dims)(padding)

    def forward(self, input):
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self):
        return f"{self.padding}"


class _CircularPadNd(_PadNd):
    """Circular padding; ValueError unless the input has ``_dims + 1`` or
    ``_dims + 2`` dims."""

    _mode = "circular"

    def forward(self, input):
        lo, hi = self._dims + 1, self._dims + 2
        if input.dim() != lo and input.dim() != hi:
            raise ValueError(f"expected {lo}D or {hi}D input (got {input.dim()}D input)")
        return super().forward(input)


class CircularPad1d(_CircularPadNd):
    """Wraps the last dim around: ``(C, W)`` or ``(N, C, W)``."""

    _dims = 1


class CircularPad2d(_CircularPadNd):
    """Wraps the last two dims around: ``(C, H, W)`` or ``(N, C, H, W)``."""

    _dims = 2


class CircularPad3d(_CircularPadNd):
    """Wraps the last three dims around: ``(C, D, H, W)`` or
    ``(N, C, D, H, W)``."""

    _dims = 3


class _ConstantPadNd(_PadNd):
    """Constant padding with ``value``; repr ``padding=(...), value=v``."""

    __constants__ = ["padding", "value"]
    _mode = "constant"

    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def forward(self, input):
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pads the last dim with ``value``."""

    _dims = 1


class ConstantPad2d(_ConstantPadNd):
    """Pads the last two dims with ``value``."""

    _dims = 2


class ConstantPad3d(_ConstantPadNd):
    """Pads the last three dims with ``value``."""

    _dims = 3


class ZeroPad1d(ConstantPad1d):
    """Pads the last dim with zeros."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    extra_repr = _PadNd.extra_repr


class ZeroPad2d(ConstantPad2d):
    """Pads the last two dims with zeros."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    extra_repr = _PadNd.extra_repr


class ZeroPad3d(ConstantPad3d):
    """Pads the last three dims with zeros."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    extra_repr = _PadNd.extra_repr


class ReflectionPad1d(_PadNd):
    """Mirrors the last dim about its edges (edge not repeated)."""

    _mode, _dims = "reflect", 1


class ReflectionPad2d(_PadNd):
    """Mirrors the last two dims about their edges."""

    _mode, _dims = "reflect", 2


class ReflectionPad3d(_PadNd):
    """Mirrors the last three dims about their edges."""

    _mode, _dims = "reflect", 3


class ReplicationPad1d(_PadNd):
    """Repeats the edge values of the last dim."""

    _mode, _dims = "replicate", 1


class ReplicationPad2d(_PadNd):
    """Repeats the edge values of the last two dims."""

    _mode, _dims = "replicate", 2


class ReplicationPad3d(_PadNd):
    """Repeats the edge values of the last three dims."""

    _mode, _dims = "replicate", 3
