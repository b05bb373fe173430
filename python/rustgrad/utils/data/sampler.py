"""Samplers: iterables of dataset indices (or, for ``BatchSampler``, of
lists of indices) that decide the order a ``DataLoader`` reads in. The
random ones draw from rustgrad's generators (``generator=`` or, without
one, a fresh generator seeded from the global one, so ``manual_seed``
fixes the order)."""

import itertools
from typing import Generic, TypeVar

import rustgrad

__all__ = [
    "BatchSampler",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
]


_T_co = TypeVar("_T_co", covariant=True)


class Sampler(Generic[_T_co]):
    """Base class of samplers: subclasses define ``__iter__`` and may define
    ``__len__`` (deliberately absent here, as in PyTorch). Subscriptable
    like PyTorch's (``Sampler[int]``)."""

    def __iter__(self):
        raise NotImplementedError


def _is_positive_int(value):
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


def _fresh_generator():
    """A generator seeded by one draw from the global generator: each epoch
    of an unseeded ``RandomSampler`` gets a new order, and
    ``rustgrad.manual_seed`` makes the sequence of orders reproducible."""
    seed = int(rustgrad.empty((), dtype=rustgrad.int64).random_().item())
    generator = rustgrad.Generator()
    generator.manual_seed(seed)
    return generator


class RandomSampler(Sampler):
    """A random permutation of the indices (repeated and truncated when
    ``num_samples`` differs from the length), or, with ``replacement``,
    ``num_samples`` independent uniform indices."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={self.replacement}")
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={self.num_samples}")

    @property
    def num_samples(self):
        """How many indices one pass yields (the dataset's current length by
        default; it is read at every pass, as the dataset may grow)."""
        if self._num_samples is None:
            return len(self.data_source)
        return self._num_samples

    def __iter__(self):
        n = len(self.data_source)
        generator = self.generator if self.generator is not None else _fresh_generator()
        if self.replacement:
            # Drawn in chunks of 32, like PyTorch, so a partly consumed pass
            # has not paid for the whole of it.
            for _ in range(self.num_samples // 32):
                yield from rustgrad.randint(0, n, (32,), dtype=rustgrad.int64, generator=generator).tolist()
            yield from rustgrad.randint(0, n, (self.num_samples % 32,), dtype=rustgrad.int64,
                                        generator=generator).tolist()
        else:
            for _ in range(self.num_samples // n):
                yield from rustgrad.randperm(n, generator=generator).tolist()
            yield from rustgrad.randperm(n, generator=generator).tolist()[: self.num_samples % n]

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order, a new one at every pass."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator

    def __iter__(self):
        for i in rustgrad.randperm(len(self.indices), generator=self.generator).tolist():
            yield self.indices[i]

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices of ``range(len(weights))``, index ``i`` drawn
    with probability proportional to ``weights[i]`` (with or without
    replacement)."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if not _is_positive_int(num_samples):
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement={replacement}")
        weights_tensor = rustgrad.as_tensor(weights, dtype=rustgrad.double)
        if len(weights_tensor.shape) != 1:
            raise ValueError(
                "weights should be a 1d sequence but given "
                f"weights have shape {tuple(weights_tensor.shape)}"
            )
        self.weights = weights_tensor
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self):
        draw = rustgrad.multinomial(self.weights, self.num_samples, self.replacement, generator=self.generator)
        yield from iter(draw.tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size``; the
    last, shorter list is dropped when ``drop_last``."""

    def __init__(self, sampler, batch_size, drop_last):
        # No isinstance check on `sampler`: anything iterable will do.
        if not _is_positive_int(batch_size):
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self):
        sampler_iter = iter(self.sampler)
        if self.drop_last:
            # zip over batch_size references to one iterator stops at the
            # first incomplete batch.
            yield from (list(batch) for batch in zip(*[sampler_iter] * self.batch_size))
            return
        batch = list(itertools.islice(sampler_iter, self.batch_size))
        while batch:
            yield batch
            batch = list(itertools.islice(sampler_iter, self.batch_size))

    def __len__(self):
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size
