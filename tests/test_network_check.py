"""Network findings in every check: cuts and along rows, ΔPC, the rules that key on them (Jinpu's corridors)."""
from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from shapely.ops import substring

from geo import check_sites
from geo.network.graph import network_of
from geo.sites.read import normalize_sites


def sites(ls, geoms, types, **cols):
    data = {"name": [f"s{i}" for i in range(len(geoms))], "project_type": types, **cols}
    return normalize_sites(gpd.GeoDataFrame(data, geometry=list(geoms), crs=ls.measure_crs))


def axis(ls, river="riv_daweijiahe", seqs=(2, 3)):
    """A river's axis between two of its gazetteer vertices (the corridor's centre line), measurement CRS."""
    places = pd.read_csv(ls.root / "data" / "places.csv")
    pts = places[places["id"].isin([f"{river}_{k}" for k in seqs])].sort_values("seq")
    t = pyproj.Transformer.from_crs(4490, ls.measure_crs, always_xy=True)
    return shapely.LineString(np.column_stack(t.transform(pts["lon"].to_numpy(), pts["lat"].to_numpy())))


def across(line, at=0.5, half=300.0):
    """A straight road crossing ``line`` at a fraction of its length, ``2·half`` long."""
    p, q = line.interpolate(at - 0.01, normalized=True), line.interpolate(at + 0.01, normalized=True)
    d = np.array([q.x - p.x, q.y - p.y])
    n = np.array([-d[1], d[0]]) / np.hypot(*d) * half
    c = line.interpolate(at, normalized=True)
    return shapely.LineString([(c.x - n[0], c.y - n[1]), (c.x + n[0], c.y + n[1])])


def corridor(net, name_zh):
    return net.links[net.links["name_zh"] == name_zh].iloc[0]


@pytest.fixture(scope="module")
def roads(jinpu):
    """Four T05 roads and one parcel: along 大魏家河 (3.3 km), across it (600 m), across 三十里河 between its two
    patches, far from every corridor and patch, and (no type) a parcel across 三十里河."""
    net = network_of(jinpu)
    dawei = axis(jinpu)
    sanshili = corridor(net, "三十里河生态廊道").geometry
    free = shapely.difference(sanshili, shapely.union_all(net.nodes.geometry.to_numpy()))
    mid = shapely.point_on_surface(free)
    cross_sanshili = shapely.LineString([(mid.x - 800, mid.y), (mid.x + 800, mid.y)])
    far = shapely.LineString([(dawei.coords[0][0], dawei.coords[0][1] - 3000),
                              (dawei.coords[0][0] + 500, dawei.coords[0][1] - 3000)])
    geoms = [substring(dawei, 100, 3400), across(dawei), cross_sanshili, far, mid.buffer(400)]
    res = check_sites(sites(jinpu, geoms, ["T05", "T05", "T05", "T05", None]), jinpu)
    return res, net


def rows_of(res, site_id):
    d = res.detail
    return d[d["site_id"] == site_id]


def test_a_road_along_the_daweijia_corridor_runs_along_it_and_is_prohibited(roads):
    res, _ = roads
    d = rows_of(res, "1")
    along = d[d["relation"] == "along"]
    assert list(along["zone_name_zh"]) == ["大魏家河生态廊道"]
    a = along.iloc[0]
    assert a["rule_id"] == "COR-PRI-ALONG" and a["verdict"] == "prohibited"
    assert a["overlap_length_m"] > 3000 and a["width_left_m"] == pytest.approx(199, abs=1)
    assert a["delta_pc"] >= 0 and np.isnan(a["overlap_share"])
    site = res.sites.iloc[0]
    assert site["verdict"] == "prohibited"
    assert "禁止：沿廊道纵向占用大魏家河生态廊道（K0+000–K3+300；廊道内 3300 米，剩余宽度 199 米，ΔPC " in site["reasons_zh"]
    assert "prohibited: runs along Daweijia River corridor (K0+000–K3+300; 3300 m inside, 199 m" in site["reasons_en"]


def test_a_road_across_the_same_corridor_stays_restricted(roads):
    res, _ = roads
    d = rows_of(res, "2")
    net_rows = d[d["relation"].isin(["cuts", "along"])]
    assert list(net_rows["relation"]) == ["cuts"]  # 600 m across a 200 m corridor: cut, not along
    cut = net_rows.iloc[0]
    assert cut["rule_id"] == "COR-PRI-CUTS-LINEAR" and cut["verdict"] == "restricted" and cut["width_left_m"] == 0
    assert res.sites.iloc[1]["verdict"] == "restricted"  # the 3.3 km road along it: prohibited (above)


def test_a_road_across_a_corridor_joining_two_patches_costs_pc(roads):
    res, _ = roads
    d = rows_of(res, "3")
    cut = d[(d["relation"] == "cuts") & (d["zone_name_zh"] == "三十里河生态廊道")]
    assert len(cut) == 1 and cut.iloc[0]["delta_pc"] > 1
    # the same ΔPC on the site's finding of the corridor itself; none on layers outside the network
    met = d[(d["zone_name_zh"] == "三十里河生态廊道") & (d["relation"] == "crosses")]
    assert met.iloc[0]["delta_pc"] == cut.iloc[0]["delta_pc"]
    outside = d[~d["layer"].isin(["eco_cores", "eco_sources", "eco_corridors"])]
    assert len(outside) and outside["delta_pc"].isna().all()
    assert f"ΔPC {cut.iloc[0]['delta_pc']:g}%" in res.sites.iloc[2]["reasons_zh"]


def test_a_site_away_from_the_network_has_no_network_finding(roads):
    res, net = roads
    d = rows_of(res, "4")
    far = res.sites.iloc[3]
    assert far["coverage"] == "full"
    assert not d["relation"].isin(["cuts", "along"]).any() and d["delta_pc"].isna().all()
    assert "ΔPC" not in far["reasons_zh"]


def test_with_no_type_a_parcel_cutting_a_corridor_gets_the_strictest(roads):
    res, _ = roads
    d = rows_of(res, "5")
    cut = d[(d["relation"] == "cuts") & (d["zone_name_zh"] == "三十里河生态廊道")].iloc[0]
    assert cut["rule_id"] == "COR-PRI-CUTS" and cut["verdict"] == "prohibited"


def test_findings_stay_sorted_and_the_network_rows_follow_their_corridor(roads):
    res, _ = roads
    d = res.detail
    s = d["_s"].to_numpy()
    assert (np.diff(s) >= 0).all()
    for site_id in ("1", "2", "3"):
        rows = rows_of(res, site_id).reset_index(drop=True)
        for k in rows.index[rows["relation"].isin(["cuts", "along"])]:
            assert rows.loc[k - 1, "zone_id"] == rows.loc[k, "zone_id"]  # right after the corridor's own finding


def test_a_set_without_a_network_gets_the_columns_and_no_findings(tiny):
    from conftest import X0, Y0

    road = shapely.LineString([(X0 + 500, Y0 + 2000), (X0 + 4500, Y0 + 2000)])
    res = check_sites(normalize_sites(gpd.GeoDataFrame({"name": ["r"], "project_type": ["T05"]}, geometry=[road],
                                                       crs=tiny.measure_crs)), tiny)
    d = res.detail
    assert {"delta_pc", "width_left_m"} <= set(d.columns)
    assert d["delta_pc"].isna().all() and not d["relation"].isin(["cuts", "along"]).any()


def test_points_in_a_patch_get_the_delta_pc_of_a_disc_and_never_cut(jinpu):
    from geo.network.impact import site_impacts

    net = network_of(jinpu)
    core = net.nodes.geometry.iloc[0]
    p = shapely.point_on_surface(core)
    res = check_sites(sites(jinpu, [p], ["T05"]), jinpu)
    d = res.detail
    _, delta = site_impacts(net, [p])  # the same point by geometry: the check's look-up agrees
    mine = d[d["layer"] == "eco_cores"]
    assert mine.iloc[0]["delta_pc"] == pytest.approx(round(delta[0], 4)) and delta[0] > 0
    assert not d["relation"].isin(["cuts", "along"]).any()


def test_the_report_shows_what_a_network_finding_measured(roads):
    from geo.report import render_report

    res, _ = roads
    html = render_report(res, lang="both", detail="all")
    assert re.search(r"沿廊道纵向占用（剩余宽度 19[89]\.\d m，ΔPC \d", html)
    assert re.search(r"runs along \(19[89]\.\d m wide left, ΔPC \d", html)
    assert "切断廊道（剩余宽度 0.0 m，ΔPC " in html
