"""Tensors from other libraries' arrays, sharing memory where PyTorch does:
``torch.as_tensor`` and ``torch.asarray`` (the zero-copy work itself is
``_core.from_numpy`` and ``_core.from_dlpack``)."""

import warnings

import numpy

from . import _core
from ._composites import _type_name

_Tensor = _core.Tensor


def _on(device, t):
    """``t`` on ``device`` (the CPU: ``t`` itself; CUDA: the RuntimeError
    every factory raises on a CPU build)."""
    return t if device is None else t.to(device)


def as_tensor(data, *, dtype=None, device=None):
    """``data`` as a tensor, sharing memory where it can: a tensor of the
    requested dtype is returned as is (another dtype: converted, with its
    gradient history), a NumPy array is shared as ``from_numpy`` does (and
    copied if ``dtype`` differs); anything else (numbers, nested sequences)
    is copied as ``torch.tensor(data, dtype=dtype)`` does. Errors as
    ``from_numpy`` and ``tensor``."""
    if isinstance(data, _Tensor):
        return _on(device, data if dtype is None or dtype == data.dtype else data.to(dtype))
    if isinstance(data, numpy.ndarray):
        shared = _core.from_numpy(data)
        return _on(device, shared if dtype is None or dtype == shared.dtype else shared.to(dtype))
    return _on(device, _core.tensor(data, dtype=dtype))


def _alias_error(source, dtype):
    return ValueError(f"can't alias tensor with dtype '{_type_name(source)}' into dtype '{_type_name(dtype)}'.")


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=None):
    """``obj`` (a tensor, a NumPy array or scalar, an object with
    ``__dlpack__`` or a DLPack capsule, a buffer such as ``bytes``, or
    numbers and nested sequences) as a tensor, as PyTorch's ``asarray``:
    memory is shared unless ``copy=True`` or the dtype must change;
    ``copy=False`` raises ValueError where sharing is impossible ("can't
    alias ...") and RuntimeError for a NumPy scalar. A tensor keeps its
    autograd history; ``requires_grad=None`` keeps a tensor's flag (with
    PyTorch's UserWarning when it is set) and is False for other objects."""
    if isinstance(obj, _Tensor):
        return _on(device, _from_tensor(obj, dtype, copy, requires_grad))
    if copy is False and isinstance(obj, numpy.generic):
        raise RuntimeError("can't alias NumPy scalars. Either remove copy=False or transform it in a ndarray. ")
    shared = _share(obj, dtype)
    if shared is None:
        if copy is False:
            raise ValueError("can't alias arbitrary sequence into a tensor.")
        out = _core.tensor(obj, dtype=dtype)
    else:
        out = _from_tensor(shared, dtype, copy, False)
    if requires_grad:
        out.requires_grad_(True)
    return _on(device, out)


def _share(obj, dtype=None):
    """A tensor sharing ``obj``'s memory (a buffer's bytes read as
    ``dtype`` when given), or None if it has none to share."""
    if isinstance(obj, numpy.ndarray):
        return _core.from_numpy(obj)
    if hasattr(obj, "__dlpack__") or type(obj).__name__ == "PyCapsule":
        return _core.from_dlpack(obj)
    try:
        view = memoryview(obj)
    except TypeError:
        return None
    if dtype is not None:  # PyTorch reads the buffer's bytes as `dtype`
        return _core.from_numpy(numpy.frombuffer(view.cast("B"), dtype=str(dtype).replace("torch.", "")))
    return _core.from_numpy(numpy.asarray(view))


def _from_tensor(t, dtype, copy, requires_grad):
    """PyTorch's rules for a tensor ``obj``: converted or copied with its
    history (detached first when ``requires_grad=False``), else the same
    object, whose flag ``requires_grad`` then sets in place."""
    converts = dtype is not None and dtype != t.dtype
    if converts and copy is False:
        raise _alias_error(t.dtype, dtype)
    if requires_grad is None and t.requires_grad:
        warnings.warn("torch.asarray: unspecified requires_grad now defaults to obj.requires_grad instead of "
                      "False. Pass requires_grad=False explicitly to get the old behavior and silence this "
                      "warning.", UserWarning, stacklevel=3)
    if requires_grad is False and (converts or copy):
        t = t.detach()
    if converts:
        t = t.to(dtype)
    elif copy:
        t = t.clone()
    if requires_grad is not None and t.requires_grad != requires_grad:
        t.requires_grad_(requires_grad)
    return t


__all__ = ["as_tensor", "asarray"]
