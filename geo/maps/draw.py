"""Interactive web maps of a layer set and checked sites: one self-contained HTML file.

:func:`build_map` draws every layer of a layer set with folium (Leaflet), grouped
as the plan structures them (the manifest's ``group`` of each layer), with a
grouped layer control, a categorical legend in Chinese and English, tooltips and
popups (name, class, control requirement, citation, area or length), search by
zone or site name, scale bar, measure tool, fullscreen, mouse coordinates and an
overview map. Checked sites are drawn on top, coloured by verdict.

Design choices:

* **One style source.** Colours come from the manifest's class colours (the same
  ones the exports use) and verdict colours from :data:`geo.text.VERDICTS`.
* **Stable draw order.** Each layer gets its own Leaflet pane (areas below lines
  below sites), so toggling a layer never changes what covers what.
* **Safe text.** Every text from data or sites is HTML-escaped here, in Python,
  before it reaches the page; the page's own script sets texts with
  ``textContent``. folium's ``GeoJsonTooltip``/``GeoJsonPopup`` and ``Popup`` are
  not used: they insert property values as HTML (and need jQuery).
* **No network needed.** The JavaScript and CSS vendored in ``geo/static/`` are
  inlined (``inline=False`` links the same versions on jsDelivr); ``offline=True``
  also drops the tile basemap.
* **Display geometry.** Geometry is simplified for display only, in the layer
  set's measurement CRS: layers that tile the plane (control units, protection
  levels) are simplified as a coverage so neighbours keep shared edges (no gaps
  or overlaps); others feature by feature, topology-preserving. Coordinates are
  rounded to 6 decimals (about 0.1 m).
* **GCJ-02.** AMap (Gaode) tiles are in GCJ-02; with ``basemap="gaode"`` every
  overlay is shifted into GCJ-02 to line up, and the attribution says so.
"""
from __future__ import annotations

import base64
import html
import json
import logging
import mimetypes
import posixpath
import re
import tomllib
import warnings
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..crs import transform_geometry_datum
from ..errors import MapError, MapSizeWarning, SiteInputError
from ..text import VERDICT_ORDER, VERDICTS

log = logging.getLogger(__name__)

__all__ = [
    "build_map",
    "render_map",
    "write_map",
    "read_map_sites",
    "simplify_polygons",
    "BASEMAPS",
    "SIZE_BUDGET_BYTES",
    "DISPLAY_TOLERANCE_M",
]

#: basemaps ``build_map`` knows
BASEMAPS = ("osm", "tianditu", "gaode", "none")
#: a written map larger than this warns (bytes)
SIZE_BUDGET_BYTES = 3_000_000
#: display simplification tolerance in metres: below a pixel at zoom 15, two at zoom 16
DISPLAY_TOLERANCE_M = 3.0
COORD_DECIMALS = 6

STATIC = Path(__file__).parents[1] / "static"


# --------------------------------------------------------------------------- labels

TEXT = {
    "zh": {
        "zoomIn": "放大", "zoomOut": "缩小", "fullscreen": "全屏", "exitFullscreen": "退出全屏",
        "search": "搜索区域或项目名称", "notFound": "未找到", "cancel": "取消",
        "hideMini": "隐藏鹰眼图", "showMini": "显示鹰眼图",
        "legend": "图例", "layer": "图层", "class": "类别", "control": "管控要求", "citation": "依据",
        "clause": "规划条款", "area": "面积", "length": "长度", "id": "编号", "verdict": "核查结论",
        "type": "项目类型", "reasons": "原因", "sites": "核查项目", "no_basemap": "无底图",
        "judgement": "（研判）", "data": "数据", "built": "构建", "basemap": "底图",
        "sites_summary": "核查项目 {n} 个",
    },
    "en": {
        "zoomIn": "Zoom in", "zoomOut": "Zoom out", "fullscreen": "Full screen", "exitFullscreen": "Exit full screen",
        "search": "Search zones or sites", "notFound": "Not found", "cancel": "Cancel",
        "hideMini": "Hide overview", "showMini": "Show overview",
        "legend": "Legend", "layer": "Layer", "class": "Class", "control": "Control requirement",
        "citation": "Citation", "clause": "Plan clause", "area": "Area", "length": "Length", "id": "ID",
        "verdict": "Verdict", "type": "Project type", "reasons": "Reasons", "sites": "Checked sites",
        "no_basemap": "No basemap", "judgement": " (judgement)", "data": "Data", "built": "built",
        "basemap": "Basemap", "sites_summary": "{n} checked sites",
    },
}
#: control levels of the manifest, used when the rule table gives no requirement
CONTROL_LABELS = {
    "strict": {"zh": "严格管控", "en": "strict control"},
    "restrictive": {"zh": "限制性管控", "en": "restrictive control"},
    "general": {"zh": "一般管控", "en": "general control"},
    "info": {"zh": "仅供参考", "en": "for information"},
}
#: titles of the manifest's layer groups that hold several layers; a manifest
#: ``[groups.<id>]`` table with ``zh``/``en`` overrides them
GROUP_TITLES = {
    "red_line": {"zh": "生态保护红线", "en": "Ecological protection red line"},
    "network": {"zh": "生态安全格局", "en": "Ecological network"},
    "water": {"zh": "饮用水水源保护区", "en": "Drinking-water source protection zones"},
    "coast": {"zh": "岸线分类与管控带", "en": "Shoreline classes and control strips"},
    "reserve": {"zh": "自然保护地", "en": "Protected areas"},
    "control_units": {"zh": "环境管控单元", "en": "Environmental control units"},
    "receptors": {"zh": "敏感目标", "en": "Sensitive receptors"},
    "base": {"zh": "基础图层", "en": "Base layers"},
}
#: order of the groups in the layer control and legend (others follow in manifest order)
GROUP_ORDER = ["red_line", "network", "water", "coast", "reserve", "control_units", "receptors", "base"]
#: drawing order of polygon groups, bottom to top; lines are drawn above all areas, sites above all
DRAW_ORDER = ["base", "control_units", "network", "red_line", "reserve", "water", "receptors", "coast"]
#: groups hidden when the map opens (they cover the whole area)
HIDDEN_GROUPS = {"control_units"}
#: fill opacity by control level
FILL_OPACITY = {"strict": 0.45, "restrictive": 0.35, "general": 0.25, "info": 0.12}

ZONE_PANE_Z, LINE_PANE_Z, SITE_PANE_Z = 300, 360, 390  # above tiles (200), below Leaflet's overlays (400)
_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}){1,2}$")

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
_GAODE_ATTR = {
    "zh": "&copy; 高德地图 AutoNavi；叠加图层已由 CGCS2000 转换为 GCJ-02 以对齐底图",
    "en": "&copy; AutoNavi (Gaode); overlays shifted from CGCS2000 to GCJ-02 to match the basemap",
}


def _esc(value) -> str:
    """HTML-escaped text of a value (blank for None and NaN)."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return html.escape(str(value), quote=True)


def _text(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _other(lang: str) -> str:
    return "en" if lang == "zh" else "zh"


def _color(value, default="#888888") -> str:
    return value if isinstance(value, str) and _COLOR.match(value) else default


# --------------------------------------------------------------------------- static assets

@lru_cache(maxsize=1)
def _asset_config() -> dict:
    return tomllib.loads((STATIC / "assets.toml").read_text(encoding="utf-8"))


def _data_uri(path: Path) -> str:
    mime = {".svg": "image/svg+xml"}.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _inline_css(pkg_dir: Path, rel: str) -> str:
    text = (pkg_dir / rel).read_text(encoding="utf-8")

    def repl(m):
        ref = m.group(1)
        if ref.startswith(("data:", "#", "http:", "https:", "//")):
            return m.group(0)
        target = pkg_dir / posixpath.normpath(posixpath.join(posixpath.dirname(rel), ref))
        if not target.exists():
            raise MapError(f"vendored file {target} is missing", hint="run scripts/vendor_static.py")
        return f"url({_data_uri(target)})"

    text = re.sub(r"""url\(\s*['"]?([^'")]+?)['"]?\s*\)""", repl, text)
    if "</style" in text.lower():
        raise MapError(f"{rel} contains </style> and cannot be inlined")
    return text


def _inline_js(text: str) -> str:
    # keep the HTML parser in the script element: no "</script" and no "<!--" in it
    return re.sub(r"</(script)", r"<\\/\1", text, flags=re.I).replace("<!--", "<\\!--")


@lru_cache(maxsize=2)
def _asset_html(inline: bool) -> tuple:
    """(name, HTML) of every stylesheet and script, in load order."""
    cfg = _asset_config()
    css, js = [], []
    for pkg in cfg["package"]:
        pkg_dir = STATIC / pkg["name"]
        for rel in pkg.get("css", []):
            if inline:
                css.append((f"ez_css_{pkg['name']}", f"<style>\n{_inline_css(pkg_dir, rel)}\n</style>"))
            else:
                css.append((f"ez_css_{pkg['name']}",
                            f'<link rel="stylesheet" href="{cfg["cdn"]}/{pkg["name"]}@{pkg["version"]}/{rel}"/>'))
        for rel in pkg.get("js", []):
            if inline:
                js.append((f"ez_js_{pkg['name']}",
                           f"<script>\n{_inline_js((pkg_dir / rel).read_text(encoding='utf-8'))}\n</script>"))
            else:
                js.append((f"ez_js_{pkg['name']}",
                           f'<script src="{cfg["cdn"]}/{pkg["name"]}@{pkg["version"]}/{rel}"></script>'))
    own_css = (STATIC / "ecozone-map.css").read_text(encoding="utf-8")
    own_js = _inline_js((STATIC / "ecozone-map.js").read_text(encoding="utf-8"))
    css.append(("ez_css_ecozone", f"<style>\n{own_css}</style>"))
    js.append(("ez_js_ecozone", f"<script>\n{own_js}</script>"))
    return tuple(css + js)


@lru_cache(maxsize=2)
def _icon_urls(inline: bool) -> dict:
    """Leaflet's default marker images (data: URIs when inlined; the page has no image folder)."""
    cfg = _asset_config()
    out = {}
    for pkg in cfg["package"]:
        for option, rel in pkg.get("images", {}).items():
            out[option] = (_data_uri(STATIC / pkg["name"] / rel) if inline
                           else f"{cfg['cdn']}/{pkg['name']}@{pkg['version']}/{rel}")
    return out


# --------------------------------------------------------------------------- display geometry

def _polygonal(geom):
    """The polygons of a geometry (dropping the lines and points make_valid can leave)."""
    if geom is None or geom.is_empty:
        return shapely.MultiPolygon()
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    parts = [q for p in parts for q in shapely.get_parts(p)]
    return shapely.MultiPolygon(parts) if parts else shapely.MultiPolygon()


def _linear(geom):
    if geom is None or geom.is_empty:
        return shapely.MultiLineString()
    if geom.geom_type in ("LineString", "MultiLineString"):
        return geom
    parts = [q for p in shapely.get_parts(geom) if p.geom_type in ("LineString", "MultiLineString")
             for q in shapely.get_parts(p)]
    return shapely.MultiLineString(parts) if parts else shapely.MultiLineString()


def _is_near_coverage(geoms: np.ndarray) -> bool:
    """True when polygons tile the plane up to slivers (overlaps below 0.01 % of their area)."""
    if len(geoms) < 2:
        return True
    total = float(shapely.area(geoms).sum())
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    if not keep.any():
        return True
    overlap = float(shapely.area(shapely.intersection(geoms[left[keep]], geoms[right[keep]])).sum())
    return overlap <= 1e-4 * total


def simplify_polygons(geoms: np.ndarray, tolerance: float) -> np.ndarray:
    """Simplify polygons for display, keeping shared edges shared.

    Polygons that tile the plane (up to slivers) are cleaned into an exact
    coverage and simplified together (GEOS coverage simplification), so
    neighbours keep identical edges: no gaps, no overlaps. Layers whose zones
    really overlap are simplified feature by feature, topology-preserving.
    Any polygon the simplification would empty keeps its original shape.
    """
    geoms = np.asarray(geoms, dtype=object)
    if tolerance <= 0 or len(geoms) == 0:
        return geoms
    out = None
    if _is_near_coverage(geoms):
        try:
            cleaned = shapely.coverage_clean(geoms)
            if shapely.coverage_is_valid(cleaned):
                out = shapely.coverage_simplify(cleaned, tolerance)
        except shapely.errors.GEOSException as exc:  # an odd input: fall back below
            log.debug("coverage simplification failed (%s); simplifying feature by feature", exc)
            out = None
    if out is None:
        out = shapely.simplify(geoms, tolerance, preserve_topology=True)
    out = np.array([_polygonal(g) for g in out], dtype=object)
    empty = shapely.is_empty(out) & ~shapely.is_empty(geoms)
    out[empty] = geoms[empty]
    return out


def _to_display(geoms, crs, datum: str) -> np.ndarray:
    """Geometries in lon/lat (EPSG:4326 or GCJ-02), rounded for the web page."""
    lonlat = gpd.GeoSeries(geoms, crs=crs).to_crs(4326).values
    if datum != "wgs84":
        lonlat = transform_geometry_datum(lonlat, "wgs84", datum)
    return shapely.transform(np.asarray(lonlat, dtype=object), lambda c: np.round(c, COORD_DECIMALS))


def _display_layer(ls, layer_id: str, tolerance: float, datum: str) -> gpd.GeoDataFrame:
    spec = ls.specs[layer_id]
    gdf = ls.measured(layer_id)
    geoms = gdf.geometry.values
    if spec.geometry == "polygon":
        geoms = simplify_polygons(np.array([_polygonal(g) for g in geoms], dtype=object), tolerance)
    elif spec.geometry == "line":
        geoms = shapely.simplify(np.array([_linear(g) for g in geoms], dtype=object), tolerance,
                                 preserve_topology=True)
    out = gpd.GeoDataFrame(gdf.drop(columns="geometry"), geometry=_to_display(geoms, ls.measure_crs, datum),
                           crs=4326)
    return out[~out.geometry.is_empty]


# --------------------------------------------------------------------------- popups and styles

def _rules(ls):
    """The layer set's rule table, or None when it has none yet."""
    path = Path(ls.root) / ls.info.get("rules", "rules.csv")
    if not path.exists():
        log.info("no rule table at %s: popups give the manifest clauses", path)
        return None
    from ..check.rules import layerset_rules

    return layerset_rules(ls)


def _badge(verdict: str, lang: str) -> str:
    v = VERDICTS.get(verdict, VERDICTS["unknown"])
    return f'<span class="ez-badge" style="background:{v["color"]}">{_esc(v[lang])}</span>'


def _measure_text(row, lang: str) -> tuple[str, str] | None:
    t = TEXT[lang]
    area = row.get("area_km2")
    if area is not None and area == area and area != "":
        area = float(area)
        if area >= 1:
            return t["area"], f"{area:,.2f} " + ("平方千米" if lang == "zh" else "km²")
        return t["area"], f"{area * 100:,.2f} " + ("公顷" if lang == "zh" else "ha")
    length = row.get("length_km")
    if length is not None and length == length and length != "":
        return t["length"], f"{float(length):,.2f} " + ("千米" if lang == "zh" else "km")
    return None


def _rows(rows) -> str:
    return "<table>" + "".join(f"<tr><th>{_esc(k)}</th><td>{v}</td></tr>" for k, v in rows) + "</table>"


def _names(row, lang: str, fallback: str = "") -> tuple[str, str]:
    main = _text(row.get(f"name_{lang}")) or _text(row.get(f"name_{_other(lang)}")) or fallback
    alt = _text(row.get(f"name_{_other(lang)}"))
    return main, ("" if alt == main else alt)


def _zone_popup(row, spec, layer_label: str, rule, lang: str) -> str:
    t = TEXT[lang]
    zone_class = _text(row.get("zone_class"))
    main, alt = _names(row, lang, _text(row.get("zone_id")))
    cls = spec.classes.get(zone_class, {})
    cls_text = _esc(cls.get(lang) or row.get(f"class_{lang}") or zone_class)
    cls_alt = cls.get(_other(lang), "")
    if cls_alt:
        cls_text += f' <span class="ez-alt">{_esc(cls_alt)}</span>'
    clause = _text(row.get("clause")) or spec.clause
    if rule is not None:
        cond = rule.condition_zh if lang == "zh" else rule.condition_en
        control = f"{_badge(rule.verdict, lang)} {_esc(cond)}" + (_esc(t["judgement"]) if rule.judgement else "")
        citation = rule.citation
    else:
        level = _text(row.get("control")) or cls.get("control", "")
        control = _esc(CONTROL_LABELS.get(level, {}).get(lang, level))
        citation = clause
    rows = [(t["layer"], _esc(layer_label)), (t["class"], cls_text), (t["control"], control),
            (t["citation"], _esc(citation))]
    if rule is not None and clause and clause != citation:
        rows.append((t["clause"], _esc(clause)))
    measure = _measure_text(row, lang)
    if measure:
        rows.append((measure[0], _esc(measure[1])))
    rows.append((t["id"], _esc(row.get("zone_id"))))
    head = f'<div class="ez-name">{_esc(main)}</div>'
    if alt:
        head += f'<div class="ez-alt">{_esc(alt)}</div>'
    return f'<div class="ez-pop">{head}{_rows(rows)}</div>'


def _site_popup(row, lang: str) -> str:
    t = TEXT[lang]
    verdict = _text(row.get("verdict")) or "unknown"
    name = _text(row.get("name")) or _text(row.get("site_id"))
    ptype = _text(row.get("project_type"))
    ptype_text = " ".join(x for x in (ptype, _text(row.get("project_type_zh")) if lang == "zh" else "") if x)
    reasons = _text(row.get(f"reasons_{lang}")) or _text(row.get(f"reasons_{_other(lang)}"))
    rows = [(t["verdict"], _badge(verdict, lang) + f' <span class="ez-alt">{_esc(VERDICTS[verdict][_other(lang)])}</span>'),
            (t["type"], _esc(ptype_text)), (t["reasons"], _esc(reasons)),
            (t["citation"], _esc(row.get("citations"))), (t["id"], _esc(row.get("site_id")))]
    return f'<div class="ez-pop ez-site"><div class="ez-name">{_esc(name)}</div>{_rows(rows)}</div>'


def _zone_style(spec, zone_class: str) -> dict:
    color = _color(spec.color(zone_class))
    if spec.geometry == "line":
        return {"color": color, "weight": float(spec.style.get("weight", 4)), "opacity": 0.95}
    level = spec.classes.get(zone_class, {}).get("control", "general")
    return {"color": color, "weight": float(spec.style.get("weight", 2 if spec.group == "base" else 1.2)),
            "opacity": 0.9, "fillColor": color,
            "fillOpacity": float(spec.style.get("fill_opacity", FILL_OPACITY.get(level, 0.3)))}


def _site_style(geom_type: str, verdict: str) -> dict:
    color = VERDICTS.get(verdict, VERDICTS["unknown"])["color"]
    if "Point" in geom_type:
        return {"radius": 7, "color": "#222222", "weight": 1.5, "opacity": 1, "fillColor": color, "fillOpacity": 0.95}
    if "Line" in geom_type:
        return {"color": color, "weight": 5, "opacity": 0.95}
    return {"color": "#222222", "weight": 2, "opacity": 1, "fillColor": color, "fillOpacity": 0.6}


def _feature(geom, props: dict) -> dict:
    return {"type": "Feature", "geometry": shapely.geometry.mapping(geom), "properties": props}


def _swatch(style: dict, kind: str) -> str:
    if kind == "line":
        return f'<span class="ez-sw ez-line" style="border-color:{style["color"]}"></span>'
    fill = style["fillColor"]
    r, g, b = (int(fill[i:i + 2], 16) for i in (1, 3, 5)) if len(fill) == 7 else (136, 136, 136)
    cls = "ez-sw ez-point" if kind == "point" else "ez-sw"
    return (f'<span class="{cls}" style="background:rgba({r},{g},{b},{max(style["fillOpacity"], 0.25):.2f});'
            f'border-color:{style["color"]}"></span>')


# --------------------------------------------------------------------------- layer plan

def _group_title(ls, gid: str, specs: list, lang: str) -> str:
    override = ls.manifest.get("groups", {}).get(gid, {})
    if override.get(lang):
        return override[lang]
    if len(specs) == 1:
        return getattr(specs[0], f"title_{lang}")
    title = GROUP_TITLES.get(gid, {}).get(lang) or _cap(gid.replace("_", " "))
    if lang == "zh":  # plan shorthand such as 一脊：… 两核：… gives 一脊两核…
        prefixes = [s.title_zh.split("：", 1)[0] for s in specs if "：" in s.title_zh]
        if len(prefixes) >= 2:
            title += "（" + "".join(prefixes) + "）"
    return title


def _map_plan(ls) -> list:
    """Groups in control order: (group id, [specs]) with specs in manifest order."""
    groups: dict = {}
    for spec in ls.manifest["layers"]:
        if spec.geometry == "point" and not len(ls.layer(spec.id)):
            continue
        groups.setdefault(spec.group or spec.family, []).append(spec)
    order = [g for g in GROUP_ORDER if g in groups] + [g for g in groups if g not in GROUP_ORDER]
    return [(g, groups[g]) for g in order]


def _split_by_class(spec, specs: list) -> bool:
    """One toggle per class when the layer is its group's only layer of its geometry type."""
    same = [s for s in specs if s.geometry == spec.geometry]
    return len(spec.classes) > 1 and len(same) == 1


def _draw_rank(ls) -> dict:
    """Pane z-index per layer id: areas by DRAW_ORDER, then lines, in manifest order."""
    specs = ls.manifest["layers"]
    polys = [s for s in specs if s.geometry == "polygon"]
    key = {g: i for i, g in enumerate(DRAW_ORDER)}
    polys.sort(key=lambda s: key.get(s.group, len(DRAW_ORDER)))
    out = {s.id: ZONE_PANE_Z + i for i, s in enumerate(polys)}
    lines = [s for s in specs if s.geometry != "polygon"]
    out.update({s.id: LINE_PANE_Z + i for i, s in enumerate(lines)})
    return out


# --------------------------------------------------------------------------- sites

def _sites_frame(ls, sites) -> gpd.GeoDataFrame | None:
    """Checked sites (a GeoDataFrame with ``verdict``) from a CheckResult, checked or raw sites."""
    if sites is None:
        return None
    if hasattr(sites, "sites") and hasattr(sites, "detail"):
        return sites.sites
    if not isinstance(sites, gpd.GeoDataFrame):
        raise MapError(f"sites must be a CheckResult or a GeoDataFrame, not {type(sites).__name__}")
    if "verdict" in sites.columns:
        bad = sorted(set(sites["verdict"].astype(str)) - set(VERDICTS))
        if bad:
            raise MapError(f"sites have an unknown verdict {bad[0]!r}", hint=f"use one of {', '.join(VERDICTS)}")
        return sites
    from ..check.engine import check_sites
    from ..sites.read import normalize_sites

    if "kind" not in sites.columns:
        sites = normalize_sites(sites)
    return check_sites(sites, ls).sites


def _checked_from_table(df: pd.DataFrame, path: Path) -> gpd.GeoDataFrame:
    for col in ("lon", "lat"):
        if col not in df.columns:
            raise SiteInputError(f"checked results have no {col} column", path=path,
                                 hint="give the file ecozone check wrote, or the sites file itself")
    lon = pd.to_numeric(df["lon"], errors="coerce")
    lat = pd.to_numeric(df["lat"], errors="coerce")
    bad = lon.isna() | lat.isna()
    if bad.any():
        raise SiteInputError("lon/lat is not a number", path=path, row=int(np.flatnonzero(bad)[0]) + 2)
    return gpd.GeoDataFrame(df.drop(columns=["lon", "lat"]), geometry=gpd.points_from_xy(lon, lat), crs=4326)


def _read_checked(path: Path) -> gpd.GeoDataFrame | None:
    """The checked results in a file ``ecozone check`` wrote, or None when it holds plain sites."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        with path.open(encoding="utf-8-sig", errors="replace") as f:
            header = f.readline()
        if "verdict" not in [h.strip().strip('"') for h in header.split(",")]:
            return None
        df = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
        return _checked_from_table(df, path)
    if suffix == ".json":
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            return None
        if isinstance(doc, dict) and isinstance(doc.get("sites"), list):
            return _checked_from_table(pd.DataFrame(doc["sites"]), path)
        if not (isinstance(doc, dict) and doc.get("type") == "FeatureCollection"):
            return None
    import pyogrio

    try:
        layers = [name for name, _ in pyogrio.list_layers(path)]
        layer = "sites" if "sites" in layers else None
        fields = list(pyogrio.read_info(path, layer=layer)["fields"])
    except Exception:  # not a vector file GDAL knows: leave it to read_sites
        return None
    if "verdict" not in fields:
        return None
    gdf = pyogrio.read_dataframe(path, layer=layer)
    if gdf.crs is None:
        raise SiteInputError("checked results have no CRS", path=path, hint="write them with ecozone check")
    return gdf


def read_map_sites(path, ls, *, project_type=None, **options) -> gpd.GeoDataFrame:
    """Sites to draw: checked results as ``ecozone check`` wrote them, or a sites file checked now.

    Parameters
    ----------
    path : a results file of ``ecozone check`` (.csv, .json, .geojson, .gpkg; recognised
        by its ``verdict`` column) or any sites file :func:`geo.read_sites` reads.
    ls : the layer set to check plain sites against.
    project_type : type of sites that name none (plain sites only).
    options : passed to :func:`geo.read_sites` (``crs``, ``encoding``, ...).

    Raises
    ------
    SiteInputError
        When the file cannot be read or holds an unknown verdict.
    """
    path = Path(path)
    if not path.exists():
        raise SiteInputError("file not found", path=path, hint="check the path")
    checked = _read_checked(path)
    if checked is None:
        from ..check.engine import check_sites
        from ..sites.read import read_sites

        return check_sites(read_sites(path, project_type=project_type, **options), ls).sites
    bad = sorted(set(checked["verdict"].astype(str)) - set(VERDICTS))
    if bad:
        raise SiteInputError(f"unknown verdict {bad[0]!r}", path=path, column="verdict",
                             hint=f"use one of {', '.join(VERDICTS)}")
    if project_type:
        log.info("%s holds checked results: --type is not used", path)
    return checked


# --------------------------------------------------------------------------- the map

def _tile_spec(basemap: str, lang: str, key: str | None) -> list:
    """Base layers offered (first one shown): [{label, tiles: [{url, options}]}]."""
    label = {
        "osm": "OpenStreetMap",
        "tdt_vec": "天地图矢量" if lang == "zh" else "Tianditu map",
        "tdt_img": "天地图影像" if lang == "zh" else "Tianditu imagery",
        "gaode_normal": "高德地图" if lang == "zh" else "AutoNavi (Gaode) map",
        "gaode_sat": "高德影像" if lang == "zh" else "AutoNavi (Gaode) imagery",
        "none": TEXT[lang]["no_basemap"],
    }
    none = {"id": "none", "label": label["none"], "tiles": []}
    if basemap == "gaode":
        opts = {"subdomains": "1234", "maxZoom": 18, "attribution": _GAODE_ATTR[lang]}
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


def _stable_ids(root) -> None:
    """Number every element so the same inputs give the same HTML (folium uses random ids)."""
    count = 0

    def walk(el):
        nonlocal count
        el._id = f"{count:04d}"
        count += 1
        for child in list(el._children.values()):
            walk(child)

    walk(root)


def _check_options(lang, basemap, tianditu_key, inline, offline) -> None:
    if lang not in TEXT:
        raise MapError(f"unknown language {lang!r}", hint="use zh or en")
    if basemap not in BASEMAPS:
        raise MapError(f"unknown basemap {basemap!r}", hint=f"use one of {', '.join(BASEMAPS)}")
    if basemap == "tianditu" and not tianditu_key:
        raise MapError("the Tianditu basemap needs a key", hint="give --tianditu-key or set TIANDITU_KEY")
    if offline and not inline:
        raise MapError("an offline map needs its scripts inlined", hint="drop --cdn")


class _Drawing:
    """What build_map collects while adding layers: control groups, legend blocks, bounds, counts."""

    def __init__(self, m, lang: str, datum: str):
        from folium.utilities import JsCode

        self.m, self.lang, self.alt, self.datum = m, lang, _other(lang), datum
        self.groups, self.legend, self.bounds = [], [], []
        self.texts: list = []  # per feature {_t: tooltip HTML, _p: popup HTML, _n: search text}; see _feature
        self.n_zones = self.n_sites = 0
        self.each = JsCode("function (feature, layer) { var p = ecozoneText(feature);"
                           " layer.bindTooltip(p._t, {sticky: true, opacity: 0.95});"
                           " layer.bindPopup(p._p, {maxWidth: 380, autoPanPadding: [30, 30]}); }")

    def pane(self, name: str, z_index: int) -> str:
        import folium

        folium.map.CustomPane(name, z_index=z_index, pointer_events=True).add_to(self.m)
        return name

    def geojson(self, feats: list, label: str, item_id: str, **options) -> dict:
        import folium

        gj = folium.GeoJson({"type": "FeatureCollection", "features": feats}, name=item_id,
                            on_each_feature=self.each, **options)
        gj.add_to(self.m)
        return {"label": _esc(label), "layer": gj, "id": item_id}

    def add_zones(self, ls, rules, tolerance_m: float) -> None:
        """One GeoJSON layer per layer (or per class, see _split_by_class), grouped as the manifest says."""
        lang, alt = self.lang, self.alt
        ranks = _draw_rank(ls)
        for gid, specs in _map_plan(ls):
            items, blocks = [], []
            for spec in specs:
                frame = _display_layer(ls, spec.id, tolerance_m, self.datum)
                if not len(frame):
                    continue
                self.bounds.append(frame.total_bounds)
                pane = self.pane(f"ez-{spec.id}", ranks[spec.id])
                split = _split_by_class(spec, specs)
                classes = [c for c in spec.classes if (frame["zone_class"] == c).any()]
                parts = [(c, frame[frame["zone_class"] == c]) for c in classes] if split else [(None, frame)]
                show = gid not in HIDDEN_GROUPS and spec.style.get("map_show", True)
                title = getattr(spec, f"title_{lang}")
                for zone_class, part in parts:
                    feats = [self.zone_feature(row, geom, spec, title, rules)
                             for row, geom in zip(part.drop(columns="geometry").to_dict("records"),
                                                  part.geometry.values)]
                    self.n_zones += len(feats)
                    label = _cap(spec.class_label(zone_class, lang)) if zone_class else title
                    items.append(self.geojson(feats, label, f"{spec.id}:{zone_class}" if zone_class else spec.id,
                                              show=show, pane=pane, smooth_factor=0.5))
                blocks.append(_legend_block(spec, classes, split, len(specs), lang))
            if items:
                self.groups.append({"label": _esc(_group_title(ls, gid, specs, lang)), "layers": items})
                self.legend.append((_group_title(ls, gid, specs, lang), _group_title(ls, gid, specs, alt), blocks))

    def zone_feature(self, row: dict, geom, spec, layer_title: str, rules) -> dict:
        zone_class = _text(row.get("zone_class"))
        rule = rules.zone_requirement(spec.id, zone_class) if rules is not None else None
        name, _ = _names(row, self.lang, _text(row.get("zone_id")))
        return self.feature(geom, _zone_style(spec, zone_class), {
            "_t": f"<b>{_esc(name)}</b><br>{_esc(_cap(spec.class_label(zone_class, self.lang)))}",
            "_p": _zone_popup(row, spec, layer_title, rule, self.lang),
            "_n": f"{name} · {layer_title}",
        })

    def feature(self, geom, style: dict, text: dict) -> dict:
        """A GeoJSON feature whose properties hold its style and the index of its texts.

        Texts never go into folium's layers: folium renders each layer's script
        and then compiles it again as a Jinja template, so text there could run
        as template code. They travel in the page's JSON data block instead.
        """
        self.texts.append(text)
        return _feature(geom, {"_f": len(self.texts) - 1, "style": style})

    def add_sites(self, checked: gpd.GeoDataFrame) -> None:
        """Checked sites above every zone, one layer per verdict, first in the control and legend."""
        from folium.utilities import JsCode

        lang, t = self.lang, TEXT[self.lang]
        checked = checked[checked.geometry.notna() & ~checked.geometry.is_empty]
        if not len(checked):
            return
        pane = self.pane("ez-sites", SITE_PANE_Z)
        geoms = _to_display(checked.geometry.values, checked.crs, self.datum)
        records = checked.drop(columns="geometry").to_dict("records")
        verdicts = np.array([_text(r.get("verdict")) for r in records])
        point = JsCode("function (feature, latlng) { return L.circleMarker(latlng, {pane: 'ez-sites'}); }")
        items, rows = [], []
        for verdict in VERDICT_ORDER + ["unknown"]:
            idx = np.flatnonzero(verdicts == verdict)
            if not len(idx):
                continue
            feats = []
            for i in idx:
                name = _text(records[i].get("name")) or _text(records[i].get("site_id"))
                feats.append(self.feature(geoms[i], _site_style(geoms[i].geom_type, verdict), {
                    "_t": f"<b>{_esc(name)}</b><br>{_esc(VERDICTS[verdict][lang])}",
                    "_p": _site_popup(records[i], lang),
                    "_n": f"{name} · {t['sites']}",
                }))
            self.n_sites += len(feats)
            items.append(self.geojson(feats, f"{VERDICTS[verdict][lang]} ({len(feats)})", f"sites:{verdict}",
                                      pane=pane, pointToLayer=point))
            rows.append((VERDICTS[verdict][lang], VERDICTS[verdict][self.alt], _site_style("Point", verdict)))
        self.groups.insert(0, {"label": _esc(t["sites"]), "layers": items})
        self.legend.insert(0, (t["sites"], TEXT[self.alt]["sites"], [("", "", rows, "point")]))

    def extent(self) -> list:
        """[[south, west], [north, east]] of the layer set (sites outside it do not widen the view)."""
        b = np.array(self.bounds)
        west, south, east, north = (float(v) for v in (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()))
        self.m.location = [(south + north) / 2, (west + east) / 2]
        return [[south, west], [north, east]]


def _legend_block(spec, classes: list, split: bool, n_specs: int, lang: str) -> tuple:
    """(sub-heading, its other-language text, rows, geometry) of one layer in the legend."""
    alt = _other(lang)
    title, title_alt = getattr(spec, f"title_{lang}"), getattr(spec, f"title_{alt}")
    rows = [(_cap(spec.class_label(c, lang)), _cap(spec.class_label(c, alt)), _zone_style(spec, c)) for c in classes]
    if len(rows) == 1 and not split:
        return "", "", [(title, title_alt, rows[0][2])], spec.geometry
    if split or n_specs == 1:
        return "", "", rows, spec.geometry
    return title, title_alt, rows, spec.geometry


def build_map(ls, sites=None, *, lang: str = "zh", basemap: str = "osm", tianditu_key: str | None = None,
              inline: bool = True, offline: bool = False, tolerance_m: float = DISPLAY_TOLERANCE_M):
    """Draw a layer set (and checked sites) as an interactive folium map.

    Parameters
    ----------
    ls : the layer set (:func:`geo.read_layerset`).
    sites : a :class:`geo.CheckResult`, a GeoDataFrame of checked sites (with
        ``verdict``) or of plain sites (checked against ``ls`` now), or None.
    lang : ``"zh"`` or ``"en"``: labels, tooltips, popups, controls (the legend
        and popups give both languages where the data has both).
    basemap : ``"osm"`` (OpenStreetMap), ``"tianditu"`` (needs ``tianditu_key``),
        ``"gaode"`` (AutoNavi; overlays are shifted into GCJ-02) or ``"none"``.
        Tianditu is also offered in the basemap switcher whenever a key is given.
    tianditu_key : the Tianditu browser key (``tk``); it is written into the page.
    inline : inline the JavaScript and CSS (the default: the file needs no CDN);
        False links the same versions on jsDelivr.
    offline : no tile basemap at all, so the file makes no network request.
    tolerance_m : display simplification tolerance in metres (0: none).

    Returns
    -------
    folium.Map
        Render it with :func:`render_map` or write it with :func:`write_map`.

    Raises
    ------
    MapError
        On an unknown ``lang`` or ``basemap``, Tianditu without a key, or
        ``offline`` without ``inline``.
    """
    import folium

    _check_options(lang, basemap, tianditu_key, inline, offline)
    datum = "gcj02" if basemap == "gaode" and not offline else "wgs84"
    checked = _sites_frame(ls, sites)

    m = folium.Map(location=[0, 0], zoom_start=10, tiles=None, zoom_control=False, max_zoom=19, zoom_snap=0.5)
    m.default_js, m.default_css = [], []  # no jQuery, Bootstrap or icon fonts: nothing here uses them
    m.ecozone_lang = lang
    Raw, Setup = _element_classes()
    fig = m.get_root()
    fig.title = _esc(ls.info.get(f"title_{lang}", ls.name))
    for name, tag in _asset_html(inline):
        fig.header.add_child(Raw(tag), name=name)

    drawing = _Drawing(m, lang, datum)
    drawing.add_zones(ls, _rules(ls), tolerance_m)
    extent = drawing.extent()
    if checked is not None:
        drawing.add_sites(checked)

    t = TEXT[lang]
    base = [] if offline else _tile_spec(basemap, lang, tianditu_key)
    text = {k: t[k] for k in ("zoomIn", "zoomOut", "fullscreen", "exitFullscreen", "search", "notFound",
                              "cancel", "hideMini", "showMini")}
    text["coords"] = ("GCJ-02 " if datum == "gcj02" else "CGCS2000 ") + ("经度, 纬度" if lang == "zh" else "lon, lat")
    Setup({
        "lang": lang,
        "text": text,
        "base": [{"label": _esc(b["label"]), "id": b["id"], "tiles": b["tiles"]} for b in base],
        "groups": drawing.groups,
        "titleHtml": _title_html(ls, lang, drawing.n_sites),
        "legendHtml": _legend_html(ls, drawing.legend, lang, base, datum),
        "minimap": _minimap(ls, base, datum),
        "bounds": extent,
        "icons": _icon_urls(inline),
        "background": "#eef2f5",
        "features": drawing.texts,
    }).add_to(m)
    _stable_ids(fig)
    log.info("map of %s: %d zones in %d groups, %d sites, basemap %s%s", ls.name, drawing.n_zones,
             len(drawing.groups), drawing.n_sites, "none (offline)" if offline else basemap,
             ", scripts inlined" if inline else ", scripts on the CDN")
    return m


@lru_cache(maxsize=1)
def _element_classes():
    """folium element classes of the map (defined lazily: folium is imported only when drawing)."""
    from branca.element import Element, MacroElement

    class Raw(Element):
        """HTML inserted as it is (not a Jinja template: inlined scripts hold braces)."""

        def __init__(self, text: str):
            super().__init__()
            self._name = "Raw"
            self.text = text

        def render(self, **kwargs):
            return self.text

    class Setup(MacroElement):
        """The page's data block and the call of ecozoneSetup (geo/static/ecozone-map.js) once every layer exists.

        Every text of the page (labels, legend, popups) is in ``config``; it is
        written as JSON in a ``<script type="application/json">`` block and read
        by the page with ``JSON.parse``. Unlike folium's own elements, nothing
        here goes through a template engine, so no text is ever evaluated.
        """

        def __init__(self, config: dict):
            super().__init__()
            self._name = "EcozoneSetup"
            self.config = config

        def render(self, **kwargs):
            fig = self.get_root()
            layers = []
            groups = []
            for g in self.config["groups"]:
                items = []
                for item in g["layers"]:
                    items.append({**item, "layer": len(layers)})
                    layers.append(item["layer"].get_name())
                groups.append({**g, "layers": items})
            data = json_for_script({**self.config, "groups": groups})
            fig.header.add_child(Raw(f'<script type="application/json" id="ez-config">{data}</script>'),
                                 name="ez_config")
            names = ", ".join(_js_name(n) for n in layers)
            fig.script.add_child(Raw(f"ecozoneSetup({_js_name(self._parent.get_name())}, [{names}]);"),
                                 name=self.get_name())

    return Raw, Setup


def _js_name(name: str) -> str:
    """A folium variable name, checked to be a plain identifier before it is written into the script."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise MapError(f"unexpected layer name {name!r}")
    return name


def json_for_script(value) -> str:
    """JSON that is safe inside an HTML ``<script>`` element (``<``, ``>``, ``&`` as \\u escapes)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _title_html(ls, lang: str, n_sites: int) -> str:
    t = TEXT[lang]
    out = f"<b>{_esc(ls.info.get(f'title_{lang}', ls.name))}</b>"
    notice = ls.info.get(f"notice_{lang}")
    if notice:
        out += f'<div class="ez-notice">{_esc(notice)}</div>'
    if n_sites:
        out += f'<div class="ez-alt">{_esc(t["sites_summary"].format(n=n_sites))}</div>'
    return out


def _legend_html(ls, legend: list, lang: str, base: list, datum: str) -> str:
    t, o = TEXT[lang], _other(lang)
    parts = [f'<details open><summary>{_esc(t["legend"])} <span class="ez-alt">{_esc(TEXT[o]["legend"])}</span>'
             "</summary>"]
    for g_label, g_alt, blocks in legend:
        parts.append(f'<h4>{_esc(g_label)} <span class="ez-alt">{_esc(g_alt)}</span></h4>')
        for sub, sub_alt, rows, kind in blocks:
            if sub:
                parts.append(f'<h5>{_esc(sub)} <span class="ez-alt">{_esc(sub_alt)}</span></h5>')
            parts.append("<ul>" + "".join(
                f'<li>{_swatch(style, kind)}{_esc(a)} <span class="ez-alt">{_esc(b)}</span></li>'
                for a, b, style in rows) + "</ul>")
    meta = [f"{t['data']}: {ls.info.get(f'title_{lang}', ls.name)}"]
    if ls.meta.get("build_date"):
        meta.append(f"{t['built']} {ls.meta['build_date']} · {str(ls.meta.get('content_hash', ''))[:12]}")
    if base:
        meta.append(f"{t['basemap']}: {base[0]['label']}")
    if datum == "gcj02":
        meta.append(_GAODE_ATTR[lang].replace("&copy; ", ""))
    parts.append("".join(f'<div class="ez-meta">{_esc(x)}</div>' for x in meta))
    parts.append("</details>")
    return "".join(parts)


def _minimap(ls, base: list, datum: str) -> dict | None:
    first = next((b for b in base if b["tiles"]), None)
    if first is not None and base and base[0]["tiles"]:
        tile = first["tiles"][0]
        return {"url": tile["url"], "options": {k: v for k, v in tile["options"].items() if k != "attribution"}}
    # no tiles: the outline of the base layers (the study area)
    base_specs = [s for s in ls.manifest["layers"] if s.group == "base" and s.geometry == "polygon"]
    if not base_specs:
        return None
    geom = shapely.union_all([_polygonal(g) for s in base_specs for g in ls.measured(s.id).geometry.values])
    geom = shapely.simplify(geom, 200.0, preserve_topology=True)
    outline = _to_display(np.array([geom], dtype=object), ls.measure_crs, datum)[0]
    return {"outline": shapely.geometry.mapping(outline),
            "style": {"color": "#555555", "weight": 1, "fillColor": "#bdbdbd", "fillOpacity": 0.6}}


def render_map(m) -> str:
    """The HTML of a map from :func:`build_map` (with the page language declared)."""
    text = m.get_root().render()
    lang = getattr(m, "ecozone_lang", "zh")
    return text.replace("<html>", f'<html lang="{"zh-CN" if lang == "zh" else "en"}">', 1)


def write_map(ls, out, sites=None, *, overwrite: bool = True, size_budget_bytes: int = SIZE_BUDGET_BYTES,
              **options) -> Path:
    """Build a map (see :func:`build_map` for ``options``) and write it atomically as one HTML file.

    Warns with :class:`MapSizeWarning` when the file is larger than
    ``size_budget_bytes``.
    """
    from ..atomic import atomic_path

    out = Path(out)
    m = build_map(ls, sites, **options)
    text = render_map(m)
    data = text.encode("utf-8")
    with atomic_path(out, overwrite=overwrite) as tmp:
        tmp.write_bytes(data)
    size = len(data)
    log.info("wrote %s (%.2f MB)", out, size / 1e6)
    if size_budget_bytes and size > size_budget_bytes:
        warnings.warn(f"{out}: the map is {size / 1e6:.2f} MB, above its {size_budget_bytes / 1e6:.2f} MB budget; "
                      "raise the display tolerance or link the scripts with --cdn", MapSizeWarning, stacklevel=2)
    return out
