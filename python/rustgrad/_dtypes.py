"""dtype helpers: ``promote_types``, ``result_type``, ``finfo``, ``iinfo``,
with PyTorch's promotion rules (bool < int64 < float32 < float64; a Python
number does not raise a tensor's category's dtype, a 0-d tensor yields to a
dimensioned one of the same category)."""

from . import _core

_ORDER = [_core.bool, _core.int64, _core.float32, _core.float64]


def promote_types(type1, type2):
    """The smallest dtype both can be converted to without losing their
    category."""
    return max(type1, type2, key=_ORDER.index)


def result_type(tensor1, tensor2):
    """The dtype an arithmetic op on these two (tensors or numbers) gives:
    computed by the op itself on empty stand-ins of the same dims."""
    def stand_in(x):
        if not isinstance(x, _core.Tensor):
            return x
        return _core.zeros(*([0] if x.dim() else []), dtype=x.dtype)
    a, b = stand_in(tensor1), stand_in(tensor2)
    if not isinstance(a, _core.Tensor) and not isinstance(b, _core.Tensor):
        a = _core.tensor(a)
    return (a + b).dtype if not (isinstance(a, _core.Tensor) and a.dtype == _core.bool and
                                 isinstance(b, _core.Tensor) and b.dtype == _core.bool) else _core.bool


class finfo:
    """Machine limits of a float dtype (IEEE 754 binary32/binary64):
    ``bits``, ``eps``, ``max``, ``min``, ``tiny`` (= ``smallest_normal``),
    ``resolution``."""

    _LIMITS = {
        "float32": (32, 1.1920928955078125e-07, 3.4028234663852886e38, 1.1754943508222875e-38, 1e-06),
        "float64": (64, 2.220446049250313e-16, 1.7976931348623157e308, 2.2250738585072014e-308, 1e-15),
    }

    def __init__(self, type=None):
        type = _core.float32 if type is None else type
        if type not in (_core.float32, _core.float64):
            raise TypeError("torch.finfo() requires a floating point input type. Use torch.iinfo to handle 'torch.finfo'")
        self.dtype = str(type).replace("torch.", "")
        self.bits, self.eps, self.max, self.tiny, self.resolution = self._LIMITS[self.dtype]
        self.min, self.smallest_normal = -self.max, self.tiny

    def __repr__(self):
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, eps={self.eps:g}, "
                f"smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """Limits of an integer dtype: ``bits``, ``min``, ``max``."""

    def __init__(self, type):
        if type is not _core.int64:
            raise TypeError("torch.iinfo() requires an integer input type. Use torch.finfo to handle 'torch.iinfo'")
        self.dtype, self.bits, self.min, self.max = "int64", 64, -2 ** 63, 2 ** 63 - 1

    def __repr__(self):
        return f"iinfo(min={float(self.min):g}, max={float(self.max):g}, dtype={self.dtype})"


__all__ = ["promote_types", "result_type", "finfo", "iinfo"]
