"""What a site does to the ecological network: cuts, along, width left and ΔPC, on Jinpu's corridors."""
from __future__ import annotations

import numpy as np
import pyproj
import pytest
import shapely
from shapely.ops import substring

from geo.network.graph import build_network
from geo.network.impact import site_impacts


@pytest.fixture(scope="module")
def net(jinpu):
    return build_network(jinpu)


def river(jinpu, seqs=(2, 3)):
    """The Daweijia river axis between two of its vertices, in the measurement CRS."""
    import pandas as pd

    places = pd.read_csv(jinpu.root / "data" / "places.csv")
    pts = places[places["id"].isin([f"riv_daweijiahe_{k}" for k in seqs])].sort_values("seq")
    t = pyproj.Transformer.from_crs(4490, jinpu.measure_crs, always_xy=True)
    return shapely.LineString(np.column_stack(t.transform(pts["lon"].to_numpy(), pts["lat"].to_numpy())))


def dawei(net):
    return net.links.index[net.links["name_zh"] == "大魏家河生态廊道"][0]


def test_a_road_along_the_daweijia_corridor_is_along(jinpu, net):
    road = substring(river(jinpu), 100, 3400)
    assert road.length == pytest.approx(3300)
    rows, delta = site_impacts(net, [road])
    mine = rows[rows["link"] == dawei(net)]
    assert list(mine["relation"]) == ["along"]
    along = mine.iloc[0]
    assert along["length_inside_m"] > 3000 and along["width_left_m"] == pytest.approx(199, abs=1)
    assert not along["severed"] and delta[0] >= 0


def test_a_road_across_a_corridor_severs_it_and_lowers_pc(jinpu, net):
    axis = river(jinpu)
    mid = axis.interpolate(0.5, normalized=True)
    road = shapely.LineString([(mid.x - 5, mid.y - 300), (mid.x + 5, mid.y + 300)])
    rows, delta = site_impacts(net, [road])
    mine = rows[rows["link"] == dawei(net)]
    assert list(mine["relation"]) == ["cuts"]
    assert mine.iloc[0]["width_left_m"] == 0 and mine.iloc[0]["length_inside_m"] < 300
    assert delta[0] >= 0


def test_cutting_a_corridor_that_joins_two_patches_costs_pc(net):
    k = net.links.index[net.links["name_zh"] == "三十里河生态廊道"][0]
    corridor = net.links.geometry[k]
    nodes = net.nodes.geometry.to_numpy()
    free = shapely.difference(corridor, shapely.union_all(nodes))  # the part between the patches
    p = shapely.point_on_surface(free)
    cut = shapely.buffer(p, 400)  # a parcel wider than the 200 m corridor
    rows, delta = site_impacts(net, [cut])
    assert (rows["relation"] == "cuts").any() and delta[0] > 1  # the corridor that ranks first


def test_a_parcel_on_one_side_leaves_width(jinpu, net):
    axis = river(jinpu)
    mid = axis.interpolate(0.5, normalized=True)
    north = shapely.box(mid.x - 100, mid.y + 40, mid.x + 100, mid.y + 400)  # takes ~60 m of the 200 m width
    rows, delta = site_impacts(net, [north])
    assert rows.empty  # neither cut nor along
    assert delta[0] == pytest.approx(0, abs=1e-9)  # met the corridor: a finding of 0, not NaN


def test_a_site_away_from_the_network_has_no_network_finding(jinpu, net):
    axis = river(jinpu)
    far = shapely.Point(axis.coords[0][0], axis.coords[0][1] - 3000).buffer(50)
    assert not shapely.intersects(far, shapely.union_all(net.links.geometry.to_numpy()))
    rows, delta = site_impacts(net, [far])
    assert rows.empty and np.isnan(delta[0])


def test_delta_pc_by_the_quadratic_form_is_pc_recomputed(jinpu, net):
    """Parcels that sever nothing (in patches, across a patch edge, beside a corridor): ΔPC as the check works it
    out for all at once equals PC recomputed one site at a time with the areas each takes off the patches."""
    from geo.network.indices import pc

    g = net.graph()
    base = pc(g)
    own = net.own
    geoms = []
    for k in range(4):
        node = net.nodes.geometry.iloc[k]
        p = shapely.point_on_surface(node)
        geoms += [p.buffer(300), shapely.Point(node.exterior.coords[0]).buffer(500) if node.geom_type == "Polygon"
                  else p.buffer(50)]
    rows, delta = site_impacts(net, geoms)
    assert not rows["severed"].any()
    for s, site in enumerate(geoms):
        area = np.maximum(g.area - shapely.area(shapely.intersection(own, site)), 0.0)
        want = 100 * (base - pc(g.without(area=area))) / base
        assert delta[s] == pytest.approx(want, rel=1e-6, abs=1e-12) and delta[s] > 0


def test_a_point_is_a_disc_in_its_first_patch_only(net):
    from geo.network.impact import met_pairs, point_delta_pc

    core = net.nodes.geometry.iloc[0]  # a core, inside a source listed after it
    p = shapely.point_on_surface(core)
    assert sum(bool(shapely.contains(g, p)) for g in net.nodes.geometry) == 2  # counted once, in the core
    _, by_geometry = site_impacts(net, [p])
    by_lookup = point_delta_pc(net, 1, met_pairs(net, np.array([p], dtype=object)))
    disc = site_impacts(net, [p.buffer(0.5, quad_segs=64)])[1]  # the same disc as a parcel
    assert by_geometry[0] == pytest.approx(by_lookup[0]) == pytest.approx(disc[0], rel=1e-3)
    assert by_geometry[0] > 0
