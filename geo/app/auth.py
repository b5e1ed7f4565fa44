"""Users of the web app: a users file of Argon2 hashes, sessions, CSRF tokens and a login brake.

The users file is JSON, ``{"users": {"name": "$argon2id$…"}}``, written
atomically with mode 0600 by ``ecozone app adduser``. Sessions live in memory
(a restart signs everyone out): a random token in an HttpOnly, SameSite=Strict
cookie, each bound to its own CSRF token that the page sends back in a header.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..errors import AppError

__all__ = ["Users", "Sessions", "Session", "LoginBrake", "add_user", "LOCAL_USER", "NAME"]

#: the one user of an app on 127.0.0.1 without a users file
LOCAL_USER = "local"
#: a user name: letters (any script), digits, ``_ . -``; 1–64 characters
NAME = re.compile(r"[\w.-]{1,64}")
SESSION_SECONDS = 12 * 3600
_hasher = PasswordHasher()


def _read(path: Path) -> dict:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        users = doc["users"]
        if not isinstance(users, dict) or not all(isinstance(v, str) for v in users.values()):
            raise TypeError
        return users
    except FileNotFoundError:
        return {}
    except (ValueError, KeyError, TypeError):
        raise AppError("不是 ecozone 用户文件 / not an ecozone users file", path=path,
                             hint="make it with: ecozone app adduser FILE NAME") from None


def add_user(path, name: str, password: str) -> bool:
    """Add ``name`` to the users file at ``path`` (or replace its password); True when the user is new."""
    from ..atomic import atomic_path

    path = Path(path)
    if not NAME.fullmatch(name) or name == LOCAL_USER:
        raise AppError(f"用户名 {name!r} 不可用 / user name {name!r} is not usable", path=path,
                             hint="use 1–64 letters, digits, _ . or -, not 'local'")
    if len(password) < 8:
        raise AppError("密码至少 8 个字符 / the password needs 8 characters or more", path=path,
                             hint="type a longer password")
    users = _read(path)
    new = name not in users
    users[name] = _hasher.hash(password)
    with atomic_path(path) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"users": users}, fh, ensure_ascii=False, indent=1)
    return new


class Users:
    """The users file, read when a login is tried (so ``adduser`` works on a running app)."""

    def __init__(self, path):
        self.path = Path(path)
        _read(self.path)  # refuse a wrong file at start

    def verify(self, name: str, password: str) -> bool:
        """Whether ``password`` is ``name``'s (in about the same time for an unknown name)."""
        stored = _read(self.path).get(name) if isinstance(name, str) else None
        try:
            if stored is None:
                _hasher.hash(password or "x")  # the same work: no telling which names exist
                return False
            return _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False


@dataclass
class Session:
    """A signed-in user: the cookie's token, the CSRF token, the expiry (monotonic seconds)."""

    user: str
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    expires: float = field(default_factory=lambda: time.monotonic() + SESSION_SECONDS)


class Sessions:
    """Sessions by token, in memory."""

    def __init__(self):
        self._by_token: dict[str, Session] = {}
        self._lock = threading.Lock()

    def new(self, user: str) -> Session:
        s = Session(user)
        with self._lock:
            now = time.monotonic()
            self._by_token = {k: v for k, v in self._by_token.items() if v.expires > now}
            self._by_token[s.token] = s
        return s

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        with self._lock:
            s = self._by_token.get(token)
        return s if s is not None and s.expires > time.monotonic() else None

    def end(self, token: str | None) -> None:
        with self._lock:
            self._by_token.pop(token or "", None)


class LoginBrake:
    """Refuse logins for a while after repeated failures: ``failures`` per user name, six times as many per client
    address (keys starting ``client:``; many users may share one address behind a proxy)."""

    def __init__(self, failures: int = 5, window_s: float = 300.0, pause_s: float = 60.0):
        self.failures, self.window_s, self.pause_s = failures, window_s, pause_s
        self._seen: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> list[float]:
        times = [t for t in self._seen.get(key, []) if now - t < self.window_s]
        self._seen[key] = times
        return times

    def wait_s(self, *keys: str) -> float:
        """Seconds to wait before another try (0: go ahead)."""
        now = time.monotonic()
        with self._lock:
            waits = [t[-1] + self.pause_s - now for k in keys
                     if len(t := self._recent(k, now)) >= self.failures * (6 if k.startswith("client:") else 1)]
        return max([0.0, *waits])

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for k in keys:
                self._recent(k, now).append(now)

    def passed(self, *keys: str) -> None:
        with self._lock:
            for k in keys:
                self._seen.pop(k, None)
