"""GeoJSON, FlatGeobuf and GeoParquet: one file per layer, as GDAL and GeoPandas write them.

* GeoJSON: RFC 7946 (WGS84 lon/lat), coordinates snapped to 7 decimals keeping geometries valid.
* FlatGeobuf: with a spatial index, the layer's title and plan clause.
* GeoParquet 1.1: WKB geometry, zstd, a bbox covering column.

GDAL's GeoJSON and FlatGeobuf writers can end a file short on a full disk without an
error, so those files are made in memory and written by Python
(:func:`geo.atomic.write_in_memory`), which reports it.
"""
from __future__ import annotations

from pathlib import Path

from ..atomic import write_in_memory
from .common import GEOMETRY_TYPES, layer_frame, rounded

__all__ = ["write_geojson", "write_fgb", "write_parquet"]


def write_geojson(ls, ids, folder: Path, crs) -> None:
    """Write ``<layer>.geojson`` for each layer into ``folder``."""
    for lid in ids:
        spec = ls.specs[lid]
        write_in_memory(rounded(layer_frame(ls, lid, crs)), folder / f"{lid}.geojson", driver="GeoJSON", layer=lid,
                        promote_to_multi=spec.geometry != "point",
                        layer_options={"RFC7946": "YES", "COORDINATE_PRECISION": 7, "WRITE_NAME": "NO",
                                       "AUTODETECT_JSON_STRINGS": "NO"})


def write_fgb(ls, ids, folder: Path, crs) -> None:
    """Write ``<layer>.fgb`` for each layer into ``folder``."""
    for lid in ids:
        spec = ls.specs[lid]
        write_in_memory(layer_frame(ls, lid, crs), folder / f"{lid}.fgb", driver="FlatGeobuf", layer=lid,
                        promote_to_multi=spec.geometry != "point", geometry_type=GEOMETRY_TYPES[spec.geometry],
                        layer_options={"SPATIAL_INDEX": "YES", "TITLE": f"{spec.title_zh} {spec.title_en}",
                                       "DESCRIPTION": spec.clause})


def write_parquet(ls, ids, folder: Path, crs) -> None:
    """Write ``<layer>.parquet`` for each layer into ``folder``."""
    for lid in ids:
        gdf = layer_frame(ls, lid, crs)
        gdf.to_parquet(folder / f"{lid}.parquet", index=False, compression="zstd", schema_version="1.1.0",
                       write_covering_bbox=True)
