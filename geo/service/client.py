"""The client side of the check service: ``ecozone check --service URL``.

It uses the standard library only, so the command that calls a service starts
in a fraction of a second. It talks to 127.0.0.1 only, never through a proxy,
and sends nothing but a random nonce until the service has proved it holds
this account's key (:mod:`geo.service.protocol`).
"""
from __future__ import annotations

import http.client
import json
import os
import secrets
from urllib.parse import urlsplit

from .. import __version__
from ..errors import ServiceError
from .keys import key_path, read_key
from .protocol import HOST, NONCE, PROOF_HEADER, digest, mac, same

__all__ = ["check_remote", "service_info"]

HELLO_SECONDS = 10.0  # time the client gives the service to prove itself


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
        if not (isinstance(theirs, str) and NONCE.fullmatch(theirs)):
            raise self._impostor(f"no proof of the key in {self.key_file}; HTTP {status}")
        if not same(proof, mac(self.key, "service", self.port, mine, theirs)):
            raise self._impostor(f"a wrong proof of the key in {self.key_file}")
        self.nonces = (mine, theirs)

    def ask(self, path: str, request: dict) -> dict:
        """POST ``request`` to ``path`` with the client's proof; the answer, once its proof is checked."""
        mine, theirs = self.nonces
        body = json.dumps(request).encode()
        if self.conn.sock is not None:
            self.conn.sock.settimeout(None)  # a check takes what it takes; the service answers when done
        status, proof, data = self._post(path, body, {PROOF_HEADER: mac(self.key, "client", self.port, mine, theirs,
                                                                           digest(body))})
        if status != 200:
            try:
                why = json.loads(data).get("error", status)
            except (ValueError, AttributeError):
                why = status
            raise ServiceError(f"the check service at {self.url} refused the request ({status}: {why})",
                               hint="is it an ecozone service started by this account?")
        if not same(proof, mac(self.key, "answer", self.port, mine, theirs, digest(body), digest(data))):
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
    """Ask the service at ``url`` to run a check (``params``: the fields of :class:`~geo.check.pipeline.CheckParams`).

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
