"""Official zone codes from the sources to every output; source encodings; rules keyed by a zone's code.

The layer set here is built like a bureau's files: the control units as a GBK
shapefile without ``.cpg`` in CGCS2000 Gauss-Krüger zone 41 with the zone prefix
(EPSG:4529), with the national field ``HJZHGKDYBM`` (unit code), ``ZHGKDYFL``
(1/2/3) and Chinese field names.
"""
from __future__ import annotations

import logging
import textwrap
import zipfile

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import Point, box

from conftest import AREA, TINY_MANIFEST, X0, Y0, ZONE_A, ZONE_B
from geo import check_sites, read_layerset
from geo.check.rules import layerset_rules, read_rules
from geo.errors import LayerSetError, RuleError
from geo.export import export_layers
from geo.layerset.build import BUILD_FORMAT, read_meta, write_meta
from geo.maps.labels import zone_popup
from geo.sites.read import normalize_sites
from readback import read_shapefile_zip
from test_verdicts import inside_mismatches, near_mismatches

U1, U2, U3 = "ZH21021310001", "ZH21021320001", "ZH21021320002"
ZONE_U3 = box(X0 + 6_000, Y0 + 1_000, X0 + 8_000, Y0 + 3_000)

MANIFEST = TINY_MANIFEST.split("[[layers]]\nid = \"zones\"")[0].replace(
    '[sources.zones]\nfile = "data/zones.geojson"\n', '[sources.units]\nfile = "data/环境管控单元.shp"\n{encoding}\n') + """
[[layers]]
id = "control_units"
title_zh = "环境管控单元"
title_en = "Environmental control units"
family = "control_units"
geometry = "polygon"
builder = "from_source"
clause = "三线一单"
provenance = { source = "hand-made", licence = "CC0", date = "2026-12-06", official = false }
[layers.params]
source = "units"
class_field = "ZHGKDYFL"
class_map = { "1" = "priority", "2" = "key", "3" = "general" }
name_zh_field = "单元名称"
code_field = "HJZHGKDYBM"
keep = ["区县"]
[layers.classes]
priority = { zh = "优先保护单元", en = "priority protection unit", control = "strict", color = "#1a9641" }
key = { zh = "重点管控单元", en = "key control unit", control = "restrictive", color = "#d7191c" }
general = { zh = "一般管控单元", en = "general control unit", control = "general", color = "#ffffbf" }
"""

RULES = """\
rule_id,layer,zone_class,types,relation,distance_m,land_use,nmp,verdict,condition_zh,condition_en,citation,judgement,zone_code
SA,study_area,*,*,in,,*,*,allowed,仅界定范围,extent only,测试范围,false,
PRI-ALL,control_units,priority,*,in,,*,*,restricted,按优先保护要求,priority protection,测试条款一,false,
KEY-ALL,control_units,key,*,in,,*,*,restricted,满足重点管控要求,meet the key-unit requirements,测试条款二,false,
KEY-U2-T03,control_units,key,T03,in,,*,*,prohibited,本单元禁止一般工业,no general industry here,清单第1条,false,ZH21021320001
PRI-NEAR,control_units,priority,T01,near,800,*,*,caution,800米内需论证,demonstrate within 800 m,测试条款三,true,
U1-NEAR,control_units,*,T01;T02,near,500,*,*,prohibited,500米内禁止,none within 500 m,测试条款四,true,ZH21021310001
"""


def write_units(folder):
    """The control units as a GBK shapefile without .cpg (EPSG:4529, GK zone 41 with prefix)."""
    names = ["金州优先保护单元", "金州重点管控单元一", "金州重点管控单元二"]
    units = gpd.GeoDataFrame({"HJZHGKDYBM": [U1, U2, U3], "单元名称": names, "ZHGKDYFL": [1, 2, 2], "区县": ["金州区"] * 3},
                             geometry=[ZONE_A, ZONE_B, ZONE_U3], crs=4550).to_crs(4529)
    pyogrio.write_dataframe(units, folder / "环境管控单元.shp", encoding="GBK")
    (folder / "环境管控单元.cpg").unlink()


def make_coded(root, encoding_line: str = ""):
    (root / "data").mkdir(parents=True, exist_ok=True)
    manifest = textwrap.dedent(MANIFEST).replace("{encoding}", encoding_line)
    (root / "manifest.toml").write_text(manifest, encoding="utf-8")
    (root / "rules.csv").write_text(RULES, encoding="utf-8")
    area = gpd.GeoDataFrame({"name": ["area"]}, geometry=[AREA], crs=4550).to_crs(4490)
    pyogrio.write_dataframe(area, root / "data" / "area.geojson", layer_options={"COORDINATE_PRECISION": 10})
    write_units(root / "data")
    return root


@pytest.fixture(scope="module")
def coded(tmp_path_factory):
    return read_layerset(make_coded(tmp_path_factory.mktemp("coded")))


def sites(*points, types):
    return normalize_sites(gpd.GeoDataFrame({"name": [f"s{i}" for i in range(len(points))], "project_type": types},
                                            geometry=list(points), crs=4550))


# --------------------------------------------------------------------------- sources and build

def test_the_test_file_is_garbled_without_detection(coded):
    """The shapefile really needs the detection: GDAL alone reads it as Latin-1."""
    plain = pyogrio.read_dataframe(coded.root / "data" / "环境管控单元.shp")
    assert "单元名称" not in plain.columns and not (coded.root / "data" / "环境管控单元.cpg").exists()


def test_gbk_shapefile_without_cpg_is_read_right(coded):
    units = coded.layer("control_units").sort_values("zone_code")
    assert units["zone_code"].tolist() == [U1, U2, U3]
    assert units["name_zh"].tolist() == ["金州优先保护单元", "金州重点管控单元一", "金州重点管控单元二"]
    assert units["zone_class"].tolist() == ["priority", "key", "key"]
    assert units["区县"].tolist() == ["金州区"] * 3
    # the zone-41 coordinates (with the 41 prefix) reach the right place
    measured = coded.measured("control_units").set_index("zone_code")
    assert measured.geometry[U2].symmetric_difference(ZONE_B).area < 1.0


@pytest.mark.parametrize("line", ['encoding = "gbk"', 'encoding = "GB18030"'])
def test_declared_encoding_is_used(tmp_path, caplog, line):
    root = make_coded(tmp_path / "declared", f"{line}\n")
    with caplog.at_level(logging.INFO, logger="geo.layerset.builders.context"):
        ls = read_layerset(root)
    assert "detected" not in caplog.text  # the declared encoding, not the guess
    assert set(ls.layer("control_units")["name_zh"]) == {"金州优先保护单元", "金州重点管控单元一", "金州重点管控单元二"}


def test_detection_is_logged(tmp_path, caplog):
    root = make_coded(tmp_path / "logged")
    with caplog.at_level(logging.INFO, logger="geo.layerset.builders.context"):
        read_layerset(root)
    assert "no .cpg; attribute text read as GBK (detected)" in caplog.text


@pytest.mark.parametrize("line, match", [
    ('encoding = "klingon"', "unknown encoding 'klingon'"),
    ('encoding = "utf-8"', "the text is not in utf-8"),
])
def test_a_wrong_encoding_is_one_clear_line(tmp_path, line, match):
    root = make_coded(tmp_path / "wrong", f"{line}\n")
    with pytest.raises(LayerSetError, match=match) as err:
        read_layerset(root)
    assert "\n" not in str(err.value) and "/" in str(err.value)  # Chinese / English


def test_every_built_feature_has_a_zone_code(coded, jinpu):
    assert coded.layer("study_area")["zone_code"].tolist() == [""]
    for lid in jinpu.layer_ids:
        frame = jinpu.layer(lid)
        assert list(frame.columns[:3]) == ["zone_id", "zone_code", "layer"], lid
        assert frame["zone_code"].map(type).eq(str).all(), lid
    assert jinpu.meta["build_format"] == str(BUILD_FORMAT)


def test_a_code_stored_as_a_number_loses_no_digits_and_gains_no_decimals(tmp_path):
    root = make_coded(tmp_path / "numeric")
    units = pyogrio.read_dataframe(root / "data" / "环境管控单元.shp", encoding="gbk")
    units["HJZHGKDYBM"] = [210213.0, 210214.0, 2102131000012.0]  # a code field the bureau typed as a real
    pyogrio.write_dataframe(units, root / "data" / "环境管控单元.shp", encoding="GBK")
    (root / "data" / "环境管控单元.cpg").unlink()
    (root / "rules.csv").write_text("\n".join(RULES.splitlines()[:4]) + "\n", encoding="utf-8")
    codes = read_layerset(root).layer("control_units")["zone_code"].tolist()
    assert sorted(codes) == ["210213", "2102131000012", "210214"]


def test_a_build_of_an_older_format_is_rebuilt(tmp_path):
    root = make_coded(tmp_path / "old")
    ls = read_layerset(root)
    gpkg = root / "build" / "tiny.gpkg"
    meta = dict(ls.meta)
    del meta["build_format"]  # what a build made before zone codes says of itself
    write_meta(gpkg, meta)
    assert read_meta(gpkg).get("build_format") is None
    units = pyogrio.read_dataframe(gpkg, layer="control_units").drop(columns="zone_code")
    pyogrio.write_dataframe(units, gpkg, layer="control_units")
    # as it is (never rebuilt): read, with blank codes rather than a failure
    old = read_layerset(root, rebuild="never")
    assert old.layer("control_units")["zone_code"].tolist() == ["", "", ""]
    # by default: seen as stale, rebuilt, codes back
    new = read_layerset(root)
    assert new.meta["build_format"] == str(BUILD_FORMAT)
    assert sorted(new.layer("control_units")["zone_code"]) == [U1, U2, U3]


# --------------------------------------------------------------------------- rules keyed by code

def test_a_unit_specific_ban_decides_only_its_unit(coded):
    inside_u2, inside_u3 = Point(X0 + 4_000, Y0 + 2_000), Point(X0 + 7_000, Y0 + 2_000)
    res = check_sites(sites(inside_u2, inside_u3, inside_u2, types=["T03", "T03", "T04"]), coded)
    assert res.sites["verdict"].tolist() == ["prohibited", "restricted", "restricted"]
    detail = res.detail
    units = detail[detail["layer"] == "control_units"]
    assert units["rule_id"].tolist() == ["KEY-U2-T03", "KEY-ALL", "KEY-ALL"]
    assert units["zone_code"].tolist() == [U2, U3, U2]
    assert list(detail.columns[2:4]) == ["zone_id", "zone_code"]
    # the site table names the unit with its code where it names the unit
    assert f"金州重点管控单元一（{U2}）" in res.sites["reasons_zh"].iloc[0]
    assert f"({U3})" in res.sites["reasons_en"].iloc[1]


def test_a_near_rule_keyed_by_code(coded):
    """U1-NEAR (500 m, T01) belongs to unit U1 only; the class rule PRI-NEAR (800 m) is weaker."""
    near_u1 = Point(X0 + 2_000, Y0 + 3_300)  # 300 m north of U1 (zone A), outside every unit
    res = check_sites(sites(near_u1, near_u1, types=["T01", "T03"]), coded)
    assert res.sites["verdict"].tolist() == ["prohibited", "allowed"]
    d = res.detail[res.detail["site_id"] == res.sites["site_id"].iloc[0]]
    assert d.loc[d["zone_code"] == U1, "rule_id"].tolist() == ["U1-NEAR"]


def test_the_lookup_matches_the_rule_table_with_codes(coded):
    assert not inside_mismatches(coded)
    assert not near_mismatches(coded)


def test_code_rules_are_most_specific_and_old_tables_still_load(tmp_path, coded):
    table = layerset_rules(coded)
    assert table.applicable("control_units", "key", "T03", "in", zone_code=U2).rule_id == "KEY-U2-T03"
    assert table.applicable("control_units", "key", "T03", "in", zone_code=U3).rule_id == "KEY-ALL"
    assert table.applicable("control_units", "key", "T03", "in").rule_id == "KEY-ALL"
    assert table.zone_requirement("control_units", "key", U2).rule_id == "KEY-ALL"  # the general row (all types)
    old = tmp_path / "old_rules.csv"
    old.write_text("\n".join(line.rsplit(",", 1)[0] for line in RULES.splitlines() if not line.endswith(U2)
                             and not line.endswith(U1)) + "\n", encoding="utf-8")
    assert "zone_code" not in old.read_text(encoding="utf-8")
    rules = read_rules(old, {"study_area": {"land"}, "control_units": {"priority", "key", "general"}})
    assert len(rules) == 4 and all(r.zone_code == "" for r in rules.rules) and not rules.codes


@pytest.mark.parametrize("edit, match", [
    ((U2, "ZH99999999999"), r"row 5, column zone_code: .*matches no zone of layer control_units"),
    (("KEY-U2-T03,control_units,key", "KEY-U2-T03,control_units,priority"),
     r"row 5, column zone_class: .*is of class key, not priority"),
])
def test_a_code_that_would_never_apply_is_refused(tmp_path, edit, match):
    root = make_coded(tmp_path / "badcode")
    text = RULES.splitlines()
    text[4] = text[4].replace(*edit)
    (root / "rules.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    ls = read_layerset(root)
    with pytest.raises(RuleError, match=match) as err:
        layerset_rules(ls)
    assert "\n" not in str(err.value)


# --------------------------------------------------------------------------- maps and exports

def test_popups_show_the_code_when_there_is_one(coded):
    spec = coded.specs["control_units"]
    rows = coded.layer("control_units").drop(columns="geometry").set_index("zone_code", drop=False)
    zh = zone_popup(rows.loc[U2].to_dict(), spec, spec.title_zh, None, "zh")
    en = zone_popup(rows.loc[U2].to_dict(), spec, spec.title_en, None, "en")
    assert f"<th>编码</th><td>{U2}</td>" in zh and f"<th>Code</th><td>{U2}</td>" in en
    area = coded.layer("study_area").drop(columns="geometry").iloc[0].to_dict()
    assert "编码" not in zone_popup(area, coded.specs["study_area"], "范围", None, "zh")


def test_the_map_carries_codes_in_its_data_block(coded):
    from geo.maps import build_map
    from test_maps import features, setup_config, texts

    config = setup_config(build_map(coded))
    found = {}
    for cls in ("priority", "key"):
        for f in features(config, f"control_units:{cls}"):
            t = texts(config, f)
            found[t["_n"].split(" · ")[0]] = t["_p"]
    assert set(found) == {f"金州优先保护单元 {U1}", f"金州重点管控单元一 {U2}", f"金州重点管控单元二 {U3}"}
    assert all("编码" in p for p in found.values())


def test_gpkg_and_shapefile_exports_carry_the_codes(coded, tmp_path):
    gpkg = export_layers(coded, "gpkg", tmp_path / "units.gpkg", layers=["control_units"])
    got = pyogrio.read_dataframe(gpkg if not isinstance(gpkg, list) else gpkg[0], layer="control_units")
    assert sorted(got["zone_code"]) == [U1, U2, U3]
    export_layers(coded, "shp", tmp_path / "shp", layers=["control_units"])
    with zipfile.ZipFile(tmp_path / "shp" / "control_units.zip") as zf:
        assert zf.read("control_units.cpg").decode() == "GBK"
    shp = read_shapefile_zip(tmp_path / "shp" / "control_units.zip")
    assert sorted(shp["zone_code"]) == [U1, U2, U3] and set(shp["区县"]) == {"金州区"}


def test_kml_descriptions_name_the_code(coded):
    from geo.export.kml import placemark_description

    row = coded.layer("control_units").drop(columns="geometry").iloc[1].to_dict()
    assert f"编码 Code：{row['zone_code']}" in placemark_description(row)
    area = coded.layer("study_area").drop(columns="geometry").iloc[0].to_dict()
    assert "编码" not in placemark_description(area)


def test_the_verdict_raster_honours_code_rules(coded, tmp_path):
    import rasterio

    out = tmp_path / "tif"
    export_layers(coded, "tif", out, layers=["control_units"], resolution_m=50, verdict_for="T03")
    with rasterio.open(out / "verdict_T03.tif") as r:
        data, t = r.read(1), r.transform

        def at(x, y):
            row, col = rasterio.transform.rowcol(t, X0 + x, Y0 + y)
            return int(data[row, col])

        assert at(4_000, 2_000) == 4  # U2: its own ban
        assert at(7_000, 2_000) == 3  # U3, same class: restricted

