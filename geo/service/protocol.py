"""What the check service and its clients agree on: the address, the proofs, the request and its parameters.

The service writes a random key to a file only its account can read
(:mod:`geo.service.keys`); the key itself never travels. On one connection:

1. ``POST /hello`` — the client sends a random nonce; the service answers its
   own nonce and HMAC-SHA256(key, "service", port, both nonces). The client
   checks it before sending anything else, so a program of another account
   that listens on the port first learns nothing of the check and cannot
   answer it.
2. ``POST /check`` (or ``/info``) — the request carries HMAC(key, "client",
   port, both nonces, SHA-256 of the body); the answer (exit code and lines)
   carries HMAC(key, "answer", port, both nonces, SHA-256 of the request and of
   the answer), which the client checks before it believes a verdict.

A check request holds :data:`REQUEST_KEYS`; its ``params`` are the fields of
:class:`~geo.check.pipeline.CheckParams` as JSON, refused as the command line
refuses its options (:func:`request_params`).
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import typing

from .. import __version__
from ..errors import ServiceError

__all__ = ["DEFAULT_PORT", "HOST", "PROOF_HEADER", "NONCE", "REQUEST_KEYS", "mac", "digest", "same",
           "refuse_bad_request", "request_params"]

DEFAULT_PORT = 8765
HOST = "127.0.0.1"
PROOF_HEADER = "X-Ecozone-Proof"
NONCE = re.compile(r"[0-9a-f]{64}")
REQUEST_KEYS = {"version", "cwd", "params", "quiet", "verbose"}


def mac(key: str, *parts) -> str:
    """HMAC-SHA256 of ``parts`` (nonces, digests, labels: none holds a newline) under ``key``."""
    return hmac.new(key.encode(), "\n".join(map(str, parts)).encode(), hashlib.sha256).hexdigest()


def digest(data: bytes) -> str:
    """SHA-256 of ``data``, in hexadecimal."""
    return hashlib.sha256(data).hexdigest()


def same(proof, expected: str) -> bool:
    """Whether ``proof`` is the text ``expected`` (compared in constant time)."""
    return isinstance(proof, str) and hmac.compare_digest(proof.encode(), expected.encode())


def refuse_bad_request(request) -> None:
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


def request_params(params: dict):
    """The :class:`~geo.check.pipeline.CheckParams` of a request, which takes what the command line takes.

    Run in the client's folder (paths are checked as the command line checks
    them). Unknown or missing parameters, values of a kind the command line
    cannot give (a number for a flag, a float, a list for a single value), of
    a kind it gives otherwise (``"2"`` for ``jobs``, ``"GCJ02"`` for
    ``gcj02``) and values it refuses (``jobs`` 0, an unknown ``fail_on``)
    raise ServiceError.
    """
    from ..check.pipeline import NO_SITES, CheckParams

    types = CheckParams.types()
    unknown, missing = sorted(set(params) - set(types)), sorted(set(types) - set(params))
    if unknown or missing:
        raise ServiceError(f"the check request has unknown parameters {unknown} or lacks {missing}",
                           hint="send the parameters of ecozone check")
    for name, kind in types.items():
        _refuse_kind(name, params[name], kind)
    try:
        checked = CheckParams(**params)
    except ValueError as exc:
        if str(exc) == NO_SITES:
            raise ServiceError("the check request names no sites", hint=NO_SITES) from None
        raise ServiceError(f"the check request's parameters are refused: {exc}",
                           hint="send values the command line accepts") from None
    for name in types:
        value = getattr(checked, name)
        if (list(value) if isinstance(value, tuple) else value) != params[name]:  # e.g. GCJ02, made gcj02
            raise _not_as_given(name, params[name])
    return checked


def _refuse_kind(name: str, value, kind) -> None:
    """Refuse a JSON value the command line could not give for parameter ``name`` of type ``kind``."""
    from ..check.pipeline import fits

    if kind is bool:
        if type(value) is not bool:
            raise ServiceError(f"the check parameter {name} is not true or false", hint="send a flag as a boolean")
        return
    repeated = typing.get_origin(kind) is tuple
    if repeated and not isinstance(value, list):
        raise ServiceError(f"the check parameter {name} is not a list", hint="send repeated values as a list")
    for v in value if repeated else [value]:
        if isinstance(v, bool) or not isinstance(v, (str, int, type(None))):
            raise ServiceError(f"the check parameter {name} is not text or a number", hint="send the command's values")
    if not fits(value, kind):  # e.g. a number sent as text
        raise _not_as_given(name, value)


def _not_as_given(name: str, value) -> ServiceError:
    return ServiceError(f"the check parameter {name} is {value!r}, not as the command line gives it",
                       hint="send the parameters ecozone check parses")
