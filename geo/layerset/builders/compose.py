"""Layers composed from other layers: the red line and the environmental control units."""
from __future__ import annotations

import geopandas as gpd
import shapely

from ...errors import LayerSetError
from .shapes import _shape


def compose(ctx, *, parts: list, land: dict, sea: dict):
    """Dissolve the listed parts of other layers, then split into a land and a sea feature.

    ``parts`` lists ``{layer, classes, name_contains}``; ``land`` and ``sea`` give the
    ``zone_class``, ``name_zh`` and ``name_en`` of the two features. Used for the
    ecological red line, which takes in what the plan says it rests on
    (自然资发〔2022〕142号; docs/legal-basis.md §2.6).
    """
    geom = shapely.union_all([ctx.union(p["layer"], p.get("classes"), p.get("name_contains")) for p in parts])
    rows = []
    for spec, piece in ((land, shapely.intersection(geom, ctx.land)),
                        (sea, shapely.difference(geom, ctx.sea))):
        if piece.is_empty:
            continue
        rows.append({"zone_class": spec["zone_class"], "name_zh": spec["name_zh"], "name_en": spec["name_en"],
                     "composed_of": ";".join(f"{p['layer']}:{'|'.join(p.get('classes', []))}" for p in parts),
                     "geometry": piece})
    return gpd.GeoDataFrame(rows, crs=ctx.measure_crs)


def control_units(ctx, *, priority: list, key: list, general: dict):
    """Environmental control units that partition the land study area.

    Priority units come from other layers (``{layer, classes, name_zh, name_en}``),
    key units from shapes (industrial clusters: see :func:`shapes`), less the
    priority area; the general unit is the rest of the land (三线一单, docs/legal-basis.md §6.2).
    Each spec may give the unit's official ``code`` (its ``zone_code``, e.g. ``ZH21021310001``).
    """
    rows = []
    taken = shapely.Polygon()
    for spec in priority:
        geom = shapely.intersection(ctx.union(spec["layer"], spec.get("classes")), ctx.land)
        geom = shapely.difference(geom, taken)
        taken = shapely.union(taken, geom)
        if not geom.is_empty:
            rows.append({"zone_class": "priority", "name_zh": spec["name_zh"], "name_en": spec["name_en"],
                         "zone_code": spec.get("code", ""), "geometry": geom})
    for spec in key:
        geom = shapely.difference(shapely.intersection(_shape(ctx, spec), ctx.land), taken)
        taken = shapely.union(taken, geom)
        if geom.is_empty:
            raise LayerSetError(f"key unit {spec['name_en']!r} is empty after removing priority units")
        rows.append({"zone_class": "key", "name_zh": spec["name_zh"], "name_en": spec["name_en"],
                     "zone_code": spec.get("code", ""), "geometry": geom})
    rest = shapely.difference(ctx.land, taken)
    rows.append({"zone_class": "general", "name_zh": general["name_zh"], "name_en": general["name_en"],
                 "zone_code": general.get("code", ""), "geometry": rest})
    return gpd.GeoDataFrame(rows, crs=ctx.measure_crs)
