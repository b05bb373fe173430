"""PyTorch's argument-type errors for rustgrad's functions written in Python.

PyTorch parses every argument against the function's schema before the
function runs (``torch/csrc/utils/python_arg_parser.cpp``), so a string where
a tensor belongs is a TypeError that names the argument --
``mm(): argument 'mat2' (position 2) must be Tensor, not str`` -- whatever
the function would have done with it. rustgrad's Python functions use their
arguments directly, so a wrong type would surface as whatever its first use
raises: an AttributeError (``'str' object has no attribute 'dim'``), a
KeyError, a RuntimeError about shapes.

``@parsed`` wraps a function whose parameters carry annotations: the
wrapper checks the annotated arguments before the call, as PyTorch's parser
does, so a wrong type is PyTorch's TypeError instead of whatever its first
use would raise -- or, worse, a result computed from it (``tril(x,
diagonal=x)``). The check is compiled per function into plain ``isinstance``
tests (a few tens of nanoseconds per argument); the message is worked out
only when one fails.

Annotations are strings (modules use ``from __future__ import
annotations``) made of the names in ``_KINDS`` joined by ``|``:
``input: Tensor``, ``bias: Tensor | None``, ``dims: Sequence[int]`` (ATen's
``int[]``), ``kernel_size: int | Sequence[int]`` (ATen's ``int[2]``, which
also takes one int). An unknown name fails at import.
"""

import functools
import inspect
import numbers
from typing import Sequence

from . import _core

# The names annotations use, imported by the modules that annotate (for
# readers and linters; the annotations themselves stay strings).
Tensor = _Tensor = _core.Tensor
dtype = _core.dtype
Number = float
__all__ = ["parsed", "Sequence", "Tensor", "dtype", "Number", "PARSED_FRAMES"]

# The frames a parsed function's wrapper adds between it and its caller: a
# warning meant for the caller counts them in its stacklevel. (Only functions
# with annotations are wrapped: one that warns must keep at least one.)
PARSED_FRAMES = 1


def _overflows(v):
    return isinstance(v, numbers.Integral) and not -2**63 <= v < 2**63


def _is_int(v):
    # As the parser's INT64: a Python or NumPy integer that fits, or a 0-d
    # integer tensor (a bool is an int in Python, and PyTorch takes it too).
    if _overflows(v):
        return False
    if isinstance(v, _Tensor):
        return v.dim() == 0 and not v.is_floating_point()
    return isinstance(v, numbers.Integral) or (hasattr(v, "__index__") and not isinstance(v, (str, bytes)))


def _is_float(v):
    # As the parser's DOUBLE: any real number, or a 0-d tensor.
    if isinstance(v, _Tensor):
        return v.dim() == 0
    return isinstance(v, numbers.Real)


def _is_tensor(v):
    return isinstance(v, _Tensor)


# The element test of each sequence kind: "Sequence[int]" is a tuple or list
# of what _is_int takes. (adaptive pools' output_size takes None for an
# element: that dim keeps the input's size.)
_ELEMENT = {"Sequence[int]": _is_int, "Sequence[float]": _is_float,
            "Sequence[int | None]": lambda v: v is None or _is_int(v), "Sequence[Tensor]": _is_tensor}


def _sequence_of(element):
    return lambda v: isinstance(v, (tuple, list)) and all(element(x) for x in v)


# name -> (test, what PyTorch's message calls it)
_KINDS = {
    "Tensor": (_is_tensor, "Tensor"),
    "None": (lambda v: v is None, "None"),
    "int": (_is_int, "int"),
    "float": (_is_float, "float"),
    # a Scalar argument of ATen's (vector_norm's ord): the same test, PyTorch's word
    "Number": (_is_float, "Number"),
    # (PyTorch takes Python's bools only, not other ints, nor NumPy's bools)
    "bool": (lambda v: isinstance(v, bool), "bool"),
    "str": (lambda v: isinstance(v, str), "str"),
    "dtype": (lambda v: isinstance(v, _core.dtype), "torch.dtype"),
    **{name: (_sequence_of(_ELEMENT[name]), words) for name, words in [
        ("Sequence[int]", "tuple of ints"), ("Sequence[int | None]", "tuple of ints"),
        ("Sequence[float]", "tuple of floats"), ("Sequence[Tensor]", "tuple of Tensors")]},
}


def _alternatives(annotation):
    """``"int | Sequence[int | None]"`` -> ``["int", "Sequence[int | None]"]``."""
    names, depth, start = [], 0, 0
    for i, c in enumerate(annotation + "|"):
        depth += (c == "[") - (c == "]")
        if c == "|" and depth == 0:
            names.append(annotation[start:i].strip())
            start = i + 1
    return names


# Kinds tested inline in the compiled check; the others call their test,
# bound in the wrapper's namespace under the name _TEST_NAMES gives.
_INLINE = {"Tensor": "isinstance(v, Tensor)", "None": "v is None"}
_TEST_NAMES = {name: f"is_{i}" for i, name in enumerate(_KINDS)}


def _kind(annotation, where):
    """The test of an annotation, the words PyTorch's message uses for it,
    its kind names, and the expression (of ``v``) the compiled check uses."""
    names = _alternatives(annotation)
    unknown = [n for n in names if n not in _KINDS]
    if unknown:
        raise TypeError(f"{where}: unknown annotation {annotation!r} (known: {', '.join(_KINDS)})")
    tests = [_KINDS[n][0] for n in names]
    described = " or ".join(_KINDS[n][1] for n in names if n != "None")
    expression = " or ".join(_INLINE.get(n, f"{_TEST_NAMES[n]}(v)") for n in names)
    return (lambda v: any(t(v) for t in tests)), described, names, expression


def _bad_element(value, names):
    """(position, element) of the first element of the sequence ``value``
    that no sequence kind of ``names`` takes, or None."""
    tests = [_ELEMENT[n] for n in names if n in _ELEMENT]
    if not tests or not isinstance(value, (tuple, list)):
        return None
    return next(((i, v) for i, v in enumerate(value) if not any(t(v) for t in tests)), None)


def _type_error(name, signature, checks, args, kwargs):
    """PyTorch's TypeError for the first annotated argument of the wrong
    type, or None when they are all right (or the call does not bind). An
    int beyond int64 is PyTorch's ValueError, or its TypeError inside a
    sequence of ints."""
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError:
        return None
    for param, position, test, described, names, _ in checks:
        if param not in bound.arguments:
            continue
        value = bound.arguments[param]
        if position == "*":  # f(*tensors): each element, as PyTorch's "tensors" list
            for i, v in enumerate(value):
                if not test(v):
                    return TypeError(f"expected {described} as element {i} in argument 0, but got {type(v).__name__}")
            continue
        if not test(value):
            if _overflows(value) and "int" in names:
                return ValueError("Overflow when unpacking long long")
            int_lists = any(n.startswith("Sequence[int") for n in names)
            items = value if isinstance(value, (tuple, list)) else [value]
            bad = [i for i, v in enumerate(items) if _overflows(v)] if int_lists else []
            if bad:
                return TypeError(f"{name}(): argument '{param}' failed to unpack the object at pos {bad[0] + 1} "
                                 "with error \"Overflow when unpacking long long\"")
            where = f" (position {position})" if position is not None and position <= len(args) else ""
            element = _bad_element(value, names)
            if element is not None and "Sequence[Tensor]" in names:
                i, v = element
                return TypeError(f"expected Tensor as element {i} in argument 0, but got {type(v).__name__}")
            if element is not None:
                i, v = element
                return TypeError(f"{name}(): argument '{param}'{where} must be {described}, but found element of "
                                 f"type {type(v).__name__} at pos {i}")
            return TypeError(f"{name}(): argument '{param}'{where} must be {described}, not {type(value).__name__}")
    return None


# PyTorch's classes of bad-input errors: what a function raises on purpose.
_CONTRACT = (TypeError, ValueError, IndexError, RuntimeError, NotImplementedError)


def _compile(f, checks, positional, own_checks_first, name):
    """The wrapper of ``f``, compiled from the annotations: inline tests
    that call ``fail(args, kwargs)`` (which raises PyTorch's error) for a
    wrong argument. ``positional``: how many parameters come before
    ``*args``."""
    tests = []
    for param, position, _, _, _, expression in checks:
        if position == "*":
            tests += [f"for v in args[{positional}:]:", f"    if not ({expression}): fail(args, kwargs)"]
            continue
        if position is not None:  # given by position, or by name
            tests += [f"if n > {position - 1}:", f"    v = args[{position - 1}]",
                      f"    if not ({expression}): fail(args, kwargs)", f"elif kwargs and {param!r} in kwargs:"]
        else:  # keyword-only
            tests.append(f"if kwargs and {param!r} in kwargs:")
        tests += [f"    v = kwargs[{param!r}]", f"    if not ({expression}): fail(args, kwargs)"]
    if own_checks_first:
        body = ["try:", "    out = f(*args, **kwargs)", "except CONTRACT:", "    raise", "except Exception:",
                "    fail(args, kwargs)", "    raise", "n = len(args)", *tests, "return out"]
    else:
        body = ["n = len(args)", *tests, "return f(*args, **kwargs)"]
    source = "def parsing(*args, **kwargs):\n" + "".join(f"    {line}\n" for line in body)
    signature = inspect.signature(f)

    def fail(args, kwargs):
        error = _type_error(name, signature, checks, args, kwargs)
        if error is not None:
            raise error from None

    namespace = {"Tensor": _Tensor, "CONTRACT": _CONTRACT, "f": f, "fail": fail,
                 **{_TEST_NAMES[n]: test for n, (test, _) in _KINDS.items()}}
    code = compile(source, f"<parsed {f.__module__}.{f.__qualname__}>", "exec")
    exec(code, namespace)  # noqa: S102  (source built above from the annotations)
    return functools.wraps(f)(namespace["parsing"])


def parsed(f=None, *, own_checks_first=False, name=None):
    """``f`` checking its annotated arguments first: PyTorch's TypeError
    (or ValueError for an int beyond int64) for a wrong one; ``f`` itself
    when it has no annotations.

    ``own_checks_first``: for the functions PyTorch writes in Python
    (``torch/nn/functional.py``), whose own checks of other arguments run
    before ATen parses the annotated ones (``F.dropout(x, p=2)`` is a
    ValueError whatever ``x`` is). The arguments are then checked after
    the call, or when it raised an exception outside PyTorch's classes (an
    AttributeError from using a string as a tensor). ``name``: the name
    PyTorch's messages give the function, when not its own
    (``linalg_vector_norm``)."""
    if f is None:
        return lambda g: parsed(g, own_checks_first=own_checks_first, name=name)
    signature = inspect.signature(f)
    checks, positional = [], 0
    for position, (param, p) in enumerate(signature.parameters.items(), 1):
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            positional = position
        annotation = f.__annotations__.get(param)
        if annotation is None:
            continue
        where_defined = f"{f.__module__}.{f.__qualname__}({param})"
        if p.kind is p.VAR_KEYWORD:
            raise TypeError(f"{where_defined}: **kwargs cannot be annotated for parsing")
        test, described, names, expression = _kind(annotation, where_defined)
        where = {p.VAR_POSITIONAL: "*", p.KEYWORD_ONLY: None}.get(p.kind, position)
        checks.append((param, where, test, described, names, expression))
    if not checks:
        return f
    return _compile(f, checks, positional, own_checks_first, name or f.__name__)
