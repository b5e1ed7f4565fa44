"""Sites in the measurement CRS: as GeoSeries.to_crs gives them, points built only when asked for."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString, Point, box

from geo.check.footprints import Footprints
from geo.check.reproject import to_crs

LON, LAT = 121.8, 39.1


def _sites(geoms, **cols):
    return gpd.GeoDataFrame({"name": [f"s{i}" for i in range(len(geoms))], **cols}, geometry=list(geoms), crs=4490)


def test_to_crs_gives_what_geopandas_gives():
    rng = np.random.default_rng(2)
    pts = [Point(LON + a, LAT + b) for a, b in rng.uniform(0, 0.1, (50, 2))]
    geoms = gpd.GeoSeries(pts + [LineString([(LON, LAT), (LON + 0.1, LAT + 0.05)]), box(LON, LAT, LON + 0.01, LAT + 0.01)],
                          crs=4490)
    for g in (geoms, geoms.iloc[:50]):  # mixed, and points only
        got = to_crs(g, "EPSG:4550")
        want = g.to_crs(4550).values
        assert shapely.equals_exact(got, np.asarray(want, dtype=object), tolerance=1e-6).all()
    same = to_crs(geoms, "EPSG:4490")  # no change of CRS: the same geometries
    assert all(a is b for a, b in zip(same, geoms.values))


def test_points_are_built_once_and_only_when_asked_for():
    sites = _sites([Point(LON, LAT), Point(LON + 0.01, LAT), LineString([(LON, LAT), (LON + 0.01, LAT)])])
    fp = Footprints(sites, "EPSG:4550")
    assert fp.bare.tolist() == [True, True, False] and fp.dim.tolist() == [0, 0, 1]
    assert fp._geoms[0] is None and fp._geoms[1] is None  # coordinates only
    first = fp.whole([0])[0]
    assert fp.whole([0])[0] is first and fp._geoms[1] is None
    want = gpd.GeoSeries([Point(LON, LAT)], crs=4490).to_crs(4550).iloc[0]
    assert first.equals_exact(want, 1e-6) and (fp.x[0], fp.y[0]) == (first.x, first.y)


def test_a_point_with_a_radius_is_its_disc_and_a_clipped_site_its_covered_part():
    sites = _sites([Point(LON, LAT), box(LON, LAT, LON + 0.01, LAT + 0.01)], radius_m=[100.0, 50.0],
                   kind=pd.array(["point", "parcel"], dtype="str"))
    fp = Footprints(sites, "EPSG:4550")
    assert fp.padded.tolist() == [True, False] and fp.dim.tolist() == [2, 2] and not fp.bare.any()
    assert abs(shapely.area(fp.whole([0])[0]) - np.pi * 100**2) < 100  # a 64-gon
    half = shapely.box(*shapely.bounds(fp.whole([1])[0])[:2], *shapely.centroid(fp.whole([1])[0]).coords[0])
    fp.clip(np.array([1]), np.array([half], dtype=object))
    assert fp.in_coverage([0, 1])[1] is half and fp.whole([1])[0] is not half
