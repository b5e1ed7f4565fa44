"""Where outputs may go: never over an input, another output of the same command, or a layer set.

A check that writes its results over its own sites file turns parcels into
points, and the next check of that file clears what the first one flagged; an
export over a layer set's build breaks the layer set until it is rebuilt. So
every command names its inputs and outputs here before it writes anything.
"""
from __future__ import annotations

import os
from pathlib import Path

from .errors import ExportError

__all__ = ["refuse_clobber", "SHAPEFILE_PARTS"]

#: files that travel with a shapefile: writing any of them replaces part of the input
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx")


def _real(path) -> Path:
    return Path(os.path.realpath(os.path.abspath(os.fspath(path))))


def _family(path: Path) -> set:
    """A file and its sidecars (a shapefile's parts)."""
    if path.suffix.lower() in SHAPEFILE_PARTS:
        return {path.with_suffix(ext) for ext in SHAPEFILE_PARTS}
    return {path}


def _layerset_root(path: Path) -> Path | None:
    """The layer-set folder ``path`` lies in (a folder with ``manifest.toml``), if any."""
    for folder in [path, *path.parents]:
        if (folder / "manifest.toml").is_file():
            return folder
    return None


def refuse_clobber(outputs: dict, inputs=()) -> None:
    """Raise :class:`ExportError` when an output would replace an input, another output or a layer set's files.

    Parameters
    ----------
    outputs : option name (as the user typed it, e.g. ``"-o"``, ``"--report"``) → path, or None when not given.
    inputs : paths the command reads (a sites file, a layer-set folder).

    Paths are compared after resolving links, so ``./a.csv`` and ``a.csv`` are the
    same file; a shapefile's parts count as one file. Nothing may be written
    inside a layer-set folder (its build, sources, rules or manifest).
    """
    typed = {opt: p for opt, p in outputs.items() if p}
    given = {opt: _real(p) for opt, p in typed.items()}
    for opt, path in given.items():
        root = _layerset_root(path)
        if root is not None:
            raise ExportError(f"{opt} lies inside the layer set {root.name}", path=typed[opt],
                              hint="write outputs outside layer-set folders (they hold its sources and build)")
        for src in inputs:
            src = _real(src)
            if path == src or path in _family(src) or src in _family(path):
                raise ExportError(f"{opt} would overwrite the input {src.name}", path=typed[opt],
                                  hint="write the output to another file")
            if src.is_dir() and src in path.parents:
                raise ExportError(f"{opt} lies inside the input folder {src.name}", path=typed[opt],
                                  hint="write the output outside it")
    opts = list(given)
    for i, a in enumerate(opts):
        for b in opts[i + 1:]:
            if given[a] == given[b] or given[a] in _family(given[b]):
                raise ExportError(f"{a} and {b} name the same file", path=typed[a], hint="give each output its own file")
