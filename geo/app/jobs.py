"""Checks of the web app run as jobs: on a few worker threads, with progress, cancellation and a status the page polls.

A worker takes its share of the jobs waiting (up to :data:`GROUP`) at once. Each job's
sites are read as ``ecozone check`` reads them; the small ones
(:mod:`geo.app.quick`) are checked together in one call and answered from the
result (their downloads are written by ``run_check`` when first asked for), so
many users checking a few sites each share one check. A large job runs
:func:`~geo.check.pipeline.run_check` (the check as ``ecozone check`` runs it)
with ``progress`` and ``stop`` callbacks, then draws from its results
(:mod:`geo.app.outputs`). A cancelled or failed job writes nothing but its
``meta.json``: both paths commit their files only when complete. Warnings of
a job (assumed encodings, repaired geometry, sites partly outside the
coverage) are kept with it, as the command line prints them; when the sites
checked together raise one, each job is checked again on its own, so that a
warning names the sites of its own job only.
"""
from __future__ import annotations

import logging
import threading
import time
import queue
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import error_line
from ..thread_warnings import warnings_into

__all__ = ["JobRunner", "Job", "problem_line", "GROUP"]

log = logging.getLogger(__name__)
#: the most jobs a worker takes at once
GROUP = 64


def problem_line(exc: BaseException) -> str:
    """The one line the command line prints for ``exc`` (its click wording for a refused option)."""
    line = error_line(exc)
    if line is not None:
        return line
    if isinstance(exc, (ValueError, TypeError)):  # CheckParams' refusals, worded as click words them
        return f"ecozone: error: {' '.join(str(exc).split())}"
    return f"ecozone: error: 内部错误，见服务日志 / internal error ({type(exc).__name__}); see the app's log"


def _as_named(line: str, folder, meta: dict) -> str:
    """A message naming the user's file as they named it, not the server's copy (nor the server's folders)."""
    sites = meta.get("check", {}).get("sites")
    if sites:
        line = line.replace(str(folder / sites), meta.get("input_name") or "upload")
    return line.replace(str(folder), ".")


@dataclass
class Job:
    """A check waiting, running or done: its owner, folder, state, progress and what it checks."""

    user: str
    cid: str
    folder: object
    meta: dict = field(default_factory=dict)
    ls: object = None
    params: object = None
    status: str = "queued"  # queued, running, done, failed, cancelled
    done: int = 0
    total: int | None = None
    started: float = field(default_factory=time.monotonic)
    stop: threading.Event = field(default_factory=threading.Event)
    warnings: list = field(default_factory=list)
    sites: object = None  # read, waiting to be checked

    def view(self) -> dict:
        """The job as the page sees it while it runs ("ending" — its result being written — is still running)."""
        status = "running" if self.status == "ending" else self.status
        return {"status": status, "done": self.done, "total": self.total,
                "seconds": round(time.monotonic() - self.started, 1)}

    def progress(self, done: int, total: int) -> None:
        self.done, self.total = done, total

    def step(self, fn, *args):
        """``fn(*args)`` for this job: its warnings kept with it; a failure or a cancel ends it. None when ended."""
        if self.status not in ("queued", "running"):
            return None
        try:
            if self.stop.is_set():
                raise InterruptedError("cancelled")
            self.status = "running"
            with warnings_into(self.warnings):
                return fn(*args)
        except InterruptedError:
            self.meta.update(status="cancelled", error="ecozone: 已取消，未写出任何结果 / cancelled; nothing written")
        except Exception as exc:  # the page shows the command line's one line
            if error_line(exc) is None:
                log.exception("check %s of %s failed", self.cid, self.user)
            self.meta.update(status="failed", error=problem_line(exc))
        self.status = "ending"
        return None


def _full(job: Job) -> dict:
    """A large job: run_check, then the page's drawing from its results."""
    from ..check.pipeline import run_check
    from .outputs import derive_outputs

    outcome = run_check(job.ls, job.params, progress=job.progress, stop=job.stop.is_set)
    derive_outputs(job.folder)
    return {"n_sites": outcome.n_sites, "counts": outcome.counts, "summary": outcome.summary}


def _answered(job: Job, together, k: int) -> dict:
    """A small job's page files from its share of the check; its downloads deferred."""
    if job.stop.is_set():
        raise InterruptedError("cancelled")
    out = together.answer(k, job.folder)
    job.progress(out["n_sites"], out["n_sites"])
    p = job.params
    return {**out, "deferred": [Path(v).name for v in (p.out, p.detail, p.compliance) if v]}


def _one(job: Job) -> dict:
    from .quick import Together

    return _answered(job, Together([job.sites], job.ls), 0)


def _together(jobs: list[Job]):
    """Several small jobs checked in one call; None if it warned or failed (check them one by one then)."""
    from .quick import Together

    try:
        with warnings_into([]) as caught:
            together = Together([j.sites for j in jobs], jobs[0].ls)
    except Exception:  # (a warning made an error, or one job's sites failing the others)
        return None
    return None if caught else together


def _groups(jobs: list[Job]) -> list[list[Job]]:
    """Small jobs that can be checked together: one layer set, one CRS, at most QUICK_SITES sites per group."""
    from .quick import QUICK_SITES

    groups: list[list[Job]] = []
    for job in jobs:
        home = next((g for g in groups if g[0].ls is job.ls and g[0].sites.crs == job.sites.crs
                     and sum(len(j.sites) for j in g) + len(job.sites) <= QUICK_SITES), None)
        if home is None:
            groups.append([job])
        else:
            home.append(job)
    return groups


class JobRunner:
    """Runs checks on ``workers`` threads; keeps the jobs of this run of the app in memory.

    ``prepare()`` is run first in each thread (the app warms the layer sets there).
    """

    def __init__(self, store, audit, *, workers: int = 2, prepare=None):
        self.store, self.audit, self._prepare = store, audit, prepare
        self._queue: queue.Queue = queue.Queue()
        self._jobs: dict[tuple[str, str], Job] = {}
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._work, name=f"ecozone-app-check-{i}", daemon=True)
                         for i in range(workers)]
        for t in self._threads:
            t.start()

    def submit(self, user: str, cid: str, folder, meta: dict, ls, params) -> Job:
        job = Job(user, cid, folder, meta=meta, ls=ls, params=params)
        with self._lock:
            self._jobs[(user, cid)] = job
        self.store.write_meta(folder, {**meta, "status": "queued"})
        self._queue.put(job)
        return job

    def get(self, user: str, cid: str) -> Job | None:
        with self._lock:
            return self._jobs.get((user, cid))

    def cancel(self, user: str, cid: str) -> bool:
        job = self.get(user, cid)
        if job is None or job.status not in ("queued", "running"):
            return False
        job.stop.set()
        return True

    def shutdown(self) -> None:
        with self._lock:
            for job in self._jobs.values():
                job.stop.set()
        for _ in self._threads:
            self._queue.put(None)
        for t in self._threads:
            t.join()

    def _work(self) -> None:
        """Prepare this thread (PROJ's caches are per thread), then take its share of the jobs waiting (up to
        GROUP), run them, until the end mark."""
        if self._prepare is not None:
            try:
                self._prepare()
            except Exception:  # a slower first check, not a broken app
                log.exception("warming a check thread failed")
        while True:
            first = self._queue.get()
            if first is None:
                return
            jobs = [first]
            share = min(GROUP, -(-(self._queue.qsize() + 1) // len(self._threads)))  # (the other threads' part left)
            while len(jobs) < share:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:  # (the end mark: leave it for this worker's next turn)
                    self._queue.put(None)
                    break
                jobs.append(nxt)
            try:
                self._run(jobs)
            finally:
                for job in jobs:
                    if job.status in ("queued", "running", "ending"):
                        self._finish(job)

    def _run(self, jobs: list[Job]) -> None:
        """Read each job; check the small ones together, then the large ones with run_check."""
        from .quick import read_small

        small, large = [], []
        for job in jobs:
            job.sites = job.step(read_small, job.ls, job.params)
            if job.sites is not None:
                job.progress(0, len(job.sites))
                small.append(job)
            elif job.status == "running":  # too many sites for the quick path
                large.append(job)
            else:
                self._finish(job)
        for group in _groups(small):
            together = _together(group) if len(group) > 1 else None
            for k, job in enumerate(group):
                self._end(job, _one) if together is None else self._end(job, _answered, together, k)
        for job in large:
            self._end(job, _full)

    def _end(self, job: Job, fn, *args) -> None:
        out = job.step(fn, job, *args)
        if out is not None:
            job.meta.update(status="done", **out)
        self._finish(job)

    def _finish(self, job: Job) -> None:
        """Write the job's meta (its status, warnings and seconds) and log its end."""
        meta = job.meta
        if meta.get("status") not in ("done", "failed", "cancelled"):
            meta.update(status="failed", error=problem_line(RuntimeError("the check ended unexpectedly")))
        lines = list(dict.fromkeys(job.warnings))  # (a file read twice, when it proved too big for the quick path)
        meta.update(warnings=[_as_named(x, job.folder, meta) for x in lines[:50]],
                    seconds=round(time.monotonic() - job.started, 2))
        if meta.get("error"):
            meta["error"] = _as_named(meta["error"], job.folder, meta)
        job.sites = job.ls = job.params = None
        self.store.write_meta(job.folder, meta)
        job.status = meta["status"]
        self.audit.write("check_done", user=job.user, check=job.cid, status=meta["status"],
                         layerset=meta.get("layerset"), content_hash=meta.get("content_hash"),
                         counts=meta.get("counts"), error=meta.get("error"))
