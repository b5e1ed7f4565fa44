"""GeoPackage export: one table per layer, QGIS default styles (``layer_styles``) and provenance.

Each layer table has its features (geometry column ``geom``), an identifier and description
(title and plan clause) and GDAL layer metadata (builder, parameters, provenance, classes).
``layer_styles`` gives QGIS each layer's default style in the map's colours; the table
``ecozone_meta`` holds the export's provenance as key/value rows.
"""
from __future__ import annotations

import json
from pathlib import Path
from xml.sax.saxutils import escape

import pandas as pd
import pyogrio

from .. import __version__
from .common import GEOMETRY_TYPES, export_metadata, hex_rgb, layer_frame

__all__ = ["write_gpkg", "layer_qml", "layer_metadata", "META_TABLE"]

META_TABLE = "ecozone_meta"


def _xml(text) -> str:
    return escape(str(text), {'"': "&quot;"})


def layer_metadata(ls, layer_id: str) -> dict:
    """Layer-level provenance and builder parameters (strings only)."""
    spec = ls.specs[layer_id]

    def js(value):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)

    return {"layer": spec.id, "title_zh": spec.title_zh, "title_en": spec.title_en, "family": spec.family,
            "group": spec.group, "geometry": spec.geometry, "builder": spec.builder, "clause": spec.clause,
            "params": js(spec.params), "provenance": js(spec.provenance), "classes": js(spec.classes)}


def layer_qml(spec) -> str:
    """A QGIS style (QML) for a layer: categories by ``zone_class`` in the map's colours."""
    opacity = float(spec.style.get("fill_opacity", 0.45))
    width = float(spec.style.get("line_width_mm", 0.6 if spec.geometry == "line" else 0.3))
    symbol_type = {"polygon": "fill", "line": "line", "point": "marker"}[spec.geometry]
    cats, symbols = [], []
    for i, (zone_class, c) in enumerate(spec.classes.items()):
        r, g, b = hex_rgb(spec.color(zone_class))
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


def write_gpkg(ls, ids, path: Path, crs) -> None:
    """Write the layers, ``layer_styles`` and ``ecozone_meta`` into the GeoPackage ``path``."""
    # Dataset provenance goes into a key/value table, not GDAL dataset metadata: GDAL 3.12 then
    # writes a .aux.xml beside the GeoPackage each time it is opened read-only.
    meta = export_metadata(ls, crs)
    for lid in ids:
        spec = ls.specs[lid]
        pyogrio.write_dataframe(
            layer_frame(ls, lid, crs), path, layer=lid, driver="GPKG", promote_to_multi=spec.geometry != "point",
            geometry_type=GEOMETRY_TYPES[spec.geometry],
            layer_options={"GEOMETRY_NAME": "geom", "FID": "fid", "IDENTIFIER": f"{spec.title_zh} {spec.title_en}",
                           "DESCRIPTION": spec.clause},
            layer_metadata={**layer_metadata(ls, lid), "layerset": ls.name, "ecozone_version": __version__,
                            "content_hash": meta.get("content_hash", "")})
    pyogrio.write_dataframe(_layer_styles(ls, ids), path, layer="layer_styles", driver="GPKG")
    pyogrio.write_dataframe(pd.DataFrame({"key": list(meta), "value": list(meta.values())}), path,
                            layer=META_TABLE, driver="GPKG",
                            layer_options={"DESCRIPTION": "ecozone export provenance / 导出来源"})
