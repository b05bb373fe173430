"""Grad-mode switches. The mode itself is per thread and lives in Rust."""

import functools

from . import _core


class _GradMode:
    """Sets grad mode for a ``with`` block; also a decorator, like PyTorch's."""

    enabled = True

    def __enter__(self):
        self._previous = _core._set_grad_enabled(self.enabled)
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        _core._set_grad_enabled(self._previous)
        return False

    def _fresh(self):
        """A new manager with the same setting, for one decorated call."""
        return self.__class__()

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self._fresh():
                return func(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Disables gradient recording: ops on tensors that require grad give
    results without a ``grad_fn``, and in-place updates of leaves are allowed.
    Usable as ``with no_grad():``, ``@no_grad()`` and ``@no_grad``."""

    enabled = False

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return object.__new__(cls)  # not super(): a seed loop enters this every step
        return cls()(orig_func)


class enable_grad(_GradMode):
    """Re-enables gradient recording inside a ``no_grad`` block."""

    enabled = True


class set_grad_enabled(_GradMode):
    """Sets grad mode on construction (so a plain call works too) and, as a
    context manager, restores the previous mode on exit."""

    def __init__(self, mode):
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled(): argument 'enabled' (position 1) must be bool, not "
                            f"{type(mode).__name__}")
        self.enabled = mode
        self._previous = _core._set_grad_enabled(self.enabled)

    def __enter__(self):
        return self

    def _fresh(self):
        return set_grad_enabled(self.enabled)

    def __call__(self, func):
        # As a decorator the construction must not change the caller's mode.
        _core._set_grad_enabled(self._previous)
        return super().__call__(func)


class inference_mode(_GradMode):
    """Like ``no_grad``, and tensors made inside are *inference tensors*:
    they carry no version counter and can never join a recorded graph later
    (PyTorch's error). ``inference_mode(False)`` turns it off inside an
    enclosing one. Usable as ``with``, ``@inference_mode()`` and
    ``@inference_mode``."""

    def __new__(cls, mode=True):
        if callable(mode) and not isinstance(mode, bool):
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode=True):
        self.mode = bool(mode)

    def __enter__(self):
        # As in PyTorch, inference_mode(False) turns grad mode on.
        self._previous_inference = _core._set_inference_mode(self.mode)
        self._previous = _core._set_grad_enabled(not self.mode)
        return self

    def __exit__(self, *exc):
        _core._set_inference_mode(self._previous_inference)
        _core._set_grad_enabled(self._previous)
        return False

    def _fresh(self):
        return inference_mode(self.mode)


def is_inference_mode_enabled():
    return _core.is_inference_mode_enabled()
