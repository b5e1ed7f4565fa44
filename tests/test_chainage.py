"""Chainage along a line: notation, intervals, and parts of one zone merged across its pieces."""
from __future__ import annotations

import numpy as np
from shapely.geometry import LineString, box

from geo.check.chainage import chainage, chainages, line_intervals


def test_chainage_format():
    assert chainage(1240.4) == "K1+240"
    assert chainage(0) == "K0+000"
    assert chainage(999.6) == "K1+000"


def test_intervals_in_order_along_the_line_whatever_the_direction_of_the_parts():
    line = LineString([(0, 0), (3_000, 0)])
    parts = LineString([(2_500, 0), (2_000, 0)]).union(LineString([(100, 0), (600, 0)]))
    assert line_intervals(line, parts) == "K0+100–K0+600; K2+000–K2+500"


def test_parts_in_two_pieces_of_one_zone_are_one_interval():
    line = LineString([(0, 0), (4_000, 0)])
    west, east, other = box(500, -10, 1_500, 10), box(1_500, -10, 2_500, 10), box(3_000, -10, 3_500, 10)
    met = np.array([line.intersection(west), line.intersection(east), line.intersection(other)], dtype=object)
    got = chainages(np.array([0, 0, 0]), np.array([7, 7, 9]), met, np.array([line] * 3, dtype=object))
    assert got == {(0, 7): "K0+500–K2+500", (0, 9): "K3+000–K3+500"}
