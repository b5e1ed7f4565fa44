"""ecozone diff: a copy of the Jinpu build whose land red line lost a 1.5 km square around a site."""
from __future__ import annotations

import shutil

import geopandas as gpd
import pyogrio
import pytest
import shapely
from shapely.geometry import box

from geo.layerset.build import read_meta, write_meta
from geo.layerset.diff import diff_builds, format_diff, open_build, write_diff
from geo.layerset.read import read_layerset
from geo.sites.read import read_sites

HALF_M = 750.0  # half the side of the square cut out of the red line


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """OLD: a copy of layers/jinpu (current build); NEW: its build with the square cut from red_line-01 (land)."""
    tmp = tmp_path_factory.mktemp("diff")
    old = tmp / "old"
    shutil.copytree("layers/jinpu", old, ignore=shutil.ignore_patterns("*.npz"))
    ls = read_layerset(old)  # rebuilt here if the copy is stale
    centre = shapely.point_on_surface(ls.measured("eco_cores").geometry.iloc[0])  # inside the land red line
    cut = box(centre.x - HALF_M, centre.y - HALF_M, centre.x + HALF_M, centre.y + HALF_M)
    new = tmp / "new"
    shutil.copytree(old, new, ignore=shutil.ignore_patterns("*.npz"))
    gpkg = new / "build" / "jinpu.gpkg"
    red = pyogrio.read_dataframe(gpkg, layer="red_line").to_crs(ls.measure_crs)
    land = red["zone_class"] == "land"
    red.loc[land, "geometry"] = shapely.difference(red.geometry[land].values, cut)
    pyogrio.write_dataframe(red.to_crs(ls.storage_crs), gpkg, layer="red_line", promote_to_multi=True)
    meta = read_meta(gpkg)
    write_meta(gpkg, {**meta, "content_hash": "edited for the test"})  # the zone index must not be reused
    old_land = ls.measured("red_line").geometry[ls.measured("red_line")["zone_class"] == "land"].iloc[0]
    lost_km2 = shapely.intersection(old_land, cut).area / 1e6  # the independent answer
    sites = tmp / "sites.csv"
    outside = shapely.point_on_surface(ls.measured("eco_cores").geometry.iloc[1])  # the other core: still red line
    lonlat = gpd.GeoSeries([centre, outside], crs=ls.measure_crs).to_crs(4490)
    sites.write_text("id,name,type,wkt\n" + "".join(f"S{i + 1},站点{i + 1},T13,POINT ({p.x:.8f} {p.y:.8f})\n"
                                                     for i, p in enumerate(lonlat)), encoding="utf-8")
    return {"old": old, "new": gpkg, "lost_km2": lost_km2, "sites": sites, "tmp": tmp}


@pytest.fixture(scope="module")
def diff(builds):
    """The diff of the two builds, with the two sites checked against both."""
    return diff_builds(open_build(builds["old"]), open_build(builds["new"]), sites=read_sites(builds["sites"]))


def test_lost_area_matches_shapely_and_nothing_else_moved(builds, diff):
    d = diff
    assert builds["lost_km2"] > 2.0  # the square lies (mostly) in the red line
    moved = d.areas[(d.areas["gained"] > 0) | (d.areas["lost"] > 0)]
    assert list(zip(moved["layer"], moved["zone_class"])) == [("red_line", "land")]
    row = moved.iloc[0]
    assert row["gained"] == 0 and row["unit"] == "km²"
    assert row["lost"] == pytest.approx(builds["lost_km2"], abs=1e-5)
    assert row["old"] - row["new"] == pytest.approx(builds["lost_km2"], abs=1e-5)
    assert d.layers_added == d.layers_removed == []
    assert len(d.gained) == 0 and d.lost["area_km2"].sum() == pytest.approx(builds["lost_km2"], abs=1e-5)
    (zone,) = d.zones.itertuples()
    assert (zone.change, zone.layer, zone.key, zone.what) == ("changed", "red_line", "red_line-01", "geometry 几何")
    assert zone.lost == pytest.approx(builds["lost_km2"], abs=1e-5) and zone.gained == pytest.approx(0, abs=1e-6)


def test_the_diff_geopackage_reads_back(builds, diff, tmp_path):
    d = diff
    out = write_diff(d, tmp_path / "diff.gpkg")
    assert [n for n, _ in pyogrio.list_layers(out)] == ["gained", "lost", "zones"]
    lost = pyogrio.read_dataframe(out, layer="lost")
    assert lost.crs.equals("EPSG:4490") and set(lost["layer"]) == {"red_line"} and set(lost["zone_class"]) == {"land"}
    assert lost.to_crs(4550).area.sum() / 1e6 == pytest.approx(builds["lost_km2"], rel=1e-4)
    assert len(pyogrio.read_dataframe(out, layer="gained")) == 0
    zones = pyogrio.read_dataframe(out, layer="zones")
    assert zones[["change", "key", "name_zh_new"]].values.tolist() == [["changed", "red_line-01", "陆域生态保护红线"]]
    from geo.errors import ExportError

    with pytest.raises(ExportError, match="output exists"):
        write_diff(d, out)


def test_a_site_in_the_removed_part_changes_verdict(diff):
    """S1 (T13) lay in the land red line only (restricted); S2, in the other core, stays restricted."""
    d = diff
    assert d.sites[["site_id", "verdict_old", "verdict_new", "side"]].values.tolist() == [
        ["S1", "restricted", "allowed", "old"]]
    assert d.sites["zone"].iloc[0] == "red_line:red_line-01 陆域生态保护红线"
    text = format_diff(d)
    assert "结论变化的项目 / sites whose verdict changes: 1" in text
    assert "限制 restricted" in text and "允许 allowed" in text


def test_the_cli_prints_the_table_and_writes_the_geopackage(builds, runner, tmp_path):
    from geo.cli.main import cli

    out = tmp_path / "d.gpkg"
    args = ["diff", str(builds["old"]), str(builds["new"]), "--sites", str(builds["sites"]), "-o", str(out)]
    res = runner.invoke(cli, args)
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    (row,) = [line for line in lines if line.startswith("red_line ")]
    assert row.split()[1:4] == ["land", "陆域生态保护红线", "km²"]
    assert row.split()[-3:-1] == ["+0.000", f"-{builds['lost_km2']:.3f}"]  # then the area in both
    assert ["变化", "changed", "red_line", "red_line-01", "陆域生态保护红线", "geometry", "几何"] in [line.split()[:7]
                                                                                                    for line in lines]
    assert any(line.startswith("S1 ") and "red_line:red_line-01" in line for line in lines)
    assert out.exists()
    again = runner.invoke(cli, args)
    assert again.exit_code == 2 and "output exists" in again.output and "--overwrite" in again.output


def test_a_build_outside_its_layer_set_diffs_but_cannot_check_sites(builds, runner, tmp_path):
    from geo.cli.main import cli

    alone = tmp_path / "jinpu-edited.gpkg"
    shutil.copy(builds["new"], alone)
    build = open_build(alone)
    assert build.root is None and build.measure_crs.equals("EPSG:4550") and "red_line" in build.frames
    res = runner.invoke(cli, ["diff", str(builds["old"]), str(alone), "--sites", str(builds["sites"])])
    assert res.exit_code == 2
    assert res.output.strip().splitlines()[-1].startswith(f"ecozone: error: {alone}: this build lies in no layer-set folder")
    res = runner.invoke(cli, ["diff", str(builds["old"]), str(builds["sites"])])
    assert res.exit_code == 2 and "not a layer-set build" in res.output
