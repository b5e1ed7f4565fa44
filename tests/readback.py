"""Read exports back as the layers they came from, for the round-trip tests.

GDAL reads a DXF's entities but not their XDATA, and a shapefile's 10-byte field names and
cut text but not the zip's CSVs: these readers add what ecozone stores beside them
(:mod:`geo.export.cad`, :mod:`geo.export.shp`).
"""
from __future__ import annotations

import csv
import io
import json
import zipfile
from collections import defaultdict
from pathlib import Path

import ezdxf
import geopandas as gpd
import pyogrio
import shapely

from geo.export.cad import APPID

__all__ = ["read_dxf", "read_shapefile_zip"]


def _decode(text: str) -> str:
    return ezdxf.decode_dxf_unicode(text) if ezdxf.has_dxf_unicode(text) else text


def _parse_attributes(tags) -> dict:
    """The ``{ name kind value… }`` groups of a name TEXT's XDATA as ``{name: value}``."""
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


def _geometry(kind, parts):
    if kind == "ring":
        return shapely.MultiPolygon([shapely.Polygon(p[0], [p[r] for r in sorted(p) if r != 0])
                                     for _, p in sorted(parts.items())])
    if kind == "line":
        return shapely.MultiLineString([p[0] for _, p in sorted(parts.items())])
    if kind == "point":
        pts = [p[0][0] for _, p in sorted(parts.items())]
        return shapely.Point(pts[0]) if len(pts) == 1 else shapely.MultiPoint(pts)
    return None


def read_dxf(path) -> gpd.GeoDataFrame:
    """Rebuild the features of a DXF export (:func:`geo.export.cad.write_dxf`).

    Every attribute (from the name TEXT's XDATA), the geometry rebuilt from the polylines of
    each ``zone_id``, the CAD layer and the name text, in the CRS recorded in the drawing.
    """
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
    rows = list(attrs.values())
    geoms = [_geometry(kinds.get(zid), rings.get(zid, {})) for zid in attrs]
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=doc.ezdxf_metadata().get("ecozone_crs"))


def _unguarded(rows) -> list:
    """CSV rows with the formula guard (:func:`geo.results.spreadsheet_safe`) taken off: one leading ``'``."""
    return [{k: v[1:] if v.startswith("'") else v for k, v in row.items()} for row in rows]


def read_shapefile_zip(path) -> gpd.GeoDataFrame:
    """Read a shapefile zip export (:func:`geo.export.shp.write_shapefiles`) with its full field names and text.

    The ``.cpg`` tells GDAL the DBF encoding; ``<layer>.fields.csv`` maps the 10-byte names
    to the full ones and ``<layer>.text.csv`` restores values that were cut or not encodable.
    """
    path = Path(path)
    stem = path.stem
    gdf = pyogrio.read_dataframe(f"/vsizip/{path.resolve()}/{stem}.shp")
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        fields = _unguarded(csv.DictReader(io.StringIO(zf.read(f"{stem}.fields.csv").decode("utf-8-sig"))))
        texts = (_unguarded(csv.DictReader(io.StringIO(zf.read(f"{stem}.text.csv").decode("utf-8-sig"))))
                 if f"{stem}.text.csv" in names else [])
    gdf = gdf.rename(columns={f["shp_field"]: f["field"] for f in fields})
    for row in texts:
        gdf.loc[int(row["fid"]), row["field"]] = row["value"]
    return gdf
