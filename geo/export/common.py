"""What the format writers share: the output CRS, the layers in it, provenance, colours and field kinds."""
from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pyproj
import shapely

from .. import __version__
from ..crs import auto_gk3_crs, to_crs_object
from ..errors import CRSError, ExportError
from .formats import PROJECTED_ONLY, WGS84_ONLY

__all__ = ["GEOMETRY_TYPES", "resolve_export_crs", "crs_label", "layer_frame", "rounded", "export_metadata",
           "hex_rgb", "field_kind", "is_missing", "cut_to_bytes"]

#: a layer's geometry (manifest) -> the geometry type its tables declare
GEOMETRY_TYPES = {"polygon": "MultiPolygon", "line": "MultiLineString", "point": "Point"}
AUTO_GK = {"auto-gk": False, "auto-gk-prefix": True}


def resolve_export_crs(ls, fmt: str, crs=None, layers=None) -> pyproj.CRS:
    """The CRS an export is written in.

    Parameters
    ----------
    ls : the layer set.
    fmt : the format (see :data:`~geo.export.formats.FORMATS`).
    crs : ``None`` for the format's default, ``"auto-gk"`` / ``"auto-gk-prefix"`` for the
        CGCS2000 3-degree Gauss-Krüger zone holding the centre of the data (without or with
        the zone number in front of the easting), or anything pyproj accepts (``EPSG:4490``).
    layers : the layer ids the export covers (for ``auto-gk``; default all).

    Raises
    ------
    CRSError
        When the CRS is unknown or does not suit the format (GeoJSON and KML are WGS84
        lon/lat by their specifications; DXF and GeoTIFF need a projected CRS).
    """
    default = {"dxf": "auto-gk", "tif": ls.measure_crs}.get(fmt, ls.storage_crs)
    if fmt in WGS84_ONLY:
        default = pyproj.CRS.from_epsg(4326)
    value = default if crs is None else crs
    if isinstance(value, str) and value.strip().lower() in AUTO_GK:
        west, south, east, north = _lonlat_bounds(ls, layers or ls.layer_ids)
        out = auto_gk3_crs(west, south, east, north, prefix=AUTO_GK[value.strip().lower()])
    else:
        out = to_crs_object(value)
    if fmt in WGS84_ONLY and out.to_epsg() != 4326:
        raise CRSError(f"{fmt} is WGS84 longitude/latitude by its specification, not {out.name}",
                       hint="drop --crs or give EPSG:4326")
    if fmt in PROJECTED_ONLY and not out.is_projected:
        raise CRSError(f"{fmt} needs a projected CRS in metres, not {out.name}",
                       hint="give auto-gk, a CGCS2000 Gauss-Krüger EPSG code such as EPSG:4550, or EPSG:3857")
    return out


def _lonlat_bounds(ls, layer_ids) -> tuple:
    frames = [ls.layer(lid) for lid in layer_ids if len(ls.layer(lid))]
    if not frames:
        raise ExportError("the selected layers have no features", path=ls.root,
                          hint="choose other layers with --layer")
    bounds = pd.DataFrame([f.to_crs(4490).total_bounds for f in frames])
    return bounds[0].min(), bounds[1].min(), bounds[2].max(), bounds[3].max()


def crs_label(crs: pyproj.CRS) -> str:
    """``EPSG:<code>`` where the CRS has one, else its PROJ string."""
    code = crs.to_epsg()
    return f"EPSG:{code}" if code else crs.to_string()


def layer_frame(ls, layer_id: str, crs: pyproj.CRS) -> gpd.GeoDataFrame:
    """A layer's features in ``crs`` (a copy when reprojected)."""
    gdf = ls.layer(layer_id)
    if gdf.crs is not None and gdf.crs.equals(crs):
        return gdf
    return gdf.to_crs(crs)


def rounded(gdf: gpd.GeoDataFrame, decimals: int = 7) -> gpd.GeoDataFrame:
    """Snap coordinates to ``10**-decimals`` keeping geometries valid.

    Parts, holes and spikes narrower than the grid (slivers left by overlay operations)
    collapse and are dropped instead of being written as invalid rings.
    """
    out = gdf.copy()
    out[out.geometry.name] = shapely.set_precision(gdf.geometry.values, 10.0 ** -decimals)
    return out


def export_metadata(ls, crs: pyproj.CRS | None = None) -> dict:
    """Dataset-level provenance written into the exports (strings only)."""
    info, meta = ls.info, ls.meta
    out = {
        "layerset": ls.name,
        "title_zh": info.get("title_zh", ""),
        "title_en": info.get("title_en", ""),
        "status": info.get("status", ""),
        "notice_zh": info.get("notice_zh", ""),
        "notice_en": info.get("notice_en", ""),
        "plan_zh": info.get("plan_zh", ""),
        "plan_en": info.get("plan_en", ""),
        "licence": info.get("licence", ""),
        "build_date": str(meta.get("build_date", "")),
        "content_hash": str(meta.get("content_hash", "")),
        "source_hash": str(meta.get("source_hash", "")),
        "built_with": f"ecozone {meta.get('ecozone_version', '')}",
        "ecozone_version": __version__,
    }
    if crs is not None:
        out["crs"] = crs_label(crs)
    return {k: v for k, v in out.items() if v}


def hex_rgb(color: str) -> tuple:
    """``#rrggbb`` (the one colour syntax of manifests and verdicts) as ``(r, g, b)`` in 0–255."""
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def field_kind(series: pd.Series) -> str:
    """How a column is written where a format types its fields itself: bool, int, float or str."""
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_integer_dtype(series):
        return "int"
    if pd.api.types.is_float_dtype(series):
        return "float"
    return "str"


def is_missing(value) -> bool:
    """``None``, NaN or NA (a text is never missing, even empty)."""
    return value is None or (not isinstance(value, str) and pd.isna(value))


def cut_to_bytes(text: str, max_bytes: int, codec: str) -> str:
    """The longest start of ``text`` that takes at most ``max_bytes`` in ``codec``, cut by whole characters."""
    out, used = [], 0
    for ch in text:
        n = len(ch.encode(codec))
        if used + n > max_bytes:
            break
        out.append(ch)
        used += n
    return "".join(out)
