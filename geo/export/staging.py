"""An export is staged beside its target (a hidden file or folder) and moved into place when complete.

A file format is staged as one file and renamed over the target. A folder format is
staged as a folder: it becomes the target when there was none, else each planned file is
renamed into the existing folder, leaving the folder's other files alone.
"""
from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from ..atomic import discard
from ..errors import ExportError
from .formats import FORMATS

__all__ = ["planned_outputs", "check_target", "staging_path", "commit", "remove_staged"]


def planned_outputs(fmt: str, out: Path, layer_ids: list, verdict_for) -> list[Path]:
    """The files an export of ``layer_ids`` writes at ``out``, in order."""
    kind, ext = FORMATS[fmt]
    if kind == "file":
        return [out]
    names = [f"{lid}{ext}" for lid in layer_ids]
    if fmt == "tif":
        names = [n for lid in layer_ids for n in (f"{lid}.tif", f"{lid}.tfw")]
        if verdict_for:
            names += [f"verdict_{verdict_for}.tif", f"verdict_{verdict_for}.tfw"]
    return [out / n for n in names]


def check_target(fmt: str, out: Path, planned: list, overwrite: bool) -> None:
    """Refuse a target of the wrong kind, or existing outputs without ``overwrite``."""
    kind = FORMATS[fmt][0]
    if kind == "file":
        if out.is_dir():
            raise ExportError(f"{fmt} writes one file, but this is a folder", path=out,
                              hint=f"give a file name such as {out / ('layers' + FORMATS[fmt][1])}")
        if out.exists() and not overwrite:
            raise ExportError("output exists", path=out, hint="add --overwrite to replace it")
        return
    if out.exists() and not out.is_dir():
        raise ExportError(f"{fmt} writes one file per layer into a folder, but this is a file", path=out,
                          hint="give a folder name")
    existing = [p for p in planned if p.exists()]
    if existing and not overwrite:
        more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
        raise ExportError(f"output exists{more}", path=existing[0], hint="add --overwrite to replace it")


def staging_path(fmt: str, out: Path) -> Path:
    """A new hidden name beside ``out`` to write the export under."""
    token = uuid.uuid4().hex[:8]
    if FORMATS[fmt][0] == "file":
        return out.parent / f".{out.stem}.ecozone-tmp-{token}{out.suffix or FORMATS[fmt][1]}"
    return out.parent / f".{out.name}.ecozone-tmp-{token}"


def commit(fmt: str, out: Path, staged: Path, planned: list) -> None:
    """Move a complete staged output into place."""
    if FORMATS[fmt][0] == "file":
        os.replace(staged, out)
        return
    written = {p.name for p in staged.iterdir()}
    missing = [p.name for p in planned if p.name not in written]
    if missing:
        raise ExportError(f"writer did not produce {', '.join(missing)}", path=out)
    if not out.exists():
        os.rename(staged, out)  # the whole folder appears at once
        return
    for p in planned:  # the folder holds other files: replace ours, one atomic rename each
        os.replace(staged / p.name, p)
    shutil.rmtree(staged, ignore_errors=True)


def remove_staged(path: Path) -> None:
    """Remove a staged folder, or a staged file with the journal files SQLite may have left."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        discard(path)
