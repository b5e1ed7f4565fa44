"""Web maps: the HTML that build_map/write_map produce (fast; the browser tests are in test_browser.py)."""
from __future__ import annotations

import json
import re
import tomllib

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point, box

from geo.errors import ExportError, LayerSetError, MapError, MapSizeWarning, SiteInputError
from geo.layerset.manifest import read_manifest
from geo.layerset.read import read_layerset
from geo.maps import build_map, read_map_sites, render_map, simplify_polygons, write_map
from geo.maps.assets import STATIC
from geo.maps.labels import zone_popup
from geo.layerset.manifest import map_layout
from geo.results import RESULT_FORMATS, write_results
from geo.text import VERDICTS

XSS = "<img src=x onerror=alert(1)>"


def checked_sites(crs=4490):
    """Checked sites as ``ecozone check`` gives them, made by hand (one named to run script)."""
    return gpd.GeoDataFrame({
        "site_id": ["S1", "S2", "S3", "S4"],
        "name": ["化工厂", XSS, "输水管线", "界外地块"],
        "project_type": ["T01", "T03", "T05", "T03"],
        "project_type_zh": ["“两高”重工业", "一般工业", "线性工程", "一般工业"],
        "kind": ["point", "point", "line", "parcel"],
        "verdict": ["prohibited", "restricted", "allowed", "unknown"],
        "verdict_zh": [VERDICTS[v]["zh"] for v in ["prohibited", "restricted", "allowed", "unknown"]],
        "reasons_zh": ["位于一级保护区内 " + XSS, "须审批", "未涉及限制性管控区域", "覆盖范围之外"],
        "reasons_en": ["inside a first-level zone", "needs approval", "no restrictive zone met", "outside"],
        "citations": ["水污染防治法第六十五条", "测试条款四", "", ""],
    }, geometry=[Point(121.93, 39.08), Point(121.80, 39.05), LineString([(121.85, 39.10), (121.90, 39.12)]),
                 box(122.6, 39.6, 122.61, 39.61)], crs=crs)


def setup_config(m) -> dict:
    (setup,) = [c for c in m._children.values() if getattr(c, "_name", "") == "EcozoneSetup"]
    return setup.config


def layer_labels(config) -> dict:
    return {g["label"]: [item["label"] for item in g["layers"]] for g in config["groups"]}


def texts(config, feature) -> dict:
    """The tooltip, popup and search texts of a feature (kept in the page's JSON block, not in the layer)."""
    return config["features"][feature["properties"]["_f"]]


def features(config, item_id):
    for g in config["groups"]:
        for item in g["layers"]:
            if item["id"] == item_id:
                return item["layer"].data["features"]
    raise KeyError(item_id)


@pytest.fixture(scope="module")
def jinpu_map(jinpu):
    return build_map(jinpu, checked_sites())


@pytest.fixture(scope="module")
def jinpu_html(jinpu_map):
    return render_map(jinpu_map)


def test_groups_follow_the_plan(jinpu_map):
    labels = layer_labels(setup_config(jinpu_map))
    assert list(labels)[:4] == ["核查项目", "生态保护红线", "生态安全格局（一脊两核两带十八廊）", "饮用水水源保护区"]
    assert labels["生态保护红线"] == ["陆域生态保护红线", "海洋生态保护红线"]
    assert labels["生态安全格局（一脊两核两带十八廊）"][:4] == [
        "一脊：中部山脊生态控制区", "两核：生态核心", "两带：生态海岸带", "十八廊：一级生态廊道"]
    assert labels["饮用水水源保护区"] == ["一级保护区", "二级保护区", "准保护区"]
    assert labels["岸线分类与管控带"][:3] == ["严格保护岸线", "限制开发岸线", "优化利用岸线"]
    assert labels["自然保护地"] == ["核心区", "缓冲区", "实验区", "自然公园"]
    assert labels["环境管控单元"] == ["水环境管控分区", "大气环境管控分区"]
    assert "敏感目标（城镇居住区）" in labels
    assert labels["核查项目"] == ["禁止 (1)", "限制（有条件） (1)", "允许 (1)", "未知（无数据覆盖） (1)"]


def test_english_labels(jinpu):
    labels = layer_labels(setup_config(build_map(jinpu, lang="en")))
    assert labels["Drinking-water source protection zones"] == ["First-level zone", "Second-level zone",
                                                                 "Quasi-protection zone"]
    assert "Environmental control units" in labels


def test_colours_come_from_the_manifest(jinpu, jinpu_map, jinpu_html):
    config = setup_config(jinpu_map)
    for cls in ("L1", "L2", "quasi"):
        colour = jinpu.specs["water_source"].color(cls)
        assert {f["properties"]["style"]["fillColor"] for f in features(config, f"water_source:{cls}")} == {colour}
        assert f"border-color:{colour}" in config["legendHtml"]
    for verdict in ("prohibited", "unknown"):
        (f,) = features(config, f"sites:{verdict}")
        assert f["properties"]["style"]["fillColor"] == VERDICTS[verdict]["color"]


def test_panes_keep_areas_under_lines_under_sites(jinpu_html):
    z = {name: int(v) for name, v in re.findall(r'createPane\(\s*"(ez-[\w-]+)"\);\s*\S+\.style\.zIndex = (\d+)',
                                                 jinpu_html)}
    assert max(z[p] for p in ("ez-red_line", "ez-water_source", "ez-study_area")) < z["ez-coastline"] < z["ez-sites"]
    assert z["ez-water_control_units"] < z["ez-water_source"]
    assert all(200 < v < 400 for v in z.values())  # above tiles, below Leaflet's overlay pane (measure tool)


def test_popups_give_name_class_requirement_citation_and_area(jinpu, jinpu_map):
    config = setup_config(jinpu_map)
    from geo.check.rules import layerset_rules

    req = layerset_rules(jinpu).zone_requirement("water_source", "L1")
    popup = texts(config, features(config, "water_source:L1")[0])["_p"]
    for text in ("卧龙水库一级保护区", "一级保护区", "管控要求", "依据", "面积", "公顷"):
        assert text in popup
    assert req.citation in popup and req.condition_zh[:10] in popup
    line = texts(config, features(config, "coastline:strict")[0])["_p"]
    assert "长度" in line and "千米" in line


def test_popup_falls_back_to_the_control_level_and_clause_without_a_rule(jinpu):
    row = jinpu.measured("water_source").drop(columns="geometry").iloc[0].to_dict()
    spec = jinpu.specs["water_source"]
    zh, en = zone_popup(row, spec, spec.title_zh, None, "zh"), zone_popup(row, spec, spec.title_en, None, "en")
    assert "严格管控" in zh and "HJ 338-2018" in zh and "规划条款" not in zh
    assert "strict control" in en and "ez-badge" not in en


def test_a_layer_set_without_rules_draws_its_clauses(tmp_path):
    from conftest import make_tiny_layerset

    root = make_tiny_layerset(tmp_path / "norules")
    (root / "rules.csv").unlink()
    config = setup_config(build_map(read_layerset(root)))
    popup = texts(config, features(config, "zones:a")[0])["_p"]
    assert "严格管控" in popup and "test clause" in popup


def test_site_popup_lists_verdict_reasons_and_citations(jinpu_map):
    config = setup_config(jinpu_map)
    (f,) = features(config, "sites:prohibited")
    popup = texts(config, f)["_p"]
    for text in ("化工厂", "禁止", "prohibited", "位于一级保护区内", "水污染防治法第六十五条", "T01"):
        assert text in popup


def test_text_from_data_is_escaped(jinpu_map, jinpu_html):
    config = setup_config(jinpu_map)
    (f,) = features(config, "sites:restricted")
    props = texts(config, f)
    assert XSS not in props["_p"] and XSS not in props["_t"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in props["_p"]
    assert props["_n"].startswith(XSS)  # search text is set with textContent, never as HTML
    assert "<img src=x" not in jinpu_html
    # the raw name survives only as JSON-escaped search text
    assert jinpu_html.count("\\u003cimg src=x") == jinpu_html.count('"_n":"\\u003cimg src=x') == 1
    assert "onerror=alert" not in config["legendHtml"] + config["titleHtml"]


def test_manifest_text_is_escaped_too(tiny, monkeypatch):
    spec = tiny.specs["zones"]
    monkeypatch.setitem(spec.classes, "a", dict(spec.classes["a"], zh="<b onmouseover=x>禁建区</b>"))
    config = setup_config(build_map(tiny))
    assert "<b onmouseover" not in json.dumps(config["groups"], default=str) + config["legendHtml"]
    assert "&lt;b onmouseover=x&gt;禁建区&lt;/b&gt;" in config["legendHtml"]


def test_scripts_and_styles_are_inlined(jinpu_html):
    assert "<script src=" not in jinpu_html and "<link " not in jinpu_html
    assert "code.jquery.com" not in jinpu_html and "bootstrap" not in jinpu_html
    css = "".join(re.findall(r"<style>(.*?)</style>", jinpu_html, flags=re.S))
    urls = re.findall(r"url\(([^)]*)\)", css)
    assert len(urls) > 10 and all(u.startswith(("data:", "#")) for u in urls)
    assert 'lang="zh-CN"' in jinpu_html and "<title>大连市金普新区" in jinpu_html
    assert "tile.openstreetmap.org" in jinpu_html


def test_cdn_links_the_vendored_versions(tiny):
    html = render_map(build_map(tiny, inline=False))
    cfg = tomllib.loads((STATIC / "assets.toml").read_text(encoding="utf-8"))
    for pkg in cfg["package"]:
        for rel in pkg["js"]:
            assert f'<script src="{cfg["cdn"]}/{pkg["name"]}@{pkg["version"]}/{rel}"></script>' in html
    assert "ecozoneSetup" in html  # ecozone's own script is always inlined
    assert len(html) < 300_000


def test_offline_map_has_no_basemap(tiny):
    m = build_map(tiny, offline=True)
    config = setup_config(m)
    assert config["base"] == [] and "outline" in config["minimap"]
    html = render_map(m)
    assert "tile.openstreetmap.org" not in html and "tianditu" not in html and "autonavi" not in html
    with pytest.raises(MapError, match="inlined"):
        build_map(tiny, offline=True, inline=False)


def test_tianditu_needs_a_key(tiny):
    with pytest.raises(MapError, match="Tianditu basemap needs a key"):
        build_map(tiny, basemap="tianditu")
    assert "tianditu" not in render_map(build_map(tiny))  # not offered without a key
    config = setup_config(build_map(tiny, basemap="tianditu", tianditu_key="k&y 1"))
    assert [b["id"] for b in config["base"]] == ["tdt_vec", "tdt_img", "osm", "none"]
    assert config["base"][0]["tiles"][0]["url"].endswith("tk=k%26y%201")
    assert len(config["base"][0]["tiles"]) == 2  # map plus annotation


def test_gaode_shifts_overlays_to_gcj02(tiny):
    def first_coord(m):
        geom = features(setup_config(m), "zones:a")[0]["geometry"]
        return np.array(geom["coordinates"][0][0][0] if geom["type"] == "MultiPolygon" else geom["coordinates"][0][0])

    plain, shifted = first_coord(build_map(tiny)), first_coord(build_map(tiny, basemap="gaode"))
    dlon, dlat = shifted - plain
    assert 0.003 < dlon < 0.008 and 0.0005 < abs(dlat) < 0.004  # GCJ-02 offset near Dalian: hundreds of metres
    config = setup_config(build_map(tiny, basemap="gaode"))
    assert "GCJ-02" in config["base"][0]["tiles"][0]["options"]["attribution"]
    assert "GCJ-02" in config["text"]["coords"] and "GCJ-02" in config["legendHtml"]


def test_sites_with_an_unknown_verdict(tiny):
    with pytest.raises(MapError, match="unknown verdict 'forbidden'"):
        build_map(tiny, checked_sites().assign(verdict="forbidden"))


def test_unknown_basemap_or_language(tiny):
    with pytest.raises(MapError, match="basemap"):
        build_map(tiny, basemap="bing")
    with pytest.raises(MapError, match="language"):
        build_map(tiny, lang="fr")


def test_coordinates_have_at_most_six_decimals(jinpu_map):
    config = setup_config(jinpu_map)
    coords = shapely.get_coordinates(shapely.from_geojson(json.dumps(
        {"type": "FeatureCollection", "features": features(config, "water_source:L2")})))
    assert np.allclose(coords, np.round(coords, 6), rtol=0, atol=1e-12)


def test_adjacent_zones_keep_shared_edges(jinpu):
    for layer in ("water_control_units", "water_source", "coastal_strips"):
        original = np.array([shapely.make_valid(g) for g in jinpu.measured(layer).geometry.values])
        original = np.array([shapely.unary_union([p for p in shapely.get_parts(g) if p.area > 0]) for g in original])
        simple = simplify_polygons(original, 5.0)
        assert shapely.get_num_coordinates(simple).sum() < shapely.get_num_coordinates(original).sum()
        assert shapely.coverage_is_valid(simple)  # shared edges identical: no overlaps
        left, right = shapely.STRtree(simple).query(simple, predicate="intersects")
        keep = left < right
        assert shapely.area(shapely.intersection(simple[left[keep]], simple[right[keep]])).sum() < 1.0
        gap = abs(shapely.union_all(simple).area - shapely.union_all(original).area)
        assert gap < 1e-4 * shapely.union_all(original).area


def test_tiny_neighbours_share_their_edge(tiny):
    zones = tiny.measured("zones").geometry.values
    a, b = simplify_polygons(np.array([zones[0], zones[1]], dtype=object), 10.0)
    assert a.intersection(b).area < 1e-6 and a.intersection(b).length > 1_999


def test_same_inputs_same_html(tiny):
    assert render_map(build_map(tiny, checked_sites())) == render_map(build_map(tiny, checked_sites()))


def test_write_map_is_atomic_and_warns_over_budget(tiny, tmp_path):
    out = tmp_path / "maps" / "tiny.html"
    with pytest.warns(MapSizeWarning, match=r"MB, above its 0\.00 MB budget"):
        write_map(tiny, out, size_budget_bytes=1_000)
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in out.parent.iterdir()] == ["tiny.html"]
    with pytest.raises(ExportError, match="output exists"):
        write_map(tiny, out, overwrite=False)


def test_demo_map(jinpu, tmp_path):
    """What make demo draws: the Jinpu set with its demo sites, checked on the fly, within 3 MB."""
    demo = read_map_sites("layers/jinpu/demo_sites.csv", jinpu)
    out = write_map(jinpu, tmp_path / "jinpu.html", demo)
    assert out.stat().st_size < 3_000_000
    html = out.read_text(encoding="utf-8")
    assert html.count('"_n":') == len(demo) + sum(len(jinpu.layer(i)) for i in jinpu.layer_ids)
    assert html.count('"_f":') == html.count('"_n":')  # every feature finds its texts


def test_sites_checked_on_the_fly(tiny):
    from geo import sites_from_inline

    sites = sites_from_inline(points=["121.14,39.13"], project_type="T03")
    config = setup_config(build_map(tiny, sites))
    assert config["groups"][0]["label"] == "核查项目"


def test_read_map_sites_detects_checked_results(tiny, tmp_path):
    path = tmp_path / "checked.geojson"
    checked_sites().to_crs(4326).to_file(path)
    got = read_map_sites(path, tiny, project_type="T03")
    assert list(got["verdict"]) == ["prohibited", "restricted", "allowed", "unknown"]
    assert got["name"][1] == XSS
    table = checked_sites().drop(columns="geometry").assign(lon=121.9, lat=39.1)
    table.to_csv(tmp_path / "checked.csv", index=False, encoding="utf-8-sig")
    assert len(read_map_sites(tmp_path / "checked.csv", tiny)) == 4
    table.assign(verdict="forbidden").to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(SiteInputError, match="unknown verdict 'forbidden'"):
        read_map_sites(tmp_path / "bad.csv", tiny)
    with pytest.raises(SiteInputError, match="file not found"):
        read_map_sites(tmp_path / "none.csv", tiny)


def test_read_map_sites_checks_plain_sites(tiny, tmp_path):
    import pyproj

    from conftest import X0, Y0

    inside_a = pyproj.Transformer.from_crs(4550, 4326, always_xy=True).transform(X0 + 2_000, Y0 + 2_000)
    outside = pyproj.Transformer.from_crs(4550, 4326, always_xy=True).transform(X0 + 20_000, Y0 + 20_000)
    path = tmp_path / "sites.csv"
    path.write_text("site_id,name,lon,lat\n" + "".join(f"P{i},项目{i},{x:.7f},{y:.7f}\n"
                                                       for i, (x, y) in enumerate((inside_a, outside), 1)),
                    encoding="utf-8")
    got = read_map_sites(path, tiny, project_type="T03")  # checked now: in the no-build zone, outside the set
    assert list(got["verdict"]) == ["prohibited", "unknown"] and set(got["project_type"]) == {"T03"}


def test_cli_map(runner, tiny, tmp_path):
    from geo.cli.main import cli

    sites = tmp_path / "checked.geojson"
    checked_sites().to_crs(4326).to_file(sites)
    out = tmp_path / "m.html"
    res = runner.invoke(cli, ["map", str(tiny.root), "--sites", str(sites), "--lang", "en", "--offline",
                              "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "4 sites" in res.output and out.exists()
    res = runner.invoke(cli, ["map", str(tiny.root), "--basemap", "tianditu", "-o", str(out)], env={"TIANDITU_KEY": ""})
    assert res.exit_code == 2 and res.output.strip().splitlines()[-1].startswith("ecozone: error: the Tianditu")
    res = runner.invoke(cli, ["map", str(tiny.root), "--basemap", "tianditu", "-o", str(out)],
                        env={"TIANDITU_KEY": "abc"})
    assert res.exit_code == 2 and "give --overwrite" in res.output  # the map of the first call stays
    res = runner.invoke(cli, ["map", str(tiny.root), "--basemap", "tianditu", "-o", str(out), "--overwrite"],
                        env={"TIANDITU_KEY": "abc"})
    assert res.exit_code == 0 and "tk=abc" in out.read_text(encoding="utf-8")
    res = runner.invoke(cli, ["map", str(tiny.root), "--cdn", "--offline", "-o", str(tmp_path / "new.html")])
    assert res.exit_code == 2 and "drop --cdn" in res.output


@pytest.mark.parametrize("ext", RESULT_FORMATS)
def test_read_map_sites_reads_back_every_results_format(tiny, tmp_path, ext):
    from geo import check_sites, sites_from_inline

    result = check_sites(sites_from_inline(points=["121.14,39.13", "121.5,39.5"], project_type="T03"), tiny)
    out = write_results(result, tmp_path / f"r{ext}")
    got = read_map_sites(out, tiny, project_type="T01")  # results: the type is not used
    assert list(got["verdict"]) == list(result.sites["verdict"].astype(str))
    assert list(got["site_id"].astype(str)) == list(result.sites["site_id"].astype(str))
    assert np.allclose(got.to_crs(4326).geometry.x, result.sites.to_crs(4326).geometry.x, atol=1e-6)


# --------------------------------------------------------------------------- the manifest's [map] table

def tiny_manifest(tmp_path, map_table: str) -> dict:
    """The tiny layer set's manifest with a ``[map]`` table (written first: the next header ends it)."""
    from conftest import make_tiny_layerset

    root = make_tiny_layerset(tmp_path / "t")
    path = root / "manifest.toml"
    path.write_text(map_table + "\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    return read_manifest(root)


def test_without_a_map_table_the_map_follows_the_manifest(tiny):
    layout = map_layout(tiny.manifest)
    assert layout.group_order == layout.draw_order == () and not layout.hidden_groups
    config = setup_config(build_map(tiny))
    assert [g["label"] for g in config["groups"]] == ["范围", "管控区"]  # manifest order
    assert all(item["layer"].show for g in config["groups"] for item in g["layers"])


def test_the_map_table_orders_hides_and_titles_groups(tmp_path):
    manifest = tiny_manifest(tmp_path, 'map = { group_order = ["test"], draw_order = ["test", "base"], '
                                       'hidden_groups = ["base"], group_titles = { test = { zh = "测试组", '
                                       'en = "Test group" } } }\n')
    ls = read_layerset(manifest["_root"])
    m = build_map(ls)
    config = setup_config(m)
    assert [g["label"] for g in config["groups"]] == ["测试组", "范围"]
    assert [item["layer"].show for g in config["groups"] for item in g["layers"]] == [True, True, True, False]
    html = render_map(m)
    z = dict(re.findall(r'createPane\(\s*"(ez-[\w-]+)"\);\s*\S+\.style\.zIndex = (\d+)', html))
    assert int(z["ez-zones"]) < int(z["ez-study_area"])  # drawn first: below
    en = setup_config(build_map(ls, lang="en"))
    assert en["groups"][0]["label"] == "Test group"


@pytest.mark.parametrize("table, message", [
    ('[map]\ngroup_order = ["test", "roads"]\n', r"\[map\] group_order: unknown group 'roads'; use one of base, test"),
    ('[map]\nhidden_groups = ["nope"]\n', r"\[map\] hidden_groups: unknown group 'nope'"),
    ('[map]\ndraw_order = "base"\n', r"\[map\] draw_order is not a list of group ids"),
    ('[map]\ngroup_order = ["base"]\nshow = ["base"]\n', r"\[map\]: unknown key 'show'"),
    ('[map.group_titles]\nroads = { zh = "道路", en = "Roads" }\n', r"group_titles: unknown group 'roads'"),
    ('[map.group_titles]\ntest = { zh = "测试组" }\n', r"group_titles.test has no zh and en title"),
    ('map = "base"\n', r"\[map\] is not a table"),
])
def test_a_wrong_map_table_is_one_line(tmp_path, table, message):
    with pytest.raises(LayerSetError, match=message) as err:  # found on reading the manifest (build, validate, map)
        tiny_manifest(tmp_path, table)
    assert "\n" not in str(err.value) and str(err.value).startswith(str(tmp_path / "t" / "manifest.toml"))
