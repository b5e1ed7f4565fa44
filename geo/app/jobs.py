"""Checks of the web app run as jobs: on a few worker threads, with progress, cancellation and a status the page polls.

A job runs :func:`~geo.check.pipeline.run_check` (the check as ``ecozone check``
runs it) with ``progress`` and ``stop`` callbacks, then derives the other
downloads (:mod:`geo.app.outputs`). A cancelled or failed job writes nothing
but its ``meta.json``: the pipeline commits its outputs only when complete.
Warnings of a job's reading (assumed encodings, repaired geometry) are kept
with it, as the command line prints them.
"""
from __future__ import annotations

import logging
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..errors import error_line, warning_line

__all__ = ["JobRunner", "Job", "problem_line"]

log = logging.getLogger(__name__)
_local = threading.local()
_hook_lock = threading.Lock()


def problem_line(exc: BaseException) -> str:
    """The one line the command line prints for ``exc`` (its click wording for a refused option)."""
    line = error_line(exc)
    if line is not None:
        return line
    if isinstance(exc, (ValueError, TypeError)):  # CheckParams' refusals, worded as click words them
        return f"ecozone: error: {' '.join(str(exc).split())}"
    return f"ecozone: error: 内部错误，见服务日志 / internal error ({type(exc).__name__}); see the app's log"


def _install_warning_hook() -> None:
    """Route warnings raised in a job's thread to that job (others go where they went)."""
    with _hook_lock:
        if getattr(warnings.showwarning, "_ecozone_jobs", False):
            return
        previous = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            sink = getattr(_local, "warnings", None)
            if sink is None:
                return previous(message, category, filename, lineno, file, line)
            sink.append(warning_line(message))

        show._ecozone_jobs = True
        warnings.showwarning = show


def _as_named(line: str, folder, meta: dict) -> str:
    """A message naming the user's file as they named it, not the server's copy (nor the server's folders)."""
    sites = meta.get("check", {}).get("sites")
    if sites:
        line = line.replace(str(folder / sites), meta.get("input_name") or "upload")
    return line.replace(str(folder), ".")


@dataclass
class Job:
    """A check running or done: its owner, folder, state and progress."""

    user: str
    cid: str
    folder: object
    status: str = "queued"  # queued, running, done, failed, cancelled
    done: int = 0
    total: int | None = None
    started: float = field(default_factory=time.monotonic)
    stop: threading.Event = field(default_factory=threading.Event)

    def view(self) -> dict:
        return {"status": self.status, "done": self.done, "total": self.total,
                "seconds": round(time.monotonic() - self.started, 1)}


class JobRunner:
    """Runs checks on ``workers`` threads; keeps the jobs of this run of the app in memory."""

    def __init__(self, store, audit, *, workers: int = 2):
        self.store, self.audit = store, audit
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ecozone-app-check")
        self._jobs: dict[tuple[str, str], Job] = {}
        self._lock = threading.Lock()
        _install_warning_hook()

    def submit(self, user: str, cid: str, folder, meta: dict, ls, params) -> Job:
        job = Job(user, cid, folder)
        with self._lock:
            self._jobs[(user, cid)] = job
        self.store.write_meta(folder, {**meta, "status": "queued"})
        self._pool.submit(self._run, job, meta, ls, params)
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
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _run(self, job: Job, meta: dict, ls, params) -> None:
        from ..check.pipeline import run_check
        from .outputs import derive_outputs

        def progress(done, total):
            job.done, job.total = done, total

        _local.warnings = lines = []
        try:
            if job.stop.is_set():
                raise InterruptedError("cancelled before it started")
            job.status = "running"
            outcome = run_check(ls, params, progress=progress, stop=job.stop.is_set)
            derive_outputs(job.folder, ls)
            meta.update(status="done", n_sites=outcome.n_sites, counts=outcome.counts, summary=outcome.summary)
        except InterruptedError:
            meta.update(status="cancelled", error="ecozone: 已取消，未写出任何结果 / cancelled; nothing written")
        except Exception as exc:  # the page shows the command line's one line
            if error_line(exc) is None:
                log.exception("check %s of %s failed", job.cid, job.user)
            meta.update(status="failed", error=problem_line(exc))
        finally:
            _local.warnings = None
        meta.update(warnings=[_as_named(x, job.folder, meta) for x in lines[:50]],
                    seconds=round(time.monotonic() - job.started, 2))
        if meta.get("error"):
            meta["error"] = _as_named(meta["error"], job.folder, meta)
        self.store.write_meta(job.folder, meta)
        job.status = meta["status"]
        self.audit.write("check_done", user=job.user, check=job.cid, status=meta["status"],
                         layerset=meta.get("layerset"), content_hash=meta.get("content_hash"),
                         counts=meta.get("counts"), error=meta.get("error"))
