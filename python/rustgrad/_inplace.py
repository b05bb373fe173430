"""In-place variants (``masked_fill_``, ``index_add_``, ``pow_``, ...) of
out-of-place ops: the op's result written into ``self`` with ``copy_``, so
views, version counters and autograd's in-place checks behave as for any
in-place op, and the gradient flows through the out-of-place op's rule.

Raises PyTorch's RuntimeError when the result's dtype cannot be cast to
``self``'s ("result type Float can't be cast to the desired output type
Long") or when broadcasting would change ``self``'s shape."""

from . import _core
from ._composites import _recorded, _type_name

# Ops whose in-place form keeps self's shape; resolved at call time, so
# Python-level ops (defined after this module) work too.
_NAMES = [
    "masked_fill", "index_add", "index_fill", "index_copy", "scatter", "scatter_add", "scatter_reduce",
    "clip", "pow", "lerp", "addcmul", "addcdiv", "addmm", "round", "fmod", "remainder", "clamp_min",
    "clamp_max", "nan_to_num", "logical_not", "ge", "le",
]


def _can_cast(source, target):
    """PyTorch's ``canCast``: no float to integer or bool, no integer to bool."""
    if source.is_floating_point and not target.is_floating_point:
        return False
    return not (target is _core.bool and source is not _core.bool)


def _make(name):
    def method(self, *args, **kwargs):
        # When recorded, the op reads a copy of self: rules that save their
        # input (scatter_reduce, pow, fmod, ...) would otherwise find it
        # overwritten by copy_ and refuse to run backward.
        source = self.clone() if _recorded(self, *args, *kwargs.values()) else self
        result = getattr(source, name)(*args, **kwargs)
        if not _can_cast(result.dtype, self.dtype):
            raise RuntimeError(f"result type {_type_name(result.dtype)} can't be cast to the desired output type "
                               f"{_type_name(self.dtype)}")
        if tuple(result.shape) != tuple(self.shape):
            raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the broadcast shape "
                               f"{list(result.shape)}")
        return self.copy_(result)

    method.__name__ = name + "_"
    method.__doc__ = f"In-place ``{name}``: writes ``self.{name}(...)`` into ``self`` and returns ``self``."
    return method


for _name in _NAMES:
    if not hasattr(_core.Tensor, _name + "_"):
        setattr(_core.Tensor, _name + "_", _make(_name))
