"""A resident check service: one layer set kept loaded, checks run on request.

``ecozone serve`` opens a layer set once (zones, their index, the rule table)
and answers ``ecozone check ... --service URL`` from then on, so a check costs
reading the sites, checking them and writing the outputs, not starting Python
and opening the layer set again. The outputs, messages and exit codes are
those of the plain command: the service runs the same code
(:func:`geo.cli.check.run`) in the client's working directory, with its
arguments parsed again as the command line parses them.

It listens on 127.0.0.1 only and answers the account that started it only.
The service writes a random key to a file only that account can read; the key
itself never travels. On one connection:

1. ``POST /hello`` — the client sends a random nonce; the service answers its
   own nonce and HMAC-SHA256(key, "service", port, both nonces). The client
   checks it before sending anything else, so a program of another account
   that listens on the port first learns nothing of the check and cannot
   answer it.
2. ``POST /check`` (or ``/info``) — the request carries HMAC(key, "client",
   port, both nonces, SHA-256 of the body); the answer (exit code and lines)
   carries HMAC(key, "answer", port, both nonces, SHA-256 of the request and of
   the answer), which the client checks before it believes a verdict.

Requests must also be JSON with a loopback ``Host``, which a web page cannot
send. Each connection has its own thread and :data:`REQUEST_SECONDS` in all to
send its requests (headers and bodies, bounded in size), so a slow or idle
connection holds nothing up; when :data:`MAX_CONNECTIONS` are open, the oldest
that has not proved itself yet is cut. Checks run one at a time, in the order
they arrive. A check whose client went away is dropped while it waits and
stopped at the next point the check asks (between batches of sites and before
the outputs are committed): nothing is written then. Reading the sites file,
checking one batch and rendering the report cannot be interrupted.

The service opens the layer set again when one of its files changes. The
client side (:func:`check_remote`) uses the standard library only, so the
command that calls a service starts in a fraction of a second.
"""
from __future__ import annotations

import hashlib
import hmac
import http.client
import io
import itertools
import json
import logging
import os
import re
import secrets
import select
import signal
import socket
import stat
import sys
import threading
import time
import traceback
import warnings
from concurrent.futures import Future
from queue import SimpleQueue
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from . import __version__
from .errors import ServiceError, error_line, warning_line

__all__ = ["CheckService", "CheckServer", "serve", "check_remote", "DEFAULT_PORT"]

log = logging.getLogger(__name__)

DEFAULT_PORT = 8765
HOST = "127.0.0.1"
PROOF_HEADER = "X-Ecozone-Proof"
REQUEST_SECONDS = 10.0  # a connection's time, from its opening, to send its requests (headers and bodies)
WRITE_SECONDS = 10.0  # time a client may take to take in an answer
HELLO_SECONDS = 10.0  # time the client gives the service to prove itself
MAX_HEADER = 16 << 10  # bytes of request line and headers per request
MAX_BODY = {"/hello": 1 << 10, "/info": 1 << 10, "/check": 8 << 20}  # bytes of body per request
MAX_CONNECTIONS = 32
POLL_SECONDS = 0.2  # how often a waiting check asks whether its client is still there
REQUEST_KEYS = {"version", "cwd", "params", "quiet", "verbose"}
_NONCE = re.compile(r"[0-9a-f]{64}")
STOPPED_LINE = ("ecozone: error: the check service stopped before the check finished; nothing written; "
                "run the check again")


def key_path(port: int) -> Path:
    """Where the service on ``port`` keeps its key (a folder only its account may write)."""
    base = os.environ.get("XDG_RUNTIME_DIR") or Path.home() / ".cache"
    return Path(base) / "ecozone" / f"serve-{port}.key"


def _mac(key: str, *parts) -> str:
    """HMAC-SHA256 of ``parts`` (nonces, digests, labels: none holds a newline) under ``key``."""
    return hmac.new(key.encode(), "\n".join(map(str, parts)).encode(), hashlib.sha256).hexdigest()


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _same(proof, expected: str) -> bool:
    return isinstance(proof, str) and hmac.compare_digest(proof.encode(), expected.encode())


def _own_folder(folder: Path) -> None:
    """Refuse a key folder of another account or one other accounts may write (they could swap the key)."""
    st = folder.stat()
    if st.st_uid != os.getuid():
        raise ServiceError("the check service's key folder belongs to another account", path=folder,
                           hint="remove it, or set XDG_RUNTIME_DIR to a folder of your own, and start the service again")
    if st.st_mode & 0o022:
        raise ServiceError("the check service's key folder is writable by other accounts", path=folder,
                           hint=f"run chmod go-w {folder} and start the service again")


def read_key(path: Path) -> str | None:
    """The key in ``path``, or None when there is none; refuses a key file others could have written or read."""
    try:
        _own_folder(path.parent)
        if stat.S_ISLNK(os.lstat(path).st_mode):
            raise ServiceError("the check service's key file is a symbolic link", path=path,
                               hint=f"remove it (rm {path}) and start the service again")
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)  # a link put there meanwhile fails
    except FileNotFoundError:
        return None
    except ServiceError:
        raise
    except OSError as exc:
        raise ServiceError(f"the check service's key file cannot be read ({exc.strerror or exc})", path=path,
                           hint=f"remove it (rm {path}) and start the service again") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ServiceError("the check service's key file is not a regular file", path=path,
                               hint=f"remove it (rm {path}) and start the service again")
        if st.st_uid != os.getuid():
            raise ServiceError("the check service's key file belongs to another account", path=path,
                               hint=f"remove it (rm {path}) and start the service again")
        if stat.S_IMODE(st.st_mode) != 0o600:
            raise ServiceError(f"the check service's key file has mode {stat.S_IMODE(st.st_mode):04o}, not 0600",
                               path=path, hint="others may have read it: stop the service and start it again "
                                               "(it writes a new key)")
        key = os.read(fd, 4096).decode("ascii", "replace").strip()
    finally:
        os.close(fd)
    if not key:
        raise ServiceError("the check service's key file is empty", path=path, hint="start the service again")
    return key


def _write_key(path: Path, key: str) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    _own_folder(path.parent)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    os.fchmod(fd, 0o600)  # exactly, whatever the umask
    with os.fdopen(fd, "w") as fh:
        fh.write(key)


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
        from .layerset.manifest import source_files
        from .layerset.read import read_layerset

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
        from .cli.check import run

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
            with warnings.catch_warnings():
                warnings.showwarning = lambda message, *a, **k: lines.append(warning_line(message))
                _refuse_bad_request(request)
                os.chdir(request["cwd"])  # paths as the client typed them, messages as the plain command's
                params = _parsed(request["params"])  # (click looks at paths: in the client's folder)
                layers = params["layers_dir"]
                if Path(layers).resolve() != self.root:
                    raise ServiceError(f"the check service serves layer set {self.ls.name} ({self.root}), not {layers}",
                                       hint="give --layers that folder, or start a service for this one: "
                                            f"ecozone serve --layers {layers} --port {DEFAULT_PORT + 1}")
                code, summary = run(self.current(), params, stop=stop)
                if not quiet:
                    lines.append(summary)
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


def _refuse_bad_request(request) -> None:
    """Refuse a request whose fields are not those ``ecozone check --service`` sends."""
    if not isinstance(request, dict):
        raise ServiceError("the body is not a check request", hint="send the fields ecozone check --service sends")
    if request.get("version") != __version__:
        raise ServiceError(f"the check service runs ecozone {__version__}, this command {request.get('version')}",
                           hint="start the service again")
    unknown, missing = sorted(set(request) - REQUEST_KEYS), sorted(REQUEST_KEYS - set(request))
    if unknown or missing:
        raise ServiceError(f"the check request has unknown fields {unknown} or lacks {missing}",
                           hint="send the fields ecozone check --service sends")
    cwd, quiet, verbose = request["cwd"], request["quiet"], request["verbose"]
    if not (isinstance(cwd, str) and os.path.isabs(cwd)):
        raise ServiceError("the check request's cwd is not an absolute path", hint="send the client's folder")
    if type(quiet) is not bool or type(verbose) is not int or verbose < 0:
        raise ServiceError("the check request's quiet or verbose is not a flag or a count", hint="send false/true and 0, 1, 2")
    if not isinstance(request["params"], dict):
        raise ServiceError("the check request's params are not an object", hint="send the command's parameters")


def _parsed(params: dict) -> dict:
    """``params`` parsed again by ``ecozone check``'s own options, so the service takes what the command takes.

    Unknown or missing parameters, values of the wrong kind and values the
    command line refuses (``jobs`` 0, an unknown ``fail_on``) raise ServiceError.
    """
    import click

    from .cli.check import command, params_of

    options = [p for p in command.params if p.name != "service"]  # the client's own option
    unknown = sorted(set(params) - {p.name for p in options})
    missing = sorted({p.name for p in options} - set(params))
    if unknown or missing:
        raise ServiceError(f"the check request has unknown parameters {unknown} or lacks {missing}",
                           hint="send the parameters of ecozone check")
    args, tail = [], []
    for p in options:
        value = params[p.name]
        if isinstance(p, click.Argument):
            tail = [] if value is None else ["--", _text(p.name, value)]
        elif p.is_flag:
            if type(value) is not bool:
                raise ServiceError(f"the check parameter {p.name} is not true or false", hint="send a flag as a boolean")
            if value or p.secondary_opts:
                args.append(p.opts[0] if value else p.secondary_opts[0])
        else:
            long_opt = next(o for o in p.opts if o.startswith("--"))
            if p.multiple and not isinstance(value, list):
                raise ServiceError(f"the check parameter {p.name} is not a list", hint="send repeated values as a list")
            args.extend(f"{long_opt}={_text(p.name, v)}" for v in (value if p.multiple else [value]) if v is not None)
    try:
        parsed = params_of(args + tail)
    except click.ClickException as exc:
        raise ServiceError(f"the check request's parameters are refused: {exc.format_message()}",
                           hint="send values the command line accepts") from None
    parsed.pop("service", None)
    for name, value in parsed.items():
        if params[name] != value:  # e.g. a number sent as text: the command line would not give it
            raise ServiceError(f"the check parameter {name} is {params[name]!r}, not as the command line gives it",
                               hint="send the parameters ecozone check parses")
    if not (parsed["sites"] or parsed["points"] or parsed["wkts"]):
        raise ServiceError("the check request names no sites", hint="give a SITES file, --point or --wkt")
    return parsed


def _text(name: str, value) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ServiceError(f"the check parameter {name} is not text or a number", hint="send the command's values")
    return str(value)


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

    from . import results  # noqa: F401
    from .check.engine import check_sites
    from .sites.read import normalize_sites

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


class _TooLarge(Exception):
    """A request's line and headers exceed :data:`MAX_HEADER`."""


class _DeadlineReader(io.RawIOBase):
    """A connection's socket read against one deadline for the whole connection and a byte allowance.

    Every read waits at most until the deadline, however the bytes trickle in;
    a read past the allowance raises :class:`_TooLarge`.
    """

    def __init__(self, sock, deadline: float):
        super().__init__()
        self.sock, self.deadline, self.allowance = sock, deadline, 0

    def readable(self):
        return True

    def readinto(self, buf) -> int:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request took too long")
        if self.allowance <= 0:
            raise _TooLarge()
        self.sock.settimeout(left)
        n = self.sock.recv_into(buf, min(len(buf), self.allowance))
        self.allowance -= n
        return n


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # the hello and the request share one connection
    server_version = f"ecozone/{__version__}"

    def setup(self):
        super().setup()
        self.reader = _DeadlineReader(self.connection, time.monotonic() + self.server.request_seconds)
        self.rfile = io.BufferedReader(self.reader)
        self.nonces = None  # (client's, service's) once the service proved itself on this connection

    def handle_one_request(self):
        self.reader.allowance = MAX_HEADER
        self.command, self.request_version, self.requestline = "", "HTTP/1.1", ""  # (answers before parsing)
        try:
            super().handle_one_request()
        except _TooLarge:
            self._answer(431, {"error": f"request line and headers exceed {MAX_HEADER} bytes"})

    def _answer(self, status: int, body: dict, proof=None) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        if status != 200:
            self.close_connection = True
        try:
            self.connection.settimeout(WRITE_SECONDS)
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            if proof is not None:
                self.send_header(PROOF_HEADER, proof(data))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client went away or does not read
            self.close_connection = True

    def _body(self) -> bytes | None:
        """The request's body, read against the connection's deadline; None when refused (answered)."""
        if self.headers.get("Transfer-Encoding"):
            return self._answer(411, {"error": "send the body with a Content-Length"})
        try:
            n = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return self._answer(411, {"error": "send the body with a Content-Length"})
        if not 0 <= n <= MAX_BODY[self.path]:
            return self._answer(413, {"error": f"a body of {MAX_BODY[self.path]} bytes at most"})
        self.reader.allowance += n
        data = self.rfile.read(n)
        if len(data) < n:  # the client went away
            self.close_connection = True
            return None
        return data

    def do_GET(self):  # noqa: N802 (the name http.server calls)
        self._answer(405, {"error": "ask POST /hello, then POST /check or /info"})

    def do_POST(self):  # noqa: N802
        if self.path not in MAX_BODY:
            return self._answer(404, {"error": f"no {self.path}; ask POST /hello, then POST /check or /info"})
        if self.headers.get_content_type() != "application/json":  # what a web page cannot send unasked
            return self._answer(415, {"error": "send application/json"})
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
        if host not in (HOST, "localhost"):  # a page served from elsewhere (DNS rebinding)
            return self._answer(403, {"error": "only requests to 127.0.0.1 or localhost are answered"})
        data = self._body()
        if data is None:
            return
        if self.path == "/hello":
            return self._hello(data)
        if self.nonces is None:
            return self._answer(403, {"error": "say POST /hello first"})
        theirs, mine = self.nonces
        self.nonces = None  # one request per proof
        key, port = self.server.service.key, self.server.server_address[1]
        if not _same(self.headers.get(PROOF_HEADER), _mac(key, "client", port, theirs, mine, _digest(data))):
            return self._answer(403, {"error": "this service answers the account that started it only"})
        if not self.server.trust(self.connection):  # cut meanwhile: it will not hear the answer
            return
        self.close_connection = True  # one check per connection
        try:
            request = json.loads(data)
        except ValueError:
            return self._answer(400, {"error": "the body is not JSON"})
        gone = lambda: _gone(self.connection)  # noqa: E731
        try:
            answer = (self.server.service.check(request, gone=gone) if self.path == "/check"
                      else self.server.service.info(gone=gone))
        except InterruptedError:
            answer = None
        except Exception as exc:
            answer = {"error": error_line(exc) or f"{type(exc).__name__}: {exc}"}
            return self._answer(500, answer)
        if answer is None:  # the client went away: nobody to answer
            return
        self._answer(200, answer,
                     proof=lambda out: _mac(key, "answer", port, theirs, mine, _digest(data), _digest(out)))

    def _hello(self, data: bytes) -> None:
        try:
            theirs = json.loads(data)["nonce"]
        except (ValueError, KeyError, TypeError):
            theirs = None
        if not isinstance(theirs, str) or not _NONCE.fullmatch(theirs):
            return self._answer(400, {"error": "send a nonce of 64 hexadecimal digits"})
        mine = secrets.token_hex(32)
        self.nonces = (theirs, mine)
        proof = _mac(self.server.service.key, "service", self.server.server_address[1], theirs, mine)
        self._answer(200, {"nonce": mine, "proof": proof})

    def log_message(self, format, *args):  # noqa: A002 (the signature http.server calls)
        pass  # the client reports; the service stays quiet


class CheckServer(ThreadingHTTPServer):
    """The service's HTTP server on 127.0.0.1: a thread per connection, at most ``max_connections`` of them.

    When all are taken, the oldest connection that has not proved itself yet
    is cut for the new one; connections that proved themselves (checks
    running or waiting) are kept, and a new one is then refused (503).
    """

    daemon_threads = True
    request_queue_size = 64  # connections the system holds until they are taken (a burst of clients)
    block_on_close = False  # stopping does not wait for connections (a running check is waited for in serve)

    def __init__(self, service: CheckService, port: int, *, request_seconds: float = REQUEST_SECONDS,
                 max_connections: int = MAX_CONNECTIONS):
        super().__init__((HOST, port), _Handler)
        self.service, self.request_seconds, self.max_connections = service, request_seconds, max_connections
        self._open: dict = {}  # socket -> proved itself (oldest first)
        self._guard = threading.Lock()

    def process_request(self, request, client_address):
        with self._guard:
            if len(self._open) >= self.max_connections:
                oldest = next((s for s, proved in self._open.items() if not proved), None)
                if oldest is None:
                    return self._busy(request)
                del self._open[oldest]
                try:
                    oldest.shutdown(socket.SHUT_RDWR)  # its thread sees the end at once
                except OSError:
                    pass
            self._open[request] = False
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._guard:
                self._open.pop(request, None)

    def trust(self, request) -> bool:
        """Mark a connection that proved itself (it is not cut for newcomers); False if it was cut already."""
        with self._guard:
            if request not in self._open:
                return False
            self._open[request] = True
            return True

    def drain(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for the connections that proved themselves to get their answers."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._guard:
                if not any(self._open.values()):
                    return
            time.sleep(0.05)

    def _busy(self, request) -> None:
        data = b'{"error": "the check service has too many connections; try again"}'
        try:
            request.settimeout(1)
            request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                            b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(data), data))
        except OSError:
            pass
        self.shutdown_request(request)

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], OSError):  # a client that went away or was cut
            return
        super().handle_error(request, client_address)


def serve(root, *, port: int = DEFAULT_PORT, ready=None) -> None:
    """Serve checks against the layer set at ``root`` on 127.0.0.1:``port`` until interrupted.

    ``ready(url, name)`` is called once the layer set is loaded and the port is
    open. When stopped, a running check is asked to stop and waited for (up
    to a minute), so it leaves no temporary file behind.
    """
    folder = key_path(port).parent
    if folder.exists():
        _own_folder(folder)  # before the seconds spent opening the layer set
    service = CheckService(root)
    try:
        server = CheckServer(service, port)
    except OSError as exc:
        raise ServiceError(f"cannot listen on {HOST}:{port} ({exc.strerror or exc})",
                           hint="give another --port (0 picks a free one)") from None
    key = key_path(server.server_address[1])
    with server:
        try:
            _write_key(key, service.key)
        except OSError as exc:
            raise ServiceError(f"cannot write the check service's key ({exc.strerror or exc})", path=key,
                               hint="make the folder yours (or set XDG_RUNTIME_DIR) and start the service again"
                               ) from None
        if threading.current_thread() is threading.main_thread():  # stopped by a signal: the key file goes too
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            if ready:
                ready(f"http://{HOST}:{server.server_address[1]}", service.ls.name)
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            key.unlink(missing_ok=True)
            service.stopping.set()
            service.wait_idle(60)  # the running check stops at its next question, those waiting at once
            server.drain(5)  # its client (and those waiting) hear that it stopped


# -- client ----------------------------------------------------------------------------------------

def _port(url: str) -> int:
    """The port of a service URL, which must name this machine (the service listens on 127.0.0.1 only)."""
    parts = urlsplit(url)
    try:
        port = parts.port or 80
    except ValueError:
        port = None
    if parts.scheme != "http" or parts.hostname not in (HOST, "localhost") or port is None:
        raise ServiceError(f"--service {url} is not a check service address on this machine",
                           hint=f"give http://{HOST}:PORT, the address ecozone serve printed")
    return port


class _Session:
    """One connection to the service at ``url``, which proves it holds the key before anything is sent."""

    def __init__(self, url: str):
        self.url, self.port = url, _port(url)
        self.key_file = key_path(self.port)
        self.key = read_key(self.key_file)
        if self.key is None:
            raise ServiceError(f"no check service answers at {url} (no key file {self.key_file})",
                               hint="start one with: ecozone serve --layers DIR, or drop --service")
        # to 127.0.0.1 whatever the URL says: localhost may also name ::1, where another program may listen
        self.conn = http.client.HTTPConnection(HOST, self.port, timeout=HELLO_SECONDS)
        self.conn.connect()  # (never through a proxy: http.client does not use one)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.conn.close()

    def _post(self, path: str, body: bytes, headers=None) -> tuple:
        self.conn.request("POST", path, body=body, headers={"Content-Type": "application/json", **(headers or {})})
        resp = self.conn.getresponse()
        return resp.status, resp.getheader(PROOF_HEADER), resp.read()

    def _impostor(self, why: str) -> ServiceError:
        return ServiceError(f"what answers at {self.url} is not this account's check service ({why}); "
                            "nothing was sent to it",
                            hint=f"stop the program listening on port {self.port}, or start ecozone serve "
                                 "on another --port and give its URL")

    def hello(self) -> None:
        """Have the service prove it holds the key (on failure nothing of the request has been sent)."""
        mine = secrets.token_hex(32)
        status, _, data = self._post("/hello", json.dumps({"nonce": mine}).encode())
        try:
            answer = json.loads(data) if status == 200 else {}
        except ValueError:
            answer = {}
        theirs, proof = (answer.get("nonce"), answer.get("proof")) if isinstance(answer, dict) else (None, None)
        if not (isinstance(theirs, str) and _NONCE.fullmatch(theirs)):
            raise self._impostor(f"no proof of the key in {self.key_file}; HTTP {status}")
        if not _same(proof, _mac(self.key, "service", self.port, mine, theirs)):
            raise self._impostor(f"a wrong proof of the key in {self.key_file}")
        self.nonces = (mine, theirs)

    def ask(self, path: str, request: dict) -> dict:
        """POST ``request`` to ``path`` with the client's proof; the answer, once its proof is checked."""
        mine, theirs = self.nonces
        body = json.dumps(request).encode()
        if self.conn.sock is not None:
            self.conn.sock.settimeout(None)  # a check takes what it takes; the service answers when done
        status, proof, data = self._post(path, body, {PROOF_HEADER: _mac(self.key, "client", self.port, mine, theirs,
                                                                           _digest(body))})
        if status != 200:
            try:
                why = json.loads(data).get("error", status)
            except (ValueError, AttributeError):
                why = status
            raise ServiceError(f"the check service at {self.url} refused the request ({status}: {why})",
                               hint="is it an ecozone service started by this account?")
        if not _same(proof, _mac(self.key, "answer", self.port, mine, theirs, _digest(body), _digest(data))):
            raise ServiceError(f"the answer from {self.url} does not carry the check service's proof",
                               hint=f"stop the program listening on port {self.port} and run the check again")
        return json.loads(data)


def _session_call(url: str, path: str, request: dict) -> dict:
    try:
        with _Session(url) as s:
            s.hello()
            return s.ask(path, request)
    except ServiceError:
        raise
    except (http.client.HTTPException, OSError, ValueError) as exc:
        if isinstance(exc, ConnectionRefusedError):
            raise ServiceError(f"no check service answers at {url} ({exc.strerror or exc})",
                               hint="start one with: ecozone serve --layers DIR, or drop --service") from None
        raise ServiceError(f"the check service at {url} did not answer ({type(exc).__name__}: {exc})",
                           hint="it may have stopped: see its log, and run the check again") from None


def service_info(url: str) -> dict:
    """What the service at ``url`` serves (layer set, its hash and build date, ecozone version)."""
    return _session_call(url, "/info", {})


def check_remote(url: str, params: dict, *, quiet: bool, verbose: int) -> tuple:
    """Ask the service at ``url`` to run a check (``params`` as ``geo.cli.check.run`` takes them).

    Returns the exit code and the lines the check printed. Raises
    ServiceError when no service of this account answers, when what answers
    cannot prove it holds the key (then nothing but a random nonce was sent),
    or when its answer does not carry its proof.
    """
    body = {"version": __version__, "cwd": os.getcwd(), "params": params, "quiet": quiet, "verbose": verbose}
    answer = _session_call(url, "/check", body)
    code, lines = (answer.get("code"), answer.get("lines")) if isinstance(answer, dict) else (None, None)
    if type(code) is not int or not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
        raise ServiceError(f"the check service at {url} gave an answer without exit code and lines",
                           hint="start the service again")
    return code, lines
