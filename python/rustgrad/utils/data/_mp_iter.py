"""The multi-process ``DataLoader`` iterator (``num_workers > 0``).

Each worker has its own index queue; all share one result queue. Batches
of indices are handed out round-robin, ``prefetch_factor`` per worker ahead
of the consumer, and tagged with a task number so results are returned in
sampler order however the workers interleave (unless ``in_order=False``).
Persistent workers survive the end of a pass and are sent a
``_ResumeIteration`` at the next one. This follows PyTorch's
``_MultiProcessingDataLoaderIter``, without the pin-memory thread (no
accelerator) or the SIGCHLD handler (a dead worker is noticed at the next
``MP_STATUS_CHECK_INTERVAL`` poll instead)."""

import atexit
import itertools
import multiprocessing
import os
import pickle
import queue
import warnings

from . import _worker
from ._base_iter import _BaseDataLoaderIter
from ._fetch import _DatasetKind

# Set at interpreter exit, when the queues' machinery may already be gone
# and shutting workers down from __del__ is neither possible nor needed.
_python_exiting = False


def _set_python_exiting():
    global _python_exiting
    _python_exiting = True


atexit.register(_set_python_exiting)

# The queues and done event of every iterator whose workers are running, by
# id(iterator). An iterator dropped in a reference cycle (one caught in an
# exception's traceback, say) is collected with whatever only it refers to,
# and the garbage collector runs the queues' close finalizers before the
# iterator's __del__: the stop messages __del__ sends would never leave
# (and shutting down would wait out the join timeouts). Held here, the
# queues outlive the iterator until its workers are stopped.
_queues_in_use = {}


class _MultiProcessingDataLoaderIter(_BaseDataLoaderIter):
    """Iterates once over the DataLoader's dataset, as specified by the
    sampler, with worker processes doing the fetching and collating."""

    def __init__(self, loader):
        super().__init__(loader)
        self._prefetch_factor = loader.prefetch_factor
        self._in_order = loader.in_order
        if self._prefetch_factor <= 0:  # nothing would ever be requested
            raise AssertionError("prefetch_factor must be greater than 0 for MultiProcessingDataLoaderIter")
        context = loader.multiprocessing_context or multiprocessing
        self._worker_init_fn = loader.worker_init_fn
        self._worker_result_queue = context.Queue()
        self._shutdown = False
        # A forked worker inherits this iterator (and any other live one);
        # only the process that started the workers may stop them.
        self._owner_pid = os.getpid()
        self._workers_done_event = context.Event()
        self._index_queues = []
        self._workers = []
        _queues_in_use[id(self)] = (self._index_queues, self._worker_result_queue, self._workers_done_event)
        for i in range(self._num_workers):
            index_queue = context.Queue()
            # The queue's feeder thread must not block the parent's exit.
            index_queue.cancel_join_thread()
            worker = context.Process(
                target=_worker._worker_loop,
                args=(self._dataset_kind, [self._dataset], index_queue, self._worker_result_queue,
                      self._workers_done_event, self._auto_collation, self._collate_fn, self._drop_last,
                      self._base_seed, self._worker_init_fn, i, self._num_workers, self._persistent_workers),
            )
            worker.daemon = True
            try:
                worker.start()
            except (TypeError, AttributeError, pickle.PicklingError):
                warnings.warn(
                    "Got pickle error when attempting to start a worker Process. "
                    "This might be because the worker Process arguments are not picklable. "
                    "Python 3.14+ changed the multiprocessing start method in non-Mac POSIX platforms "
                    "to 'forkserver', which requires the worker Process arguments to be picklable. "
                    "You can also try multiprocessing.set_start_method('fork').",
                    stacklevel=2,
                )
                # Stop the workers already started before giving up.
                self._workers_status = [True] * len(self._workers)
                self._shutdown_workers()
                raise
            self._index_queues.append(index_queue)
            self._workers.append(worker)
        self._data_queue = self._worker_result_queue
        self._reset(loader, first_iter=True)

    def _reset(self, loader, first_iter=False):
        super()._reset(loader, first_iter)
        self._send_idx = 0  # the task number of the next batch of indices sent
        self._rcvd_idx = 0  # the task number of the next batch returned
        # task number -> (worker id,) while outstanding, (worker id, data)
        # once received out of order
        self._task_info = {}
        self._tasks_outstanding = 0
        self._workers_status = [True] * self._num_workers
        self._workers_num_tasks = [0] * self._num_workers
        self._worker_queue_idx_cycle = itertools.cycle(range(self._num_workers))
        if not first_iter:
            # Persistent workers: tell each to start over and wait until all
            # have acknowledged, discarding what they sent before.
            for index_queue in self._index_queues:
                index_queue.put(_worker._ResumeIteration())
            resume_iteration_cnt = self._num_workers
            while resume_iteration_cnt > 0:
                return_idx, _ = self._get_data()
                if isinstance(return_idx, _worker._ResumeIteration):
                    resume_iteration_cnt -= 1
        for _ in range(self._prefetch_factor * self._num_workers):
            self._try_put_index()

    def _try_get_data(self, timeout=_worker.MP_STATUS_CHECK_INTERVAL):
        """``(True, item)`` or ``(False, None)`` after ``timeout`` seconds;
        RuntimeError when a worker has died meanwhile."""
        try:
            return True, _worker._receive(self._data_queue.get(timeout=timeout))
        except Exception as e:
            failed_workers = []
            for worker_id, w in enumerate(self._workers):
                if self._workers_status[worker_id] and not w.is_alive():
                    failed_workers.append(w)
                    self._mark_worker_as_unavailable(worker_id)
            if failed_workers:
                pids_str = ", ".join(str(w.pid) for w in failed_workers)
                raise RuntimeError(f"DataLoader worker (pid(s) {pids_str}) exited unexpectedly") from e
            if isinstance(e, queue.Empty):
                return False, None
            raise

    def _get_data(self):
        """The next item of the result queue, waiting at most ``timeout``
        seconds when one was given."""
        if self._timeout > 0:
            success, data = self._try_get_data(self._timeout)
            if success:
                return data
            raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")
        while True:
            success, data = self._try_get_data()
            if success:
                return data

    def _next_data(self):
        while True:
            # Skip the tasks of workers that ended (an iterable dataset ran
            # out) without producing them.
            while self._rcvd_idx < self._send_idx:
                info = self._task_info.get(self._rcvd_idx, None)
                if info:
                    worker_id = info[0]
                    if len(info) == 2 or self._workers_status[worker_id]:
                        break
                    del self._task_info[self._rcvd_idx]
                self._rcvd_idx += 1
            else:
                if not self._persistent_workers:
                    self._shutdown_workers()
                raise StopIteration

            if len(self._task_info[self._rcvd_idx]) == 2:  # received earlier, out of order
                worker_id, data = self._task_info.pop(self._rcvd_idx)
                self._rcvd_idx += 1
                return self._process_data(data, worker_id)

            idx, data = self._get_data()
            self._tasks_outstanding -= 1
            if self._dataset_kind == _DatasetKind.Iterable and isinstance(data, _worker._IterableDatasetStopIteration):
                if self._persistent_workers:
                    self._workers_status[data.worker_id] = False
                else:
                    self._mark_worker_as_unavailable(data.worker_id)
                self._try_put_index()
                continue

            if idx != self._rcvd_idx:
                if not self._in_order:
                    worker_id = self._task_info.pop(idx)[0]
                    return self._process_data(data, worker_id)
                self._task_info[idx] += (data,)
            else:
                worker_id = self._task_info.pop(idx)[0]
                self._rcvd_idx += 1
                return self._process_data(data, worker_id)

    def _try_put_index(self):
        """Sends the sampler's next batch of indices to the next active
        worker in the cycle (with ``in_order=False``, to one that is not
        already holding its share of the outstanding tasks)."""
        max_tasks = self._prefetch_factor * self._num_workers
        try:
            index = self._next_index()
        except StopIteration:
            return
        for _ in range(self._num_workers):
            worker_queue_idx = next(self._worker_queue_idx_cycle)
            if self._workers_status[worker_queue_idx]:
                if self._in_order:
                    break
                if self._workers_num_tasks[worker_queue_idx] < max_tasks // sum(self._workers_status):
                    break
        else:
            return  # no active worker left
        self._index_queues[worker_queue_idx].put((self._send_idx, index))
        self._task_info[self._send_idx] = (worker_queue_idx,)
        self._workers_num_tasks[worker_queue_idx] += 1
        self._tasks_outstanding += 1
        self._send_idx += 1

    def _process_data(self, data, worker_idx):
        self._workers_num_tasks[worker_idx] -= 1
        self._try_put_index()
        if isinstance(data, _worker.ExceptionWrapper):
            data.reraise()
        return data

    def _mark_worker_as_unavailable(self, worker_id):
        """Tells a worker to exit (``None`` on its index queue) and stops
        sending it work."""
        self._index_queues[worker_id].put(None)
        self._workers_status[worker_id] = False

    def _shutdown_workers(self):
        """Stops every worker: sets the done event, sends each ``None``,
        joins them, and terminates any that do not exit in time."""
        if _python_exiting or self._shutdown or os.getpid() != self._owner_pid:
            return
        self._shutdown = True
        try:
            self._workers_done_event.set()
            for worker_id in range(len(self._workers)):
                if self._persistent_workers or self._workers_status[worker_id]:
                    self._mark_worker_as_unavailable(worker_id)
            for w in self._workers:
                w.join(timeout=_worker.MP_STATUS_CHECK_INTERVAL)
            for q in self._index_queues:
                q.cancel_join_thread()
                q.close()
        finally:
            for w in self._workers:
                if w.is_alive():
                    w.terminate()
                    w.join(timeout=_worker.MP_STATUS_CHECK_INTERVAL)
            _queues_in_use.pop(id(self), None)

    def __del__(self):
        # A partly consumed iterator still owns its workers.
        if hasattr(self, "_workers"):
            self._shutdown_workers()
