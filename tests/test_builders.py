"""Each builder on small hand-made geometry with known answers."""
from __future__ import annotations

import math

import pytest
import shapely
from shapely.geometry import LineString, Point, box

from geo.builders.coast import coast_lines
from geo.builders.reserves import nested_zones
from geo.builders.shapes import QUAD_SEGS, circle_of_area, corridor
from geo.builders.water import reservoir_levels, size_class
from geo.zones import subdivide


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
