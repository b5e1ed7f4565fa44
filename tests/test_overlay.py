"""The overlay: one finding per site and zone met or near, whichever step answers it, and the near prefilter."""
from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point, box

from conftest import X0, Y0
from geo.errors import CoverageWarning
from geo.check.overlay import _near_boxes, overlay
from geo.check.relations import Relation
from geo.check.zones import zone_index
from geo.sites.read import normalize_sites


def _sites(geoms, **cols):
    return normalize_sites(gpd.GeoDataFrame({"name": [f"s{i}" for i in range(len(geoms))], **cols},
                                            geometry=list(geoms), crs=4550))


def test_one_finding_per_site_and_zone_sorted_met_before_near(tiny):
    rng = np.random.default_rng(5)
    x, y = X0 + rng.uniform(0, 10_000, 400), Y0 + rng.uniform(0, 10_000, 400)
    geoms = [Point(a, b) for a, b in zip(x, y)] + [box(a, b, a + 700, b + 400) for a, b in zip(x[:100], y[:100])]
    geoms += [LineString([(a, b), (a + 2_500, b + 900)]) for a, b in zip(x[:50], y[:50])]
    with pytest.warns(CoverageWarning, match="partly outside"):  # parcels and lines over the edge
        ov = overlay(_sites(geoms), tiny)
    pairs = list(zip(ov.site.tolist(), ov.zone.tolist()))
    assert pairs == sorted(set(pairs))  # sorted by site and zone, one entry each
    assert set(np.unique(ov.relation)) <= set(Relation)
    near = ov.relation == Relation.NEAR
    assert near.any() and (~near).any()
    assert (ov.distance[~near] == 0).all() and (ov.distance[near] > 0).all() and (ov.overlap[near] == 0).all()
    # zone C (near rule, 500 m): every site whose covered part lies within 500 m of it is found, met or near
    c = tiny.measured("zones").set_index("zone_class").geometry["c"]
    c_row = int(np.flatnonzero(zone_index(tiny).attrs["zone_class"].to_numpy() == "c")[0])
    found = set(ov.site[ov.zone == c_row].tolist())
    want = {i for i, g in enumerate(geoms) if g.intersection(tiny.coverage).distance(c) <= 500}
    assert found == want and len(want) > 20


def test_overlay_runs_alone_on_a_fresh_layer_set(tiny):
    """No earlier check is needed: the rule table and zone index are the layer set's declared caches."""
    fresh = dataclasses.replace(tiny)
    assert fresh._rule_table is None and fresh._zone_index is None
    ov = overlay(_sites([Point(X0 + 8_300, Y0 + 7_000)]), fresh)
    assert ov.relation.tolist() == [Relation.INSIDE, Relation.NEAR]  # the study area; 300 m from C
    assert fresh._rule_table is not None and fresh._zone_index is not None


def test_near_prefilter_never_misses_a_point_within_the_distance():
    """The raster test that spares far points a geometry flags every point within d of a box."""
    rng = np.random.default_rng(7)
    x0, y0 = rng.uniform(0, 50_000, 40), rng.uniform(0, 50_000, 40)
    boxes = np.column_stack([x0, y0, x0 + rng.uniform(0, 3_000, 40), y0 + rng.uniform(0, 3_000, 40)])
    boxes[0, 2:] = boxes[0, :2]  # a point-like box
    d = 1_000.0
    x, y = rng.uniform(-3_000, 60_000, 200_000), rng.uniform(-3_000, 60_000, 200_000)
    # and points at exactly d from a box's corner and edge
    x = np.concatenate([x, boxes[:, 2] + d, boxes[:, 0] - d * np.sqrt(0.5)])
    y = np.concatenate([y, boxes[:, 3], boxes[:, 1] - d * np.sqrt(0.5)])
    flagged = _near_boxes(boxes, d, x, y)
    dist = shapely.distance(shapely.points(x, y)[:, None], shapely.box(*boxes.T)[None, :]).min(axis=1)
    assert flagged[dist <= d].all()
    assert flagged.mean() < 0.8 and (~flagged).sum() > 10_000  # and it does spare the far ones


def test_network_rows_sit_after_their_corridor_in_order_and_carry_delta_pc(jinpu):
    """Random lines and parcels over Jinpu: (site, zone, relation) strictly sorted; cuts/along only on corridors,
    each after the site's own finding of that corridor; ΔPC exactly on the network layers' rows."""
    from geo.network.graph import network_of

    net = network_of(jinpu)
    corridors = net.links[net.links["kind"] == "corridor"].geometry
    rng = np.random.default_rng(3)
    centres = [shapely.point_on_surface(g) for g in corridors for _ in range(2)]
    geoms = []
    for c in centres:
        x, y = c.x + rng.normal() * 300, c.y + rng.normal() * 300
        geoms += [LineString([(x - 600, y - 400), (x + 600, y + 400)]), box(x - 250, y - 250, x + 250, y + 250)]
    sites = normalize_sites(gpd.GeoDataFrame({"name": [f"s{i}" for i in range(len(geoms))]}, geometry=geoms,
                                             crs=jinpu.measure_crs))
    ov = overlay(sites, jinpu)
    key = ov.site * 10**6 + ov.zone * 10 + ov.relation
    assert (np.diff(key) > 0).all()
    net_row = ov.relation >= Relation.CUTS
    assert net_row.sum() > 5
    layers = zone_index(jinpu).attrs["layer"].to_numpy()
    assert set(layers[ov.zone[net_row]]) == {"eco_corridors"}
    before = np.flatnonzero(net_row) - 1
    before = np.where(ov.relation[before] >= Relation.CUTS, before - 1, before)  # along after cuts
    assert (ov.site[before] == ov.site[net_row]).all() and (ov.zone[before] == ov.zone[net_row]).all()
    assert (ov.relation[before] < Relation.NEAR).all()
    on_net = np.isin(layers[ov.zone], ["eco_cores", "eco_sources", "eco_corridors"]) & (ov.relation != Relation.NEAR)
    assert np.isfinite(ov.delta_pc[on_net]).all() and np.isnan(ov.delta_pc[~on_net]).all()
    assert np.isfinite(ov.width_left[net_row]).all() and np.isnan(ov.width_left[~net_row]).all()


def test_near_boxes_of_a_layer_with_no_zone_here_marks_nothing():
    from geo.check.overlay import _near_boxes

    near = _near_boxes(np.zeros((0, 4)), 500.0, np.array([0.0, 1e6]), np.array([0.0, 1e6]))
    assert near.dtype == bool and not near.any() and len(near) == 2
