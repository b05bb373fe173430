"""What runs inside a ``DataLoader`` worker process: the loop that reads
(task id, indices) from its index queue and puts (task id, batch) on the
shared result queue, the per-worker seeding, ``get_worker_info()``, and the
wrapper that carries a worker's exception back to the main process."""

import os
import pickle
import queue
import random
import sys
import traceback
from dataclasses import dataclass
from multiprocessing.reduction import ForkingPickler

import numpy as np

import rustgrad

from ._fetch import _DatasetKind

# Seconds between checks that the other side (parent or worker) is alive
# while waiting on a queue.
MP_STATUS_CHECK_INTERVAL = 5.0


@dataclass(frozen=True)
class WorkerInfo:
    """What ``get_worker_info()`` returns inside a worker: its ``id`` (0 to
    ``num_workers - 1``), ``num_workers``, the ``seed`` the worker's
    generators were seeded with, and ``dataset``, the worker's own copy.
    Read-only, as in PyTorch."""

    id: int
    num_workers: int
    seed: int
    dataset: object
    rng: object = None
    worker_method: str = "multiprocessing"


_worker_info = None


def get_worker_info():
    """The ``WorkerInfo`` of the current ``DataLoader`` worker process, or
    ``None`` in the main process."""
    return _worker_info


@dataclass(frozen=True)
class _IterableDatasetStopIteration:
    """Sent by a worker whose iterable dataset is exhausted."""

    worker_id: int


@dataclass(frozen=True)
class _ResumeIteration:
    """Sent to persistent workers to start a new epoch (echoed back)."""

    seed: object = None


class KeyErrorMessage(str):
    """A ``str`` whose ``repr`` is itself, so a re-raised ``KeyError``
    prints its (multi-line) message readably rather than quoted."""

    __slots__ = ()

    def __repr__(self):
        return self


class ExceptionWrapper:
    """An exception and its formatted traceback, picklable, to re-raise in
    another process (the traceback object itself cannot travel)."""

    def __init__(self, exc_info=None, where="in background"):
        if exc_info is None:
            exc_info = sys.exc_info()
        self.exc_type = exc_info[0]
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self):
        """Raises an exception of the original type whose message names
        where it happened and holds the original traceback."""
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = KeyErrorMessage(msg)
        elif getattr(self.exc_type, "message", None):
            raise self.exc_type(message=msg)
        try:
            exception = self.exc_type(msg)
        except Exception:
            # An exception type that does not take one message argument.
            raise RuntimeError(msg) from None
        raise exception


def _generate_state(base_seed, worker_id):
    """The NumPy seed of a worker: four uint32 words mixed from
    ``base_seed`` and ``worker_id`` like NumPy's ``SeedSequence`` (PyTorch's
    exact function, so workers' NumPy streams are decorrelated)."""
    init_a, mult_a = 0x43B0D7E5, 0x931E8875
    init_b, mult_b = 0x8B51F9DD, 0x58F38DED
    mix_mult_l, mix_mult_r = 0xCA01F9DD, 0x4973F715
    xshift, mask32 = 16, 0xFFFFFFFF

    entropy = [worker_id, base_seed & mask32, base_seed >> 32, 0]
    hash_const_a = init_a

    def hash_(value):
        nonlocal hash_const_a
        value = (value ^ hash_const_a) & mask32
        hash_const_a = (hash_const_a * mult_a) & mask32
        value = (value * hash_const_a) & mask32
        return (value ^ (value >> xshift)) & mask32

    def mix(x, y):
        result = ((mix_mult_l * x) - (mix_mult_r * y)) & mask32
        return (result ^ (result >> xshift)) & mask32

    pool = [hash_(e) for e in entropy]
    for i_src in range(4):
        for i_dst in range(4):
            if i_src != i_dst:
                pool[i_dst] = mix(pool[i_dst], hash_(pool[i_src]))

    hash_const_b = init_b
    state = []
    for value in pool:
        value = (value ^ hash_const_b) & mask32
        hash_const_b = (hash_const_b * mult_b) & mask32
        value = (value * hash_const_b) & mask32
        state.append((value ^ (value >> xshift)) & mask32)
    return state


class _ManagerWatchdog:
    """Tells a worker whether the process that started it is still there
    (a worker whose parent died is re-parented)."""

    def __init__(self):
        self.manager_pid = os.getppid()
        self.manager_dead = False

    def is_alive(self):
        if not self.manager_dead:
            self.manager_dead = os.getppid() != self.manager_pid
        return not self.manager_dead


def _send(data_queue, idx, data, worker_id):
    """Puts ``(idx, data)`` on the result queue, pickled here rather than in
    the queue's feeder thread: a batch that cannot be pickled is then
    reported to the main process as this worker's error instead of being
    dropped (which would leave the main process waiting for it forever)."""
    # ForkingPickler, like the queue itself, so reductions registered for
    # multiprocessing apply.
    try:
        payload = ForkingPickler.dumps(data)
    except Exception:
        payload = ForkingPickler.dumps(ExceptionWrapper(where=f"in DataLoader worker process {worker_id}"))
    data_queue.put((idx, bytes(payload)))


def _receive(item):
    """The ``(idx, data)`` of a result-queue item sent by ``_send``."""
    idx, payload = item
    return idx, pickle.loads(payload)


def _seed_worker(base_seed, worker_id):
    """Seeds Python's, rustgrad's and NumPy's global generators of a worker
    differently per worker; returns the rustgrad/Python seed."""
    seed = base_seed + worker_id
    random.seed(seed)
    rustgrad.manual_seed(seed)
    np.random.seed(_generate_state(base_seed, worker_id))
    return seed


def _worker_loop(dataset_kind, dataset_holder, index_queue, data_queue, done_event, auto_collation,
                 collate_fn, drop_last, base_seed, init_fn, worker_id, num_workers, persistent_workers):
    """The body of worker ``worker_id``: fetch and collate each batch of
    indices it is sent until it gets ``None``. Errors are sent back as an
    ``ExceptionWrapper`` in place of the batch; an iterable dataset's end
    as ``_IterableDatasetStopIteration``."""
    global _worker_info
    # The holder list lets the worker drop the parent's reference.
    dataset = dataset_holder.pop()
    try:
        seed = _seed_worker(base_seed, worker_id)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)
        init_exception = None
        fetcher = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = _DatasetKind.create_fetcher(dataset_kind, dataset, auto_collation, collate_fn, drop_last)
        except Exception:
            # Reported with the first batch this worker is asked for.
            init_exception = ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")

        # After an iterable dataset ends, the worker stays idle (answering
        # nothing) until resumed or told to stop.
        iteration_end = False
        watchdog = _ManagerWatchdog()
        while watchdog.is_alive():
            try:
                r = index_queue.get(timeout=MP_STATUS_CHECK_INTERVAL)
            except queue.Empty:
                continue
            if isinstance(r, _ResumeIteration):
                _send(data_queue, r, None, worker_id)
                iteration_end = False
                fetcher = _DatasetKind.create_fetcher(dataset_kind, dataset, auto_collation, collate_fn, drop_last)
                continue
            if r is None:
                break
            if done_event.is_set() or iteration_end:
                continue
            idx, index = r
            if init_exception is not None:
                data, init_exception = init_exception, None
            else:
                try:
                    data = fetcher.fetch(index)
                except Exception as e:
                    if isinstance(e, StopIteration) and dataset_kind == _DatasetKind.Iterable:
                        data = _IterableDatasetStopIteration(worker_id)
                        iteration_end = True
                    else:
                        data = ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")
            _send(data_queue, idx, data, worker_id)
            del data, idx, index, r  # do not hold the batch while waiting
    except KeyboardInterrupt:
        pass  # the main process handles the interrupt
    finally:
        _worker_info = None
    if done_event.is_set():
        data_queue.cancel_join_thread()
        data_queue.close()
