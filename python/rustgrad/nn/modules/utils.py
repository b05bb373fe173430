"""``torch.nn.modules.utils``: the parsers that turn a layer's int-or-tuple
arguments (``kernel_size=3``, ``padding=(1, 2)``) into tuples."""

import collections.abc
from itertools import repeat

__all__ = []


def _ntuple(n, name="parse"):
    """A parser: an iterable as a tuple (unchecked length, as PyTorch's),
    anything else repeated ``n`` times."""
    def parse(x):
        if isinstance(x, collections.abc.Iterable):
            return tuple(x)
        return tuple(repeat(x, n))

    parse.__name__ = name
    return parse


_single = _ntuple(1, "_single")
_pair = _ntuple(2, "_pair")
_triple = _ntuple(3, "_triple")
_quadruple = _ntuple(4, "_quadruple")


def _reverse_repeat_tuple(t, n):
    """``(1, 2)`` -> ``(2, 2, 1, 1)`` for ``n = 2``: per-dim padding in
    ``F.pad``'s last-dim-first order."""
    return tuple(x for x in reversed(t) for _ in range(n))
