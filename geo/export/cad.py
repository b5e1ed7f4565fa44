"""DXF export for CAD (ezdxf): projected coordinates, a CAD layer per layer and zone class.

* Coordinates: a projected CRS, by default the CGCS2000 3-degree Gauss-Krüger zone that
  holds the data (``auto-gk``); CAD x is the easting, y the northing; units metres
  (``$INSUNITS`` 6).
* One CAD layer ``<layer id>-<zone class>`` per layer and class, coloured as the map (true
  colour from R2004, plus the nearest AutoCAD colour index), described in Chinese and English.
* Areas are closed LWPOLYLINEs (outer ring and each hole), lines open LWPOLYLINEs, points
  POINTs; each feature's Chinese name is a TEXT entity at a point inside it.
* Attributes: DXF has no attribute table. Every attribute of a feature is stored as
  extended data (XDATA, application ``ECOZONE``) on its name TEXT; every polyline carries
  the feature's ``zone_id``, part and ring. :func:`read_dxf` rebuilds the features from
  them. GDAL's DXF driver does not read XDATA: through GDAL you get the CAD layer, the
  geometry and the name text only.
* Text: R2007 and later are UTF-8 by definition (default R2010); R2000/R2004 are written
  in code page ANSI_936 (GBK) for older CASS/AutoCAD. The text style uses ``romans.shx``
  with the Chinese big font ``chineset.shx``.
* The CRS is recorded in the drawing's ezdxf metadata (and, from R2004, as custom drawing
  properties, AutoCAD's DWGPROPS), not as a .prj.
"""
from __future__ import annotations

import json
import logging
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from ..errors import ExportError

log = logging.getLogger(__name__)

__all__ = ["DXF_VERSIONS", "dxf_options", "write_dxf", "read_dxf", "cad_layer_name", "nearest_aci"]

DXF_VERSIONS = {"R2000": "AC1015", "R2004": "AC1018", "R2007": "AC1021", "R2010": "AC1024",
                "R2013": "AC1027", "R2018": "AC1032"}
CODEPAGE_VERSIONS = {"R2000", "R2004"}  # text in $DWGCODEPAGE; later versions are UTF-8
APPID = "ECOZONE"
TEXT_STYLE = "ECOZONE_ZH"
XDATA_CHUNK_BYTES = 240  # a 1000 string holds at most 255 bytes
XDATA_MAX_BYTES = 16000  # AutoCAD allows 16 KiB of XDATA per entity
_BAD_LAYER_CHARS = set('<>/\\":;?*|=`,')


def dxf_options(version: str | None, encoding: str | None) -> dict:
    """Check ``--dxf-version`` against ``--encoding``; return the writer's keyword arguments."""
    v = (version or ("R2000" if encoding == "gbk" else "R2010")).upper()
    if v not in DXF_VERSIONS:
        raise ExportError(f"unknown DXF version {version!r}", hint=f"use one of {', '.join(DXF_VERSIONS)}")
    if v in CODEPAGE_VERSIONS and encoding == "utf-8":
        raise ExportError(f"DXF {v} stores text in a code page; ecozone writes ANSI_936 (GBK)",
                          hint="use --dxf-version R2010 for UTF-8")
    if v not in CODEPAGE_VERSIONS and encoding == "gbk":
        raise ExportError(f"DXF {v} is UTF-8 by definition", hint="use --dxf-version R2000 for ANSI_936 (GBK)")
    return {"dxf_version": v}


def cad_layer_name(layer_id: str, zone_class: str) -> str:
    """The CAD layer of a layer's zone class, e.g. ``water_source-L1``."""
    name = f"{layer_id}-{zone_class}"
    return "".join("_" if ch in _BAD_LAYER_CHARS or ord(ch) < 32 else ch for ch in name)


def nearest_aci(rgb) -> int:
    """The AutoCAD colour index (1–255) nearest to an RGB colour."""
    from ezdxf.colors import DXF_DEFAULT_COLORS, int2rgb

    def dist(i):
        return sum((a - c) ** 2 for a, c in zip(int2rgb(DXF_DEFAULT_COLORS[i]), rgb))

    return min(range(1, 256), key=dist)


def _rgb(color: str) -> tuple:
    c = color.lstrip("#")
    if len(c) == 3:
        c = "".join(ch * 2 for ch in c)
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def _chunks(text: str) -> list[str]:
    out, cur, used = [], [], 0
    for ch in text:
        n = len(ch.encode("utf-8"))
        if used + n > XDATA_CHUNK_BYTES:
            out.append("".join(cur))
            cur, used = [], 0
        cur.append(ch)
        used += n
    out.append("".join(cur))
    return out


def _attribute_xdata(row: dict, kinds: dict) -> list:
    """XDATA tags for a feature's attributes: ``{ name type value… }`` per field."""
    tags = [(1000, "label"), (1000, str(row.get("zone_id", "")))]
    size = 0
    for col, kind in kinds.items():
        v = row[col]
        group = [(1002, "{"), (1000, col)]
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            group.append((1000, "null"))
        elif kind == "bool":
            group += [(1000, "bool"), (1070, int(bool(v)))]
        elif kind == "int":
            group += [(1000, "int"), (1000, str(int(v)))]
        elif kind == "float":
            group += [(1000, "float"), (1040, float(v))]
        else:
            text = str(v)
            if any(c in text for c in "\r\n\x00"):
                group.append((1000, "json"))
                text = json.dumps(text, ensure_ascii=False)
            else:
                group.append((1000, "str"))
            group += [(1000, chunk) for chunk in _chunks(text)]
        group.append((1002, "}"))
        n = sum(len(str(val).encode("utf-8")) + 4 for _, val in group)
        if size + n > XDATA_MAX_BYTES:
            log.warning("DXF: %s attribute %s and later ones exceed the 16 KiB XDATA limit and are left out",
                        row.get("zone_id"), col)
            break
        size += n
        tags += group
    return tags


def _kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_integer_dtype(series):
        return "int"
    if pd.api.types.is_float_dtype(series):
        return "float"
    return "str"


def _label_point(geom):
    if geom.geom_type in ("LineString", "MultiLineString"):
        parts = shapely.get_parts(geom)
        longest = max(parts, key=lambda p: p.length)
        return longest.interpolate(0.5, normalized=True)
    return geom.representative_point()


def _text_height(geom) -> float:
    size = math.sqrt(geom.area) if geom.area > 0 else geom.length / 10
    return float(min(max(size / 25.0, 20.0), 250.0))


def write_dxf(ls, ids, path, crs, *, dxf_version: str = "R2010") -> None:
    """Write the layers as one DXF drawing (see the module docstring)."""
    import ezdxf
    from ezdxf.enums import TextEntityAlignment

    from .layers import _crs_label, _frame, export_metadata

    doc = ezdxf.new(dxf_version, units=6)
    if dxf_version in CODEPAGE_VERSIONS:
        doc.encoding = "gbk"  # $DWGCODEPAGE = ANSI_936
    doc.header["$MEASUREMENT"] = 1
    doc.appids.add(APPID)
    style = doc.styles.add(TEXT_STYLE, font="romans.shx")
    style.dxf.bigfont = "chineset.shx"

    meta = {"ecozone_crs": _crs_label(crs), "ecozone_crs_name": crs.name}
    meta.update({f"ecozone_{k}": v for k, v in export_metadata(ls).items()
                 if k in ("layerset", "title_zh", "title_en", "status", "ecozone_version", "content_hash",
                          "build_date", "notice_zh", "notice_en")})
    meta = {k: str(v)[:250] for k, v in meta.items()}
    store = doc.ezdxf_metadata()
    for k, v in meta.items():
        store[k] = v
    if dxf_version != "R2000":  # custom drawing properties exist from R2004
        for k, v in meta.items():
            doc.header.custom_vars.append(k, v)

    msp = doc.modelspace()
    n_entities = 0
    for lid in ids:
        spec = ls.specs[lid]
        for zone_class in spec.classes:
            rgb = _rgb(spec.color(zone_class))
            layer = doc.layers.add(cad_layer_name(lid, zone_class), color=nearest_aci(rgb))
            if dxf_version != "R2000":
                layer.rgb = rgb
            layer.description = (f"{spec.title_zh}：{spec.class_label(zone_class, 'zh')} / "
                                 f"{spec.title_en}: {spec.class_label(zone_class, 'en')}")
        gdf = _frame(ls, lid, crs)
        kinds = {c: _kind(gdf[c]) for c in gdf.columns if c != gdf.geometry.name}
        for row, geom in zip(gdf.drop(columns=gdf.geometry.name).to_dict("records"), gdf.geometry):
            if geom is None or geom.is_empty:
                continue
            zone_class = str(row.get("zone_class", ""))
            name = cad_layer_name(lid, zone_class)
            if not doc.layers.has_entry(name):
                doc.layers.add(name)
            attribs = {"layer": name}
            zid = str(row.get("zone_id", ""))
            for p, part in enumerate(shapely.get_parts(geom)):
                if part.geom_type == "Polygon":
                    for r, ring in enumerate([part.exterior, *part.interiors]):
                        e = msp.add_lwpolyline(np.asarray(ring.coords)[:-1, :2].tolist(), format="xy", close=True,
                                               dxfattribs=attribs)
                        e.set_xdata(APPID, [(1000, "ring"), (1000, zid), (1071, p), (1071, r)])
                        n_entities += 1
                elif part.geom_type == "LineString":
                    e = msp.add_lwpolyline(np.asarray(part.coords)[:, :2].tolist(), format="xy", close=False,
                                           dxfattribs=attribs)
                    e.set_xdata(APPID, [(1000, "line"), (1000, zid), (1071, p), (1071, 0)])
                    n_entities += 1
                elif part.geom_type == "Point":
                    e = msp.add_point((part.x, part.y), dxfattribs=attribs)
                    e.set_xdata(APPID, [(1000, "point"), (1000, zid), (1071, p), (1071, 0)])
                    n_entities += 1
            at = _label_point(geom)
            text = msp.add_text(str(row.get("name_zh") or zid), height=_text_height(geom),
                                dxfattribs={**attribs, "style": TEXT_STYLE})
            text.set_placement((at.x, at.y), align=TextEntityAlignment.MIDDLE_CENTER)
            text.set_xdata(APPID, _attribute_xdata(row, kinds))
            n_entities += 1
    doc.saveas(Path(path))
    log.info("DXF %s: %d entities on %d CAD layers", dxf_version, n_entities, len(doc.layers) - 1)


def _decode(text: str) -> str:
    import ezdxf

    return ezdxf.decode_dxf_unicode(text) if ezdxf.has_dxf_unicode(text) else text


def _parse_attributes(tags) -> dict:
    out, i = {}, 2
    while i < len(tags):
        if tags[i].code == 1002 and tags[i].value == "{":
            j = i + 1
            while not (tags[j].code == 1002 and tags[j].value == "}"):
                j += 1
            name, kind, values = _decode(tags[i + 1].value), tags[i + 2].value, [t.value for t in tags[i + 3:j]]
            if kind == "null":
                out[name] = None
            elif kind == "bool":
                out[name] = bool(values[0])
            elif kind == "int":
                out[name] = int(values[0])
            elif kind == "float":
                out[name] = float(values[0])
            elif kind == "json":
                out[name] = json.loads(_decode("".join(values)))
            else:
                out[name] = _decode("".join(values))
            i = j + 1
        else:
            i += 1
    return out


def read_dxf(path):
    """Rebuild the features of a DXF written by :func:`write_dxf` (ezdxf).

    Returns a GeoDataFrame with every attribute (from the TEXT XDATA), the geometry rebuilt
    from the polylines of each ``zone_id``, the CAD layer and the name text, in the CRS
    recorded in the drawing.
    """
    import ezdxf
    import geopandas as gpd

    doc = ezdxf.readfile(Path(path))
    rings = defaultdict(lambda: defaultdict(dict))
    kinds, attrs = {}, {}
    for e in doc.modelspace():
        if not e.has_xdata(APPID):
            continue
        tags = e.get_xdata(APPID)
        what, zid = tags[0].value, _decode(tags[1].value)
        if what == "label":
            attrs[zid] = {**_parse_attributes(tags), "cad_layer": e.dxf.layer, "cad_text": _decode(e.dxf.text)}
            continue
        part, ring = tags[2].value, tags[3].value
        kinds[zid] = what
        if what == "point":
            rings[zid][part][ring] = [(e.dxf.location.x, e.dxf.location.y)]
        else:
            rings[zid][part][ring] = [(x, y) for x, y in e.get_points("xy")]
    rows, geoms = [], []
    for zid, row in attrs.items():
        parts = rings.get(zid, {})
        kind = kinds.get(zid)
        if kind == "ring":
            polys = [shapely.Polygon(p[0], [p[r] for r in sorted(p) if r != 0]) for _, p in sorted(parts.items())]
            geom = shapely.MultiPolygon(polys)
        elif kind == "line":
            geom = shapely.MultiLineString([p[0] for _, p in sorted(parts.items())])
        elif kind == "point":
            pts = [p[0][0] for _, p in sorted(parts.items())]
            geom = shapely.Point(pts[0]) if len(pts) == 1 else shapely.MultiPoint(pts)
        else:
            geom = None
        rows.append(row)
        geoms.append(geom)
    crs = doc.ezdxf_metadata().get("ecozone_crs")
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=crs)
