"""Worker processes forked from the caller, sharing its memory (``--jobs`` of ``check`` and ``corridors``).

Forked workers read what the parent built before the fork (the sites and the
layer set, a raster's graph) without copies. :func:`fork_pool` gives a
:class:`~concurrent.futures.ProcessPoolExecutor` of such workers set up by
:func:`worker_init`: one thread each for geometry, dead with their parent,
Ctrl-C left to the parent. Where the platform cannot fork, :func:`can_fork` is
false and callers work in one process.

Not ``multiprocessing.Pool``: while a large result waits in its pipe, that
pool's worker-handler thread polls the pipe in a loop holding the GIL, and the
thread reading the result waits for the GIL after each 64 KB read; a check of
10⁷ points in two workers took 100 s instead of 55 s (docs/scale.md). The
executor reads results in the thread that waits for them.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing as mp
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager

from .errors import WorkerDiedError
from .threads import mark_worker

__all__ = ["can_fork", "fork_pool", "worker_init"]

PR_SET_PDEATHSIG = 1  # prctl(2)


def can_fork() -> bool:
    return "fork" in mp.get_all_start_methods()


def worker_init(parent: int) -> None:
    """In each worker: one thread for geometry, die with the parent, and let SIGTERM end the worker plainly.

    A worker whose parent is killed (``kill -9``) would otherwise run on and
    print tracebacks when it finds the parent gone; Linux's parent-death
    signal ends it at once. SIGTERM (sent by the pool when it stops) gets its
    default action back from the handler the command line installs.
    """
    mark_worker()  # (in the forked process) the processors are shared among the workers already
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent stops the pool
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: workers then end when they find the pipe closed
        return
    if os.getppid() != parent:  # the parent died before the call took effect
        os._exit(1)


@contextmanager
def fork_pool(jobs: int):
    """An executor of ``jobs`` forked workers (:func:`worker_init`): shut down on leaving, killed on an error.

    Leaving by an exception (a failed task, a cancelled check, a generator closed early) cancels the tasks
    not started and ends the workers at once instead of waiting for the running ones; a worker that died
    (the pool broken) is one :class:`~geo.errors.WorkerDiedError` line.
    """
    pool = ProcessPoolExecutor(jobs, mp_context=mp.get_context("fork"), initializer=worker_init,
                               initargs=(os.getpid(),))
    try:
        yield pool
    except BrokenProcessPool:
        _stop(pool)
        raise WorkerDiedError("工作进程意外终止 / a worker process died (killed, or out of memory?)",
                              hint="run again with fewer --jobs, or give the machine more memory") from None
    except BaseException:
        _stop(pool)
        raise
    pool.shutdown()


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel the tasks not started and end the workers now."""
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in list((getattr(pool, "_processes", None) or {}).values()):  # terminate_workers() from 3.14
        proc.terminate()
