"""Site readers, one module per family of formats.

A reader is ``reader(path, *, crs=None, **options) -> GeoDataFrame`` (raw
attributes, geometry, a CRS); :func:`geo.sites.normalize_sites` does the rest.
``reader_for`` picks one by file extension and says how rows are numbered.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import SiteInputError

#: extension -> (module, function, row offset for messages)
READERS = {
    ".geojson": ("vector", "read_vector", 1),
    ".json": ("vector", "read_vector", 1),
    ".gpkg": ("vector", "read_vector", 1),
    ".shp": ("vector", "read_vector", 1),
    ".zip": ("vector", "read_vector", 1),
    ".kml": ("vector", "read_vector", 1),
    ".kmz": ("vector", "read_vector", 1),
    ".fgb": ("vector", "read_vector", 1),
    ".parquet": ("vector", "read_vector", 1),
    ".csv": ("table", "read_table", 2),
}


def reader_for(path: Path):
    """The reader function for a path and the row offset of its messages."""
    ext = Path(path).suffix.lower()
    if ext not in READERS:
        raise SiteInputError(f"unknown sites format {ext or '(no extension)'!r}", path=path,
                             hint=f"use one of {', '.join(sorted(READERS))}")
    module, func, offset = READERS[ext]
    from importlib import import_module

    mod = import_module(f"{__name__}.{module}")
    return getattr(mod, func), offset
