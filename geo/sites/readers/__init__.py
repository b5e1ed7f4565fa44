"""Site readers, one module per family of formats.

A reader is ``reader(path, *, crs=None, **options) -> GeoDataFrame`` (raw
attributes, geometry, a CRS); :func:`geo.sites.normalize_sites` does the rest.
``reader_for`` picks one by file extension and says how rows are numbered.

Options every reader accepts (and ignores when they do not apply):
``crs`` (for coordinates the file does not place), ``encoding``, ``coord_sys``
(``wgs84``, ``cgcs2000``, ``gcj02``, ``bd09``: the system of lon/lat; shifted
ones are converted to WGS84 by the reader), ``ddd_mmss`` (angles written as
degrees.minutesseconds) and ``layer``. A reader may give a ``_row`` column
with the row (or line) number each feature came from; messages use it.

Every reader raises only :class:`geo.errors.SiteInputError` (tested by fuzzing)
and warns with :class:`SiteInputWarning` when it read the file on an
assumption or repaired it. Tables (CSV, XLSX) have at most
:data:`MAX_COLUMNS` columns.
"""
from __future__ import annotations

from pathlib import Path

from ...errors import SiteInputError

__all__ = ["READERS", "reader_for", "MAX_COLUMNS"]

#: columns a sites table may have (id, name, type, coordinates and attributes never need more); wider ones are
#: refused from their header line, before they are parsed
MAX_COLUMNS = 1_000


#: extension -> (module, function, row offset for messages)
READERS = {
    ".geojson": ("vector", "read_vector", 1),
    ".json": ("vector", "read_vector", 1),
    ".gpkg": ("vector", "read_vector", 1),
    ".shp": ("vector", "read_vector", 1),
    ".zip": ("vector", "read_vector", 1),
    ".kml": ("vector", "read_vector", 1),
    ".kmz": ("vector", "read_vector", 1),
    ".ovkml": ("vector", "read_vector", 1),
    ".ovkmz": ("vector", "read_vector", 1),
    ".fgb": ("vector", "read_vector", 1),
    ".parquet": ("vector", "read_vector", 1),
    ".csv": ("table", "read_table", 2),
    ".xlsx": ("table", "read_table", 2),
    ".txt": ("txt", "read_txt", 1),
    ".dxf": ("dxf", "read_dxf", 1),
}


def reader_for(path: Path):
    """The reader function for a path and the row offset of its messages."""
    ext = Path(path).suffix.lower()
    if ext not in READERS:
        hint = f"use one of {', '.join(sorted(READERS))}"
        if ext == ".dwg":
            hint = "save the drawing as DXF in CAD (另存为 DXF) and give the .dxf"
        elif ext in (".xls", ".et"):
            hint = "save the sheet as .xlsx or .csv"
        raise SiteInputError(f"unknown sites format {ext or '(no extension)'!r}", path=path, hint=hint)
    module, func, offset = READERS[ext]
    from importlib import import_module

    mod = import_module(f"{__name__}.{module}")
    return getattr(mod, func), offset
