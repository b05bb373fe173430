"""dtype helpers: ``promote_types``, ``result_type``, ``finfo``, ``iinfo``,
with PyTorch's promotion rules (bool < integers < floats; a Python
number does not raise a tensor's category's dtype, a 0-d tensor yields to a
dimensioned one of the same category)."""

from . import _core


def promote_types(type1, type2):
    """The smallest dtype both can be converted to without losing their
    category (PyTorch's table: uint8 with int8 gives int16, float16 with
    bfloat16 gives float32, otherwise the larger in bool < uint8 < int8 <
    int16 < int32 < int64 < float16 < bfloat16 < float32 < float64); the
    core's own promotion, asked through an op on empty tensors."""
    return (_core.zeros(0, dtype=type1) + _core.zeros(0, dtype=type2)).dtype


def result_type(tensor1, tensor2):
    """The dtype an arithmetic op on these two (tensors or numbers) gives:
    computed by the op itself on empty stand-ins of the same dims."""
    def stand_in(x):
        if not isinstance(x, _core.Tensor):
            return x
        return _core.zeros([0] if x.dim() else [], dtype=x.dtype)
    a, b = stand_in(tensor1), stand_in(tensor2)
    if not isinstance(a, _core.Tensor) and not isinstance(b, _core.Tensor):
        a = _core.tensor(a)
    return (a + b).dtype if not (isinstance(a, _core.Tensor) and a.dtype == _core.bool and
                                 isinstance(b, _core.Tensor) and b.dtype == _core.bool) else _core.bool


def _dtype_argument(name, value):
    if not isinstance(value, _core.dtype):
        raise TypeError(f"{name}(): argument 'type' (position 1) must be torch.dtype, not {value.__class__.__name__}")
    return value


class finfo:
    """Machine limits of a float dtype (IEEE 754 binary16/32/64, and
    bfloat16: binary32's exponent with 8 significand bits):
    ``bits``, ``eps``, ``max``, ``min``, ``tiny`` (= ``smallest_normal``),
    ``resolution``."""

    _LIMITS = {
        "float16": (16, 0.0009765625, 65504.0, 6.103515625e-05, 0.001),
        "bfloat16": (16, 0.0078125, 3.3895313892515355e38, 1.1754943508222875e-38, 0.01),
        "float32": (32, 1.1920928955078125e-07, 3.4028234663852886e38, 1.1754943508222875e-38, 1e-06),
        "float64": (64, 2.220446049250313e-16, 1.7976931348623157e308, 2.2250738585072014e-308, 1e-15),
    }

    def __init__(self, type=_core.float32):
        type = _dtype_argument("finfo", type)
        if not type.is_floating_point:
            raise TypeError("torch.finfo() requires a floating point input type. Use torch.iinfo to handle 'torch.finfo'")
        self.dtype = str(type).replace("torch.", "")
        self.bits, self.eps, self.max, self.tiny, self.resolution = self._LIMITS[self.dtype]
        self.min, self.smallest_normal = -self.max, self.tiny

    def __repr__(self):
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, eps={self.eps:g}, "
                f"smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """Limits of an integer dtype: ``bits``, ``min``, ``max`` (two's
    complement, uint8 unsigned). TypeError for float and bool dtypes."""

    def __init__(self, type):
        type = _dtype_argument("iinfo", type)
        if type.is_floating_point or type is _core.bool:
            raise TypeError("torch.iinfo() requires an integer input type. Use torch.finfo to handle 'torch.iinfo'")
        self.dtype = str(type).replace("torch.", "")
        self.bits = 8 * type.itemsize
        self.min, self.max = (0, 255) if type is _core.uint8 else (-2 ** (self.bits - 1), 2 ** (self.bits - 1) - 1)

    def __repr__(self):
        return f"iinfo(min={float(self.min):g}, max={float(self.max):g}, dtype={self.dtype})"


__all__ = ["promote_types", "result_type", "finfo", "iinfo"]
