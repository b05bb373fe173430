"""A least-recently-used memo bounded by bytes, for the window plans and
divisors of ``_windows`` and ``pooling``.

A count bound (``functools.lru_cache(maxsize=...)``) does not bound memory
here: one plan of a 224x224 image with a 7x7 kernel holds tens of MB, one of
an 8x8 image a few KB. Values report their size as ``nbytes`` (NumPy arrays
do; a plan sums its arrays and the tensors it built), which may grow after
insertion, so the owner calls ``trim`` when it does.
"""

import collections
import functools
import threading

__all__ = ["ByteLRU"]


class ByteLRU:
    """Memoizes functions of hashable arguments, dropping the least recently
    used values once their ``nbytes`` add up to more than ``budget``. The
    most recent value is always kept, however large."""

    def __init__(self, budget):
        self.budget = int(budget)
        self._values = collections.OrderedDict()
        self._lock = threading.Lock()  # the engine may run nn code on several threads

    def memoize(self, fn):
        """``fn`` with its results kept in this cache."""

        @functools.wraps(fn)
        def cached(*args):
            key = (fn, args)
            with self._lock:
                if key in self._values:
                    self._values.move_to_end(key)
                    return self._values[key]
            value = fn(*args)
            with self._lock:
                self._values[key] = value
                self._trim()
            return value

        cached.cache_clear = self.clear
        return cached

    @property
    def nbytes(self):
        """The bytes the cached values hold now."""
        with self._lock:
            return self._total()

    def trim(self):
        """Drops least recently used values until the cache fits its budget
        (call after a cached value grew)."""
        with self._lock:
            self._trim()

    def clear(self):
        with self._lock:
            self._values.clear()

    def __len__(self):
        return len(self._values)

    def _total(self):
        # Re-measured each time (values grow); only inserts and growth get here.
        return sum(v.nbytes for v in self._values.values())

    def _trim(self):
        total = self._total()
        while total > self.budget and len(self._values) > 1:
            _, value = self._values.popitem(last=False)
            total -= value.nbytes
