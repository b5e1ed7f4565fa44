"""Work spread over threads, and the processors a process may use.

GEOS and PROJ run without the GIL, so array work on geometries or coordinates
goes faster on several threads: :func:`in_threads` cuts the arrays into one
slice per thread. A worker process of :mod:`geo.check.batches` already has a
processor of its own and uses one thread (:func:`mark_worker`).
"""
from __future__ import annotations

import os

import numpy as np

__all__ = ["default_jobs", "in_threads", "mark_worker", "threads_per_process"]

_POOL: dict = {}  # process id -> its thread pool (a pool inherited from a forked parent has no threads)
_WORKERS: set = set()  # ids of the processes marked as workers


def default_jobs() -> int:
    """The processors this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def mark_worker() -> None:
    """Mark this process as one of several worker processes: its geometric work then uses one thread."""
    _WORKERS.add(os.getpid())


def threads_per_process() -> int:
    """Threads a check may use for its geometric work: one in a worker process, else every processor."""
    return 1 if os.getpid() in _WORKERS else default_jobs()


def in_threads(fn, *arrays, min_items: int = 2_000) -> list:
    """``fn`` on consecutive slices of ``arrays``, one slice per thread; the results in order.

    For work that runs without the GIL (GEOS, PROJ): one thread per processor,
    one in a worker process or when there are fewer than ``min_items`` items.
    """
    n, n_threads = len(arrays[0]), threads_per_process()
    if n_threads < 2 or n < min_items:
        return [fn(*arrays)]
    pool = _POOL.get(os.getpid())
    if pool is None:
        from concurrent.futures import ThreadPoolExecutor

        _POOL.clear()
        pool = _POOL[os.getpid()] = ThreadPoolExecutor(n_threads, thread_name_prefix="ecozone-work")
    cuts = np.linspace(0, n, n_threads + 1).astype(int)
    return list(pool.map(lambda k: fn(*(a[cuts[k]:cuts[k + 1]] for a in arrays)), range(n_threads)))
