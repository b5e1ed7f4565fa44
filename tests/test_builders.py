"""Each builder on small hand-made geometry with known answers."""
from __future__ import annotations

import math

import pytest
import shapely
from shapely.geometry import LineString, Point, box

from geo.layerset.builders.coast import coast_lines
from geo.layerset.builders.reserves import nested_zones
from geo.layerset.builders.shapes import QUAD_SEGS, circle_of_area, corridor
from geo.layerset.builders.water import reservoir_levels, size_class
from geo.check.zones import subdivide


def rounded_square_area(side, d, k=QUAD_SEGS):
    """Area of a square buffered by d with k segments per quarter circle (vertices on the arc)."""
    return side * side + 4 * side * d + 4 * k * 0.5 * d * d * math.sin(math.pi / (2 * k))


def test_small_reservoir_l1_is_the_square_buffered_by_the_land_distance():
    water = box(0, 0, 1000, 1000)
    z = reservoir_levels(water, Point(500, 0), "small", catchment_m=2000, quasi_m=1000)
    assert z["L1"].area == pytest.approx(rounded_square_area(1000, 200), abs=0.1)
    assert z["L1"].contains(water)


@pytest.mark.parametrize("size", ["small", "medium", "large"])
def test_reservoir_levels_are_disjoint_and_nested(size):
    water = Point(0, 0).buffer(2500)
    z = reservoir_levels(water, Point(0, -2500), size)
    assert z["L1"].intersection(z["L2"]).area < 1e-6
    assert z["L2"].intersection(z["quasi"]).area < 1e-6
    assert z["L1"].intersection(z["quasi"]).area < 1e-6
    inner = shapely.union(z["L1"], z["L2"])
    assert shapely.union(inner, z["quasi"]).contains(inner.buffer(999))


def test_medium_reservoir_l1_water_is_300_m_from_the_intake():
    water = box(-5000, -5000, 5000, 0)
    intake = Point(0, 0)
    z = reservoir_levels(water, intake, "medium")
    l1_water = z["L1"].intersection(water)
    # a half-disc of radius 300 m (polygonised), and 200 m of land beside it
    assert l1_water.area == pytest.approx(0.5 * 4 * QUAD_SEGS * 0.5 * 300 ** 2 * math.sin(math.pi / (2 * QUAD_SEGS)), rel=1e-6)
    assert z["L1"].difference(water).bounds[3] == pytest.approx(200, abs=1e-6)


def test_size_classes_follow_storage():
    assert size_class(5e6) == "small"
    assert size_class(5e7) == "medium"
    assert size_class(2e8) == "large"


def test_corridor_width_equals_its_parameter():
    line = LineString([(0, 0), (5000, 0)])
    c = corridor(line, 200)
    assert c.area / line.length == pytest.approx(200, abs=1)
    assert c.bounds[3] - c.bounds[1] == pytest.approx(200, abs=1e-9)


def test_circle_of_area_has_the_area():
    assert circle_of_area(Point(1, 2), 23.79e6).area == pytest.approx(23.79e6, rel=1e-9)


def test_nested_reserve_zones_partition_the_outline():
    outline = Point(0, 0).buffer(3000)
    z = nested_zones(outline, 600, 500)
    total = sum(g.area for g in z.values())
    assert total == pytest.approx(outline.area, rel=1e-9)
    assert z["buffer"].intersection(z["core"]).area < 1e-6
    assert z["experimental"].distance(z["core"]) == pytest.approx(500, abs=1)


def test_coastline_is_boundary_less_shared_borders_and_sums_up():
    land = box(0, 0, 10_000, 10_000)
    neighbour = box(-5_000, 0, 0, 10_000)  # shares the west edge
    lines = coast_lines(land, neighbour, shared_tolerance_m=100)
    total = sum(ln.length for ln in lines)
    # 3 open sides less the 100 m tolerance at each end of the shared edge
    assert total == pytest.approx(30_000 - 200, abs=1e-6)


def test_subdivide_keeps_area_and_bounds_vertices():
    g = Point(0, 0).buffer(1000, quad_segs=500)
    pieces = subdivide(g, 64)
    assert max(shapely.get_num_coordinates(p) for p in pieces) <= 64
    assert sum(p.area for p in pieces) == pytest.approx(g.area, rel=1e-9)
    assert shapely.union_all(pieces).symmetric_difference(g).area < 1e-3


# -- builders that work on a context: land, a neighbour and previously built layers ------------------

def _ctx(land, other=None):
    from pathlib import Path

    from geo.layerset.builders.context import BuildContext

    ctx = BuildContext(root=Path("."), sources={}, measure_crs="EPSG:4550")
    ctx._cache["_land"] = land
    ctx._cache["_other"] = other if other is not None else shapely.Polygon()
    return ctx


def _frame(rows):
    import geopandas as gpd

    return gpd.GeoDataFrame(rows, crs=4550)


def test_coastline_classes_partition_and_island_flag():
    from geo.layerset.builders.coast import coastline

    land = shapely.union(box(0, 0, 10_000, 10_000), box(20_000, 0, 21_000, 1_000))  # mainland + island
    ctx = _ctx(land, box(-5_000, 0, 0, 10_000))
    segs = coastline(ctx, classes=[{"zone_class": "strict", "islands": True, "name_zh": "严", "name_en": "S"}],
                     default_class="optimized", natural_classes=["strict"], chunk_m=250)
    assert segs.geometry.length.sum() == pytest.approx(29_800 + 4_000, abs=1e-6)
    island = segs[segs["island"]]
    assert set(island["zone_class"]) == {"strict"} and island.geometry.length.sum() == pytest.approx(4_000)
    assert set(segs.loc[~segs["island"], "zone_class"]) == {"optimized"}
    assert list(segs["natural"]) == list(segs["zone_class"] == "strict")


def test_coastal_strips_have_their_widths_and_stricter_wins():
    from geo.layerset.builders.coast import coastal_strips

    land = box(0, -5_000, 10_000, 0)  # sea to the north of y = 0
    ctx = _ctx(land)
    ctx.built["coastline"] = _frame([
        {"zone_id": "c-01", "zone_class": "optimized", "name_zh": "a", "name_en": "a", "natural": False,
         "geometry": LineString([(0, 0), (5_000, 0)])},
        {"zone_id": "c-02", "zone_class": "strict", "name_zh": "b", "name_en": "b", "natural": True,
         "geometry": LineString([(5_000, 0), (10_000, 0)])},
    ])
    strips = coastal_strips(ctx, landward_m=200, seaward_m=500, priority=["strict", "optimized"])
    s = strips.set_index("zone_class").geometry
    assert s["strict"].area == pytest.approx(5_000 * 700, rel=1e-9)
    assert s["optimized"].area == pytest.approx(5_000 * 700, rel=1e-9)
    assert s["strict"].intersection(s["optimized"]).area < 1e-6


def test_belts_split_at_the_divide():
    from geo.layerset.builders.coast import belts

    land = box(0, -5_000, 10_000, 0)
    ctx = _ctx(land)
    ctx.built["coastline"] = _frame([{"zone_id": "c-01", "zone_class": "x", "name_zh": "a", "name_en": "a",
                                      "geometry": LineString([(0, 0), (10_000, 0)])}])
    out = belts(ctx, belts=[{"name_zh": "西", "name_en": "W"}, {"name_zh": "东", "name_en": "E"}],
                divide_lonlat=[[-1, -9_000], [4_000, -9_000], [4_000, 9_000], [-1, 9_000], [-1, -9_000]],
                divide_crs="EPSG:4550", landward_m=1_000, seaward_m=3_000)
    assert list(out["coast_length_m"]) == [4_000, 6_000]
    assert out.geometry.iloc[0].area == pytest.approx(4_000 * 4_000, rel=1e-6)
    assert out.geometry.iloc[0].intersection(out.geometry.iloc[1]).area < 1e-6


def test_compose_splits_land_and_sea_and_contains_parts():
    from geo.layerset.builders.compose import compose

    land = box(0, 0, 10_000, 10_000)
    ctx = _ctx(land)
    ctx.built["a"] = _frame([{"zone_class": "core", "name_zh": "x", "name_en": "x",
                              "geometry": box(-2_000, 1_000, 2_000, 3_000)}])
    ctx.built["b"] = _frame([{"zone_class": "L1", "name_zh": "y", "name_en": "y", "geometry": box(5_000, 5_000, 6_000, 6_000)}])
    out = compose(ctx, parts=[{"layer": "a", "classes": ["core"]}, {"layer": "b"}],
                  land={"zone_class": "land", "name_zh": "陆", "name_en": "land"},
                  sea={"zone_class": "marine", "name_zh": "海", "name_en": "sea"})
    g = out.set_index("zone_class").geometry
    assert g["land"].area == pytest.approx(2_000 * 2_000 + 1_000 * 1_000)
    assert g["marine"].area == pytest.approx(2_000 * 2_000)


def test_control_units_partition_the_land():
    from geo.layerset.builders.compose import control_units

    land = box(0, 0, 10_000, 10_000)
    ctx = _ctx(land)
    ctx.built["ws"] = _frame([{"zone_class": "L1", "name_zh": "w", "name_en": "w", "geometry": box(0, 0, 2_000, 2_000)}])
    out = control_units(ctx, priority=[{"layer": "ws", "name_zh": "优", "name_en": "p"}],
                        key=[{"name_zh": "重", "name_en": "k", "shape": "layer", "layer": "ws", "buffer_m": 1_000}],
                        general={"name_zh": "一般", "name_en": "g"})
    assert sum(out.geometry.area) == pytest.approx(land.area, rel=1e-9)
    assert list(out["zone_class"]) == ["priority", "key", "general"]
    assert shapely.union_all(out.geometry.values).symmetric_difference(land).area < 1
