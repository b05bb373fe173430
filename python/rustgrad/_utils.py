"""Small helpers shared by ``nn`` and ``optim``: PyTorch's ``typename``, the
gradient reset behind every ``zero_grad`` and the ``[2, 3]`` spelling of a
shape in ATen's messages."""

from . import _core

__all__ = ["typename", "zero_grad_", "format_shape", "NOT_GIVEN"]


def typename(obj):
    """``torch.typename``: a tensor's type string (``'torch.FloatTensor'``),
    else ``module.qualname`` of the object (a class or function) or of its
    class, without the ``builtins.`` prefix."""
    if isinstance(obj, _core.Tensor):
        return obj.type()
    module = getattr(obj, "__module__", "") or ""
    if hasattr(obj, "__qualname__"):
        qualname = obj.__qualname__
    elif hasattr(obj, "__name__"):
        qualname = obj.__name__
    else:
        module = obj.__class__.__module__ or ""
        qualname = obj.__class__.__qualname__
    return qualname if module in ("", "builtins") else f"{module}.{qualname}"


def zero_grad_(params, set_to_none=True):
    """Resets the gradient of every tensor in ``params``: to ``None``, or
    with ``set_to_none=False`` to zeros in place. As PyTorch, a gradient
    that has a graph (``create_graph=True``) is detached first, so zeroing
    it does not write into that graph."""
    for p in params:
        grad = p.grad
        if grad is None:
            continue
        if set_to_none:
            p.grad = None
            continue
        if grad.grad_fn is not None:
            grad.detach_()
        else:
            grad.requires_grad_(False)
        grad.zero_()


def format_shape(shape):
    """A shape (or any int sequence) as ATen prints an ``IntArrayRef``:
    ``[2, 3]``."""
    return "[" + ", ".join(str(int(s)) for s in shape) + "]"


class _NotGiven:
    """The default of a parameter whose absence means something else than
    None, as in PyTorch's overloads (``random_(to)``, ``where(condition)``,
    ``squeeze()``): None given is then a wrong argument, not a missing one."""

    def __repr__(self):
        return "<not given>"


NOT_GIVEN = _NotGiven()
