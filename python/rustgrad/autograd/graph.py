"""``torch.autograd.graph``: the node type and saved-tensor hooks."""

import abc
import threading

from .. import _core
from .function import BackwardCFunction

__all__ = ["Node", "saved_tensors_hooks", "save_on_cpu", "disable_saved_tensors_hooks"]

_disabled = threading.local()


class Node(abc.ABC):
    """A node of the backward graph (``tensor.grad_fn``). Built-in nodes,
    ``AccumulateGrad`` and custom Functions' nodes are all instances."""

    @abc.abstractmethod
    def name(self):
        """The node's name, e.g. ``MulBackward0``."""

    @property
    @abc.abstractmethod
    def next_functions(self):
        """``((node or None, output_nr), ...)``: one pair per input."""


for _cls in (_core.Node, _core.AccumulateGrad, BackwardCFunction):
    Node.register(_cls)


class saved_tensors_hooks:
    """Context manager: every tensor saved for backward inside it goes
    through ``pack_hook(tensor) -> object`` when saved and
    ``unpack_hook(object) -> tensor`` when backward needs it (the hook point
    for checkpointing and offloading). Hooks are per thread; the innermost
    pair wins."""

    def __init__(self, pack_hook, unpack_hook):
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self):
        message = getattr(_disabled, "message", None)
        if message is not None:
            raise RuntimeError(message)
        _core._push_saved_tensors_hooks(self.pack_hook, self.unpack_hook)
        return self

    def __exit__(self, *exc):
        _core._pop_saved_tensors_hooks()
        return False


class save_on_cpu(saved_tensors_hooks):
    """Saves tensors on the CPU (where rustgrad's tensors already live)."""

    def __init__(self, pin_memory=False, device_type="cuda"):
        super().__init__(lambda t: t, lambda t: t)


class disable_saved_tensors_hooks:
    """Context manager: entering ``saved_tensors_hooks`` inside it raises
    RuntimeError with ``error_message`` (for features that cannot work with
    such hooks)."""

    def __init__(self, error_message):
        self.error_message = error_message

    def __enter__(self):
        self._previous = getattr(_disabled, "message", None)
        _disabled.message = self.error_message

    def __exit__(self, *exc):
        _disabled.message = self._previous
        return False
