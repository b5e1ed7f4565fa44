"""The export formats and their options, said once (standard library only: the CLI builds its choices here).

==========  ======  ==============================================================
format      output  what it carries
==========  ======  ==============================================================
``gpkg``    file    one table per layer, ``layer_styles`` (QGIS), metadata
``shp``     folder  one zip per layer: GBK (or UTF-8) DBF + ``.cpg`` + ``.prj``,
                    a field-name mapping and the full text of cut values
``geojson`` folder  RFC 7946: WGS84 lon/lat, 7 decimals
``fgb``     folder  FlatGeobuf with a spatial index
``parquet`` folder  GeoParquet 1.1 (WKB, bbox covering)
``kml``     file    WGS84, a folder per layer, styles, names and descriptions
``kmz``     file    the same KML, zipped
``dxf``     file    CGCS2000 3-degree GK, a CAD layer per layer and class (ezdxf)
``tif``     folder  one class raster per layer (rasterio), and a verdict raster
==========  ======  ==============================================================
"""
from __future__ import annotations

import math

from ..errors import ExportError

__all__ = ["FORMATS", "WGS84_ONLY", "PROJECTED_ONLY", "ENCODINGS", "DXF_VERSIONS", "CODEPAGE_VERSIONS",
           "DEFAULT_RESOLUTION_M", "check_options"]

#: format -> (output kind, file extension)
FORMATS = {
    "gpkg": ("file", ".gpkg"),
    "shp": ("folder", ".zip"),
    "geojson": ("folder", ".geojson"),
    "fgb": ("folder", ".fgb"),
    "parquet": ("folder", ".parquet"),
    "kml": ("file", ".kml"),
    "kmz": ("file", ".kmz"),
    "dxf": ("file", ".dxf"),
    "tif": ("folder", ".tif"),
}
WGS84_ONLY = {"geojson", "kml", "kmz"}
PROJECTED_ONLY = {"dxf", "tif"}
#: text encodings (shapefiles; for DXF, a version): option -> (GDAL name, Python codec)
ENCODINGS = {"gbk": ("GBK", "gbk"), "utf-8": ("UTF-8", "utf-8")}
DXF_VERSIONS = ("R2000", "R2004", "R2007", "R2010", "R2013", "R2018")
CODEPAGE_VERSIONS = {"R2000", "R2004"}  # text in $DWGCODEPAGE; later versions are UTF-8
DEFAULT_RESOLUTION_M = 10.0


def check_options(fmt: str, *, encoding, dxf_version, resolution_m, verdict_for) -> dict:
    """Validate the format-specific options; return the keyword arguments of the format's writer.

    Raises
    ------
    ExportError
        When an option is unknown or does not apply to ``fmt``.
    """
    enc = None if encoding is None else str(encoding).lower().replace("_", "-")
    enc = {"utf8": "utf-8", "cp936": "gbk"}.get(enc, enc)
    if enc is not None and enc not in ENCODINGS:
        raise ExportError(f"unknown encoding {encoding!r}", hint="use utf-8 or gbk")

    def only(option, value, formats):
        if value is not None and fmt not in formats:
            raise ExportError(f"{option} does not apply to {fmt}", hint=f"it is for {', '.join(formats)}")

    only("--dxf-version", dxf_version, ("dxf",))
    only("--resolution", resolution_m, ("tif",))
    only("--verdict-for", verdict_for, ("tif",))
    if enc == "gbk":
        only("--encoding gbk", enc, ("shp", "dxf"))
    if fmt == "shp":
        return {"encoding": enc or "gbk"}
    if fmt == "dxf":
        return _dxf_options(dxf_version, enc)
    if fmt == "tif":
        return _raster_options(resolution_m, verdict_for)
    return {}


def _dxf_options(version: str | None, encoding: str | None) -> dict:
    """Check ``--dxf-version`` against ``--encoding``."""
    v = (version or ("R2000" if encoding == "gbk" else "R2010")).upper()
    if v not in DXF_VERSIONS:
        raise ExportError(f"unknown DXF version {version!r}", hint=f"use one of {', '.join(DXF_VERSIONS)}")
    if v in CODEPAGE_VERSIONS and encoding == "utf-8":
        raise ExportError(f"DXF {v} stores text in a code page; ecozone writes ANSI_936 (GBK)",
                          hint="use --dxf-version R2010 for UTF-8")
    if v not in CODEPAGE_VERSIONS and encoding == "gbk":
        raise ExportError(f"DXF {v} is UTF-8 by definition", hint="use --dxf-version R2000 for ANSI_936 (GBK)")
    return {"dxf_version": v}


def _raster_options(resolution_m, verdict_for) -> dict:
    """Check ``--resolution`` and ``--verdict-for`` (a project type code or alias)."""
    res = DEFAULT_RESOLUTION_M if resolution_m is None else float(resolution_m)
    if not math.isfinite(res) or res <= 0:
        raise ExportError(f"resolution {resolution_m!r} is not a positive number of metres",
                          hint="e.g. --resolution 10")
    code = None
    if verdict_for is not None:
        from ..text import project_types, resolve_type

        code = resolve_type(verdict_for)
        if code is None:
            raise ExportError(f"unknown project type {verdict_for!r}",
                              hint=f"use a code {', '.join(project_types())} or its alias")
    return {"resolution_m": res, "verdict_for": code}
