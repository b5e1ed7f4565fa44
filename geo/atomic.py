"""Writing outputs atomically: beside the target, renamed into place when complete.

A write that fails (a full disk, a quota, a folder that cannot be written) is
one :class:`~geo.errors.ExportError` naming the output, and leaves neither the
output, nor a temporary file, nor a folder made for it.
"""
from __future__ import annotations

import errno
import io
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pyogrio
import pyogrio.errors

from .errors import EcozoneError, ExportError

__all__ = ["atomic_path", "write_failed", "writing", "WRITE_ERRORS", "write_in_memory", "make_parents",
           "remove_folders", "gdal_errors_as_exceptions", "discard"]


#: what a failed write raises: the system refusing bytes (a full disk, a quota, a file-size limit,
#: a folder that cannot be written), or GDAL failing to add features or to finish the file
WRITE_ERRORS = (OSError, pyogrio.errors.DataSourceError, pyogrio.errors.FeatureError)


_NO_ROOM = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}


_NOT_ALLOWED = {errno.EACCES, errno.EPERM, errno.EROFS}


def write_failed(exc: BaseException, target) -> ExportError:
    """The one-line error for a write of ``target`` that failed with ``exc`` (one of :data:`WRITE_ERRORS`)."""
    code = getattr(exc, "errno", None)
    detail = os.strerror(code) if isinstance(code, int) and code > 0 else (" ".join(str(exc).split()) or "no detail")
    if len(detail) > 160:  # GDAL may quote the SQL it failed on
        detail = detail[:159] + "…"
    if code in _NOT_ALLOWED:
        hint = "choose a folder you can write to"
    elif code in _NO_ROOM:
        hint = "free space on that disk or choose another folder"
    elif isinstance(exc, OSError):
        hint = "check the disk or choose another folder"
    else:  # GDAL says only that it could not write
        hint = "if the disk is full, free space on it or choose another folder"
    return ExportError(f"could not be written ({type(exc).__name__}: {detail}); nothing was written",
                       path=target, hint=hint)


def discard(path) -> None:
    """Remove a temporary file and the journal files SQLite (GeoPackage) may have left beside it."""
    for p in (str(path), *(f"{path}{s}" for s in ("-journal", "-wal", "-shm"))):
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass


def make_parents(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; return the ones created (outermost first)."""
    missing = []
    p = Path(folder)
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        d.mkdir(exist_ok=True)
    return list(reversed(missing))


def remove_folders(created) -> None:
    """Remove folders :func:`make_parents` created, innermost first, where still empty."""
    for d in reversed(created):
        try:
            d.rmdir()
        except OSError:
            pass


@contextmanager
def atomic_path(target, *, overwrite: bool = True):
    """Yield a temporary path beside ``target``; on success rename it over ``target``.

    On any failure the temporary file (and folders made for it) are removed and
    ``target`` is left as it was; a failed write (:data:`WRITE_ERRORS`) becomes
    one :class:`ExportError` naming ``target`` (:func:`write_failed`).
    """
    target = Path(target)
    if target.exists() and not overwrite:
        raise ExportError("output exists", path=target, hint="give --overwrite to replace it")
    tmp, created = None, []
    try:
        created = make_parents(target.parent)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=target.suffix, dir=target.parent)
        os.close(fd)
        os.unlink(tmp)
        yield Path(tmp)
        os.replace(tmp, target)
    except BaseException as exc:
        if tmp is not None:
            discard(tmp)
        remove_folders(created)
        if isinstance(exc, WRITE_ERRORS) and not isinstance(exc, EcozoneError):
            raise write_failed(exc, target) from exc
        raise


def write_in_memory(gdf, path, **kwargs) -> None:
    """Write ``gdf`` with GDAL (``pyogrio.write_dataframe`` keywords) into memory, then to ``path``.

    GDAL's GeoJSON and FlatGeobuf writers can end a file short on a full disk
    without an error; Python's own write of the finished bytes reports it.
    """
    buf = io.BytesIO()
    pyogrio.write_dataframe(gdf, buf, **kwargs)
    with open(path, "wb") as fh:
        fh.write(buf.getbuffer())


def gdal_errors_as_exceptions() -> None:
    """Give the writer thread pyogrio's GDAL error handler, as its main thread has.

    pyogrio installs the handler at import, for the importing thread only (GDAL's
    handlers are per thread); elsewhere GDAL prints each failure on stderr before
    pyogrio raises it, so a full disk would give a screen of SQL instead of one line.
    """
    try:
        from pyogrio._err import _register_error_handler
    except ImportError:  # a pyogrio without it: the messages are printed, the error is still raised
        return
    _register_error_handler()


@contextmanager
def writing(target):
    """Turn a failed write into :func:`write_failed`'s error naming ``target``."""
    try:
        yield
    except EcozoneError:
        raise
    except WRITE_ERRORS as exc:
        raise write_failed(exc, target) from exc
