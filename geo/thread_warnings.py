"""Warnings raised on a thread given to the check running there (the app's jobs, the service's requests).

``warnings.catch_warnings`` swaps the process's ``showwarning`` for every
thread at once (Python 3.11), so two checks running side by side would take
or lose each other's warnings. :func:`warnings_into` instead installs one hook
(once, and again after a ``catch_warnings`` elsewhere put the old one back)
that looks at the thread: warnings raised on a thread inside the block go to
its list, others go where they went before. ecozone's own warnings are shown
every time, so each check gets its own even when one before it raised the same
text.
"""
from __future__ import annotations

import threading
import warnings
from contextlib import contextmanager

from . import errors
from .errors import warning_line

__all__ = ["warnings_into"]

_local = threading.local()
_lock = threading.Lock()


def _install() -> None:
    with _lock:
        if getattr(warnings.showwarning, "_ecozone_threads", False):
            return
        for category in (c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, Warning)):
            warnings.filterwarnings("always", category=category)
        previous = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            lines, once = getattr(_local, "sink", (None, False))
            if lines is None:
                return previous(message, category, filename, lineno, file, line)
            text = warning_line(message)
            if not (once and text in lines):
                lines.append(text)

        show._ecozone_threads = True
        warnings.showwarning = show


@contextmanager
def warnings_into(lines: list, *, once: bool = False):
    """Within the block, warnings raised on this thread are appended to ``lines`` as one-line messages
    (``once``: each distinct line once, as the plain command shows a warning once per place)."""
    _install()
    _local.sink = (lines, once)
    try:
        yield lines
    finally:
        _local.sink = (None, False)
