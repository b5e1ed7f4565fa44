"""The drawing of zones and checked sites as folium GeoJSON layers.

Each layer gets its own Leaflet pane (areas below lines below sites), so
toggling a layer never changes what covers what. A feature carries only its
style and the index of its texts; the texts (tooltip, popup, search) travel in
the page's JSON data block (:mod:`geo.maps.page`).
"""
from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from ..text import VERDICT_ORDER, VERDICTS, other_lang
from .geometry import display_layer, to_display
from .labels import TEXT, cap, esc, names, plain, site_popup, tooltip, zone_popup
from .legend import legend_block
from .plan import SITE_PANE_Z, MapLayout, draw_rank, group_title, map_plan, split_by_class
from .styles import site_style, zone_style

log = logging.getLogger(__name__)

__all__ = ["Drawing", "zone_rules"]


def zone_rules(ls):
    """The layer set's rule table, or None when it has none yet (popups then give the manifest clauses)."""
    path = Path(ls.root) / ls.info.get("rules", "rules.csv")
    if not path.exists():
        log.info("no rule table at %s: popups give the manifest clauses", path)
        return None
    from ..check.rules import layerset_rules

    return layerset_rules(ls)


class Drawing:
    """What :func:`geo.maps.build_map` collects while adding layers: control groups, legend blocks, bounds, texts.

    ``groups`` are the layer control's groups ({label, layers: [{label, layer, id}]}),
    ``legend`` the legend's (heading, other-language heading, blocks), ``texts``
    every feature's {_t: tooltip HTML, _p: popup HTML, _n: search text}.
    """

    def __init__(self, m, lang: str, datum: str, layout: MapLayout):
        from folium.utilities import JsCode

        self.m, self.lang, self.alt, self.datum, self.layout = m, lang, other_lang(lang), datum, layout
        self.groups, self.legend, self.bounds = [], [], []
        self.texts: list = []
        self.n_zones = self.n_sites = 0
        self.each = JsCode("function (feature, layer) { var p = ecozoneText(feature);"
                           " layer.bindTooltip(p._t, {sticky: true, opacity: 0.95});"
                           " layer.bindPopup(p._p, {maxWidth: 380, autoPanPadding: [30, 30]}); }")

    def pane(self, name: str, z_index: int) -> str:
        """A Leaflet pane at ``z_index`` (its name)."""
        import folium

        folium.map.CustomPane(name, z_index=z_index, pointer_events=True).add_to(self.m)
        return name

    def geojson(self, feats: list, label: str, item_id: str, **options) -> dict:
        """A GeoJSON layer of features on the map, as an item of the layer control."""
        import folium

        gj = folium.GeoJson({"type": "FeatureCollection", "features": feats}, name=item_id,
                            on_each_feature=self.each, **options)
        gj.add_to(self.m)
        return {"label": esc(label), "layer": gj, "id": item_id}

    def feature(self, geom, style: dict, text: dict) -> dict:
        """A GeoJSON feature whose properties hold its style and the index of its texts.

        Texts never go into folium's layers: folium renders each layer's script
        and then compiles it again as a Jinja template, so text there could run
        as template code. They travel in the page's JSON data block instead.
        """
        self.texts.append(text)
        return {"type": "Feature", "geometry": shapely.geometry.mapping(geom),
                "properties": {"_f": len(self.texts) - 1, "style": style}}

    def add_zones(self, ls, rules, tolerance_m: float) -> None:
        """One GeoJSON layer per layer (or per class, see :func:`split_by_class`), grouped as the manifest says."""
        lang, alt, layout = self.lang, self.alt, self.layout
        ranks = draw_rank(ls, layout)
        for gid, specs in map_plan(ls, layout):
            items, blocks = [], []
            for spec in specs:
                frame = display_layer(ls, spec.id, tolerance_m, self.datum)
                if not len(frame):
                    continue
                self.bounds.append(frame.total_bounds)
                pane = self.pane(f"ez-{spec.id}", ranks[spec.id])
                split = split_by_class(spec, specs)
                classes = [c for c in spec.classes if (frame["zone_class"] == c).any()]
                parts = [(c, frame[frame["zone_class"] == c]) for c in classes] if split else [(None, frame)]
                show = gid not in layout.hidden_groups and spec.style.get("map_show", True)
                title = getattr(spec, f"title_{lang}")
                for zone_class, part in parts:
                    feats = [self.zone_feature(row, geom, spec, title, rules)
                             for row, geom in zip(part.drop(columns="geometry").to_dict("records"),
                                                  part.geometry.values)]
                    self.n_zones += len(feats)
                    label = cap(spec.class_label(zone_class, lang)) if zone_class else title
                    items.append(self.geojson(feats, label, f"{spec.id}:{zone_class}" if zone_class else spec.id,
                                              show=show, pane=pane, smooth_factor=0.5))
                blocks.append(legend_block(spec, classes, split, len(specs), lang))
            if items:
                self.groups.append({"label": esc(group_title(layout, gid, specs, lang)), "layers": items})
                self.legend.append((group_title(layout, gid, specs, lang), group_title(layout, gid, specs, alt),
                                    blocks))

    def zone_feature(self, row: dict, geom, spec, layer_title: str, rules) -> dict:
        """A zone with its style, tooltip, popup (with the zone's general rule) and search text (name, code)."""
        zone_class, code = plain(row.get("zone_class")), plain(row.get("zone_code"))
        rule = rules.zone_requirement(spec.id, zone_class, code) if rules is not None else None
        name, _ = names(row, self.lang, plain(row.get("zone_id")))
        return self.feature(geom, zone_style(spec, zone_class), {
            "_t": tooltip(name, cap(spec.class_label(zone_class, self.lang))),
            "_p": zone_popup(row, spec, layer_title, rule, self.lang),
            "_n": f"{name} {code} · {layer_title}" if code else f"{name} · {layer_title}",
        })

    def add_sites(self, checked: gpd.GeoDataFrame) -> None:
        """Checked sites above every zone, one layer per verdict, first in the control and legend."""
        from folium.utilities import JsCode

        lang, t = self.lang, TEXT[self.lang]
        checked = checked[checked.geometry.notna() & ~checked.geometry.is_empty]
        if not len(checked):
            return
        pane = self.pane("ez-sites", SITE_PANE_Z)
        geoms = to_display(checked.geometry.values, checked.crs, self.datum)
        records = checked.drop(columns="geometry").to_dict("records")
        verdicts = np.array([plain(r.get("verdict")) for r in records])
        point = JsCode("function (feature, latlng) { return L.circleMarker(latlng, {pane: 'ez-sites'}); }")
        items, rows = [], []
        for verdict in VERDICT_ORDER + ["unknown"]:
            idx = np.flatnonzero(verdicts == verdict)
            if not len(idx):
                continue
            feats = []
            for i in idx:
                name = plain(records[i].get("name")) or plain(records[i].get("site_id"))
                feats.append(self.feature(geoms[i], site_style(geoms[i].geom_type, verdict), {
                    "_t": tooltip(name, VERDICTS[verdict][lang]),
                    "_p": site_popup(records[i], lang),
                    "_n": f"{name} · {t['sites']}",
                }))
            self.n_sites += len(feats)
            items.append(self.geojson(feats, f"{VERDICTS[verdict][lang]} ({len(feats)})", f"sites:{verdict}",
                                      pane=pane, pointToLayer=point))
            rows.append((VERDICTS[verdict][lang], VERDICTS[verdict][self.alt], site_style("Point", verdict)))
        self.groups.insert(0, {"label": esc(t["sites"]), "layers": items})
        self.legend.insert(0, (t["sites"], TEXT[self.alt]["sites"], [("", "", rows, "point")]))

    def extent(self) -> list:
        """[[south, west], [north, east]] of the layer set (sites outside it do not widen the view)."""
        b = np.array(self.bounds)
        west, south, east, north = (float(v) for v in (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()))
        self.m.location = [(south + north) / 2, (west + east) / 2]
        return [[south, west], [north, east]]
