"""The map page: :func:`build_map`, :func:`render_map`, :func:`write_map` and the page's JSON data block.

Every text of the page (labels, legend, popups, tooltips) is written once, as
JSON, in a ``<script type="application/json">`` block that the page's script
(``geo/static/ecozone-map.js``) reads with ``JSON.parse``; nothing goes through
folium's template engine, so no text is ever evaluated. folium's random element
ids are replaced by numbers, so the same inputs give the same HTML.
"""
from __future__ import annotations

import json
import logging
import re
import warnings
from functools import lru_cache
from pathlib import Path

from ..errors import MapError, MapSizeWarning
from ..text import LANGS
from .assets import asset_html, icon_urls
from .basemaps import BASEMAPS, minimap, tile_spec
from .geometry import DISPLAY_TOLERANCE_M
from .labels import TEXT, esc
from .layers import Drawing, zone_rules
from .legend import legend_html, title_html
from .plan import map_layout
from .sites import sites_frame

log = logging.getLogger(__name__)

__all__ = ["build_map", "render_map", "write_map", "json_for_script", "SIZE_BUDGET_BYTES"]

#: a written map larger than this warns (bytes)
SIZE_BUDGET_BYTES = 3_000_000
#: the page's texts for its controls (ecozone-map.js)
_CONTROL_TEXTS = ("zoomIn", "zoomOut", "fullscreen", "exitFullscreen", "search", "notFound", "cancel", "hideMini",
                  "showMini")


def build_map(ls, sites=None, *, lang: str = "zh", basemap: str = "osm", tianditu_key: str | None = None,
              inline: bool = True, offline: bool = False, tolerance_m: float = DISPLAY_TOLERANCE_M):
    """Draw a layer set (and checked sites) as an interactive folium map.

    Every layer is drawn with folium (Leaflet), grouped and ordered as the
    manifest's ``[map]`` table says (:mod:`geo.maps.plan`), with a grouped layer
    control, a legend in Chinese and English, tooltips and popups (name, class,
    control requirement, citation, area or length), search by zone or site
    name, scale bar, measure tool, fullscreen, mouse coordinates and an overview
    map. Checked sites are drawn on top, coloured by verdict.

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
    inline : inline the JavaScript and CSS vendored in ``geo/static/`` (the
        default: the file needs no CDN); False links the same versions on jsDelivr.
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
    LayerSetError
        On a wrong ``[map]`` table in the manifest.
    """
    import folium

    _check_options(lang, basemap, tianditu_key, inline, offline)
    layout = map_layout(ls.manifest)
    datum = "gcj02" if basemap == "gaode" and not offline else "wgs84"
    checked = sites_frame(ls, sites)

    m = folium.Map(location=[0, 0], zoom_start=10, tiles=None, zoom_control=False, max_zoom=19, zoom_snap=0.5)
    m.default_js, m.default_css = [], []  # no jQuery, Bootstrap or icon fonts: nothing here uses them
    m.ecozone_lang = lang
    Raw, Setup = _element_classes()
    fig = m.get_root()
    fig.title = esc(ls.info.get(f"title_{lang}", ls.name))
    for name, tag in asset_html(inline):
        fig.header.add_child(Raw(tag), name=name)

    drawing = Drawing(m, lang, datum, layout)
    drawing.add_zones(ls, zone_rules(ls), tolerance_m)
    extent = drawing.extent()
    if checked is not None:
        drawing.add_sites(checked)

    t = TEXT[lang]
    base = [] if offline else tile_spec(basemap, lang, tianditu_key)
    text = {k: t[k] for k in _CONTROL_TEXTS}
    text["coords"] = ("GCJ-02 " if datum == "gcj02" else "CGCS2000 ") + t["lonlat"]
    Setup({
        "lang": lang,
        "text": text,
        "base": [{"label": esc(b["label"]), "id": b["id"], "tiles": b["tiles"]} for b in base],
        "groups": drawing.groups,
        "titleHtml": title_html(ls, lang, drawing.n_sites),
        "legendHtml": legend_html(ls, drawing.legend, lang, base, datum),
        "minimap": minimap(ls, base, datum),
        "bounds": extent,
        "icons": icon_urls(inline),
        "background": "#eef2f5",
        "features": drawing.texts,
    }).add_to(m)
    _stable_ids(fig)
    log.info("map of %s: %d zones in %d groups, %d sites, basemap %s%s", ls.name, drawing.n_zones,
             len(drawing.groups), drawing.n_sites, "none (offline)" if offline else basemap,
             ", scripts inlined" if inline else ", scripts on the CDN")
    return m


def _check_options(lang, basemap, tianditu_key, inline, offline) -> None:
    if lang not in LANGS:
        raise MapError(f"unknown language {lang!r}", hint="use zh or en")
    if basemap not in BASEMAPS:
        raise MapError(f"unknown basemap {basemap!r}", hint=f"use one of {', '.join(BASEMAPS)}")
    if basemap == "tianditu" and not tianditu_key:
        raise MapError("the Tianditu basemap needs a key", hint="give --tianditu-key or set TIANDITU_KEY")
    if offline and not inline:
        raise MapError("an offline map needs its scripts inlined", hint="drop --cdn")


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


def render_map(m) -> str:
    """The HTML of a map from :func:`build_map` (with the page language declared)."""
    text = m.get_root().render()
    lang = getattr(m, "ecozone_lang", "zh")
    return text.replace("<html>", f'<html lang="{"zh-CN" if lang == "zh" else "en"}">', 1)


def write_map(ls, out, sites=None, *, overwrite: bool = True, size_budget_bytes: int = SIZE_BUDGET_BYTES,
              **options) -> Path:
    """Build a map (see :func:`build_map` for ``options``) and write it atomically as one HTML file.

    Warns with :class:`~geo.errors.MapSizeWarning` when the file is larger than
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
