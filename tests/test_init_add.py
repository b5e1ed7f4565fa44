"""``ecozone init`` and ``ecozone add``: folders that build at once, national schemas recognised, refusals in one line."""
from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pyogrio
import pytest

from geo.cli.main import cli
from geo.errors import LayerSetError
from geo.layerset.schemas import class_of, parse_class_map, recognise

OFFICIAL = Path(__file__).parent / "data" / "official"
pytestmark = pytest.mark.filterwarnings("ignore::geo.errors.SiteInputWarning")

#: file -> (layer, class field, value -> class, name field, code field)
EXPECTED = {
    "生态保护红线": ("red_line", "HXLX", {"陆域": "land", "海洋": "marine"}, "HXMC", "HXBM"),
    "饮用水水源保护区": ("water_source", "BHQJB", {"一级保护区": "L1", "二级保护区": "L2", "准保护区": "quasi"}, "BHQMC",
                 None),
    "自然保护地": ("nature_reserves", "GNFQ", {"核心区": "core", "缓冲区": "buffer", "实验区": "experimental",
                                        "自然公园": "park"}, "ZRBHDMC", "ZRBHDBM"),
    "岸线": ("coastline", "AXLX", {"严格保护岸线": "strict", "限制开发岸线": "restricted", "优化利用岸线": "optimized"},
           "AXMC", None),
    "环境管控单元": ("control_units", "ZHGKDYFL", {"1": "priority", "2": "key", "3": "general"}, "HJZHGKDYMC",
               "HJZHGKDYBM"),
}


def one_line_error(r, fragment):
    assert r.exit_code == 2, r.output
    assert len(r.stderr.splitlines()) == 1 and fragment in r.stderr, r.stderr


@pytest.fixture
def layerset(tmp_path, runner):
    root = tmp_path / "jz"
    r = runner.invoke(cli, ["init", str(root), "--name", "jz", "--boundary", str(OFFICIAL / "行政区.shp"),
                            "--sea-m", "10000", "--status", "illustrative"])
    assert r.exit_code == 0, r.output
    return root


def manifest(root) -> dict:
    return tomllib.loads((root / "manifest.toml").read_text(encoding="utf-8"))


def test_init_with_a_boundary_builds_and_validates_at_once(layerset, runner):
    m = manifest(layerset)
    assert m["layerset"]["measure_crs"] == "EPSG:4550"  # GK zone 41 (CM 123°E) from the boundary, without prefix
    assert [lay["id"] for lay in m["layers"]] == ["study_area"]
    assert m["sources"]["study_area"]["encoding"] == "gbk"
    assert (layerset / "data" / "行政区.dbf").is_file() and (layerset / "industries.csv").is_file()
    assert (layerset / "rules.csv").read_text(encoding="utf-8").startswith("rule_id,layer,")
    assert runner.invoke(cli, ["build", str(layerset)]).exit_code == 0
    r = runner.invoke(cli, ["validate", str(layerset)])
    assert r.exit_code == 0 and "0 error(s)" in r.output


def test_init_refuses_a_non_empty_folder_and_writes_nothing(tmp_path, runner):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    one_line_error(runner.invoke(cli, ["init", str(tmp_path / "x"), "--measure-crs", "4550"]), "not empty")
    assert [p.name for p in (tmp_path / "x").iterdir()] == ["keep.txt"]


def test_init_reads_the_boundary_layer_named_in_a_file_of_several(tmp_path, runner):
    import geopandas as gpd

    district = gpd.read_file(OFFICIAL / "行政区.shp")
    both = tmp_path / "both.gpkg"
    district.to_file(both, layer="towns")
    district.to_file(both, layer="district")
    r = runner.invoke(cli, ["init", str(tmp_path / "a"), "--boundary", str(both)])
    assert r.exit_code == 2 and len(r.stderr.splitlines()) == 1 and "--source-layer" in r.stderr, r.output
    assert not (tmp_path / "a").exists()
    r = runner.invoke(cli, ["init", str(tmp_path / "a"), "--boundary", str(both), "--source-layer", "district"])
    assert r.exit_code == 0, r.output
    m = manifest(tmp_path / "a")
    assert m["layerset"]["measure_crs"] == "EPSG:4550" and m["sources"]["study_area"]["layer"] == "district"


def test_init_without_boundary_needs_a_measure_crs(tmp_path, runner):
    one_line_error(runner.invoke(cli, ["init", str(tmp_path / "y")]), "--measure-crs auto needs --boundary")
    assert not (tmp_path / "y").exists()
    r = runner.invoke(cli, ["init", str(tmp_path / "y"), "--measure-crs", "4550"])
    assert r.exit_code == 0 and "ecozone add" in r.output
    assert manifest(tmp_path / "y")["layers"] == []


def test_build_without_a_boundary_says_to_add_one(tmp_path, runner):
    runner.invoke(cli, ["init", str(tmp_path / "y"), "--measure-crs", "4550"])
    one_line_error(runner.invoke(cli, ["build", str(tmp_path / "y")]), "--layer study_area")


@pytest.mark.parametrize("stem", list(EXPECTED))
def test_add_recognises_each_official_file(layerset, runner, stem):
    layer, class_field, classes, name, code = EXPECTED[stem]
    r = runner.invoke(cli, ["add", str(layerset), str(OFFICIAL / f"{stem}.shp")])
    assert r.exit_code == 0, r.output
    assert f"layer: {layer}" in r.output and "gbk" in r.output
    entry = next(lay for lay in manifest(layerset)["layers"] if lay["id"] == layer)
    params = entry["params"]
    assert params["class_field"] == class_field and params["class_map"] == classes
    assert params.get("name_zh_field") == name and params.get("code_field") == code
    assert (layerset / "data" / f"{stem}.shp").is_file()


def test_dry_run_writes_nothing(layerset, runner):
    before = (layerset / "manifest.toml").read_bytes()
    r = runner.invoke(cli, ["add", str(layerset), str(OFFICIAL / "自然保护地.shp"), "--dry-run"])
    assert r.exit_code == 0 and "核心区 → core (3)" in r.output
    assert (layerset / "manifest.toml").read_bytes() == before
    assert not (layerset / "data" / "自然保护地.shp").exists()


def test_a_value_without_class_is_one_line_naming_field_and_option(layerset, runner, tmp_path):
    one_line_error(runner.invoke(cli, ["add", str(layerset), str(OFFICIAL / "自然保护地.shp"),
                                       "--class-map", "核心区=nowhere"]), "--class-map")
    one_line_error(runner.invoke(cli, ["add", str(layerset), str(OFFICIAL / "自然保护地.shp"),
                                       "--class-map", "核心区"]), "is not value=class")
    one_line_error(runner.invoke(cli, ["add", str(layerset), str(OFFICIAL / "岸线.shp"), "--layer", "red_line"]),
                   "red_line takes polygons")


def test_class_map_and_fields_override_recognition(layerset, runner):
    r = runner.invoke(cli, ["add", str(layerset), str(OFFICIAL / "生态保护红线.shp"), "--class-map", "*=land",
                            "--keep", "HXLX"])
    assert r.exit_code == 0, r.output
    params = next(lay for lay in manifest(layerset)["layers"] if lay["id"] == "red_line")["params"]
    assert params["zone_class"] == "land" and "class_field" not in params and params["keep"] == ["HXLX"]


def test_gbk_without_cpg_comes_out_right_in_the_build(layerset, runner):
    assert not (OFFICIAL / "环境管控单元.cpg").exists()
    assert runner.invoke(cli, ["add", str(layerset), str(OFFICIAL / "环境管控单元.shp")]).exit_code == 0
    assert runner.invoke(cli, ["build", str(layerset)]).exit_code == 0
    built = pyogrio.read_dataframe(layerset / "build" / "jz.gpkg", layer="control_units")
    assert "金州区一般管控单元" in set(built["name_zh"])
    assert set(built["zone_code"]) >= {"ZH21021310001", "ZH21021330001"}
    assert set(built["AREA"]) == {"金州区"}


def test_red_line_declares_what_it_holds_when_both_are_present(layerset, runner):
    for stem in ("自然保护地", "生态保护红线", "饮用水水源保护区"):
        assert runner.invoke(cli, ["add", str(layerset), str(OFFICIAL / f"{stem}.shp")]).exit_code == 0
    m = manifest(layerset)
    assert [lay["id"] for lay in m["layers"]] == ["study_area", "red_line", "water_source", "nature_reserves"]
    red = next(lay for lay in m["layers"] if lay["id"] == "red_line")
    assert {c["layer"]: c["classes"] for c in red["contains"]} == {"nature_reserves": ["core", "buffer"],
                                                                    "water_source": ["L1"]}


def test_adding_again_replaces_the_layer_and_keeps_comments(layerset, runner, tmp_path):
    copy = tmp_path / "src"
    copy.mkdir()
    for p in OFFICIAL.glob("岸线.*"):
        shutil.copy(p, copy / p.name)
    for _ in range(2):
        assert runner.invoke(cli, ["add", str(layerset), str(copy / "岸线.shp")]).exit_code == 0
    text = (layerset / "manifest.toml").read_text(encoding="utf-8")
    assert text.count('id = "coastline"') == 1 and "# CGCS2000 geographic" in text


def test_recognition_tables():
    assert class_of("control_units", 1.0) == "priority" and class_of("control_units", "重点管控单元") == "key"
    assert class_of("water_source", "一级保护区") == "L1" and class_of("nature_reserves", "一般控制区") is None
    assert parse_class_map("一级保护区=L1；二级=L2") == {"一级保护区": "L1", "二级": "L2"}
    m = recognise("x.shp", {"SHJGKFQBM": ["YS1", "YS2"], "GKFL": ["优先保护区", "一般管控区"]})
    assert m.layer == "water_control_units" and m.code_field == "SHJGKFQBM" and m.class_map["优先保护区"] == "priority"
    with pytest.raises(LayerSetError, match="cannot tell which layer"):
        recognise("x.shp", {"NAME": ["a"]})
