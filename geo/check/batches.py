"""Checking a large batch of sites in several processes.

The sites are cut into batches; worker processes are forked once the sites and
the layer set are in memory, so they share them instead of receiving copies.
Each worker checks a batch and hands back what the caller asks of it (the
Arrow tables to write, say), which travel cheaply; at most two batches per
worker are in flight, so memory stays bounded whatever the number of sites.
Warnings raised in a worker are raised again in the caller.
"""
from __future__ import annotations

import warnings
from collections import deque
from functools import partial

from ..forked import can_fork, fork_pool
from .engine import check_sites

__all__ = ["checked_batches", "checked_part", "warn_again"]

_SHARED: dict = {}  # set before the workers are forked


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


def _work(start: int):
    sites, layerset, size, prepare, numbered = _SHARED["args"]
    if numbered:
        prepare = partial(prepare, number=start // size)
    return checked_part(sites.iloc[start:start + size], layerset, prepare)


def checked_batches(sites, layerset, *, size: int, prepare=lambda r: r, jobs: int = 1, numbered: bool = False):
    """``prepare(check_sites(batch, layerset))`` for each batch of ``size`` sites, in order.

    With ``jobs`` > 1 and more than one batch, the batches are checked by
    ``jobs`` forked processes (where the platform can fork; else one by one);
    ``numbered``: there, ``prepare`` is called with ``number=`` the batch's
    number (:class:`~geo.results.BatchPreparer` then writes the batch where it
    is checked: a large result through the pool's pipe costs more than the check).
    """
    starts = range(0, len(sites), size)
    if jobs <= 1 or len(starts) <= 1 or not can_fork():
        for start in starts:
            yield _one(sites, layerset, start, size, prepare)
        return
    _SHARED["args"] = (sites, layerset, size, prepare, numbered)
    try:
        with fork_pool(min(jobs, len(starts))) as pool:
            pending = deque()
            todo = iter(starts)
            for start in todo:
                pending.append(pool.submit(_work, start))
                if len(pending) >= 2 * jobs:
                    break
            while pending:
                out, caught = pending.popleft().result()
                kept = getattr(out, "result", out)
                if hasattr(kept, "layerset") and kept.layerset is None:  # it does not travel: see CheckResult
                    kept.layerset = layerset
                warn_again(caught)
                for start in todo:
                    pending.append(pool.submit(_work, start))
                    break
                yield out
    finally:
        _SHARED.clear()
