"""Sites from a GeoParquet dataset: a folder of ``.parquet`` parts, local or at an fsspec URL (``s3://…``).

The parts are one table read in the order of their names (as pyarrow and
geopandas list them; files whose names start with ``.`` or ``_`` are left out,
as pyarrow leaves them out, with a warning naming them unless they are a
writer's markers such as ``_SUCCESS``), so the rows of ``part-00000.parquet``
come first.
Rows are numbered across the parts in that order (row 1 is the first row of the
first part). Every part must have the same columns and the GeoParquet ``geo``
metadata (its CRS). URLs need ``fsspec`` and the package of their scheme
(``s3fs`` for ``s3://``).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import pyproj
import shapely

from ...errors import SiteInputError, SiteInputWarning
from .vector import _cannot, _finish

__all__ = ["read_parquet_dataset", "is_url", "dataset_parts", "part_rows", "read_dataset_part"]


def is_url(source) -> bool:
    """Whether ``source`` is an fsspec URL (``s3://…``, ``file://…``), not a local path."""
    text = str(source)
    scheme, sep, _ = text.partition("://")
    return bool(sep) and scheme.isidentifier() and len(scheme) > 1


def dataset_parts(source) -> list[str]:
    """The parts of the dataset at ``source``, in the order they are read.

    Raises
    ------
    SiteInputError
        When the folder cannot be listed or holds no ``.parquet`` part.
    """
    import pyarrow
    import pyarrow.dataset as ds

    try:
        files = ds.dataset(_local(source), format="parquet", filesystem=_filesystem(source)).files
    except (pyarrow.ArrowException, OSError, ValueError, ImportError) as exc:
        raise _cannot(source, exc, "give a folder of .parquet files (a GeoParquet dataset) or one sites file") from None
    parts = [f for f in files if f.lower().endswith(".parquet")]
    _say_what_is_left_out(source, parts)
    if not parts:
        raise SiteInputError("文件夹中没有 .parquet 文件 / the folder holds no .parquet part", path=source,
                             hint="give the sites file itself, or a folder of GeoParquet parts (*.parquet)")
    return parts


#: files a dataset writer leaves beside its parts (Spark, Hadoop, pyarrow): not data, left out without a word
_MARKERS = {"_SUCCESS", "_metadata", "_common_metadata"}


def _say_what_is_left_out(source, parts: list) -> None:
    """Warn about the files of a local dataset folder that are not read (never a silent drop of sites)."""
    if is_url(source):
        return
    read = {str(Path(p).resolve()) for p in parts}
    left = sorted(str(f.relative_to(source)) for f in Path(source).rglob("*")
                  if f.is_file() and str(f.resolve()) not in read and f.name not in _MARKERS
                  and not f.name.endswith(".crc"))
    if left:
        warnings.warn(f"{source}: {len(left)} 个文件未读取 / file(s) not read (only .parquet parts whose names do "
                      f"not start with . or _ are): {', '.join(left[:10])}{' …' if len(left) > 10 else ''}",
                      SiteInputWarning, stacklevel=2)


def _filesystem(source):
    if not is_url(source):
        return None
    from pyarrow.fs import FSSpecHandler, PyFileSystem

    import fsspec  # (an optional dependency: the URL form needs it)

    fs, _ = fsspec.core.url_to_fs(str(source))
    return PyFileSystem(FSSpecHandler(fs))


def _local(source) -> str:
    if not is_url(source):
        return str(source)
    import fsspec

    return fsspec.core.url_to_fs(str(source))[1]


def part_rows(source, parts: list) -> list[int]:
    """The rows of each part, from the parts' footers (nothing else is read); every part must have the first's
    columns and GeoParquet metadata, as when the parts are read as one table.

    Raises
    ------
    SiteInputError
        When a part cannot be read or its columns differ from the first part's.
    """
    import pyarrow
    import pyarrow.parquet as pq

    fs = _filesystem(source)
    rows, first = [], None
    for part in parts:
        try:
            info = pq.ParquetFile(part, filesystem=fs)
            schema = info.schema_arrow
            if b"geo" not in (schema.metadata or {}):
                raise ValueError(f"{Path(part).name} has no GeoParquet metadata")
            if first is None:
                first = schema.remove_metadata()
            elif not schema.remove_metadata().equals(first):
                raise ValueError(f"{Path(part).name} has other columns than the first part "
                                 f"({', '.join(schema.names)} ≠ {', '.join(first.names)})")
            rows.append(info.metadata.num_rows)
        except (pyarrow.ArrowException, OSError, ValueError) as exc:
            raise _cannot(source, exc, "every part must be GeoParquet with the same columns (write them with "
                                       "geopandas to_parquet)") from None
    return rows


def read_dataset_part(source, part: str, first_row: int, *, crs=None, coord_sys=None, **_ignored):
    """One part of the dataset at ``source`` as :func:`read_parquet_dataset` reads it within the whole: its rows
    numbered from ``first_row`` (the part's first row in the dataset)."""
    import numpy as np
    import pyarrow

    try:
        gdf = gpd.read_parquet(part, filesystem=_filesystem(source))
    except (pyarrow.ArrowException, OSError, ValueError, TypeError, KeyError, IndexError, RuntimeError,
            UnicodeError, pyproj.exceptions.CRSError, shapely.errors.ShapelyError) as exc:
        raise _cannot(source, exc, "every part must be GeoParquet with the same columns (write them with "
                                   "geopandas to_parquet)") from None
    gdf = gdf.reset_index(drop=True)
    gdf["_row"] = np.arange(first_row, first_row + len(gdf))
    return _finish(gdf, source, crs=crs, coord_sys=coord_sys)


def read_parquet_dataset(source, *, crs=None, coord_sys=None, **_ignored) -> gpd.GeoDataFrame:
    """Read the sites of a GeoParquet dataset (its parts in name order) as one frame, with a ``_row`` number."""
    import numpy as np
    import pyarrow

    parts = dataset_parts(source)
    try:
        gdf = gpd.read_parquet(parts, filesystem=_filesystem(source)) if len(parts) > 1 else \
            gpd.read_parquet(parts[0], filesystem=_filesystem(source))
    except (pyarrow.ArrowException, OSError, ValueError, TypeError, KeyError, IndexError, RuntimeError,
            UnicodeError, pyproj.exceptions.CRSError, shapely.errors.ShapelyError) as exc:
        raise _cannot(source, exc, "every part must be GeoParquet with the same columns (write them with "
                                   "geopandas to_parquet)") from None
    gdf = gdf.reset_index(drop=True)
    gdf["_row"] = np.arange(1, len(gdf) + 1)
    return _finish(gdf, source, crs=crs, coord_sys=coord_sys)
