"""Validating a layer set: the Jinpu set is clean, a broken one is named finding by finding."""
from __future__ import annotations

from conftest import make_tiny_layerset
from geo import read_layerset, validate_layerset


def test_jinpu_validates_clean(jinpu):
    findings = validate_layerset(jinpu)
    errors = [f for f in findings if f.severity == "error"]
    assert not errors, errors
    checks = {f.check for f in findings}
    assert {"count", "partition", "nested", "disjoint", "contains", "rules", "overlap", "gap"} <= checks
    units = {(f.layer, f.check) for f in findings if f.severity == "ok" and f.check in ("overlap", "gap")}
    assert units == {(lid, c) for lid in ("water_control_units", "air_control_units") for c in ("overlap", "gap")}


def test_a_declared_count_that_does_not_hold_is_an_error(tmp_path):
    root = make_tiny_layerset(tmp_path / "t")
    text = (root / "manifest.toml").read_text(encoding="utf-8")
    (root / "manifest.toml").write_text(text.replace('clause = "test clause"',
                                                     'clause = "test clause"\nexpect_count = { a = 5 }'), encoding="utf-8")
    errors = [f for f in validate_layerset(read_layerset(root)) if f.severity == "error"]
    assert [f.check for f in errors] == ["count"]
    assert "declared 5" in str(errors[0])


def test_declared_containment_is_checked_whatever_the_builder(tmp_path):
    """An official red line that no longer holds a reserve: validate names the zone and the area outside."""
    import re

    import pytest

    from geo.errors import LayerSetError

    root = make_tiny_layerset(tmp_path / "t")
    text = (root / "manifest.toml").read_text(encoding="utf-8")
    # the study area must hold every zone (it does); the zones must hold the study area (they do not)
    text = text.replace('params = { source = "area", name_zh = "测试区", name_en = "Test area" }',
                        'params = { source = "area", name_zh = "测试区", name_en = "Test area" }\n'
                        'contains = [{ layer = "zones" }]')
    (root / "manifest.toml").write_text(text, encoding="utf-8")
    findings = validate_layerset(read_layerset(root))
    (held,) = [f for f in findings if f.check == "contains"]
    assert held.severity == "ok" and held.message == "zones: inside 范围"
    (root / "manifest.toml").write_text(text.replace('contains = [{ layer = "zones" }]', '') .replace(
        'clause = "test clause"', 'clause = "test clause"\ncontains = [{ layer = "study_area", classes = ["land"] }]'),
        encoding="utf-8")
    (bad,) = [f for f in validate_layerset(read_layerset(root)) if f.check == "contains"]
    assert bad.severity == "error"
    assert re.fullmatch(r"study_area:land not inside 管控区: 88\.8\d\d km² outside, in 1 zone\(s\): 测试区 88\.8\d\d km²",
                        bad.message), bad.message
    (root / "manifest.toml").write_text(text.replace('contains = [{ layer = "zones" }]',
                                                     'contains = [{ layer = "roads" }]'), encoding="utf-8")
    with pytest.raises(LayerSetError, match="contains names unknown layer 'roads'"):
        read_layerset(root)


UNITS_LAYER = """
[sources.units]
file = "data/units.geojson"

[[layers]]
id = "control_units"
title_zh = "环境管控单元"
title_en = "Environmental control units"
family = "control_units"
geometry = "polygon"
builder = "from_source"
clause = "test units"
params = { source = "units", class_field = "cls", name_zh_field = "name", code_field = "code" }
provenance = { source = "hand-made", licence = "CC0", date = "2026-11-21", official = false }
[layers.classes]
priority = { zh = "优先保护单元", en = "priority protection", control = "strict", color = "#1a9641" }
key = { zh = "重点管控单元", en = "key control", control = "restrictive", color = "#d7191c" }
"""


def _units_layerset(root):
    """The tiny set plus two control units that overlap by a 100 m × 10 km strip (1 km²), leave a 1 km × 1 km hole
    (1 km²) and a 10 m × 300 m sliver (0.003 km²) at the study area's edge."""
    import geopandas as gpd
    import pyogrio
    from shapely.geometry import box

    from conftest import X0, Y0

    make_tiny_layerset(root)
    with open(root / "manifest.toml", "a", encoding="utf-8") as fh:
        fh.write(UNITS_LAYER)
    west = box(X0, Y0, X0 + 5_100, Y0 + 10_000)
    east = (box(X0 + 5_000, Y0, X0 + 10_000, Y0 + 10_000)
            - box(X0 + 7_000, Y0 + 7_000, X0 + 8_000, Y0 + 8_000) - box(X0 + 9_990, Y0, X0 + 10_000, Y0 + 300))
    units = gpd.GeoDataFrame({"name": ["西单元", "东单元"], "cls": ["priority", "key"],
                              "code": ["ZH21021310001", "ZH21021320001"]},
                             geometry=[west, east], crs=4550).to_crs(4490)
    pyogrio.write_dataframe(units, root / "data" / "units.geojson", layer_options={"COORDINATE_PRECISION": 10})
    return root


def _place(message: str, after: str):
    """The lon,lat written after ``after`` in a message, as a point in EPSG:4550."""
    import re

    import pyproj
    from shapely.geometry import Point

    lon, lat = map(float, re.search(re.escape(after) + r"[^@]*@ (\d+\.\d{5}),(\d+\.\d{5})", message).groups())
    return Point(pyproj.Transformer.from_crs(4490, 4550, always_xy=True).transform(lon, lat))


def test_control_units_that_overlap_or_leave_land_uncovered_are_named_with_km2_and_place(tmp_path):
    from shapely.geometry import box

    from conftest import X0, Y0

    findings = validate_layerset(read_layerset(_units_layerset(tmp_path / "u")))
    mine = {(f.check, f.severity): f.message for f in findings if f.layer == "control_units"}
    assert set(mine) == {("overlap", "error"), ("gap", "error"), ("gap", "warning")}, mine
    overlap = mine["overlap", "error"]
    assert overlap.startswith("单元重叠 / units overlap: 1 piece(s), 1.000 km² (lon,lat EPSG:4490): 1.000 km² @ "), overlap
    assert overlap.endswith("(ZH21021310001 西单元 ∩ ZH21021320001 东单元)"), overlap
    assert box(X0 + 5_000, Y0, X0 + 5_100, Y0 + 10_000).contains(_place(overlap, "1.000 km²"))
    gap = mine["gap", "error"]
    assert gap.startswith("陆域无单元 / land without a unit: 1 piece(s), 1.000 km² "), gap
    assert gap.endswith("(ZH21021320001 东单元)"), gap  # the hole lies in the east unit only
    assert box(X0 + 7_000, Y0 + 7_000, X0 + 8_000, Y0 + 8_000).contains(_place(gap, "1.000 km²"))
    sliver = mine["gap", "warning"]
    assert "sliver land without a unit: 1 piece(s) under 0.01 km², 0.0030 km² in total" in sliver, sliver
    assert box(X0 + 9_990, Y0, X0 + 10_000, Y0 + 300).contains(_place(sliver, "largest"))


def test_a_partition_with_slivers_only_warns(tmp_path):
    """Digitising slivers (here 10 m × 300 m) are a warning, not an error: the set still validates."""
    root = _units_layerset(tmp_path / "u")
    import geopandas as gpd
    import pyogrio
    from shapely.geometry import box

    from conftest import X0, Y0

    units = pyogrio.read_dataframe(root / "data" / "units.geojson").to_crs(4550)
    units.loc[0, "geometry"] = box(X0, Y0, X0 + 5_000, Y0 + 10_000)
    units.loc[1, "geometry"] = box(X0 + 5_000, Y0, X0 + 10_000, Y0 + 10_000) - box(X0 + 9_990, Y0, X0 + 10_000, Y0 + 300)
    pyogrio.write_dataframe(gpd.GeoDataFrame(units, crs=4550).to_crs(4490), root / "data" / "units.geojson",
                            layer_options={"COORDINATE_PRECISION": 10})
    findings = validate_layerset(read_layerset(root))
    mine = [(f.check, f.severity) for f in findings if f.layer == "control_units"]
    assert mine == [("overlap", "ok"), ("gap", "warning")], findings
    assert not any(f.severity == "error" for f in findings)
