"""``copy.deepcopy`` and ``pickle`` for tensors, as PyTorch's
``Tensor.__deepcopy__`` and ``__reduce_ex__`` behave: a deep copy is a new
leaf with its own data, ``requires_grad``, a copied ``.grad`` and copied
Python attributes; pickling stores the data (in the checkpoint format, so
every dtype round-trips) and ``requires_grad``. A subclass
(``nn.Parameter``) is rebuilt as its class."""

import copy

from . import _core

__all__ = []

_NON_LEAF = (
    "Only Tensors created explicitly by the user (graph leaves) support the deepcopy protocol at the moment.  "
    "If you were attempting to deepcopy a module, this may be because of a torch.nn.utils.weight_norm usage, "
    "see https://github.com/pytorch/pytorch/pull/103001")


def _deepcopy(self, memo):
    if id(self) in memo:
        return memo[id(self)]
    if not self.is_leaf:
        raise RuntimeError(_NON_LEAF)
    data = self.detach().clone()
    new = data if type(self) is _core.Tensor else type(self).__new__(type(self), data)
    new.requires_grad_(self.requires_grad)
    memo[id(self)] = new
    if self.grad is not None:
        new.grad = copy.deepcopy(self.grad, memo)
    for key, value in getattr(self, "__dict__", {}).items():
        setattr(new, key, copy.deepcopy(value, memo))
    return new


def _rebuild(cls, data, requires_grad, state):
    (t,) = _core._safetensors_loads(data)[0].values()
    if cls is not _core.Tensor:
        t = cls.__new__(cls, t)
    t.requires_grad_(requires_grad)
    for key, value in state.items():
        setattr(t, key, value)
    return t


def _reduce_ex(self, protocol):
    data = _core._safetensors_dumps([("t", self.detach())], {})
    return _rebuild, (type(self), data, self.requires_grad, dict(getattr(self, "__dict__", {})))


_core.Tensor.__deepcopy__ = _deepcopy
_core.Tensor.__reduce_ex__ = _reduce_ex
