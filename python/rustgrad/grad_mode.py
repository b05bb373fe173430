"""Grad-mode switches. The mode itself is per thread and lives in Rust."""

import functools

from . import _core


class _GradMode:
    """A context manager that is also a decorator, like PyTorch's."""

    enabled = True

    def __enter__(self):
        self._previous = _core._set_grad_enabled(self.enabled)
        return self

    def __exit__(self, *exc):
        _core._set_grad_enabled(self._previous)
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return func(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Disables gradient recording: ops on tensors that require grad give
    results without a ``grad_fn``, and in-place updates of leaves are allowed."""

    enabled = False

    def __init__(self, orig_func=None):
        # Also usable bare, as `@no_grad` without parentheses.
        self._func = orig_func

    def __call__(self, *args, **kwargs):
        if self._func is not None:
            with no_grad():
                return self._func(*args, **kwargs)
        return super().__call__(*args)


class enable_grad(_GradMode):
    """Re-enables gradient recording inside a ``no_grad`` block."""

    enabled = True


class set_grad_enabled(_GradMode):
    """Sets grad mode on construction (so it also works as a plain call) and
    restores the previous mode when used as a context manager."""

    def __init__(self, mode):
        self.enabled = bool(mode)
        self._previous = _core._set_grad_enabled(self.enabled)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _core._set_grad_enabled(self._previous)
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(self.enabled):
                return func(*args, **kwargs)

        _core._set_grad_enabled(self._previous)
        return wrapper
