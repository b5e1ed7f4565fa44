"""Checks run in turn against a layer set kept loaded: the heart of ``ecozone serve``.

:class:`CheckService` opens the layer set once (zones, their index, the rule
table), opens it again when one of its files changes, and runs the requests
one at a time through the same pipeline as the plain command
(:func:`~geo.check.pipeline.run_check`), in the client's working directory,
collecting the lines the command would print. A check whose client went away
is dropped while it waits and stopped at the next point the check asks
(between batches of sites and before the outputs are committed): nothing is
written then. Reading the sites file, checking one batch and rendering the
report cannot be interrupted.
"""
from __future__ import annotations

import itertools
import logging
import os
import secrets
import sys
import threading
import time
import traceback
from concurrent.futures import Future
from pathlib import Path
from queue import SimpleQueue

from .. import __version__
from ..errors import ServiceError, error_line
from ..thread_warnings import warnings_into
from .protocol import DEFAULT_PORT, refuse_bad_request, request_params

__all__ = ["CheckService", "STOPPED_LINE"]

log = logging.getLogger(__name__)

POLL_SECONDS = 0.2  # how often a waiting check asks whether its client is still there
STOPPED_LINE = ("ecozone: error: the check service stopped before the check finished; nothing written; "
                "run the check again")


def _stat(files) -> tuple:
    """What tells that one of ``files`` changed: inode, size, modification and change times."""
    out = []
    for f in files:
        try:
            st = f.stat()
        except OSError:
            out.append((str(f),))
            continue
        out.append((str(f), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))  # ctime: no tool sets it back
    return tuple(out)


class CheckService:
    """A layer set kept loaded, opened again when one of its files changes; one check at a time.

    Checks (and reloads) run one after another on one long-lived thread: they
    change the working directory, and the projections they set up belong to
    the thread that made them, so they are made once.
    """

    def __init__(self, root):
        self.root = Path(root).resolve()
        self.ls, self._stamp = None, None
        self.key = secrets.token_hex(32)
        self.stopping = threading.Event()  # set when the service stops: running checks stop too
        self._numbers = itertools.count(1)
        self._jobs, self._queued, self._count = SimpleQueue(), 0, threading.Lock()
        threading.Thread(target=self._work, name="ecozone-check", daemon=True).start()
        self._submit(self.current)[0].result()  # opened and warmed on the thread that checks

    def _builds(self) -> list:
        return sorted(p for p in (self.root / "build").glob("*") if p.is_file())

    def current(self):
        """The layer set, opened (built, warmed) again if one of its files changed since it was opened."""
        from ..layerset.manifest import source_files
        from ..layerset.read import read_layerset

        sources = _stat(source_files(self.root))  # before opening: an edit made meanwhile is seen next time
        if self.ls is None or (sources, _stat(self._builds())) != self._stamp:
            self.ls = read_layerset(self.root)
            _warm(self.ls)
            self._stamp = (sources, _stat(self._builds()))  # a rebuild writes new build files
        return self.ls

    def _work(self) -> None:
        while True:
            fut, fn = self._jobs.get()
            try:
                if fut.set_running_or_notify_cancel():  # (False: dropped while it waited)
                    try:
                        fut.set_result(fn())
                    except BaseException as exc:  # the thread goes on with the next check
                        fut.set_exception(exc)
            finally:
                with self._count:
                    self._queued -= 1

    def _submit(self, fn) -> tuple:
        """Queue ``fn`` for the check thread: its Future, and whether work is ahead of it."""
        fut = Future()
        with self._count:
            self._queued += 1
            waits = self._queued > 1
        self._jobs.put((fut, fn))
        return fut, waits

    def _in_turn(self, fn, gone, label: str):
        """``fn()`` on the check thread after the work before it; InterruptedError if ``gone()`` while it waits."""
        fut, waits = self._submit(fn)
        if waits:
            log.info("%s: waiting for the check before it", label)
        while True:
            try:
                return fut.result(timeout=POLL_SECONDS)
            except TimeoutError:
                if gone is not None and gone() and fut.cancel():  # (a running check asks gone() itself)
                    raise InterruptedError("the client went away while its check waited") from None

    def wait_idle(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for the work queued so far to end."""
        try:
            self._submit(lambda: None)[0].result(timeout=timeout)
        except TimeoutError:
            pass

    def info(self, *, gone=None) -> dict:
        ls = self._in_turn(self.current, gone, "info")
        return {"layerset": ls.name, "root": str(self.root), "content_hash": ls.meta.get("content_hash"),
                "build_date": ls.meta.get("build_date"), "ecozone_version": __version__}

    def check(self, request: dict, *, gone=None) -> dict | None:
        """Run one ``ecozone check``; the answer holds its exit code and the lines it prints.

        ``gone()`` tells whether the client went away: a waiting check is then
        dropped, a running one stops before writing its outputs, and the answer
        is None. A running check asks between batches of sites and before it
        commits its outputs; reading the sites file, checking one batch and
        rendering the report are not interrupted. A request whose fields or
        parameters the command line would refuse gets exit code 2 and one line.
        """
        label = f"check {next(self._numbers)}"
        if isinstance(request, dict) and isinstance(request.get("cwd"), str):
            label += f" ({request['cwd']})"
        stop = (lambda: self.stopping.is_set() or gone()) if gone else self.stopping.is_set
        t0 = time.monotonic()

        def in_turn():
            if stop():
                raise InterruptedError("the client went away while its check waited")
            log.info("%s: started", label)
            return time.monotonic(), self._check(request, stop)

        try:
            t0, answer = self._in_turn(in_turn, stop, label)
        except InterruptedError:
            if self.stopping.is_set():
                log.info("%s: dropped while it waited, the service stops", label)
                return {"code": 2, "lines": [STOPPED_LINE]}
            log.info("%s: dropped while it waited, its client went away", label)
            return None
        if answer is None:
            log.info("%s: stopped, its client went away (nothing written)", label)
        elif answer["lines"] == [STOPPED_LINE]:
            log.info("%s: stopped, the service stops (nothing written)", label)
        else:
            log.info("%s: done in %.1f s, exit code %d", label, time.monotonic() - t0, answer["code"])
        return answer

    def _check(self, request, stop) -> dict | None:
        from ..check.pipeline import run_check

        lines = []
        ok = isinstance(request, dict)
        verbose = request.get("verbose") if ok and type(request.get("verbose")) is int else 0
        quiet = request.get("quiet") is True if ok else False
        collect = _Lines(lines, logging.ERROR if quiet else (logging.INFO if verbose else logging.WARNING))
        root_log = logging.getLogger()
        level, cwd = root_log.level, os.getcwd()
        root_log.addHandler(collect)
        root_log.setLevel(min(level, collect.level))
        try:
            refuse_bad_request(request)
            os.chdir(request["cwd"])  # paths as the client typed them, messages as the plain command's
            params = request_params(request["params"])  # (its paths are checked in the client's folder)
            layers = params.layers_dir
            if Path(layers).resolve() != self.root:
                raise ServiceError(f"the check service serves layer set {self.ls.name} ({self.root}), not {layers}",
                                   hint="give --layers that folder, or start a service for this one: "
                                        f"ecozone serve --layers {layers} --port {DEFAULT_PORT + 1}")
            with warnings_into(lines, once=True):
                outcome = run_check(self.current(), params, stop=stop)
            code = outcome.exit_code
            if not quiet:
                lines.append(outcome.summary)
        except InterruptedError:
            if stop():
                return {"code": 2, "lines": [STOPPED_LINE]} if self.stopping.is_set() else None
            lines.append(error_line(sys.exc_info()[1]))
            code = 2
        except Exception as exc:
            line, code = error_line(exc), 2
            if line is None:  # a bug: its traceback goes to the service's log too
                traceback.print_exc()
                line, code = f"ecozone: error: the check service failed ({type(exc).__name__}: {exc})", 1
            if code == 1 or verbose >= 2:  # the plain command shows the traceback then, and exits 1
                lines.extend(traceback.format_exc().rstrip().splitlines())
                code = 1
            lines.append(line)
        finally:
            os.chdir(cwd)
            root_log.removeHandler(collect)
            root_log.setLevel(level)
        return {"code": code, "lines": lines}


class _Lines(logging.Handler):
    """Log records of one request, as the command line prints them (not the service's own, of other requests)."""

    def __init__(self, lines: list, level: int):
        super().__init__(level)
        self.lines = lines
        self.setFormatter(logging.Formatter("ecozone: %(message)s"))
        self.addFilter(lambda record: record.name != log.name)

    def emit(self, record):
        self.lines.append(self.format(record))


def _warm(ls) -> None:
    """Index the zones, read the rules, run a first check and import the readers and writers."""
    import geopandas as gpd
    import pyarrow.parquet  # noqa: F401 (used by the first request's reading and writing)
    import pyogrio  # noqa: F401

    from .. import results  # noqa: F401
    from ..check.engine import check_sites
    from ..sites.read import normalize_sites

    p = ls.coverage.representative_point()
    sites = gpd.GeoDataFrame({"name": ["point", "parcel"]}, crs=ls.measure_crs, geometry=[p, p.buffer(200, quad_segs=2)])
    check_sites(normalize_sites(sites.to_crs(ls.storage_crs), path="warm-up"), ls)

