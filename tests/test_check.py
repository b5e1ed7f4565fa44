"""The siting check against brute force, its properties, and every Jinpu rule exercised."""
from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, box

from conftest import X0, Y0
from geo import check_sites, sites_from_inline
from geo.errors import CoverageWarning
from geo.check.relations import NETWORK
from geo.check.rules import SEVERITY, layerset_rules
from geo.network.graph import network_of
from geo.network.impact import site_impacts
from geo.sites.read import normalize_sites

HYP = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def make_sites(geoms, crs=4550, **cols):
    data = {"name": [f"s{i}" for i in range(len(geoms))]}
    data.update(cols)
    return normalize_sites(gpd.GeoDataFrame(data, geometry=list(geoms), crs=crs))


def brute_force(ls, geoms):
    """Every (site, zone) pair met, with overlap measured against whole zones, one pair at a time."""
    zones = []
    for spec in ls.manifest["layers"]:
        if spec.geometry == "polygon":
            zones.append(ls.measured(spec.id))
    zones = gpd.pd.concat(zones, ignore_index=True)
    out = {}
    for i, g in enumerate(geoms):
        if not g.intersects(ls.coverage):
            continue
        w = g if ls.coverage.covers(g) else g.intersection(ls.coverage)
        for zid, zg in zip(zones["zone_id"], zones.geometry):
            if w.intersects(zg):
                inter = w.intersection(zg)
                out[(str(i + 1), zid)] = inter.area if g.geom_type.endswith("Polygon") else inter.length
    return out


def random_geoms(rng, n, span=12_000):
    geoms = []
    for _ in range(n):
        x, y = X0 - 1_000 + rng.random() * span, Y0 - 1_000 + rng.random() * span
        k = rng.integers(3)
        if k == 0:
            geoms.append(Point(x, y))
        elif k == 1:
            geoms.append(LineString([(x, y), (x + rng.normal() * 3_000, y + rng.normal() * 3_000)]))
        else:
            geoms.append(Point(x, y).buffer(100 + rng.random() * 1_500, quad_segs=6))
    return geoms


def test_oracle_matches_brute_force(tiny):
    rng = np.random.default_rng(7)
    geoms = random_geoms(rng, 300)
    sites = make_sites(geoms)
    with pytest.warns(CoverageWarning):
        res = check_sites(sites, tiny)
    met = res.detail[res.detail["relation"] != "near"]
    got = {(s, z): (a if a == a else length) for s, z, a, length in
           zip(met["site_id"], met["zone_id"], met["overlap_area_m2"], met["overlap_length_m"])}
    want = brute_force(tiny, geoms)
    assert set(got) == set(want)
    for key, value in want.items():
        if sites.loc[int(key[0]) - 1, "kind"] != "point":
            assert got[key] == pytest.approx(value, rel=1e-4, abs=0.01), key


def test_subdivided_zone_gives_whole_zone_answers(tiny):
    # ZONE_C has 512 vertices and is cut into pieces; areas must still add up exactly
    c = tiny.measured("zones").set_index("zone_class").geometry["c"]
    parcel = box(X0 + 6_500, Y0 + 6_500, X0 + 8_200, Y0 + 7_300)
    res = check_sites(make_sites([parcel], project_type=["T03"]), tiny)
    row = res.detail[res.detail["zone_class"] == "c"].iloc[0]
    assert row["overlap_area_m2"] == pytest.approx(parcel.intersection(c).area, abs=0.01)
    assert row["relation"] == "overlaps"


def test_verdicts_and_relations(tiny):
    geoms = [
        Point(X0 + 2_000, Y0 + 2_000),                      # inside A
        box(X0 + 2_500, Y0 + 1_500, X0 + 3_500, Y0 + 2_500),  # straddles A and B
        box(X0 + 1_000 - 100, Y0 + 1_500, X0 + 1_000 + 0.5, Y0 + 1_501),  # a sliver (0.5 m², 0.5 %) in A: touches
        Point(X0 + 8_300, Y0 + 7_000),                      # 300 m from C
        Point(X0 + 9_800, Y0 + 200),                        # nothing met but the study area
        Point(X0 + 20_000, Y0 + 20_000),                    # outside the coverage
    ]
    res = check_sites(make_sites(geoms, project_type=["T03", "T03", "T01", "T01", "T03", "T03"]), tiny)
    assert list(res.sites["verdict"]) == ["prohibited", "prohibited", "caution", "prohibited", "allowed", "unknown"]
    d = res.detail.set_index(["site_id", "zone_id"])
    assert d.loc[("2", "zones-01"), "relation"] == "overlaps"
    assert d.loc[("2", "zones-01"), "overlap_share"] == pytest.approx(0.5)
    assert d.loc[("3", "zones-01"), "relation"] == "touches"
    assert d.loc[("3", "zones-01"), "verdict"] == "caution"
    assert d.loc[("4", "zones-03"), "relation"] == "near"
    assert d.loc[("4", "zones-03"), "distance_m"] == pytest.approx(300, abs=0.5)
    assert "测试条款七" in res.sites.loc[3, "citations"]
    assert "outside the coverage" in res.sites.loc[5, "reasons_en"]


def test_a_small_site_inside_is_inside_not_boundary_contact(tiny):
    """The contact tolerance (1 m², 1 m) is for slivers along a boundary, not for small sites."""
    x, y = X0 + 2_000, Y0 + 2_000  # deep in A (prohibited)
    geoms = [
        box(x, y, x + 0.5, y + 0.5),                               # 0.25 m² parcel wholly inside
        LineString([(x, y), (x + 0.5, y)]),                        # 0.5 m line wholly inside
        box(X0 + 1_000 - 0.1, Y0 + 1_500, X0 + 1_000 + 0.4, Y0 + 1_501),  # 0.5 m² parcel, 80 % in A
        box(X0 + 1_000 - 100, Y0 + 1_500, X0 + 1_000 + 0.5, Y0 + 1_501),  # 100 m² parcel, a 0.5 m² sliver in A
    ]
    res = check_sites(make_sites(geoms, project_type=["T03"] * 4), tiny)
    assert list(res.sites["verdict"]) == ["prohibited", "prohibited", "prohibited", "caution"]
    d = res.detail.set_index(["site_id", "zone_id"])
    assert [d.loc[(s, "zones-01"), "relation"] for s in "1234"] == ["inside", "inside", "overlaps", "touches"]


def test_specific_rules_and_nmp(tiny):
    inside_a = Point(X0 + 2_000, Y0 + 2_000)
    line_b = LineString([(X0 + 4_000, Y0 + 500), (X0 + 4_000, Y0 + 3_500)])
    sites = make_sites([inside_a, inside_a, inside_a, line_b, line_b],
                       project_type=["T12", "T05", "T05", "T05", "T05"],
                       nmp=["false", "false", "true", "false", "false"],
                       land_use=["occupy", "occupy", "occupy", "cross", "occupy"])
    res = check_sites(sites, tiny)
    assert list(res.sites["verdict"]) == ["allowed", "prohibited", "restricted", "allowed", "restricted"]
    line = res.detail[(res.detail["site_id"] == "5") & (res.detail["zone_id"] == "zones-02")].iloc[0]
    assert line["relation"] == "crosses"
    assert line["overlap_length_m"] == pytest.approx(2_000, abs=0.01)
    assert line["chainage"] == "K0+500–K2+500"


def test_no_type_takes_the_strictest(tiny):
    res = check_sites(make_sites([Point(X0 + 2_000, Y0 + 2_000), Point(X0 + 7_800, Y0 + 7_000)]), tiny)
    assert list(res.sites["verdict"]) == ["prohibited", "prohibited"]


def test_partial_coverage_warns_and_uses_covered_part(tiny):
    parcel = box(X0 - 500, Y0 + 1_500, X0 + 1_500, Y0 + 2_500)  # half outside, touching A
    with pytest.warns(CoverageWarning, match="partly outside"):
        res = check_sites(make_sites([parcel], project_type=["T03"]), tiny)
    assert res.sites.loc[0, "coverage"] == "partial"
    assert res.sites.loc[0, "verdict"] == "prohibited"


# -- properties ---------------------------------------------------------------------------------

coord = st.floats(min_value=0, max_value=10_000, allow_nan=False)
types = st.sampled_from(["T01", "T03", "T05", "T08", "T11", "T14"])


@HYP
@given(x=st.floats(1_010, 2_990), y=st.floats(1_010, 2_990), r=st.floats(0, 9), t=types)
def test_inside_prohibited_zone_is_never_allowed(tiny, x, y, r, t):
    g = Point(X0 + x, Y0 + y)
    g = g.buffer(r) if r > 1 else g
    res = check_sites(make_sites([g], project_type=[t]), tiny)
    assert res.sites.loc[0, "verdict"] == "prohibited"


@HYP
@given(x=coord, y=coord, r=st.floats(20, 800), grow=st.floats(1, 2_000), t=types)
def test_enlarging_a_site_never_lowers_its_verdict(tiny, x, y, r, grow, t):
    small = Point(X0 + x, Y0 + y).buffer(r, quad_segs=8)
    big = small.buffer(grow, quad_segs=8)
    area = box(X0 + 1, Y0 + 1, X0 + 9_999, Y0 + 9_999)  # inside the coverage (the property is about size)
    small, big = small.intersection(area), big.intersection(area)
    res = check_sites(make_sites([small, big], project_type=[t, t]), tiny)
    s0, s1 = (SEVERITY[v] for v in res.sites["verdict"])
    assert s1 >= s0


@HYP
@given(x=coord, y=coord, r=st.floats(50, 1_500), t=types)
def test_same_site_in_three_crs_gives_same_answer(tiny, x, y, r, t):
    g = Point(X0 + x, Y0 + y).buffer(r, quad_segs=8)
    ref = gpd.GeoSeries([g], crs=4550)
    results = []
    for crs in (4326, 4490, 4550):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CoverageWarning)  # sites may straddle the edge here
            res = check_sites(make_sites(list(ref.to_crs(crs)), crs=crs, project_type=[t]), tiny)
        d = res.detail.sort_values("zone_id")
        results.append((res.sites.loc[0, "verdict"], list(d["zone_id"]), d["overlap_area_m2"].to_numpy()))
    for verdict, zones, areas in results[1:]:
        assert verdict == results[0][0]
        assert zones == results[0][1]
        np.testing.assert_allclose(areas, results[0][2], rtol=1e-6, atol=0.01)


@HYP
@given(x=st.floats(11_000, 50_000), y=st.floats(-50_000, 50_000), t=types)
def test_outside_coverage_is_unknown(tiny, x, y, t):
    res = check_sites(make_sites([Point(X0 + x, Y0 + y).buffer(100)], project_type=[t]), tiny)
    assert res.sites.loc[0, "verdict"] == "unknown"


# -- Jinpu: every rule row is reachable and gives its verdict ------------------------------------

def _site_for(ls, table, rule, codes):
    """A site and its attributes for which ``rule`` is the applicable rule, or None."""
    zones = ls.measured(rule.layer)
    if rule.zone_class != "*":
        zones = zones[zones["zone_class"] == rule.zone_class]
    lu = rule.land_use if rule.land_use != "*" else "occupy"
    nmp = rule.nmp == "true"
    candidates = sorted(rule.types) if rule.types else list(codes) + [None]
    if rule.relation in NETWORK:
        return _network_site_for(ls, table, rule, zones, candidates, lu, nmp)
    for zone in zones.itertuples():
        relation = "in" if rule.relation == "in" else "near"
        for t in candidates:
            if t is None:
                res_rule = None  # handled by the engine: strictest over all types
            else:
                res_rule = table.applicable(rule.layer, zone.zone_class, t, relation, lu, nmp,
                                            distance_m=rule.distance_m / 2)
                if res_rule != rule:
                    continue
            if rule.relation == "in":
                return zone.geometry.point_on_surface(), zone.zone_id, t, lu, nmp
            b = zone.geometry.exterior if zone.geometry.geom_type == "Polygon" else max(
                zone.geometry.geoms, key=lambda p: p.area).exterior
            c = zone.geometry.centroid
            for frac in np.linspace(0.05, 0.95, 19):  # a point outside, half the rule distance away, in coverage
                p = b.interpolate(frac, normalized=True)
                v = np.array([p.x - c.x, p.y - c.y])
                geom = Point(np.array([p.x, p.y]) + v / np.linalg.norm(v) * rule.distance_m / 2)
                if 0 < zone.geometry.distance(geom) < rule.distance_m and ls.coverage.contains(geom):
                    return geom, zone.zone_id, t, lu, nmp
    return None


def _network_site_for(ls, table, rule, zones, candidates, lu, nmp):
    """A parcel that cuts (a disc 1.6 widths across) or runs along (5 widths) a corridor, for a cuts/along rule."""
    net = network_of(ls)
    for zone in zones.itertuples():
        types = [t for t in candidates if t is not None and table.applicable(
            rule.layer, zone.zone_class, t, rule.relation, lu, nmp) == rule]
        if not types:
            continue
        x0, y0, x1, y1 = zone.geometry.bounds
        across = [zone.geometry.intersection(LineString([(x0, y), (x1, y)])) for y in np.linspace(y0, y1, 9)[1:-1]]
        centres = [zone.geometry.point_on_surface()] + [part.centroid for a in across for part in getattr(a, "geoms", [a])
                                                        if a.length > 0]
        for c in centres:
            geom = c.buffer(zone.width_m * (0.8 if rule.relation == "cuts" else 2.5))
            rows, _ = site_impacts(net, [geom])
            if ((rows["zone_id"] == zone.zone_id) & (rows["relation"] == rule.relation)).any():
                return geom, zone.zone_id, types[0], lu, nmp
    return None


def test_every_jinpu_rule_is_exercised(jinpu):
    from geo.text import project_types

    table = layerset_rules(jinpu)
    codes = list(project_types())
    geoms, attrs, expect = [], [], []
    unreachable = []
    for rule in table.rules:
        found = _site_for(jinpu, table, rule, codes)
        if found is None:
            unreachable.append(rule.rule_id)
            continue
        geom, zone_id, t, lu, nmp = found
        geoms.append(geom)
        attrs.append((t, lu, "true" if nmp else "false"))
        expect.append((str(len(geoms)), zone_id, rule))
    sites = make_sites(geoms, project_type=[a[0] for a in attrs], land_use=[a[1] for a in attrs],
                       nmp=[a[2] for a in attrs])
    res = check_sites(sites, jinpu)
    d = res.detail
    wrong = []
    for site_id, zone_id, rule in expect:
        rows = d[(d["site_id"] == site_id) & (d["zone_id"] == zone_id)]
        rel = rows["relation"].astype(str)
        row = rows[rel == rule.relation].iloc[0] if rule.relation in NETWORK else rows[~rel.isin(NETWORK)].iloc[0]
        want = rule.verdict
        if row["rule_id"] != rule.rule_id or row["verdict"] != want:
            wrong.append(f"{rule.rule_id}: got {row['rule_id']} {row['verdict']}")
    assert not wrong, wrong
    assert not unreachable, f"rules no site can reach: {unreachable}"
    assert len(expect) == len(table.rules)


def test_inline_point_in_jinpu_water_source_is_prohibited(jinpu):
    l1 = jinpu.layer("water_source")
    pt = l1[l1["zone_class"] == "L1"].geometry.iloc[0].representative_point()
    res = check_sites(sites_from_inline([f"{pt.x},{pt.y}"], project_type="T03"), jinpu)
    assert res.sites.loc[0, "verdict"] == "prohibited"
    assert "水污染防治法" in res.sites.loc[0, "citations"]
