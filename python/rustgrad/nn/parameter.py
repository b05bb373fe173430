"""``torch.nn.parameter``: the tensor subclasses a ``Module`` registers.

``Parameter`` is a leaf tensor that ``Module.__setattr__`` records in
``_parameters``; ``Buffer`` marks a tensor that it records in ``_buffers``.
Both follow ``torch/nn/parameter.py``.
"""

from collections import OrderedDict

from .. import _core
from .._core import Tensor

__all__ = ["Parameter", "Buffer"]


def _alias(cls, data):
    """A detached alias of ``data`` (same storage and dtype) as an instance of
    the Tensor subclass ``cls``; ``data=None`` is ``torch.empty(0)``."""
    if data is None:
        data = _core.empty(0)
    return Tensor.__new__(cls, data)


class Parameter(Tensor):
    """A tensor that is a module parameter: assigning one as a ``Module``
    attribute registers it in ``parameters()`` and ``state_dict()``.

    ``Parameter(data=None, requires_grad=True)`` aliases ``data`` (any
    dtype and shape; ``None`` gives an empty float tensor) as a leaf, detached
    from ``data``'s graph. ``requires_grad`` defaults to ``True``, also under
    ``no_grad()``, as in PyTorch. Operations on a parameter return plain
    tensors.
    """

    def __new__(cls, data=None, requires_grad=True):
        t = _alias(cls, data)
        t.requires_grad_(requires_grad)
        return t

    def __repr__(self):
        return "Parameter containing:\n" + Tensor.__repr__(self)

    # The core's Tensor defines its own __str__; PyTorch's str(param) is the repr.
    __str__ = __repr__

    def __deepcopy__(self, memo):
        """A parameter holding a clone of the data, with the same
        ``requires_grad`` (the ``.grad`` is not copied, as in PyTorch)."""
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)(self.data.clone(), self.requires_grad)
        memo[id(self)] = result
        return result

    def __reduce_ex__(self, proto):
        """Pickles as ``_rebuild_parameter(data, requires_grad, hooks)``
        (PyTorch's layout; hooks are never serialized, so always empty), with
        the instance ``__dict__`` when attributes were set on the parameter."""
        state = dict(getattr(self, "__dict__", {}))
        hooks = OrderedDict()
        if not state:
            return (_rebuild_parameter, (self.data, self.requires_grad, hooks))
        return (_rebuild_parameter_with_state, (self.data, self.requires_grad, hooks, state))


def _rebuild_parameter(data, requires_grad, backward_hooks):
    """Unpickling counterpart of ``Parameter.__reduce_ex__``."""
    return Parameter(data, requires_grad)


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    """Unpickling counterpart of ``Parameter.__reduce_ex__`` for a parameter
    that carried Python attributes."""
    param = Parameter(data, requires_grad)
    param.__dict__.update(state)
    return param


class Buffer(Tensor):
    """Marks a tensor as a module buffer: assigning ``Buffer(t)`` as a
    ``Module`` attribute registers it like ``register_buffer`` (``persistent``
    decides whether it goes into ``state_dict()``).

    ``Buffer(data=None, *, persistent=True)`` aliases ``data`` detached, with
    its ``requires_grad``. PyTorch's ``Buffer`` returns a plain tensor with a
    flag; rustgrad tensors cannot carry attributes, so this is a marker
    subclass and the module stores a plain-tensor alias of it.
    """

    def __new__(cls, data=None, *, persistent=True):
        t = _alias(cls, data)
        t.requires_grad_(False if data is None else data.requires_grad)
        t.persistent = persistent
        return t
