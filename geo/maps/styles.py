"""Leaflet styles of zones and sites: one style source for layers and legend.

Zone colours are the manifest's class colours (the ones the exports use), fill
opacity follows the class's control level; site colours are the verdict colours
of :data:`geo.text.VERDICTS`.
"""
from __future__ import annotations

import re

from ..text import VERDICTS

__all__ = ["zone_style", "site_style", "FILL_OPACITY"]

#: fill opacity by control level
FILL_OPACITY = {"strict": 0.45, "restrictive": 0.35, "general": 0.25, "info": 0.12}

_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}){1,2}$")


def _color(value, default="#888888") -> str:
    return value if isinstance(value, str) and _COLOR.match(value) else default


def zone_style(spec, zone_class: str) -> dict:
    """The style of a layer's zones of one class (lines: stroke only; base layers: a heavier outline)."""
    color = _color(spec.color(zone_class))
    if spec.geometry == "line":
        return {"color": color, "weight": float(spec.style.get("weight", 4)), "opacity": 0.95}
    level = spec.classes.get(zone_class, {}).get("control", "general")
    return {"color": color, "weight": float(spec.style.get("weight", 2 if spec.group == "base" else 1.2)),
            "opacity": 0.9, "fillColor": color,
            "fillOpacity": float(spec.style.get("fill_opacity", FILL_OPACITY.get(level, 0.3)))}


def site_style(geom_type: str, verdict: str) -> dict:
    """The style of a checked site: filled with its verdict's colour (a line drawn in it)."""
    color = VERDICTS.get(verdict, VERDICTS["unknown"])["color"]
    if "Point" in geom_type:
        return {"radius": 7, "color": "#222222", "weight": 1.5, "opacity": 1, "fillColor": color, "fillOpacity": 0.95}
    if "Line" in geom_type:
        return {"color": color, "weight": 5, "opacity": 0.95}
    return {"color": "#222222", "weight": 2, "opacity": 1, "fillColor": color, "fillOpacity": 0.6}
