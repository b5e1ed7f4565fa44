"""Tile basemaps (OpenStreetMap, Tianditu, AutoNavi/Gaode) and the overview map.

AMap (Gaode) tiles are in GCJ-02: with them the overlays are shifted into GCJ-02
(:func:`geo.maps.geometry.to_display`) and the attribution says so. A Tianditu
key is written into the page (the tiles are fetched by the browser).
"""
from __future__ import annotations

from urllib.parse import quote

import numpy as np
import shapely

from ..text import BASEMAPS, BASEMAP_LABELS
from .geometry import polygonal, to_display

__all__ = ["BASEMAPS", "tile_spec", "minimap", "GAODE_ATTR"]

#: basemaps ``build_map`` knows

OSM = {
    "url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    "options": {"maxZoom": 19, "attribution": '&copy; <a href="https://www.openstreetmap.org/copyright">'
                                              "OpenStreetMap</a> contributors"},
}
_TDT = ("https://t{s}.tianditu.gov.cn/%s_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=%s"
        "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=%s")
_TDT_ATTR = '&copy; <a href="https://www.tianditu.gov.cn/">天地图 Tianditu</a>'
_GAODE = {
    "normal": "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
    "satellite": "https://webst0{s}.is.autonavi.com/appmaptile?style=6&x={x}&y={y}&z={z}",
}
#: the attribution of AMap tiles, which also tells that the overlays were shifted
GAODE_ATTR = {
    "zh": "&copy; 高德地图 AutoNavi；叠加图层已由 CGCS2000 转换为 GCJ-02 以对齐底图",
    "en": "&copy; AutoNavi (Gaode); overlays shifted from CGCS2000 to GCJ-02 to match the basemap",
}


def tile_spec(basemap: str, lang: str, key: str | None) -> list:
    """Base layers offered (first one shown): [{id, label, tiles: [{url, options}]}]; Tianditu only with a key."""
    label = {k: v[lang] for k, v in BASEMAP_LABELS.items()}
    none = {"id": "none", "label": label["none"], "tiles": []}
    if basemap == "gaode":
        opts = {"subdomains": "1234", "maxZoom": 18, "attribution": GAODE_ATTR[lang]}
        return [{"id": "gaode_normal", "label": label["gaode_normal"], "tiles": [{"url": _GAODE["normal"], "options": opts}]},
                {"id": "gaode_sat", "label": label["gaode_sat"], "tiles": [{"url": _GAODE["satellite"], "options": opts}]},
                none]
    osm = {"id": "osm", "label": label["osm"], "tiles": [OSM]}
    tdt = []
    if key:
        k = quote(key, safe="")
        opts = {"subdomains": "01234567", "maxZoom": 18, "attribution": _TDT_ATTR}
        tdt = [{"id": "tdt_vec", "label": label["tdt_vec"],
                "tiles": [{"url": _TDT % ("vec", "vec", k), "options": opts},
                          {"url": _TDT % ("cva", "cva", k), "options": opts}]},
               {"id": "tdt_img", "label": label["tdt_img"],
                "tiles": [{"url": _TDT % ("img", "img", k), "options": opts},
                          {"url": _TDT % ("cia", "cia", k), "options": opts}]}]
    if basemap == "tianditu":
        return tdt + [osm, none]
    if basemap == "none":
        return [none, osm] + tdt
    return [osm] + tdt + [none]


def minimap(ls, base: list, datum: str) -> dict | None:
    """The overview map: the first basemap's tiles, or without tiles the outline of the ``base`` group's areas."""
    first = next((b for b in base if b["tiles"]), None)
    if first is not None and base and base[0]["tiles"]:
        tile = first["tiles"][0]
        return {"url": tile["url"], "options": {k: v for k, v in tile["options"].items() if k != "attribution"}}
    base_specs = [s for s in ls.manifest["layers"] if s.group == "base" and s.geometry == "polygon"]
    if not base_specs:
        return None
    geom = shapely.union_all([polygonal(g) for s in base_specs for g in ls.measured(s.id).geometry.values])
    geom = shapely.simplify(geom, 200.0, preserve_topology=True)
    outline = to_display(np.array([geom], dtype=object), ls.measure_crs, datum)[0]
    return {"outline": shapely.geometry.mapping(outline),
            "style": {"color": "#555555", "weight": 1, "fillColor": "#bdbdbd", "fillOpacity": 0.6}}
