"""Which layers the map shows, grouped and ordered as the manifest's ``[map]`` table says.

.. code-block:: toml

    [map]
    group_order = ["red_line", "water", "base"]   # layer control and legend, top to bottom
    draw_order = ["base", "red_line", "water"]    # areas, bottom to top
    hidden_groups = ["control_units"]             # not shown when the map opens
    [map.group_titles]
    coast = { zh = "岸线分类与管控带", en = "Shoreline classes and control strips" }

Every key is optional. Groups a list leaves out follow those it names, in
manifest order; without ``[map]`` the map follows the manifest and shows every
group. A group is titled by ``group_titles``, else by its only layer's title,
else by its id. Lines are drawn above all areas, sites above all.
"""
from __future__ import annotations

from ..layerset.manifest import MapLayout, group_of, map_layout
from .labels import cap

__all__ = ["MapLayout", "map_layout", "map_plan", "group_title", "split_by_class", "draw_rank",
           "ZONE_PANE_Z", "LINE_PANE_Z", "SITE_PANE_Z"]

#: pane z-indexes of areas, lines and sites: above tiles (200), below Leaflet's overlays (400)
ZONE_PANE_Z, LINE_PANE_Z, SITE_PANE_Z = 300, 360, 390


def map_plan(ls, layout: MapLayout) -> list:
    """Groups in control order: (group id, [specs]) with specs in manifest order (empty point layers left out)."""
    groups: dict = {}
    for spec in ls.manifest["layers"]:
        if spec.geometry == "point" and not len(ls.layer(spec.id)):
            continue
        groups.setdefault(group_of(spec), []).append(spec)
    order = [g for g in layout.group_order if g in groups] + [g for g in groups if g not in layout.group_order]
    return [(g, groups[g]) for g in order]


def group_title(layout: MapLayout, gid: str, specs: list, lang: str) -> str:
    """A group's title in the layer control and legend.

    In Chinese a group of several layers whose titles start with plan
    shorthand (一脊：…, 两核：…) gets the shorthand appended: 生态安全格局（一脊两核…）.
    """
    titles = layout.group_titles.get(gid)
    if titles:
        title = titles[lang]
    elif len(specs) == 1:
        return getattr(specs[0], f"title_{lang}")
    else:
        title = cap(gid.replace("_", " "))
    if lang == "zh":
        prefixes = [s.title_zh.split("：", 1)[0] for s in specs if "：" in s.title_zh]
        if len(prefixes) >= 2:
            title += "（" + "".join(prefixes) + "）"
    return title


def split_by_class(spec, specs: list) -> bool:
    """One toggle per class when the layer is its group's only layer of its geometry type."""
    same = [s for s in specs if s.geometry == spec.geometry]
    return len(spec.classes) > 1 and len(same) == 1


def draw_rank(ls, layout: MapLayout) -> dict:
    """Pane z-index per layer id: areas by ``draw_order``, then lines, each in manifest order."""
    specs = ls.manifest["layers"]
    polys = [s for s in specs if s.geometry == "polygon"]
    key = {g: i for i, g in enumerate(layout.draw_order)}
    polys.sort(key=lambda s: key.get(s.group, len(layout.draw_order)))
    out = {s.id: ZONE_PANE_Z + i for i, s in enumerate(polys)}
    lines = [s for s in specs if s.geometry != "polygon"]
    out.update({s.id: LINE_PANE_Z + i for i, s in enumerate(lines)})
    return out
