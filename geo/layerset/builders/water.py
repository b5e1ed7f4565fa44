"""Drinking-water source protection zones for reservoirs, by the HJ 338-2018 defaults.

Only for drafting a layer where no approved boundary exists: approved zones
(水污染防治法 Art. 63) always win, and every generated feature says so.
Dimensions (docs/legal-basis.md §1.4, HJ 338-2018 table for lake/reservoir sources):

============  ==================  =============  ======================  ====================
size          L1 water            L1 land        L2 water                L2 land
============  ==================  =============  ======================  ====================
small         all water           200 m          (all water is L1)       catchment
medium        300 m from intake   200 m          rest of the water       2000 m beyond L1
large         500 m from intake   200 m          2000 m beyond L1        3000 m beyond L1
============  ==================  =============  ======================  ====================

Reservoir size by total storage: small < 1e7 m³, medium < 1e8 m³, large ≥ 1e8 m³.
Without a catchment polygon the small-reservoir L2 land (whole upstream
catchment) is drawn as ``catchment_m`` around L1 and marked approximate. HJ 338
fixes no size for the quasi-zone (准保护区); it is ``quasi_m`` beyond L2 (J).
"""
from __future__ import annotations

import geopandas as gpd
import shapely

from ...errors import LayerSetError
from .shapes import QUAD_SEGS, circle_of_area

#: HJ 338-2018 reservoir defaults (metres); docs/legal-basis.md §1.4
HJ338_RESERVOIR = {
    "small": {"l1_water_radius_m": None, "l1_land_m": 200.0, "l2_water_m": None, "l2_land_m": None},
    "medium": {"l1_water_radius_m": 300.0, "l1_land_m": 200.0, "l2_water_m": None, "l2_land_m": 2000.0},
    "large": {"l1_water_radius_m": 500.0, "l1_land_m": 200.0, "l2_water_m": 2000.0, "l2_land_m": 3000.0},
}


def size_class(storage_m3: float) -> str:
    """HJ 338 reservoir size class from total storage (m³)."""
    if storage_m3 < 1e7:
        return "small"
    return "medium" if storage_m3 < 1e8 else "large"


def _buf(g, d):
    return g.buffer(d, quad_segs=QUAD_SEGS)


def reservoir_levels(water, intake, size: str, *, catchment_m: float = 2000.0, quasi_m: float = 1000.0):
    """The three disjoint zones (L1, L2, quasi) of one reservoir.

    Parameters
    ----------
    water : the water surface at normal water level (polygon, metres).
    intake : the intake point.
    size : ``small``, ``medium`` or ``large``.
    catchment_m : stand-in width of the small-reservoir catchment (L2 land).
    quasi_m : width of the quasi-zone beyond L2.

    Returns
    -------
    dict with keys ``L1``, ``L2``, ``quasi`` (polygons, pairwise disjoint).
    """
    d = HJ338_RESERVOIR[size]
    if size == "small":
        l1 = _buf(water, d["l1_land_m"])
        l2 = shapely.difference(_buf(l1, catchment_m), l1)
    else:
        l1_water = shapely.intersection(_buf(intake, d["l1_water_radius_m"]), water)
        if l1_water.is_empty:
            raise LayerSetError("the intake is not within reach of the water surface",
                                hint="place the intake on or inside the reservoir outline")
        l1 = shapely.union(l1_water, shapely.difference(_buf(l1_water, d["l1_land_m"]), water))
        l2_water = shapely.difference(water, l1)
        if d["l2_water_m"] is not None:
            l2_water = shapely.intersection(l2_water, _buf(l1_water, d["l2_water_m"]))
        l2_land = shapely.difference(_buf(shapely.union(l1, water), d["l2_land_m"]), water)
        l2 = shapely.difference(shapely.union(l2_water, l2_land), l1)
    quasi = shapely.difference(_buf(shapely.union(l1, l2), quasi_m), shapely.union(l1, l2))
    if size == "large":  # water beyond the L2 radius belongs to the quasi-zone
        quasi = shapely.union(quasi, shapely.difference(water, shapely.union(l1, l2)))
    return {"L1": l1, "L2": l2, "quasi": quasi}


def reservoir_zones(ctx, *, reservoirs: list, catchment_m: float = 2000.0, quasi_m: float = 1000.0,
                    clip: str = "land"):
    """Water-source zones of reservoirs from an outline, an intake and a size class.

    Each reservoir spec: ``name_zh``, ``name_en``, ``place`` and ``area_km2`` (a
    disc standing in for the outline when no outline source is given) or
    ``outline`` (source name), ``intake_offset_m`` [dx, dy] from the centre to the
    intake (moved onto the shore), and ``storage_m3`` or ``size``. Where the zones of
    two reservoirs overlap, the stricter level keeps the overlap.
    """
    per_source = []
    for spec in reservoirs:
        if "outline" in spec:
            water = shapely.union_all(ctx.source(spec["outline"]).geometry.values)
        else:
            water = circle_of_area(ctx.place(spec["place"]), spec["area_km2"] * 1e6)
        c = water.centroid
        dx, dy = spec.get("intake_offset_m", [0.0, 0.0])
        intake = shapely.Point(c.x + dx, c.y + dy)
        intake = water.boundary.interpolate(water.boundary.project(intake))
        size = spec.get("size") or size_class(spec["storage_m3"])
        per_source.append((spec, size, reservoir_levels(water, intake, size, catchment_m=catchment_m,
                                                        quasi_m=quasi_m)))
    # across sources the stricter level wins, so all zones are pairwise disjoint
    # and at one level the source listed first keeps the overlap
    stricter = shapely.Polygon()
    for level in ("L1", "L2", "quasi"):
        for _, _, levels in per_source:
            levels[level] = shapely.difference(levels[level], stricter)
            stricter = shapely.union(stricter, levels[level])
    rows = []
    for spec, size, levels in per_source:
        for level, geom in levels.items():
            geom = ctx.clip(geom, clip)
            if geom.is_empty:
                continue
            rows.append({"zone_class": level, "name_zh": f"{spec['name_zh']}{_ZH[level]}",
                         "name_en": f"{spec['name_en']} {_EN[level]}", "source_name_zh": spec["name_zh"],
                         "size_class": size, "method": "HJ 338-2018 default (generated, not official)",
                         "geometry": geom})
    return gpd.GeoDataFrame(rows, crs=ctx.measure_crs)


_ZH = {"L1": "一级保护区", "L2": "二级保护区", "quasi": "准保护区"}
_EN = {"L1": "first-level zone", "L2": "second-level zone", "quasi": "quasi-protection zone"}
