"""Reasons and citations: one text per distinct list of findings, each clause cited once."""
from __future__ import annotations

import geopandas as gpd
from shapely.geometry import LineString, Point

from conftest import X0, Y0
from geo import check_sites
from geo.check.reasons import citation_parts, reason_parts
from geo.check.relations import Relation
from geo.sites.read import normalize_sites, read_sites


def test_citations_split_into_clauses_shared_between_rules():
    words, parts = citation_parts(["法A第一条；法B第二条", "法B第二条; 法C第三条、第四条", "", "法A第一条"])
    assert words == ["法A第一条", "法B第二条", "法C第三条、第四条"]
    assert parts == [[0, 1], [1, 2], [], [0]]


def test_reason_parts_put_distance_and_chainage_between_head_and_tail():
    assert reason_parts(False, Relation.NEAR, "C", "prohibited", "none within 500 m", "X") == (
        "prohibited: ", " m from C — none within 500 m [X]")
    assert reason_parts(True, Relation.NEAR, "C区", "prohibited", "500米内禁止", "X") == ("禁止：距C区", "米——500米内禁止（X）")
    head, tail = reason_parts(False, Relation.TOUCHES, "A", "caution", "no construction", "X")
    assert head == "caution (verify): touches A" and tail == " — boundary contact, verify; no construction [X]"


def test_each_clause_is_cited_once_per_site(jinpu):
    """Rules citing several clauses ("A；B") share some: a site's list names each once."""
    res = check_sites(read_sites("layers/jinpu/demo_sites.csv"), jinpu)
    lists = [c.split("；") for c in res.sites["citations"] if c]
    assert all(len(items) == len(set(items)) for items in lists)
    assert any(items.count("环环评〔2021〕45号") == 1 and len(items) > 3 for items in lists)


def test_sites_with_the_same_findings_share_a_text_and_distances_and_chainages_are_their_own(tiny):
    a, near_c = Point(X0 + 2_000, Y0 + 2_000), Point(X0 + 8_300, Y0 + 7_000)
    road = LineString([(X0 + 4_000, Y0 + 500), (X0 + 4_000, Y0 + 3_500)])  # across B
    geoms = [a, near_c, a, Point(X0 + 2_100, Y0 + 2_100), Point(X0 + 8_400, Y0 + 7_000), road]
    sites = normalize_sites(gpd.GeoDataFrame({"name": list("abcdef"), "project_type": ["T03", "T01", "T03", "T03", "T01",
                                                                                       "T05"]},
                                             geometry=geoms, crs=4550))
    res = check_sites(sites, tiny).sites
    en = list(res["reasons_en"])
    assert en[0] == en[2] == en[3]  # the same finding: one text
    assert en[0] == "prohibited: inside A区 — no construction [测试条款一]"
    assert en[1] == "prohibited: 300 m from C区 — none within 500 m [测试条款七]"
    assert en[4] == "prohibited: 400 m from C区 — none within 500 m [测试条款七]"
    assert en[5] == "restricted (conditional): crosses B区 (K0+500–K2+500) — needs approval [测试条款四]"
    # texts made: the two fixed ones (nothing met, outside the coverage) and one per distinct list of findings
    assert len(res["reasons_en"].cat.categories) == 2 + 4
