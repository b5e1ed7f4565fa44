"""The Jinpu layer set builds, validates and matches the plan; manifests fail clearly."""
from __future__ import annotations

import pytest

from geo import read_layerset
from geo.errors import LayerSetError
from geo.layerset.manifest import REQUIRED_COLUMNS, read_manifest
from geo.layerset.summary import indicators, layer_summary

JINPU_LAYERS = ["study_area", "coastline", "coastal_strips", "eco_ridge", "eco_cores", "eco_belts", "eco_corridors",
                "eco_sources", "water_source", "nature_reserves", "red_line", "water_control_units",
                "air_control_units", "receptors"]


def test_jinpu_layer_ids_and_counts_match_the_plan(jinpu):
    assert jinpu.layer_ids == JINPU_LAYERS
    count = lambda lid, cls: int((jinpu.layer(lid)["zone_class"] == cls).sum())  # noqa: E731
    assert count("eco_corridors", "primary") == 18
    types = jinpu.layer("eco_corridors")["corridor_type"].value_counts()
    assert types["river"] == 11 and types["mountain"] == 7
    assert count("eco_cores", "core") == 2
    assert count("eco_belts", "belt") == 2
    assert count("eco_ridge", "ridge") == 1
    assert count("eco_sources", "source") == 6
    assert set(jinpu.layer("water_source")["source_name_zh"]) == {"卧龙水库", "鸽子塘水库", "石门子水库"}
    assert set(jinpu.layer("coastline")["zone_class"]) == {"strict", "restricted", "optimized"}


def test_every_feature_has_the_required_attributes(jinpu):
    ids = []
    for lid in jinpu.layer_ids:
        gdf = jinpu.layer(lid)
        for col in REQUIRED_COLUMNS:
            assert col in gdf.columns, (lid, col)
            assert gdf[col].notna().all() and (gdf[col].astype(str) != "").all(), (lid, col)
        assert gdf.crs.to_epsg() == 4490
        ids += list(gdf["zone_id"])
    assert len(ids) == len(set(ids))


def test_study_area_is_the_real_district(jinpu):
    area_km2 = jinpu.measured("study_area").geometry.area.sum() / 1e6
    assert 1900 < area_km2 < 2000  # 金州区 is about 1954 km²
    # GCJ-02 was removed: the Jinzhou railway station (WGS84, OSM) lies well inside
    from shapely.geometry import Point
    assert jinpu.layer("study_area").geometry.iloc[0].contains(Point(121.72, 39.0985))


def test_summary_and_indicators(jinpu):
    df = layer_summary(jinpu)
    assert set(df["layer"]) == set(JINPU_LAYERS)
    ind = {i["indicator"]: i for i in indicators(jinpu)}
    assert 0 < ind["red_line_share_of_land_pct"]["value"] < 100
    nat = ind["natural_shoreline_retention_pct"]
    assert 0 < nat["value"] < 100 and "20%" in nat["note"]
    coast = jinpu.measured("coastline")
    assert abs(coast.geometry.length.sum() / 1e3 - df[df.layer == "coastline"]["length_km"].sum()) < 0.05


def test_manifest_errors_are_one_line(tmp_path):
    with pytest.raises(LayerSetError, match="manifest.toml not found"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.toml").write_text('[layerset]\nname="x"\ntitle_zh="x"\ntitle_en="x"\nstorage_crs="EPSG:4490"\n'
                                            'measure_crs="EPSG:4326"\nstatus="illustrative"\n[[layers]]\n', encoding="utf-8")
    with pytest.raises(LayerSetError, match="not projected"):
        read_manifest(tmp_path)


def test_unknown_builder_is_a_clear_error(tmp_path):
    from conftest import make_tiny_layerset

    root = make_tiny_layerset(tmp_path / "t")
    text = (root / "manifest.toml").read_text(encoding="utf-8").replace('builder = "from_source"', 'builder = "nope"')
    (root / "manifest.toml").write_text(text, encoding="utf-8")
    with pytest.raises(LayerSetError, match="builder 'nope' unknown"):
        read_layerset(root)
    assert not (root / "build" / "tiny.gpkg").exists()


@pytest.mark.parametrize("params, fragment", [
    ('params = { source = "zones", class_field = "cls", name_zh_field = "name", name_en_field = "name", nope = 1 }',
     r"layer zones: bad parameters for from_source \(.*unexpected keyword argument 'nope'\); fix the layer's params"),
    ('params = { source = "zones", class_field = "cls", name_zh_field = "name", name_en_field = "name" }\n'
     'style = { weight = "heavy" }', r"layer zones: style weight must be a number"),
    ('params = { source = "zones", class_field = "类别", name_zh_field = "name", name_en_field = "name" }',
     r"layer zones: source 'zones' has no field '类别' \(class_field\); its fields: name, cls; check the field name; "
     r"garbled Chinese names mean a GBK file"),
    ('params = { source = "zones", class_field = "name", name_zh_field = "name", name_en_field = "name" }',
     r"layer zones: classes 'A区', 'B区', 'C区' are not declared \(declared: a, b, c\); .*map the source's values"),
])
def test_a_bad_layer_parameter_is_one_line_exit_2(runner, tmp_path, params, fragment):
    import re

    from conftest import make_tiny_layerset
    from geo.cli.main import cli

    root = make_tiny_layerset(tmp_path / "t")
    text = (root / "manifest.toml").read_text(encoding="utf-8").replace(
        'params = { source = "zones", class_field = "cls", name_zh_field = "name", name_en_field = "name" }', params)
    (root / "manifest.toml").write_text(text, encoding="utf-8")
    r = runner.invoke(cli, ["build", str(root)])
    assert r.exit_code == 2 and len(r.stderr.splitlines()) == 1 and re.search(fragment, r.stderr), r.stderr
    assert not (root / "build" / "tiny.gpkg").exists()


def test_a_refused_builder_value_is_a_layer_set_error():
    from shapely.geometry import LineString

    from geo.layerset.builders.shapes import corridor

    with pytest.raises(LayerSetError, match="corridor width must be positive, got 0; give width_m > 0"):
        corridor(LineString([(0, 0), (1, 0)]), 0)


def test_build_is_redone_when_sources_change(tmp_path):
    from conftest import make_tiny_layerset

    root = make_tiny_layerset(tmp_path / "t")
    first = read_layerset(root).meta["build_date"]
    ls = read_layerset(root)
    assert ls.meta["build_date"] == first  # not stale: not rebuilt
    (root / "rules.csv").write_text((root / "rules.csv").read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert read_layerset(root).meta["source_hash"] != ls.meta["source_hash"]


def test_a_build_names_every_feature_from_a_file_it_repairs_clips_or_drops(tmp_path):
    """Official layers are taken as they are: what the build changes is a warning with the features and areas."""
    import geopandas as gpd
    import pyogrio
    from shapely.geometry import Polygon, box

    from conftest import AREA, X0, Y0, ZONE_A, ZONE_B, ZONE_C, make_tiny_layerset
    from geo.errors import LayerSetWarning

    root = make_tiny_layerset(tmp_path / "t")
    bowtie = Polygon([(X0 + 6_000, Y0 + 1_000), (X0 + 8_000, Y0 + 3_000), (X0 + 8_000, Y0 + 1_000),
                      (X0 + 6_000, Y0 + 3_000)])
    across = box(X0 + 9_000, Y0 + 4_000, X0 + 11_000, Y0 + 5_000)   # half outside the 10 km study area
    outside = box(X0 + 12_000, Y0 + 1_000, X0 + 13_000, Y0 + 2_000)  # wholly outside
    zones = gpd.GeoDataFrame({"name": ["A区", "B区", "C区", "蝴蝶区", "跨界区", "界外区"], "cls": ["a", "b", "c", "b", "b", "b"]},
                             geometry=[ZONE_A, ZONE_B, ZONE_C, bowtie, across, outside], crs=4550).to_crs(4490)
    pyogrio.write_dataframe(zones, root / "data" / "zones.geojson", layer_options={"COORDINATE_PRECISION": 10})
    with pytest.warns(LayerSetWarning) as caught:
        ls = read_layerset(root)
    lines = [str(w.message) for w in caught]
    assert any(line.endswith("zones.geojson: 1 feature(s) with invalid geometry repaired (Self-intersection): feature(s) 4")
               for line in lines), lines
    assert any(line.startswith("layer zones: 1 feature(s) outside the coverage, dropped: 界外区 (1.000 km²)")
               for line in lines), lines
    assert any(line.startswith("layer zones: 1 feature(s) clipped to the coverage: 跨界区 (−1.000 km², 50.0 %)")
               for line in lines), lines
    assert len(ls.layer("zones")) == 5 and AREA.area == 1e8
