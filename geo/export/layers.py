"""Export a layer set in the formats planners exchange, atomically and without loss.

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

Every export is written beside its target first (a hidden temporary file or
folder) and moved into place only when complete, so a failure leaves nothing
half-written; an existing output is replaced only with ``overwrite=True``. A
failed write (a full disk, a quota, a folder that cannot be written) is one
:class:`~geo.errors.ExportError` naming the output. Writers whose library can
end a file short without an error on a full disk (GDAL's GeoJSON, FlatGeobuf
and GTiff) write into memory and the finished bytes are written by Python,
which reports it.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pyproj
import shapely

from .. import __version__
from ..crs import auto_gk3_crs, to_crs_object
from ..errors import CRSError, EcozoneError, ExportError
from .shp import read_shapefile_zip, shapefile_field_names
from ..atomic import WRITE_ERRORS, make_parents, remove_folders, write_failed, write_in_memory

log = logging.getLogger(__name__)

__all__ = ["FORMATS", "export_layers", "resolve_export_crs", "shapefile_field_names", "read_shapefile_zip",
           "layer_qml", "export_metadata", "layer_metadata"]

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
AUTO_GK = {"auto-gk": False, "auto-gk-prefix": True}
ENCODINGS = ("gbk", "utf-8")
GEOMETRY_TYPES = {"polygon": "MultiPolygon", "line": "MultiLineString", "point": "Point"}


# --------------------------------------------------------------------------- options and CRS

def resolve_export_crs(ls, fmt: str, crs=None, layers=None) -> pyproj.CRS:
    """The CRS an export is written in.

    Parameters
    ----------
    ls : the layer set.
    fmt : the format (see :data:`FORMATS`).
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


def _crs_label(crs: pyproj.CRS) -> str:
    code = crs.to_epsg()
    return f"EPSG:{code}" if code else crs.to_string()


def _frame(ls, layer_id: str, crs: pyproj.CRS) -> gpd.GeoDataFrame:
    """A layer's features in ``crs`` (a copy when reprojected)."""
    gdf = ls.layer(layer_id)
    if gdf.crs is not None and gdf.crs.equals(crs):
        return gdf
    return gdf.to_crs(crs)


def _rounded(gdf: gpd.GeoDataFrame, decimals: int = 7) -> gpd.GeoDataFrame:
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
        out["crs"] = _crs_label(crs)
    return {k: v for k, v in out.items() if v}


def layer_metadata(ls, layer_id: str) -> dict:
    """Layer-level provenance and builder parameters (strings only)."""
    spec = ls.specs[layer_id]

    def js(value):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)

    return {"layer": spec.id, "title_zh": spec.title_zh, "title_en": spec.title_en, "family": spec.family,
            "group": spec.group, "geometry": spec.geometry, "builder": spec.builder, "clause": spec.clause,
            "params": js(spec.params), "provenance": js(spec.provenance), "classes": js(spec.classes)}


# --------------------------------------------------------------------------- atomic writing

def _token() -> str:
    return uuid.uuid4().hex[:8]


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        for p in (path, *(path.parent / (path.name + s) for s in ("-journal", "-wal", "-shm"))):
            try:
                p.unlink()
            except FileNotFoundError:
                pass


def _planned(fmt: str, out: Path, layer_ids: list, verdict_for) -> list[Path]:
    kind, ext = FORMATS[fmt]
    if kind == "file":
        return [out]
    names = [f"{lid}{ext}" for lid in layer_ids]
    if fmt == "tif":
        names = [n for lid in layer_ids for n in (f"{lid}.tif", f"{lid}.tfw")]
        if verdict_for:
            names += [f"verdict_{verdict_for}.tif", f"verdict_{verdict_for}.tfw"]
    return [out / n for n in names]


def _check_target(fmt: str, out: Path, planned: list, overwrite: bool) -> None:
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


def _commit(fmt: str, out: Path, staged: Path, planned: list) -> None:
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


# --------------------------------------------------------------------------- the entry point

def export_layers(ls, fmt: str, out, *, crs=None, layers=None, encoding: str | None = None,
                  overwrite: bool = False, dxf_version: str | None = None, resolution_m: float | None = None,
                  verdict_for: str | None = None) -> list[Path]:
    """Write a layer set's layers in one exchange format.

    Parameters
    ----------
    ls : the layer set (:func:`geo.layerset.read_layerset`).
    fmt : one of :data:`FORMATS`.
    out : the file (``gpkg``, ``kml``, ``kmz``, ``dxf``) or the folder (the others) to write.
    crs : the output CRS (see :func:`resolve_export_crs`); default: the storage CRS, WGS84 for
        GeoJSON/KML, ``auto-gk`` for DXF, the measurement CRS for GeoTIFF.
    layers : layer ids to export (default all, in manifest order).
    encoding : ``gbk`` (default) or ``utf-8`` for shapefiles; for DXF ``gbk`` means R2000
        with ANSI_936 and ``utf-8`` R2010. Other formats are UTF-8 by definition.
    overwrite : replace existing outputs.
    dxf_version : ``R2000``…``R2018`` (default R2010, or R2000 with ``encoding="gbk"``).
    resolution_m : GeoTIFF pixel size in CRS units (default 10).
    verdict_for : GeoTIFF only: also write the most severe verdict for this project type.

    Returns
    -------
    The files written, in order.

    Raises
    ------
    ExportError
        On a bad option, an existing output without ``overwrite`` or a failed write (a
        full disk…: one line naming ``out``); a failure leaves neither a partial output
        nor a temporary file.
    CRSError, LayerSetError, RuleError
        On an unsuitable CRS, an unknown layer, or (``verdict_for``) a missing rule table.
    """
    fmt = str(fmt).lower().lstrip(".")
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")
    ids = list(dict.fromkeys(layers or ls.layer_ids))
    for lid in ids:
        ls.layer(lid)  # LayerSetError naming the known layers
    opts = _check_options(fmt, encoding=encoding, dxf_version=dxf_version, resolution_m=resolution_m,
                          verdict_for=verdict_for)
    target_crs = resolve_export_crs(ls, fmt, crs, ids)
    out = Path(out)
    planned = _planned(fmt, out, ids, opts.get("verdict_for"))
    _check_target(fmt, out, planned, overwrite)

    started = time.perf_counter()
    token = _token()
    if FORMATS[fmt][0] == "file":
        staged = out.parent / f".{out.stem}.ecozone-tmp-{token}{out.suffix or FORMATS[fmt][1]}"
    else:
        staged = out.parent / f".{out.name}.ecozone-tmp-{token}"
    created = []
    try:
        created = make_parents(out.parent)
        if FORMATS[fmt][0] == "folder":
            staged.mkdir()
        WRITERS[fmt](ls, ids, staged, target_crs, **opts)
        _commit(fmt, out, staged, planned)
    except BaseException as exc:
        _remove(staged)
        remove_folders(created)
        if isinstance(exc, (EcozoneError, KeyboardInterrupt, SystemExit)):
            raise
        if isinstance(exc, WRITE_ERRORS):
            raise write_failed(exc, out) from exc
        if isinstance(exc, Exception):
            raise ExportError(f"{fmt} export failed ({type(exc).__name__}: {' '.join(str(exc).split())})",
                              path=out) from exc
        raise
    n = sum(len(ls.layer(lid)) for lid in ids)
    log.info("exported %d layers (%d features) as %s in %s to %s in %.1f s", len(ids), n, fmt,
             _crs_label(target_crs), out, time.perf_counter() - started)
    return planned


def _check_options(fmt, *, encoding, dxf_version, resolution_m, verdict_for) -> dict:
    """Validate the format-specific options; return the keyword arguments of the writer."""
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
        from .cad import dxf_options

        return dxf_options(dxf_version, enc)
    if fmt == "tif":
        from .raster import raster_options

        return raster_options(resolution_m, verdict_for)
    return {}


# --------------------------------------------------------------------------- GeoPackage

def _hex_rgb(color: str) -> tuple:
    c = color.lstrip("#")
    if len(c) == 3:
        c = "".join(ch * 2 for ch in c)
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def _xml(text) -> str:
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def layer_qml(spec) -> str:
    """A QGIS style (QML) for a layer: categories by ``zone_class`` in the map's colours."""
    opacity = float(spec.style.get("fill_opacity", 0.45))
    width = float(spec.style.get("line_width_mm", 0.6 if spec.geometry == "line" else 0.3))
    symbol_type = {"polygon": "fill", "line": "line", "point": "marker"}[spec.geometry]
    cats, symbols = [], []
    for i, (zone_class, c) in enumerate(spec.classes.items()):
        r, g, b = _hex_rgb(spec.color(zone_class))
        label = f"{c.get('zh', zone_class)} {c.get('en', '')}".strip()
        cats.append(f'<category symbol="{i}" value="{_xml(zone_class)}" label="{_xml(label)}" render="true"/>')
        if symbol_type == "fill":
            opts = {"color": f"{r},{g},{b},{round(255 * opacity)}", "style": "solid",
                    "outline_color": f"{r},{g},{b},255", "outline_style": "solid",
                    "outline_width": str(width), "outline_width_unit": "MM"}
            cls = "SimpleFill"
        elif symbol_type == "line":
            opts = {"line_color": f"{r},{g},{b},255", "line_style": "solid", "line_width": str(width),
                    "line_width_unit": "MM", "capstyle": "round", "joinstyle": "round"}
            cls = "SimpleLine"
        else:
            opts = {"color": f"{r},{g},{b},255", "name": "circle", "size": "2.4", "size_unit": "MM",
                    "outline_color": "35,35,35,255"}
            cls = "SimpleMarker"
        options = "".join(f'<Option name="{k}" type="QString" value="{_xml(v)}"/>' for k, v in opts.items())
        props = "".join(f'<prop k="{k}" v="{_xml(v)}"/>' for k, v in opts.items())
        symbols.append(f'<symbol type="{symbol_type}" name="{i}" alpha="1" clip_to_extent="1" force_rhr="0">'
                       f'<layer class="{cls}" enabled="1" pass="0" locked="0">'
                       f'<Option type="Map">{options}</Option>{props}</layer></symbol>')
    geom_code = {"polygon": 2, "line": 1, "point": 0}[spec.geometry]
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            '<qgis version="3.34.0" styleCategories="Symbology">'
            '<renderer-v2 type="categorizedSymbol" attr="zone_class" symbollevels="0" enableorderby="0" '
            'forceraster="0" referencescale="-1">'
            f'<categories>{"".join(cats)}</categories><symbols>{"".join(symbols)}</symbols>'
            '</renderer-v2>'
            f'<layerGeometryType>{geom_code}</layerGeometryType></qgis>\n')


def _layer_styles(ls, ids) -> pd.DataFrame:
    """The ``layer_styles`` table QGIS reads a GeoPackage layer's default style from."""
    when = pd.Timestamp(str(ls.meta.get("build_date") or "1970-01-01T00:00:00Z"))
    if when.tzinfo is not None:
        when = when.tz_convert("UTC").tz_localize(None)
    rows = []
    for lid in ids:
        spec = ls.specs[lid]
        rows.append({"f_table_catalog": "", "f_table_schema": "", "f_table_name": lid, "f_geometry_column": "geom",
                     "styleName": lid, "styleQML": layer_qml(spec), "styleSLD": "", "useAsDefault": True,
                     "description": f"{spec.title_zh} / {spec.title_en} (ecozone {__version__})",
                     "owner": "", "ui": "", "update_time": when})
    return pd.DataFrame(rows)


META_TABLE = "ecozone_meta"


def _write_gpkg(ls, ids, path: Path, crs):
    # Dataset provenance goes into a key/value table, not GDAL dataset metadata: GDAL 3.12 then
    # writes a .aux.xml beside the GeoPackage each time it is opened read-only.
    meta = export_metadata(ls, crs)
    for lid in ids:
        spec = ls.specs[lid]
        pyogrio.write_dataframe(
            _frame(ls, lid, crs), path, layer=lid, driver="GPKG", promote_to_multi=spec.geometry != "point",
            geometry_type=GEOMETRY_TYPES[spec.geometry],
            layer_options={"GEOMETRY_NAME": "geom", "FID": "fid", "IDENTIFIER": f"{spec.title_zh} {spec.title_en}",
                           "DESCRIPTION": spec.clause},
            layer_metadata={**layer_metadata(ls, lid), "layerset": ls.name, "ecozone_version": __version__,
                            "content_hash": meta.get("content_hash", "")})
    pyogrio.write_dataframe(_layer_styles(ls, ids), path, layer="layer_styles", driver="GPKG")
    pyogrio.write_dataframe(pd.DataFrame({"key": list(meta), "value": list(meta.values())}), path,
                            layer=META_TABLE, driver="GPKG",
                            layer_options={"DESCRIPTION": "ecozone export provenance / 导出来源"})


# --------------------------------------------------------------------------- GeoJSON, FlatGeobuf, GeoParquet

def _write_geojson(ls, ids, folder: Path, crs):
    for lid in ids:
        spec = ls.specs[lid]
        write_in_memory(_rounded(_frame(ls, lid, crs)), folder / f"{lid}.geojson", driver="GeoJSON", layer=lid,
                        promote_to_multi=spec.geometry != "point",
                        layer_options={"RFC7946": "YES", "COORDINATE_PRECISION": 7, "WRITE_NAME": "NO",
                                       "AUTODETECT_JSON_STRINGS": "NO"})


def _write_fgb(ls, ids, folder: Path, crs):
    for lid in ids:
        spec = ls.specs[lid]
        write_in_memory(_frame(ls, lid, crs), folder / f"{lid}.fgb", driver="FlatGeobuf", layer=lid,
                        promote_to_multi=spec.geometry != "point", geometry_type=GEOMETRY_TYPES[spec.geometry],
                        layer_options={"SPATIAL_INDEX": "YES", "TITLE": f"{spec.title_zh} {spec.title_en}",
                                       "DESCRIPTION": spec.clause})


def _write_parquet(ls, ids, folder: Path, crs):
    for lid in ids:
        gdf = _frame(ls, lid, crs)
        gdf.to_parquet(folder / f"{lid}.parquet", index=False, compression="zstd", schema_version="1.1.0",
                       write_covering_bbox=True)


def _write_shp(ls, ids, folder, crs, **kw):
    from .shp import write_shapefiles

    write_shapefiles(ls, ids, folder, crs, **kw)


def _write_kml(ls, ids, path, crs, **kw):
    from .kml import write_kml

    write_kml(ls, ids, path, crs, kmz=False)


def _write_kmz(ls, ids, path, crs, **kw):
    from .kml import write_kml

    write_kml(ls, ids, path, crs, kmz=True)


def _write_dxf(ls, ids, path, crs, **kw):
    from .cad import write_dxf

    write_dxf(ls, ids, path, crs, **kw)


def _write_tif(ls, ids, folder, crs, **kw):
    from .raster import write_rasters

    write_rasters(ls, ids, folder, crs, **kw)


WRITERS = {
    "gpkg": _write_gpkg, "shp": _write_shp, "geojson": _write_geojson, "fgb": _write_fgb,
    "parquet": _write_parquet, "kml": _write_kml, "kmz": _write_kmz, "dxf": _write_dxf, "tif": _write_tif,
}
