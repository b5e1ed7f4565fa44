"""The command line: build, validate, layers and check, with their exit codes and outputs."""
from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest

from geo.cli.main import cli

DEMO = "layers/jinpu/demo_sites.csv"


def test_layers_prints_indicators(runner):
    r = runner.invoke(cli, ["layers", "layers/jinpu"])
    assert r.exit_code == 0, r.output
    assert "大陆自然岸线保有率" in r.output and "eco_corridors" in r.output
    assert "示意数据" in r.output


def test_validate_exit_codes(runner, tmp_path):
    r = runner.invoke(cli, ["validate", "layers/jinpu"])
    assert r.exit_code == 0, r.output
    assert "0 error(s)" in r.output
    from conftest import make_tiny_layerset

    root = make_tiny_layerset(tmp_path / "t")
    text = (root / "manifest.toml").read_text(encoding="utf-8")
    text = text.replace('clause = "test clause"', 'clause = "test clause"\nexpect_count = { a = 5 }')
    (root / "manifest.toml").write_text(text, encoding="utf-8")
    r = runner.invoke(cli, ["validate", str(root)])
    assert r.exit_code == 1
    assert "declared 5" in r.output


def test_build_writes_the_geopackage(runner, tmp_path):
    out = tmp_path / "x.gpkg"
    r = runner.invoke(cli, ["build", "layers/dalian", "-o", str(out)])
    assert r.exit_code == 0, r.output
    import pyogrio

    names = [n for n, _ in pyogrio.list_layers(out)]
    assert {"study_area", "control_units"} <= set(names)


def test_check_demo_all_outputs(runner, tmp_path):
    out = tmp_path / "r"
    r = runner.invoke(cli, ["check", DEMO, "-o", f"{out}.csv", "--detail", f"{out}_detail.csv",
                            "--report", f"{out}.html"])
    assert r.exit_code == 0, r.output
    res = pd.read_csv(f"{out}.csv", encoding="utf-8-sig")
    assert set(res["verdict"]) == {"prohibited", "restricted", "caution", "allowed", "unknown"}
    for col in ["site_id", "name", "project_type", "verdict", "verdict_zh", "reasons_zh", "reasons_en", "n_hits"]:
        assert col in res.columns
    detail = pd.read_csv(f"{out}_detail.csv", encoding="utf-8-sig")
    for col in ["site_id", "layer", "zone_id", "zone_class", "relation", "overlap_area_m2", "overlap_share",
                "overlap_length_m", "distance_m", "rule_id", "verdict", "citation"]:
        assert col in detail.columns
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "示意数据" in html and "<svg" in html and "水污染防治法" in html
    assert "checked 8 sites" in r.output


@pytest.mark.parametrize("ext", ["json", "geojson", "gpkg"])
def test_check_other_formats(runner, tmp_path, ext):
    out = tmp_path / f"r.{ext}"
    r = runner.invoke(cli, ["check", DEMO, "-o", str(out)])
    assert r.exit_code == 0, r.output
    if ext == "json":
        doc = json.loads(out.read_text(encoding="utf-8"))
        assert doc["counts"]["prohibited"] >= 1 and doc["sites"][0]["findings"]
    else:
        gdf = gpd.read_file(out) if ext == "geojson" else gpd.read_file(out, layer="sites")
        assert len(gdf) == 8 and gdf.crs.to_epsg() in (4326, 4490)


def test_fail_on_exits_3(runner, tmp_path):
    r = runner.invoke(cli, ["check", DEMO, "-o", str(tmp_path / "r.csv"), "--fail-on", "prohibited"])
    assert r.exit_code == 3


def test_inline_point_and_bad_input(runner, tmp_path):
    out = tmp_path / "p.csv"
    r = runner.invoke(cli, ["check", "--point", "121.905108,39.0930171", "--type", "T03", "-o", str(out)])
    assert r.exit_code == 0 and "prohibited" in out.read_text(encoding="utf-8-sig")
    bad = tmp_path / "bad.csv"
    bad.write_text("id,lon,lat\n1,121.8,39.1\n2,1215.3,39.1\n", encoding="utf-8")
    out2 = tmp_path / "never.csv"
    r = runner.invoke(cli, ["check", str(bad), "-o", str(out2)])
    assert r.exit_code == 2
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "bad.csv, row 3" in lines[0] and "Traceback" not in r.output
    assert not out2.exists()


def test_unknown_type_is_one_line(runner, tmp_path):
    r = runner.invoke(cli, ["check", "--point", "121.8,39.1", "--type", "T99", "-o", str(tmp_path / "x.csv")])
    assert r.exit_code == 2 and "unknown project type 'T99'" in r.output


def test_second_layer_set_checks(runner, tmp_path):
    out = tmp_path / "d.csv"
    r = runner.invoke(cli, ["check", "--layers", "layers/dalian", "--point", "121.62,38.92", "--point", "122.6,39.27",
                            "--type", "T01", "-o", str(out)])
    assert r.exit_code == 0, r.output
    res = pd.read_csv(out, encoding="utf-8-sig")
    assert list(res["verdict"]) == ["restricted", "unknown"]


@pytest.mark.parametrize("ext", ["csv", "gpkg", "geojson"])
def test_batches_stream_to_the_same_output(runner, tmp_path, monkeypatch, ext):
    import geo.cli.check as cmd

    whole = tmp_path / f"whole.{ext}"
    r = runner.invoke(cli, ["check", DEMO, "-o", str(whole), "--detail", str(tmp_path / "whole_detail.csv")])
    assert r.exit_code == 0, r.output
    monkeypatch.setattr(cmd, "CHUNK", 3)
    parts = tmp_path / f"parts.{ext}"
    r = runner.invoke(cli, ["check", DEMO, "-o", str(parts), "--detail", str(tmp_path / "parts_detail.csv")])
    assert r.exit_code == 0, r.output
    assert "checked 8 sites" in r.output
    if ext == "csv":
        assert parts.read_bytes() == whole.read_bytes()
    else:
        kw = {"layer": "sites"} if ext == "gpkg" else {}
        a, b = gpd.read_file(whole, **kw), gpd.read_file(parts, **kw)
        assert list(a["verdict"]) == list(b["verdict"]) and list(a["reasons_zh"]) == list(b["reasons_zh"])
    assert (tmp_path / "parts_detail.csv").read_bytes() == (tmp_path / "whole_detail.csv").read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


@pytest.mark.parametrize("ext", ["csv", "gpkg"])
def test_a_failed_background_write_leaves_nothing(jinpu, tmp_path, ext):
    import pyogrio.errors
    import pyarrow as pa

    from geo.check import check_sites
    from geo.results import ResultWriter
    from geo.sites import read_sites

    good = check_sites(read_sites(DEMO), jinpu)
    bad = check_sites(read_sites(DEMO), jinpu)
    bad.sites["extra"] = [{"a": 1}] * len(bad.sites)  # a column the writer of the background thread refuses
    bad._detail = bad.detail.assign(extra=[{"a": 1}] * len(bad.detail))
    out = tmp_path / f"r.{ext}"
    detail = tmp_path / "d.csv" if ext == "csv" else None
    with pytest.raises((pa.ArrowInvalid, pyogrio.errors.FieldError)):
        with ResultWriter(out, detail=detail) as w:
            w.add(good)
            w.add(bad)
            w.add(good)
    assert not list(tmp_path.iterdir())  # neither the outputs nor a temporary file


@pytest.mark.parametrize("ext", ["csv", "gpkg", "json"])
def test_parallel_batches_give_the_same_files(runner, tmp_path, monkeypatch, ext):
    import geo.cli.check as cmd

    monkeypatch.setattr(cmd, "CHUNK", 2)
    monkeypatch.setattr(cmd, "PARALLEL_FROM", 1)
    outs = {}
    for jobs in ("1", "2"):
        out, det = tmp_path / f"j{jobs}.{ext}", tmp_path / f"j{jobs}_detail.csv"
        r = runner.invoke(cli, ["check", DEMO, "-o", str(out), "--detail", str(det), "--jobs", jobs])
        assert r.exit_code == 0, r.output
        assert "checked 8 sites" in r.output
        outs[jobs] = (out, det)
    if ext == "gpkg":
        a, b = (gpd.read_file(outs[j][0], layer="findings") for j in ("1", "2"))
        pd.testing.assert_frame_equal(a, b)
    else:
        assert outs["1"][0].read_bytes() == outs["2"][0].read_bytes()
    assert outs["1"][1].read_bytes() == outs["2"][1].read_bytes()


def test_a_report_that_cannot_be_written_leaves_no_results(runner, tmp_path):
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    r = runner.invoke(cli, ["check", DEMO, "-o", str(tmp_path / "r.csv"), "--report", str(tmp_path / "afile" / "r.html")])
    assert r.exit_code == 2 and "ecozone: error:" in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]
