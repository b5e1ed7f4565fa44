"""The check service's key: a random secret in a file only the account that started the service can read.

The service writes it (:func:`write_key`) where :func:`key_path` says; a client
reads it (:func:`read_key`) and refuses a key file, or a folder, that another
account could have written or read.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import ServiceError

__all__ = ["key_path", "read_key", "write_key", "refuse_foreign_folder"]


def key_path(port: int) -> Path:
    """Where the service on ``port`` keeps its key (a folder only its account may write)."""
    base = os.environ.get("XDG_RUNTIME_DIR") or Path.home() / ".cache"
    return Path(base) / "ecozone" / f"serve-{port}.key"


def refuse_foreign_folder(folder: Path) -> None:
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
        refuse_foreign_folder(path.parent)
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


def write_key(path: Path, key: str) -> None:
    """Write ``key`` to ``path``, readable by this account only (mode 0600, whatever the umask)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    refuse_foreign_folder(path.parent)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    os.fchmod(fd, 0o600)  # exactly, whatever the umask
    with os.fdopen(fd, "w") as fh:
        fh.write(key)

