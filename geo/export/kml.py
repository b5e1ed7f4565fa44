"""KML and KMZ export: WGS84 lon/lat, a folder per layer, the map's styles, bilingual descriptions.

Each placemark carries its Chinese name, a plain-text description (English name, class, the
zone's control requirement with its verdict and citation when the layer set has a rule
table, the plan clause) and every attribute as typed ``SchemaData``, which GDAL's LIBKML
driver reads back as fields. Coordinates have 7 decimals (about 1 cm).

Text is never live markup. Google Earth and 奥维 show names, descriptions and extended data
as HTML even when the XML escapes them, so every text taken from the layer set is
HTML-escaped (``&``, ``<``, ``>``) before it becomes XML text: ``<script>`` reaches the
client as ``&lt;script&gt;`` and is shown, not run. Readers that take the text literally
(GDAL, QGIS) see the escaped form; ``html.unescape`` gives the value back.
"""
from __future__ import annotations

import html
import logging
import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import numpy as np
import shapely

from ..errors import RuleError
from ..text import VERDICTS
from .common import export_metadata, field_kind, hex_rgb, is_missing, layer_frame, rounded

log = logging.getLogger(__name__)

__all__ = ["write_kml", "kml_document", "kml_color", "placemark_description", "plain"]

KML_NS = "http://www.opengis.net/kml/2.2"
DECIMALS = 7
KML_TYPES = {"bool": "bool", "int": "int", "float": "double", "str": "string"}  # field kind -> SimpleField type
_NCNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def kml_color(hex_color: str, opacity: float = 1.0) -> str:
    """``#rrggbb`` to KML's ``aabbggrr``."""
    r, g, b = hex_rgb(hex_color)
    return f"{round(255 * opacity):02x}{b:02x}{g:02x}{r:02x}"


def _sub(parent, tag, text=None, **attrib):
    el = ET.SubElement(parent, tag, attrib)
    if text is not None:
        el.text = str(text)
    return el


def plain(text) -> str:
    """``text`` as KML clients that render HTML show it literally: ``&``, ``<`` and ``>`` escaped."""
    return html.escape(str(text), quote=False)


def _num(x: float) -> str:
    s = f"{x:.{DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _coords(coords) -> str:
    return " ".join(f"{_num(x)},{_num(y)}" for x, y in np.asarray(coords)[:, :2])


def _geometry(parent, geom):
    kind = geom.geom_type
    if kind.startswith("Multi") or kind == "GeometryCollection":
        multi = _sub(parent, "MultiGeometry")
        for part in shapely.get_parts(geom):
            _geometry(multi, part)
    elif kind == "Polygon":
        poly = _sub(parent, "Polygon")
        _sub(poly, "tessellate", 1)
        ring = _sub(_sub(poly, "outerBoundaryIs"), "LinearRing")
        _sub(ring, "coordinates", _coords(geom.exterior.coords))
        for hole in geom.interiors:
            _sub(_sub(_sub(poly, "innerBoundaryIs"), "LinearRing"), "coordinates", _coords(hole.coords))
    elif kind == "LineString":
        line = _sub(parent, "LineString")
        _sub(line, "tessellate", 1)
        _sub(line, "coordinates", _coords(geom.coords))
    elif kind == "Point":
        _sub(_sub(parent, "Point"), "coordinates", _coords(geom.coords))


def _value(v, kind: str) -> str | None:
    """A value as SimpleData text (``kind`` from :func:`~geo.export.common.field_kind`); None when missing."""
    if is_missing(v):
        return None
    if kind == "bool":
        return "true" if bool(v) else "false"
    if kind == "float":
        return repr(float(v))
    return str(v)


def _rules(ls):
    from ..check.rules import layerset_rules

    try:
        return layerset_rules(ls)
    except RuleError as exc:
        if (Path(ls.root) / ls.info.get("rules", "rules.csv")).exists():
            log.warning("rule table not used in KML descriptions: %s", exc)
        else:
            log.info("no rule table: KML descriptions carry no control requirement")
        return None


def placemark_description(row, rules=None, notice: str = "") -> str:
    """The plain-text description of one feature (Chinese line, then English)."""
    lines = []
    if row.get("name_en"):
        lines.append(str(row["name_en"]))
    lines.append(f"类别 Class：{row.get('class_zh', row.get('zone_class', ''))}（{row.get('class_en', '')}）")
    code = row.get("zone_code")
    code = "" if code is None or code != code else str(code)
    if code:
        lines.append(f"编码 Code：{code}")
    rule = rules.zone_requirement(row["layer"], row["zone_class"], code) if rules is not None else None
    if rule is not None:
        v = VERDICTS.get(rule.verdict, {"zh": rule.verdict, "en": rule.verdict})
        lines.append(f"管控要求：{rule.condition_zh}（{v['zh']}）")
        lines.append(f"Control requirement: {rule.condition_en} ({v['en']})")
        lines.append(f"依据 Citation：{rule.citation}")
    if row.get("clause"):
        lines.append(f"规划依据 Plan clause：{row['clause']}")
    if notice:
        lines.append(notice)
    return "\n".join(lines)


def kml_document(ls, ids, crs) -> bytes:
    """The KML document (UTF-8 bytes) of the given layers."""
    rules = _rules(ls)
    info = ls.info
    notice = " ".join(x for x in (info.get("notice_zh"), info.get("notice_en")) if x) if ls.illustrative else ""
    root = ET.Element("kml", xmlns=KML_NS)
    doc = _sub(root, "Document", id=f"ecozone-{ls.name}" if _NCNAME.match(f"ecozone-{ls.name}") else "ecozone")
    _sub(doc, "name", plain(f"{info.get('title_zh', ls.name)} {info.get('title_en', '')}".strip()))
    _sub(doc, "open", 1)
    _sub(doc, "description", plain("\n".join(x for x in (info.get("notice_zh"), info.get("notice_en"),
                                                          info.get("plan_zh"), info.get("plan_en")) if x)))
    ext = _sub(doc, "ExtendedData")
    for k, v in export_metadata(ls, crs).items():
        _sub(_sub(ext, "Data", name=k), "value", plain(v))

    frames = {lid: rounded(layer_frame(ls, lid, crs), DECIMALS) for lid in ids}
    for lid, gdf in frames.items():
        schema = _sub(doc, "Schema", name=lid, id=f"schema-{lid}")
        for col in gdf.columns:
            if col != gdf.geometry.name:
                field = _sub(schema, "SimpleField", name=col, type=KML_TYPES[field_kind(gdf[col])])
                _sub(field, "displayName", plain(col))  # what Google Earth shows (as HTML) for the field
    for lid in ids:
        spec = ls.specs[lid]
        opacity = float(spec.style.get("fill_opacity", 0.45))
        for i, zone_class in enumerate(spec.classes):
            color = spec.color(zone_class)
            style = _sub(doc, "Style", id=f"style-{lid}-{i}")
            ls_el = _sub(style, "LineStyle")
            _sub(ls_el, "color", kml_color(color))
            _sub(ls_el, "width", 3 if spec.geometry == "line" else 1.5)
            ps = _sub(style, "PolyStyle")
            _sub(ps, "color", kml_color(color, opacity))
            if spec.geometry == "point":
                _sub(_sub(style, "IconStyle"), "color", kml_color(color))

    for lid, gdf in frames.items():
        spec = ls.specs[lid]
        style_of = {c: f"#style-{lid}-{i}" for i, c in enumerate(spec.classes)}
        folder = _sub(doc, "Folder", id=f"folder-{lid}")
        _sub(folder, "name", plain(f"{spec.title_zh} {spec.title_en}"))
        _sub(folder, "description", plain(f"{spec.clause}\n{lid}"))
        kinds = {c: field_kind(gdf[c]) for c in gdf.columns if c != gdf.geometry.name}
        for row, geom in zip(gdf.drop(columns=gdf.geometry.name).to_dict("records"), gdf.geometry):
            zid = str(row.get("zone_id", ""))
            pm = _sub(folder, "Placemark", id=zid) if _NCNAME.match(zid) else _sub(folder, "Placemark")
            _sub(pm, "name", plain(row.get("name_zh") or zid))
            _sub(pm, "description", plain(placemark_description(row, rules, notice)))
            if row.get("zone_class") in style_of:
                _sub(pm, "styleUrl", style_of[row["zone_class"]])
            sd = _sub(_sub(pm, "ExtendedData"), "SchemaData", schemaUrl=f"#schema-{lid}")
            for col, kind in kinds.items():
                text = _value(row[col], kind)
                if text is not None:
                    _sub(sd, "SimpleData", plain(text), name=col)
            if geom is not None and not geom.is_empty:
                _geometry(pm, shapely.orient_polygons(geom) if "Polygon" in geom.geom_type else geom)
    ET.indent(root, space=" ")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode").encode("utf-8") + b"\n"


def write_kml(ls, ids, path, crs, *, kmz: bool = False) -> None:
    """Write ``path`` as KML, or as KMZ (``doc.kml`` zipped) with ``kmz=True``."""
    data = kml_document(ls, ids, crs)
    path = Path(path)
    if not kmz:
        path.write_bytes(data)
        return
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("doc.kml", data)
