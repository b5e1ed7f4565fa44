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
  the feature's ``zone_id``, part and ring, so the features can be rebuilt from the
  drawing (the round-trip tests do so, ``tests/readback.py``). GDAL's DXF driver does
  not read XDATA: through GDAL you get the CAD layer, the geometry and the name text only.
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
from pathlib import Path

import numpy as np
import shapely

from .common import crs_label, cut_to_bytes, export_metadata, field_kind, hex_rgb, is_missing, layer_frame
from .formats import CODEPAGE_VERSIONS

log = logging.getLogger(__name__)

__all__ = ["write_dxf", "cad_layer_name", "nearest_aci", "APPID"]

APPID = "ECOZONE"
TEXT_STYLE = "ECOZONE_ZH"
XDATA_CHUNK_BYTES = 240  # a 1000 string holds at most 255 bytes
XDATA_MAX_BYTES = 16000  # AutoCAD allows 16 KiB of XDATA per entity
_BAD_LAYER_CHARS = set('<>/\\":;?*|=`,')


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


def _chunks(text: str) -> list[str]:
    """``text`` in pieces of at most :data:`XDATA_CHUNK_BYTES` in UTF-8 (one piece when empty)."""
    out = [cut_to_bytes(text, XDATA_CHUNK_BYTES, "utf-8")]
    rest = text[len(out[0]):]
    while rest:
        out.append(cut_to_bytes(rest, XDATA_CHUNK_BYTES, "utf-8"))
        rest = rest[len(out[-1]):]
    return out


def _attribute_xdata(row: dict, kinds: dict) -> list:
    """XDATA tags for a feature's attributes: ``{ name type value… }`` per field."""
    tags = [(1000, "label"), (1000, str(row.get("zone_id", "")))]
    size = 0
    for col, kind in kinds.items():
        v = row[col]
        group = [(1002, "{"), (1000, col)]
        if is_missing(v):
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

    doc = ezdxf.new(dxf_version, units=6)
    if dxf_version in CODEPAGE_VERSIONS:
        doc.encoding = "gbk"  # $DWGCODEPAGE = ANSI_936
    doc.header["$MEASUREMENT"] = 1
    doc.appids.add(APPID)
    style = doc.styles.add(TEXT_STYLE, font="romans.shx")
    style.dxf.bigfont = "chineset.shx"

    meta = {"ecozone_crs": crs_label(crs), "ecozone_crs_name": crs.name}
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
            rgb = hex_rgb(spec.color(zone_class))
            layer = doc.layers.add(cad_layer_name(lid, zone_class), color=nearest_aci(rgb))
            if dxf_version != "R2000":
                layer.rgb = rgb
            layer.description = (f"{spec.title_zh}：{spec.class_label(zone_class, 'zh')} / "
                                 f"{spec.title_en}: {spec.class_label(zone_class, 'en')}")
        gdf = layer_frame(ls, lid, crs)
        kinds = {c: field_kind(gdf[c]) for c in gdf.columns if c != gdf.geometry.name}
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
