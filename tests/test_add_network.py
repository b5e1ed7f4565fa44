"""Modelled corridors into a layer set (``ecozone add --source-layer``) and compared with the plan's (issue #17).

A copy of Jinpu whose ``eco_corridors`` are the least-cost corridors between its two cores over a 100 m
resistance raster (1 inside the plan's corridors, 20 elsewhere) builds, validates and runs
``ecozone network``; ``ecozone diff PLAN MODEL`` gives the km² only in the plan, only in the model and in
both, checked against shapely in EPSG:4550.
"""
from __future__ import annotations

import shutil
import tomllib

import numpy as np
import pyogrio
import pytest
import rasterio
import rasterio.features
import shapely
from affine import Affine

from geo.cli.main import cli
from geo.layerset.diff import diff_builds
from geo.layerset.read import read_layerset
from geo.layerset.schemas import recognise

CELL_M = 100.0
CUTOFF = 500.0  # cost units: five cells of the cheap ground either side of the path


def _raster(ls, path) -> None:
    """A resistance raster over the two cores (3 km margin): 1 in the plan's corridors, 20 elsewhere."""
    b = ls.measured("eco_cores").total_bounds
    x0, y1 = b[0] - 3000, b[3] + 3000
    cols, rows = int((b[2] + 3000 - x0) / CELL_M), int((y1 - b[1] + 3000) / CELL_M)
    transform = Affine(CELL_M, 0, x0, 0, -CELL_M, y1)
    cheap = shapely.union_all(ls.measured("eco_corridors").geometry.values)
    costs = np.where(rasterio.features.rasterize([cheap], out_shape=(rows, cols), transform=transform) > 0, 1.0, 20.0)
    with rasterio.open(path, "w", driver="GTiff", width=cols, height=rows, count=1, dtype="float32", crs="EPSG:4550",
                       transform=transform) as dst:
        dst.write(costs.astype("float32"), 1)


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    """PLAN: a copy of layers/jinpu (built); the corridors GeoPackage; MODEL: a copy of PLAN before the add."""
    from click.testing import CliRunner

    tmp = tmp_path_factory.mktemp("addnet")
    plan = tmp / "plan"
    shutil.copytree("layers/jinpu", plan, ignore=shutil.ignore_patterns("*.npz", "*.parquet"))
    ls = read_layerset(plan)
    _raster(ls, tmp / "cost.tif")
    corr = tmp / "corr.gpkg"
    r = CliRunner().invoke(cli, ["corridors", "--sources", "eco_cores", "--layers", str(plan), "--resistance",
                                 str(tmp / "cost.tif"), "--cutoff", str(CUTOFF), "-o", str(corr)])
    assert r.exit_code == 0, r.output
    model = tmp / "model"
    shutil.copytree(plan, model, ignore=shutil.ignore_patterns("build"))
    return {"plan": plan, "model": model, "corr": corr, "tmp": tmp}


def test_a_file_of_several_layers_needs_source_layer_and_nothing_is_written(sets, runner):
    model, corr = sets["model"], sets["corr"]
    before = (model / "manifest.toml").read_bytes()
    r = runner.invoke(cli, ["add", str(model), str(corr), "--layer", "eco_corridors"])
    assert r.exit_code == 2, r.output
    assert len(r.stderr.splitlines()) == 1, r.stderr
    assert "paths, corridors" in r.stderr and "--source-layer" in r.stderr and "warning" not in r.stderr
    assert (model / "manifest.toml").read_bytes() == before and not (model / "data" / corr.name).exists()
    r = runner.invoke(cli, ["add", str(model), str(corr), "--source-layer", "nope"])
    assert r.exit_code == 2 and "'nope': no such layer; its layers: paths, corridors" in r.stderr
    r = runner.invoke(cli, ["add", str(model), str(corr), "--source-layer", "paths"])  # lines, not a polygon layer
    assert r.exit_code == 2 and len(r.stderr.splitlines()) == 1 and "--source-layer corridors" in r.stderr
    assert (model / "manifest.toml").read_bytes() == before


def test_the_corridors_output_is_recognised_as_modelled_corridors(sets):
    gdf = pyogrio.read_dataframe(sets["corr"], layer="corridors")
    m = recognise(sets["corr"], {c: list(gdf[c]) for c in gdf.columns if c != "geometry"})
    assert (m.layer, m.modelled, m.zone_class) == ("eco_corridors", True, "primary")
    assert {"lcd", "cost_ratio", "from_name", "to_name"} <= set(m.keep)
    with pytest.raises(Exception, match="cannot tell which layer"):  # a network layer is never guessed from a name
        recognise("x.shp", {"NAME_ZH": ["大黑山"]})


@pytest.fixture(scope="module")
def added(sets):
    """MODEL with the modelled corridors in place of the plan's, built."""
    from click.testing import CliRunner

    runner = CliRunner()
    r = runner.invoke(cli, ["add", str(sets["model"]), str(sets["corr"]), "--source-layer", "corridors",
                            "--layer", "eco_corridors"])
    assert r.exit_code == 0, r.output
    b = runner.invoke(cli, ["build", str(sets["model"])])
    assert b.exit_code == 0, b.output
    return r.output


def test_the_entry_replaces_the_plans_corridors_and_keeps_their_classes(sets, added):
    assert "replaces the set's eco_corridors (builder shapes)" in added and "cutoff 500" in added
    text = (sets["model"] / "manifest.toml").read_text(encoding="utf-8")
    man = tomllib.loads(text)
    assert man["sources"]["eco_corridors"] == {"file": "data/corr.gpkg", "layer": "corridors",
                                               "what": "corr.gpkg（生态廊道（最小成本路径模型，草稿））"}
    (entry,) = [t for t in man["layers"] if t["id"] == "eco_corridors"]
    ids = [t["id"] for t in man["layers"]]
    assert ids == [t["id"] for t in tomllib.loads((sets["plan"] / "manifest.toml").read_text("utf-8"))["layers"]]
    assert entry["builder"] == "from_source" and "expect_count" not in entry and entry["group"] == "network"
    assert entry["classes"]["primary"]["color"] == "#78c679" and entry["params"]["zone_class"] == "primary"
    prov = entry["provenance"]
    assert (prov["source_layer"], prov["cutoff"], prov["official"]) == ("corridors", CUTOFF, False)
    assert man["network"]["links"] == ["eco_corridors"]  # listed once
    assert "# the ecological network (docs/network.md)" in text  # comments kept


def test_the_model_set_builds_validates_and_its_network_links_are_the_modelled_corridors(sets, added, runner):
    model, tmp = sets["model"], sets["tmp"]
    v = runner.invoke(cli, ["validate", str(model)])
    assert v.exit_code == 0, v.output
    r = runner.invoke(cli, ["network", str(model), "-o", str(tmp / "net.gpkg")])
    assert r.exit_code == 0, r.output
    links = pyogrio.read_dataframe(tmp / "net.gpkg", layer="links").to_crs(4550)
    nodes = pyogrio.read_dataframe(tmp / "net.gpkg", layer="nodes")
    corr = pyogrio.read_dataframe(sets["corr"], layer="corridors")
    mine = links[links["kind"] == "corridor"]
    assert set(mine["layer"]) == {"eco_corridors"} and len(mine) == len(corr) >= 1
    assert mine.area.sum() == pytest.approx(corr.area.sum(), rel=1e-3)  # clipped to the coverage only by rounding
    cores = set(nodes.loc[nodes["layer"] == "eco_cores", "node_id"])
    assert cores <= set(mine["nodes"].iloc[0].split(";"))  # the corridor joins the two cores it was modelled between
    plan_names = set(read_layerset(sets["plan"]).layer("eco_corridors")["name_zh"])
    assert not plan_names & set(links["name_zh"])  # none of the plan's eighteen corridors is left


def test_diff_of_plan_and_model_gives_plan_only_model_only_and_both(sets, added, runner):
    a = read_layerset(sets["plan"]).measured("eco_corridors")
    b = read_layerset(sets["model"]).measured("eco_corridors")
    assert a.crs.equals("EPSG:4550")
    pa, pb = shapely.union_all(a.geometry.values), shapely.union_all(b.geometry.values)
    plan_only, model_only = shapely.difference(pa, pb).area / 1e6, shapely.difference(pb, pa).area / 1e6
    both = shapely.intersection(pa, pb).area / 1e6
    assert plan_only > 1 and model_only > 1 and both > 1  # the cheap ground makes the model follow the plan
    d = diff_builds(sets["plan"], sets["model"])
    (row,) = d.areas[d.areas["layer"] == "eco_corridors"].itertuples()
    assert row.lost == pytest.approx(plan_only, abs=1e-4) and row.gained == pytest.approx(model_only, abs=1e-4)
    assert row.both == pytest.approx(both, abs=1e-5) and row.old == pytest.approx(plan_only + both, abs=1e-4)
    moved = d.areas[(d.areas["gained"] > 0) | (d.areas["lost"] > 0)]
    assert list(moved["layer"]) == ["eco_corridors"]  # nothing else differs
    r = runner.invoke(cli, ["diff", str(sets["plan"]), str(sets["model"])])
    assert r.exit_code == 0, r.output
    (line,) = [ln for ln in r.output.splitlines() if ln.startswith("eco_corridors  primary")]
    assert line.split()[-3:] == [f"+{model_only:.3f}", f"-{plan_only:.3f}", f"{both:.3f}"]
    assert "两者 both" in r.output


def test_network_layers_make_the_network_table_of_a_set_without_one(sets, runner, tmp_path):
    root = tmp_path / "jz"
    official = "tests/data/official/行政区.shp"
    r = runner.invoke(cli, ["init", str(root), "--name", "jz", "--boundary", official, "--sea-m", "10000",
                            "--status", "illustrative"])
    assert r.exit_code == 0, r.output
    cores = tmp_path / "cores.gpkg"
    pyogrio.write_dataframe(read_layerset(sets["plan"]).layer("eco_cores"), cores, layer="cores")
    r = runner.invoke(cli, ["add", str(root), str(sets["corr"]), "--source-layer", "corridors"])  # recognised
    assert r.exit_code == 0, r.output
    assert "eco_corridors" in r.output and "[network]" in r.output and "no node layer" in r.output
    assert "network" not in tomllib.loads((root / "manifest.toml").read_text(encoding="utf-8"))
    r = runner.invoke(cli, ["add", str(root), str(cores), "--layer", "eco_cores"])
    assert r.exit_code == 0, r.output
    man = tomllib.loads((root / "manifest.toml").read_text(encoding="utf-8"))
    assert man["network"] == {"nodes": ["eco_cores"], "links": ["eco_corridors"]}
    entries = {t["id"]: t for t in man["layers"]}
    assert [t["id"] for t in man["layers"]][-2:] == ["eco_cores", "eco_corridors"]  # in LAYER_ORDER
    assert "source_layer" not in entries["eco_cores"]["provenance"] and "layer" not in man["sources"]["eco_cores"]
    assert man["map"]["group_titles"]["network"] == {"zh": "生态安全格局", "en": "Ecological network"}
    r = runner.invoke(cli, ["network", str(root)])
    assert r.exit_code == 0, r.output
    assert "2 节点 nodes" in r.output or "(2 nodes" in r.output, r.output


def test_the_plans_corridor_rules_apply_to_the_modelled_corridors(sets, added):
    import geopandas as gpd

    from geo import check_sites
    from geo.sites.read import normalize_sites

    ls = read_layerset(sets["model"])
    plan = shapely.union_all(read_layerset(sets["plan"]).measured("eco_corridors").geometry.values)
    spot = shapely.point_on_surface(shapely.difference(ls.measured("eco_corridors").geometry.iloc[0], plan))
    sites = normalize_sites(gpd.GeoDataFrame({"name": ["厂房"], "project_type": ["T01"]}, geometry=[spot],
                                             crs=ls.measure_crs))
    d = check_sites(sites, ls).detail
    row = d[d["layer"] == "eco_corridors"].iloc[0]
    assert (row["rule_id"], row["verdict"]) == ("COR-PRI-DEV", "prohibited")  # Jinpu's rule for primary corridors
