"""A resident check service: one layer set kept loaded, checks run on request.

``ecozone serve`` opens a layer set once (zones, their index, the rule table)
and answers ``ecozone check ... --service URL`` from then on, so a check costs
reading the sites, checking them and writing the outputs, not starting Python
and opening the layer set again. The outputs, messages and exit codes are
those of the plain command: the service runs the same code
(:func:`geo.cli.check.run`) in the client's working directory, with its
arguments as typed.

It listens on 127.0.0.1 only, one request at a time, and opens the layer set
again when one of its files changes. It answers the account that started it
only: each request carries a key the service writes to a file only that
account can read. Requests must also be JSON with a loopback ``Host``, which
a web page cannot send. When the client goes away, the check stops before any
output is written.

The client side (:func:`check_remote`) uses the standard library only, so the
command that calls a service starts in a fraction of a second.
"""
from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
import select
import signal
import socket
import sys
import threading
import traceback
import urllib.error
import urllib.request
import warnings
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from . import __version__
from .errors import EcozoneError, error_line, warning_line

__all__ = ["CheckService", "serve", "check_remote", "DEFAULT_PORT"]

DEFAULT_PORT = 8765
HOST = "127.0.0.1"
KEY_HEADER = "X-Ecozone-Key"


class ServiceError(EcozoneError, OSError):
    """The check service cannot be reached or refused the request."""


def key_path(port: int) -> Path:
    """Where the service on ``port`` keeps its key (a folder only its account may enter)."""
    base = os.environ.get("XDG_RUNTIME_DIR") or Path.home() / ".cache"
    return Path(base) / "ecozone" / f"serve-{port}.key"


# -- server ----------------------------------------------------------------------------------------

def _stat(files) -> tuple:
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
    """A layer set kept loaded, opened again when one of its files changes."""

    def __init__(self, root):
        self.root = Path(root).resolve()
        self.ls, self._stamp = None, None
        self.key = secrets.token_urlsafe(32)
        self.current()

    def _builds(self) -> list:
        return sorted(p for p in (self.root / "build").glob("*") if p.is_file())

    def current(self):
        """The layer set, opened (built, warmed) again if one of its files changed since it was opened."""
        from .layerset import read_layerset, source_files

        sources = _stat(source_files(self.root))  # before opening: an edit made meanwhile is seen next time
        if self.ls is None or (sources, _stat(self._builds())) != self._stamp:
            self.ls = read_layerset(self.root)
            _warm(self.ls)
            self._stamp = (sources, _stat(self._builds()))  # a rebuild writes new build files
        return self.ls

    def info(self) -> dict:
        ls = self.current()
        return {"layerset": ls.name, "root": str(self.root), "content_hash": ls.meta.get("content_hash"),
                "build_date": ls.meta.get("build_date"), "ecozone_version": __version__}

    def check(self, request: dict, *, gone=None) -> dict:
        """Run one ``ecozone check``; the answer holds its exit code and the lines it prints.

        ``gone()`` tells whether the client went away: the check then stops
        before writing its outputs.
        """
        from .cli.check import run

        lines = []
        verbose, quiet = int(request.get("verbose") or 0), bool(request.get("quiet"))
        collect = _Lines(lines, logging.ERROR if quiet else (logging.INFO if verbose else logging.WARNING))
        root_log = logging.getLogger()
        level, cwd = root_log.level, os.getcwd()
        root_log.addHandler(collect)
        root_log.setLevel(min(level, collect.level))
        try:
            with warnings.catch_warnings():
                warnings.showwarning = lambda message, *a, **k: lines.append(warning_line(message))
                if request.get("version") != __version__:
                    raise ServiceError(f"the check service runs ecozone {__version__}, this command "
                                       f"{request.get('version')}", hint="start the service again")
                os.chdir(request["cwd"])  # paths as the client typed them, messages as the plain command's
                layers = request["params"]["layers_dir"]
                if Path(layers).resolve() != self.root:
                    raise ServiceError(f"the check service serves layer set {self.ls.name} ({self.root}), not {layers}",
                                       hint="give --layers that folder, or start a service for this one: "
                                            f"ecozone serve --layers {layers} --port {DEFAULT_PORT + 1}")
                code, summary = run(self.current(), request["params"], stop=gone)
                if not quiet:
                    lines.append(summary)
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
    """Log records of one request, as the command line prints them."""

    def __init__(self, lines: list, level: int):
        super().__init__(level)
        self.lines = lines
        self.setFormatter(logging.Formatter("ecozone: %(message)s"))

    def emit(self, record):
        self.lines.append(self.format(record))


def _warm(ls) -> None:
    """Index the zones, read the rules, run a first check and import the readers and writers."""
    import geopandas as gpd
    import pyarrow.parquet  # noqa: F401 (used by the first request's reading and writing)
    import pyogrio  # noqa: F401

    from . import results  # noqa: F401
    from .check import check_sites
    from .sites import normalize_sites

    p = ls.coverage.representative_point()
    sites = gpd.GeoDataFrame({"name": ["point", "parcel"]}, crs=ls.measure_crs, geometry=[p, p.buffer(200, quad_segs=2)])
    check_sites(normalize_sites(sites.to_crs(ls.storage_crs), path="warm-up"), ls)


def _gone(conn) -> bool:
    """Whether the client closed its connection (it sends nothing after its request)."""
    try:
        if not select.select([conn], [], [], 0)[0]:
            return False  # nothing to read: still there
        return conn.recv(1, socket.MSG_PEEK) == b""  # readable and empty: closed
    except OSError:
        return True


class _Handler(BaseHTTPRequestHandler):
    server_version = f"ecozone/{__version__}"
    timeout = 5  # seconds a client may take to send its request: an idle connection does not block the service

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client went away
            pass

    def _allowed(self) -> bool:
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
        if host not in (HOST, "localhost"):  # a page served from elsewhere (DNS rebinding)
            self._answer(403, {"error": "only requests to 127.0.0.1 or localhost are answered"})
        elif not hmac.compare_digest(self.headers.get(KEY_HEADER, ""), self.server.service.key):
            self._answer(403, {"error": "this service answers the account that started it only"})
        else:
            return True
        return False

    def do_GET(self):  # noqa: N802 (the name http.server calls)
        if not self._allowed():
            return
        if self.path.rstrip("/") not in ("", "/info"):
            return self._answer(404, {"error": f"no {self.path}; ask GET / or POST /check"})
        try:
            self._answer(200, self.server.service.info())
        except Exception as exc:
            self._answer(500, {"error": error_line(exc) or f"{type(exc).__name__}: {exc}"})

    def do_POST(self):  # noqa: N802
        if self.path != "/check":
            return self._answer(404, {"error": f"no {self.path}; ask GET / or POST /check"})
        if self.headers.get_content_type() != "application/json":  # what a web page cannot send unasked
            return self._answer(415, {"error": "send application/json"})
        if not self._allowed():
            return
        try:
            request = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            request["cwd"], request["params"]["layers_dir"], request["params"]["out"]
        except (ValueError, KeyError, TypeError):
            return self._answer(400, {"error": "the body is not a check request"})
        self._answer(200, self.server.service.check(request, gone=lambda: _gone(self.connection)))

    def log_message(self, format, *args):  # noqa: A002 (the signature http.server calls)
        pass  # the client reports; the service stays quiet


def _write_key(path: Path, key: str) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)


def serve(root, *, port: int = DEFAULT_PORT, ready=None) -> None:
    """Serve checks against the layer set at ``root`` on 127.0.0.1:``port`` until interrupted.

    ``ready(url, name)`` is called once the layer set is loaded and the port is open.
    """
    service = CheckService(root)
    try:
        server = HTTPServer((HOST, port), _Handler)
    except OSError as exc:
        raise ServiceError(f"cannot listen on {HOST}:{port} ({exc.strerror or exc})",
                           hint="give another --port (0 picks a free one)") from None
    server.service = service
    key = key_path(server.server_address[1])
    _write_key(key, service.key)
    if threading.current_thread() is threading.main_thread():  # stopped by a signal: the key file goes too
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with server:
        try:
            if ready:
                ready(f"http://{HOST}:{server.server_address[1]}", service.ls.name)
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            key.unlink(missing_ok=True)


# -- client ----------------------------------------------------------------------------------------

def check_remote(url: str, params: dict, *, quiet: bool, verbose: int) -> tuple:
    """Ask the service at ``url`` to run a check (``params`` as ``geo.cli.check.run`` takes them).

    Returns the exit code and the lines the check printed.
    """
    port = urlsplit(url).port or 80
    try:
        key = key_path(port).read_text().strip()
    except OSError:
        key = ""  # no service of this account on that port: the request says so below
    body = {"version": __version__, "cwd": os.getcwd(), "params": params, "quiet": quiet, "verbose": verbose}
    req = urllib.request.Request(url.rstrip("/") + "/check", data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", KEY_HEADER: key})
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy
    try:
        with direct.open(req) as resp:
            answer = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        try:
            why = json.loads(exc.read()).get("error", exc.reason)
        except ValueError:
            why = exc.reason
        raise ServiceError(f"the check service at {url} refused the request ({exc.code}: {why})",
                           hint="is it an ecozone service started by this account?") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ServiceError(f"no check service answers at {url} ({reason})",
                           hint="start one with: ecozone serve --layers DIR, or drop --service") from None
    return int(answer["code"]), list(answer["lines"])
