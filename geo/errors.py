"""Errors and warnings of ecozone.

Every error is an :class:`EcozoneError` and also the builtin it resembles, so
callers may catch either. ``str(err)`` is one line: where, what is wrong, what
to do.
"""
from __future__ import annotations

__all__ = [
    "EcozoneError",
    "LayerSetError",
    "RuleError",
    "SiteInputError",
    "CRSError",
    "ExportError",
    "MapError",
    "ServiceError",
    "NetworkInputError",
    "AppError",
    "ClusterError",
    "RequestTooLarge",
    "SiteInputWarning",
    "MapSizeWarning",
    "LayerSetWarning",
    "GeometryRepairedWarning",
    "CoverageWarning",
    "Terminated",
    "error_line",
    "warning_line",
]


class EcozoneError(Exception):
    """Root of ecozone's errors.

    Parameters
    ----------
    message : what is wrong.
    path, row, column : where (any may be None).
    hint : what to do about it.
    """

    def __init__(self, message: str, *, path=None, row=None, column=None, hint=None):
        super().__init__(message)
        self.message = message
        self.path = None if path is None else str(path)
        self.row = row
        self.column = column
        self.hint = hint

    def __str__(self) -> str:
        where = []
        if self.path:
            where.append(self.path)
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column}")
        text = self.message
        if where:
            text = ", ".join(where) + ": " + text
        if self.hint:
            text = text.rstrip(".") + "; " + self.hint
        return " ".join(text.split())


class LayerSetError(EcozoneError, OSError):
    """A layer set (manifest, source or build) is missing or wrong."""


class RuleError(EcozoneError, ValueError):
    """A rule table names an unknown layer, class, type or verdict."""


class SiteInputError(EcozoneError, ValueError):
    """A sites file or inline site could not be read or is not valid."""


class CRSError(EcozoneError, ValueError):
    """A coordinate reference system is missing, unknown or inconsistent."""


class ExportError(EcozoneError, OSError):
    """An export could not be written."""


class MapError(EcozoneError, ValueError):
    """A map cannot be drawn with the options given (unknown basemap, missing key)."""


class ServiceError(EcozoneError, OSError):
    """The check service cannot be reached or refused the request."""


class RequestTooLarge(ServiceError):
    """A request to the check service is larger than the service reads (its line and headers)."""


class SiteInputWarning(UserWarning):
    """A sites file was read on an assumption or repaired; the message names the file and features."""


class LayerSetWarning(UserWarning):
    """A build changed what its sources hold (repaired, clipped or dropped features); the message names them."""


class MapSizeWarning(UserWarning):
    """A written map is larger than its size budget."""


class GeometryRepairedWarning(UserWarning):
    """Invalid geometry was repaired; the message names the features."""


class CoverageWarning(UserWarning):
    """A site lies partly outside the layer set's coverage."""


class Terminated(BaseException):
    """SIGTERM (as ``timeout`` and service managers send) while a command runs.

    Raised in the main thread like KeyboardInterrupt, so every temporary
    output is removed on the way out, as for Ctrl-C.
    """


def error_line(exc: BaseException) -> str | None:
    """The one line the command line prints for an error it reports with exit code 2 (None: a bug, not input)."""
    if isinstance(exc, EcozoneError):
        return f"ecozone: error: {exc}"
    if isinstance(exc, (OSError, UnicodeError, MemoryError)):  # unreadable files and the like
        return f"ecozone: error: {type(exc).__name__}: {' '.join(str(exc).split())}"
    return None


def warning_line(message) -> str:
    """A warning as the command line prints it: one line."""
    return f"ecozone: warning: {' '.join(str(message).split())}"


class AppError(EcozoneError, ValueError):
    """The web app (``ecozone app``) cannot start as asked or refuses a request: users file, host, upload."""


class NetworkInputError(EcozoneError, ValueError):
    """A resistance raster, a sources file or a reclass table cannot be used for corridors."""


class WorkerDiedError(EcozoneError, RuntimeError):
    """A forked worker process (``--jobs``) ended before its task did: killed, or out of memory."""


class ClusterError(EcozoneError, OSError):
    """A Dask cluster (``ecozone check --cluster``) cannot be started or reached, or its workers see another build."""
