"""The app's audit log: one JSON line per event, appended, never rewritten.

Each line has the time (UTC, ISO 8601), the user, the client address, the
event (``login``, ``login_failed``, ``logout``, ``check``, ``check_done``, ``rerun``,
``cancel``, ``download``, ``export``, ``refused``) and what it concerned (file
name, layer set name and content hash, counts). The file is opened with
O_APPEND for each line, so lines of concurrent requests never interleave.
"""
from __future__ import annotations

import json
import os
import threading
from datetime import datetime, timezone
from pathlib import Path

__all__ = ["AuditLog"]


class AuditLog:
    """Append-only JSON lines at ``path`` (mode 0600)."""

    def __init__(self, path):
        self.path = Path(path)
        self._lock = threading.Lock()

    def write(self, event: str, *, user: str | None, client: str | None = None, **what) -> None:
        line = json.dumps({"time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), "user": user,
                           "client": client, "event": event, **what}, ensure_ascii=False, default=str)
        data = (line.replace("\n", " ") + "\n").encode("utf-8")
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)

    def lines(self) -> list[dict]:
        """Every event so far (for tests and the administrator)."""
        if not self.path.exists():
            return []
        return [json.loads(x) for x in self.path.read_text(encoding="utf-8").splitlines() if x]
