"""The check service's HTTP side: one thread per connection on 127.0.0.1, bounded in time, size and number.

Requests must be JSON with a loopback ``Host``, which a web page cannot send,
and prove the key (:mod:`geo.service.protocol`). Each connection has
:data:`REQUEST_SECONDS` in all to send its requests (headers and bodies, bounded
in size), so a slow or idle connection holds nothing up; when
:data:`MAX_CONNECTIONS` are open, the oldest that has not proved itself yet is
cut. The checks themselves run in turn (:class:`~geo.service.runner.CheckService`).
"""
from __future__ import annotations

import io
import json
import secrets
import select
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .. import __version__
from ..errors import RequestTooLarge, ServiceError, error_line
from .keys import key_path, refuse_foreign_folder, write_key
from .protocol import DEFAULT_PORT, HOST, NONCE, PROOF_HEADER, digest, mac, same
from .runner import CheckService

__all__ = ["CheckServer", "serve"]

REQUEST_SECONDS = 10.0  # a connection's time, from its opening, to send its requests (headers and bodies)
WRITE_SECONDS = 10.0  # time a client may take to take in an answer
MAX_HEADER = 16 << 10  # bytes of request line and headers per request
MAX_BODY = {"/hello": 1 << 10, "/info": 1 << 10, "/check": 8 << 20}  # bytes of body per request
MAX_CONNECTIONS = 32


def _gone(conn) -> bool:
    """Whether the client closed its connection (it sends nothing after its request)."""
    try:
        if not select.select([conn], [], [], 0)[0]:
            return False  # nothing to read: still there
        return conn.recv(1, socket.MSG_PEEK) == b""  # readable and empty: closed
    except OSError:
        return True


class _DeadlineReader(io.RawIOBase):
    """A connection's socket read against one deadline for the whole connection and a byte allowance.

    Every read waits at most until the deadline, however the bytes trickle in;
    a read past the allowance raises :class:`~geo.errors.RequestTooLarge`.
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
            raise RequestTooLarge("the request exceeds what the check service reads")
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
        except RequestTooLarge:
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
        if not same(self.headers.get(PROOF_HEADER), mac(key, "client", port, theirs, mine, digest(data))):
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
                     proof=lambda out: mac(key, "answer", port, theirs, mine, digest(data), digest(out)))

    def _hello(self, data: bytes) -> None:
        try:
            theirs = json.loads(data)["nonce"]
        except (ValueError, KeyError, TypeError):
            theirs = None
        if not isinstance(theirs, str) or not NONCE.fullmatch(theirs):
            return self._answer(400, {"error": "send a nonce of 64 hexadecimal digits"})
        mine = secrets.token_hex(32)
        self.nonces = (theirs, mine)
        proof = mac(self.server.service.key, "service", self.server.server_address[1], theirs, mine)
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
        refuse_foreign_folder(folder)  # before the seconds spent opening the layer set
    service = CheckService(root)
    try:
        server = CheckServer(service, port)
    except OSError as exc:
        raise ServiceError(f"cannot listen on {HOST}:{port} ({exc.strerror or exc})",
                           hint="give another --port (0 picks a free one)") from None
    key = key_path(server.server_address[1])
    with server:
        try:
            write_key(key, service.key)
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


