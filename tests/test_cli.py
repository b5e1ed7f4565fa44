"""The command line: build, validate, layers and check, with their exit codes and outputs."""
from __future__ import annotations

import json
import os
from pathlib import Path

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
    assert "示意数据" in html and "data:image/png;base64," in html and "水污染防治法" in html
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
    import geo.check.pipeline as cmd

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

    from geo.check.engine import check_sites
    from geo.results import ResultWriter
    from geo.sites.read import read_sites

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
    import geo.check.pipeline as cmd

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


# -- outputs never replace inputs; signals clean up ---------------------------------------------------

@pytest.mark.parametrize("args, fragment", [
    (["{sites}", "-o", "{sites}"], "-o would overwrite the input sites.csv"),
    (["{sites}", "-o", "{tmp}/r.csv", "--report", "{sites}"], "--report would overwrite the input sites.csv"),
    (["{sites}", "-o", "{tmp}/r.csv", "--detail", "{tmp}/./r.csv"], "-o and --detail name the same file"),
    (["{sites}", "-o", "{tmp}/r.csv", "--report", "{tmp}/r.csv"], "-o and --report name the same file"),
    (["{sites}", "-o", "layers/jinpu/build/jinpu.gpkg"], "-o lies inside the layer set jinpu"),
    (["{sites}", "-o", "{tmp}/r.csv", "--report", "{tmp}/r.odt"], "unknown report format '.odt'"),
])
def test_outputs_never_replace_an_input_or_each_other(runner, tmp_path, args, fragment):
    sites = tmp_path / "sites.csv"
    sites.write_bytes(Path(DEMO).read_bytes())
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    r = runner.invoke(cli, ["check", *[a.format(sites=sites, tmp=tmp_path) for a in args]])
    assert r.exit_code == 2, r.output
    assert len(r.stderr.splitlines()) == 1 and fragment in r.stderr, r.stderr
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # the input as it was, nothing written


def test_map_output_may_not_replace_its_sites(runner, tmp_path):
    sites = tmp_path / "sites.csv"
    sites.write_bytes(Path(DEMO).read_bytes())
    r = runner.invoke(cli, ["map", "layers/jinpu", "--sites", str(sites), "-o", str(sites)])
    assert r.exit_code == 2 and "-o would overwrite the input sites.csv" in r.stderr
    assert sites.read_bytes() == Path(DEMO).read_bytes()


def test_map_draws_every_sites_file(runner, tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("id,name,lon,lat,type\nA1,甲,121.93,39.08,T03\n", encoding="utf-8")
    b.write_text("id,name,lon,lat,type\nB1,乙,121.80,39.10,T03\nB2,丙,121.81,39.11,T03\n", encoding="utf-8")
    out = tmp_path / "m.html"
    r = runner.invoke(cli, ["map", "layers/jinpu", "--sites", str(a), "--sites", str(b), "-o", str(out), "--offline"])
    assert r.exit_code == 0, r.output
    assert "3 sites" in r.stderr
    html = out.read_text(encoding="utf-8")
    assert all(f'"_n":"{name} ·' in html for name in ("甲", "乙", "丙"))


def test_check_params_are_the_options_of_the_command():
    import dataclasses

    import click

    from geo.check.pipeline import FAIL_ON, MIN_JOBS, CheckParams
    from geo.cli.check import command
    from geo.sites.coords import COORD_SYSTEMS

    ctx = command.make_context("check", ["--point", "1,2", "-o", "r.csv", "--coord-sys", "GCJ02"])
    options = {p.name: p for p in command.params if p.name != "service"}  # (--service: where the check runs)
    assert list(options) == list(CheckParams.types())  # the same names, in the same order
    for name, option in options.items():
        assert option.get_error_hint(ctx) == CheckParams.hint(name), name
    bare = command.make_context("check", ["-o", "r.csv"]).params
    for f in dataclasses.fields(CheckParams):
        assert f.default is dataclasses.MISSING or bare[f.name] == f.default, f.name  # the same defaults
    assert tuple(options["fail_on"].type.choices) == FAIL_ON
    assert tuple(options["coord_sys"].type.choices) == COORD_SYSTEMS
    assert isinstance(options["jobs"].type, click.IntRange) and options["jobs"].type.min == MIN_JOBS
    given = {**ctx.params, "points": list(ctx.params["points"])}
    given.pop("service")
    assert CheckParams(**{**given, "coord_sys": "GCJ02"}).coord_sys == ctx.params["coord_sys"] == "gcj02"


@pytest.mark.parametrize("args, change", [
    (["--jobs", "0"], {"jobs": 0}),
    (["--jobs", "-2"], {"jobs": -2}),
    (["--fail-on", "allowed"], {"fail_on": "allowed"}),
    (["--coord-sys", "xx"], {"coord_sys": "xx"}),
    (["-o", "adir"], {"out": "adir"}),
    (["--detail", "adir"], {"detail": "adir"}),
    (["--report", "adir"], {"report": "adir"}),
    (["adir"], {"sites": "adir"}),
])
def test_check_params_refuse_what_the_command_line_refuses(tmp_path, monkeypatch, args, change):
    import click

    from geo.check.pipeline import CheckParams
    from geo.cli.check import command

    monkeypatch.chdir(tmp_path)
    (tmp_path / "adir").mkdir()
    with pytest.raises(click.BadParameter) as refused:
        command.make_context("check", ["--point", "1,2", "-o", "r.csv", *args])
    with pytest.raises(ValueError) as ours:
        CheckParams(**{"layers_dir": "layers", "out": "r.csv", "points": ["1,2"], **change})
    assert str(ours.value) == refused.value.format_message()


def test_check_params_need_sites_and_their_types():
    from geo.check.pipeline import NO_SITES, CheckParams

    with pytest.raises(ValueError, match=NO_SITES):
        CheckParams(layers_dir="layers", out="r.csv", sites="")
    with pytest.raises(TypeError, match="jobs is '2', not int"):
        CheckParams(layers_dir="layers", out="r.csv", sites="s.csv", jobs="2")


def test_the_pipeline_reports_progress_batch_by_batch(jinpu, tmp_path, monkeypatch):
    from geo.check import pipeline

    monkeypatch.setattr(pipeline, "CHUNK", 3)
    seen = []
    p = pipeline.CheckParams(sites=DEMO, layers_dir="layers/jinpu", out=str(tmp_path / "r.csv"), fail_on="prohibited")
    outcome = pipeline.run_check(jinpu, p, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(0, 8), (3, 8), (6, 8), (8, 8)]
    assert outcome.n_sites == 8 and outcome.counts["prohibited"] == 3 and outcome.exit_code == 3
    assert "checked 8 sites" in outcome.summary


def test_the_progress_bar_shows_for_several_batches_only(runner, tmp_path, monkeypatch):
    import geo.check.pipeline as cmd

    one = runner.invoke(cli, ["check", DEMO, "-o", str(tmp_path / "a.csv")])
    monkeypatch.setattr(cmd, "CHUNK", 3)
    several = runner.invoke(cli, ["check", DEMO, "-o", str(tmp_path / "b.csv")])
    quiet = runner.invoke(cli, ["-q", "check", DEMO, "-o", str(tmp_path / "c.csv")])
    assert one.exit_code == several.exit_code == quiet.exit_code == 0
    assert one.stderr.splitlines()[0].startswith("已核查") and several.stderr.splitlines()[0] == "checking"
    assert quiet.stderr == ""


def test_check_help_lists_the_project_types(runner):
    from geo.text import project_types

    r = runner.invoke(cli, ["check", "--help"])
    assert r.exit_code == 0
    for code, t in project_types().items():
        assert f"{code}  {t['alias']}" in r.output and t["name_zh"] in r.output


def _many_points(path, n: int) -> None:
    import numpy as np

    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(121.60, 122.20, n), rng.uniform(38.90, 39.30, n)
    pd.DataFrame({"id": np.arange(1, n + 1), "lon": lon.round(6), "lat": lat.round(6)}).to_csv(path, index=False)


def _start_check(tmp_path, *extra):
    import subprocess
    import sys

    sites = tmp_path / "in" / "many.csv"
    sites.parent.mkdir()
    _many_points(sites, 300_000)
    out = tmp_path / "out"
    out.mkdir()
    from pathlib import Path

    cmd = [str(Path(sys.executable).parent / "ecozone"), "check", str(sites), "--type", "T03", "-o", str(out / "r.csv"),
           "--detail", str(out / "d.csv"), *extra]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc, out


def _wait_for_files(proc, folder, seconds=120):
    import time

    end = time.monotonic() + seconds
    while time.monotonic() < end and proc.poll() is None:
        if any(folder.iterdir()):  # the writer's first temporary file: the check is under way
            return
        time.sleep(0.02)
    raise AssertionError(f"no temporary output appeared (exit {proc.poll()})")


def test_sigterm_leaves_no_temporary_file(tmp_path):
    import signal

    proc, out = _start_check(tmp_path)
    _wait_for_files(proc, out)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err and "stopped (SIGTERM); nothing written" in err
    assert not list(out.iterdir())


def _children(pid: int) -> list:
    from pathlib import Path

    kids = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            kids += [int(k) for k in (task / "children").read_text().split()]
        except FileNotFoundError:  # a thread that ended meanwhile
            continue
    return kids


def _alive(pid: int) -> bool:
    from pathlib import Path

    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie has ended


def test_a_worker_killed_mid_run_is_one_line_and_nothing_written(tmp_path):
    import signal
    import time

    proc, out = _start_check(tmp_path, "--jobs", "2")
    _wait_for_files(proc, out)
    end = time.monotonic() + 60
    while len(workers := _children(proc.pid)) < 2 and time.monotonic() < end and proc.poll() is None:
        time.sleep(0.02)
    os.kill(workers[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, err
    said = [line for line in err.splitlines() if line.startswith("ecozone:")]
    assert "Traceback" not in err and len(said) == 1 and "a worker process died" in said[0], err
    assert not list(out.iterdir())


def test_killed_parallel_run_leaves_no_worker(tmp_path, monkeypatch):
    import signal
    import time

    proc, out = _start_check(tmp_path, "--jobs", "2")
    _wait_for_files(proc, out)  # (the folder the workers write into comes before them)
    end = time.monotonic() + 60
    while len(workers := _children(proc.pid)) < 2 and time.monotonic() < end and proc.poll() is None:
        time.sleep(0.02)
    assert len(workers) >= 2
    proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate(timeout=60)
    end = time.monotonic() + 10
    while time.monotonic() < end and any(_alive(w) for w in workers):
        time.sleep(0.05)
    assert not any(_alive(w) for w in workers)
    assert "Traceback" not in err
