"""Shared fixtures: the Jinpu layer set, a tiny hand-made layer set with known answers, a CLI runner."""
from __future__ import annotations

import textwrap

import geopandas as gpd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from shapely.geometry import Point, box

from geo.layerset.read import read_layerset

# Tiny set, in EPSG:4550 metres: a 10 km square study area and three zones.
X0, Y0 = 400_000.0, 4_330_000.0
AREA = box(X0, Y0, X0 + 10_000, Y0 + 10_000)
ZONE_A = box(X0 + 1_000, Y0 + 1_000, X0 + 3_000, Y0 + 3_000)          # prohibited
ZONE_B = box(X0 + 3_000, Y0 + 1_000, X0 + 5_000, Y0 + 3_000)          # restricted, shares an edge with A
ZONE_C = Point(X0 + 7_000, Y0 + 7_000).buffer(1_000, quad_segs=128)  # many vertices; near rule 500 m

TINY_MANIFEST = """
[layerset]
name = "tiny"
title_zh = "测试图层集"
title_en = "Tiny test layer set"
storage_crs = "EPSG:4490"
measure_crs = "EPSG:4550"
status = "illustrative"
notice_zh = "测试数据"
notice_en = "test data"
rules = "rules.csv"

[coverage]
land_layer = "study_area"
sea_m = 0

[sources.area]
file = "data/area.geojson"
[sources.zones]
file = "data/zones.geojson"

[[layers]]
id = "study_area"
title_zh = "范围"
title_en = "Area"
family = "base"
geometry = "polygon"
builder = "study_area"
clause = "test"
params = { source = "area", name_zh = "测试区", name_en = "Test area" }
provenance = { source = "hand-made", licence = "CC0", date = "2026-11-21", official = false }
[layers.classes]
land = { zh = "陆域", en = "land", control = "info", color = "#cccccc" }

[[layers]]
id = "zones"
title_zh = "管控区"
title_en = "Zones"
family = "test"
geometry = "polygon"
builder = "from_source"
clause = "test clause"
params = { source = "zones", class_field = "cls", name_zh_field = "name", name_en_field = "name" }
provenance = { source = "hand-made", licence = "CC0", date = "2026-11-21", official = false }
[layers.classes]
a = { zh = "禁建区", en = "no-build", control = "strict", color = "#ff0000" }
b = { zh = "限建区", en = "restricted", control = "restrictive", color = "#ffaa00" }
c = { zh = "敏感区", en = "sensitive", control = "info", color = "#0000ff" }
"""

TINY_RULES = """\
rule_id,layer,zone_class,types,relation,distance_m,land_use,nmp,verdict,condition_zh,condition_en,citation,judgement
A-ALL,zones,a,*,in,,*,*,prohibited,禁止建设,no construction,测试条款一,false
A-T12,zones,a,T12,in,,*,*,allowed,供水设施允许,water works allowed,测试条款二,false
A-NMP,zones,a,T05,in,,*,true,restricted,国家重大项目须论证,NMP needs a demonstration,测试条款三,false
B-ALL,zones,b,*,in,,*,*,restricted,须审批,needs approval,测试条款四,false
B-CROSS,zones,b,T05,in,,cross,*,allowed,架空跨越允许,crossing without land use allowed,测试条款五,true
C-ALL,zones,c,*,in,,*,*,allowed,仅提示,information only,测试条款六,false
C-NEAR,zones,c,T01;T02,near,500,*,*,prohibited,500米内禁止,none within 500 m,测试条款七,true
"""


def make_tiny_layerset(root):
    """Write the tiny layer set into ``root`` and return the folder."""
    (root / "data").mkdir(parents=True, exist_ok=True)
    (root / "manifest.toml").write_text(textwrap.dedent(TINY_MANIFEST), encoding="utf-8")
    (root / "rules.csv").write_text(TINY_RULES, encoding="utf-8")
    area = gpd.GeoDataFrame({"name": ["area"]}, geometry=[AREA], crs=4550).to_crs(4490)
    pyogrio.write_dataframe(area, root / "data" / "area.geojson", layer_options={"COORDINATE_PRECISION": 10})
    zones = gpd.GeoDataFrame({"name": ["A区", "B区", "C区"], "cls": ["a", "b", "c"]},
                             geometry=[ZONE_A, ZONE_B, ZONE_C], crs=4550).to_crs(4490)
    pyogrio.write_dataframe(zones, root / "data" / "zones.geojson", layer_options={"COORDINATE_PRECISION": 10})
    return root


@pytest.fixture(scope="session")
def jinpu():
    return read_layerset("layers/jinpu")


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    root = make_tiny_layerset(tmp_path_factory.mktemp("tiny"))
    return read_layerset(root)


@pytest.fixture
def runner():
    return CliRunner()


def pytest_report_header(config):
    import pyproj

    return (f"GDAL {pyogrio.__gdal_version_string__}, GEOS {shapely.geos_version_string}, "
            f"PROJ {pyproj.proj_version_str}")
