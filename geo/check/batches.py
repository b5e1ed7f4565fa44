"""Checking a large batch of sites in several processes.

The sites are cut into batches; worker processes are forked once the sites and
the layer set are in memory, so they share them instead of receiving copies.
Each worker checks a batch and hands back what the caller asks of it (the
Arrow tables to write, say), which travel cheaply; at most two batches per
worker are in flight, so memory stays bounded whatever the number of sites.
Warnings raised in a worker are raised again in the caller.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing as mp
import os
import signal
import warnings
from collections import deque

from ..threads import mark_worker
from .engine import check_sites

__all__ = ["checked_batches", "checked_part", "warn_again"]

_SHARED: dict = {}  # set before the workers are forked
PR_SET_PDEATHSIG = 1  # prctl(2)


def checked_part(sites, layerset, prepare) -> tuple:
    """``prepare(check_sites(sites, layerset))`` and the warnings it raised, as (category, message) pairs.

    The per-partition kernel of every parallel path: the forked workers here
    and the Dask workers of :mod:`geo.check.distributed`.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = prepare(check_sites(sites, layerset))
    return out, [(w.category, str(w.message)) for w in caught]


def warn_again(caught) -> None:
    """Raise again, in the caller, the warnings :func:`checked_part` recorded in a worker."""
    for category, message in caught:
        warnings.warn(message, category, stacklevel=3)


def _one(sites, layerset, start: int, size: int, prepare):
    return prepare(check_sites(sites.iloc[start:start + size], layerset))


def _worker_init() -> None:
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
    if os.getppid() != _SHARED.get("parent"):  # the parent died before the call took effect
        os._exit(1)


def _work(start: int):
    sites, layerset, size, prepare = _SHARED["args"]
    return checked_part(sites.iloc[start:start + size], layerset, prepare)


def checked_batches(sites, layerset, *, size: int, prepare=lambda r: r, jobs: int = 1):
    """``prepare(check_sites(batch, layerset))`` for each batch of ``size`` sites, in order.

    With ``jobs`` > 1 and more than one batch, the batches are checked by
    ``jobs`` forked processes (where the platform can fork; else one by one).
    """
    starts = range(0, len(sites), size)
    if jobs <= 1 or len(starts) <= 1 or "fork" not in mp.get_all_start_methods():
        for start in starts:
            yield _one(sites, layerset, start, size, prepare)
        return
    _SHARED["args"] = (sites, layerset, size, prepare)
    _SHARED["parent"] = os.getpid()
    try:
        with mp.get_context("fork").Pool(min(jobs, len(starts)), initializer=_worker_init) as pool:
            pending = deque()
            todo = iter(starts)
            for start in todo:
                pending.append(pool.apply_async(_work, (start,)))
                if len(pending) >= 2 * jobs:
                    break
            while pending:
                out, caught = pending.popleft().get()
                kept = getattr(out, "result", out)
                if hasattr(kept, "layerset") and kept.layerset is None:  # it does not travel: see CheckResult
                    kept.layerset = layerset
                warn_again(caught)
                for start in todo:
                    pending.append(pool.apply_async(_work, (start,)))
                    break
                yield out
    finally:
        _SHARED.clear()
