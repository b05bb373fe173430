"""Checks at import: the interpreter is one rustgrad supports, and a Rust
panic becomes a Python exception that ``except Exception`` catches.

A panic in rustgrad's Rust code is a bug: every bad input has its own
exception, as in PyTorch. PyO3 raises ``pyo3_runtime.PanicException`` for a
panic it catches at the binding boundary; that class derives from
``BaseException`` (so ``except Exception`` would miss it) and PyO3 offers no
hook to raise something else. ``guard_panics`` reshapes the class once, at
import: it derives from ``RuntimeError`` and is named ``RuntimeError``, and
its message asks for a report, as PyTorch's internal assertion errors do.
"""

import contextlib
import sysconfig

REPORT = ("This is a bug in rustgrad (a Rust panic stopped at the Python boundary), "
          "not a problem with your code. Please report it with the code that raised it.")


def guard_panics(panic_exception, out_of_memory):
    """Makes ``panic_exception`` (PyO3's type) a ``RuntimeError``. A failed
    allocation also unwinds as a panic (Rust would abort the process);
    its message, which starts with ``out_of_memory``, is PyTorch's and
    asks for no report."""

    def _panic_message(self):
        message = self.args[0] if self.args else "panic in Rust code"
        return message if message.startswith(out_of_memory) else f"{message}\n{REPORT}"

    panic_exception.__bases__ = (RuntimeError,)
    panic_exception.__module__ = "builtins"
    panic_exception.__name__ = panic_exception.__qualname__ = "RuntimeError"
    panic_exception.__str__ = _panic_message


def refuse_free_threading():
    """Raises ImportError on a free-threaded CPython (3.13t, 3.14t).

    rustgrad's compiled module is built for CPython's stable ABI (abi3),
    which free-threaded builds cannot load, and its engine relies on the
    GIL to run Python hooks and custom Functions one at a time. Failing
    here says so, instead of an obscure loader error.
    """
    if sysconfig.get_config_var("Py_GIL_DISABLED"):
        raise ImportError(
            "rustgrad does not support free-threaded CPython (3.13t/3.14t) yet: its compiled "
            "module is built for the stable ABI, which free-threaded builds cannot load. "
            "Use a regular CPython build (python3.13 rather than python3.13t).")


@contextlib.contextmanager
def allocation_as_runtime_error(out_of_memory):
    """Raises NumPy's MemoryError (a plan or index array too big to
    allocate) as the RuntimeError PyTorch's allocator raises, with its
    message ``out_of_memory`` (``_core._OUT_OF_MEMORY``)."""
    try:
        yield
    except MemoryError as e:
        raise RuntimeError(f"{out_of_memory}: {e}") from None
