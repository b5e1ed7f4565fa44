"""Per-user storage of the web app: one folder per user, one folder per check, ids made here.

``DATA/users/<key>/checks/<id>/`` holds the upload (``input/``), the outputs
and ``meta.json`` (inputs, layer set name and hash, counts, status). The user's
folder is named by a hash of the user name and a check id is random; an id from
a client is only ever matched against the ids of the asking user's folder, so
no path is ever made from what a client sends.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from pathlib import Path

__all__ = ["Store", "CHECK_ID", "default_data_dir"]

CHECK_ID = re.compile(r"[A-Za-z0-9_-]{16}")


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/ecozone/app``, else ``~/.local/share/ecozone/app``."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "ecozone" / "app"


class Store:
    """The app's data folder."""

    def __init__(self, root):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)

    def user_dir(self, user: str) -> Path:
        key = hashlib.sha256(user.encode("utf-8")).hexdigest()[:24]
        return self.root / "users" / key

    def new_check(self, user: str) -> tuple[str, Path]:
        """A fresh check id and its (new, empty) folder."""
        while True:
            cid = secrets.token_urlsafe(12)
            folder = self.user_dir(user) / "checks" / cid
            try:
                folder.mkdir(parents=True, mode=0o700)
                return cid, folder
            except FileExistsError:
                continue

    def check_dir(self, user: str, cid: str) -> Path | None:
        """The folder of ``user``'s check ``cid``, or None (another user's id is simply not found)."""
        if not isinstance(cid, str) or not CHECK_ID.fullmatch(cid):
            return None
        folder = self.user_dir(user) / "checks" / cid
        return folder if (folder / "meta.json").is_file() else None

    def write_meta(self, folder: Path, meta: dict) -> None:
        from ..atomic import atomic_path

        with atomic_path(folder / "meta.json") as tmp:
            tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")

    @staticmethod
    def read_meta(folder: Path) -> dict:
        return json.loads((folder / "meta.json").read_text(encoding="utf-8"))

    def history(self, user: str) -> list[dict]:
        """``user``'s checks, newest first."""
        checks = self.user_dir(user) / "checks"
        out = []
        for folder in checks.glob("*/meta.json") if checks.is_dir() else []:
            try:
                out.append(self.read_meta(folder.parent))
            except (OSError, ValueError):
                continue
        return sorted(out, key=lambda m: m.get("time", ""), reverse=True)
