"""The report (HTML here; Word and PDF in test_report_docx/pdf): bounded whatever the batch, the same from
batches as from one result, detail modes, text kept as text."""
from __future__ import annotations


import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.check.engine import check_sites
from geo.cli.main import cli
from geo.report import DETAIL_LIMIT, ReportDigest, build_report, render_report
from geo.report.html import report_html

#: sites detailed in the large-batch test (the default, DETAIL_LIMIT, draws 200 figures a report)
LIMIT = 24


def random_points(n: int, seed: int = 1) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    geoms = shapely.points(rng.uniform(121.6, 122.2, n), rng.uniform(38.9, 39.3, n))
    return gpd.GeoDataFrame({"site_id": [f"S{i}" for i in range(n)], "name": [f"点{i}" for i in range(n)],
                             "project_type": ["T03"] * n, "kind": ["point"] * n}, geometry=geoms, crs=4326)


def test_digest_of_batches_equals_digest_of_the_whole(jinpu):
    pts = random_points(2_000)
    whole_result = check_sites(pts, jinpu)
    verdicts = list(whole_result.sites["verdict"].astype(str))
    whole = ReportDigest.of(whole_result, limit=40)
    batched = ReportDigest(jinpu, limit=40)
    for start in range(0, len(pts), 300):
        batched.add(ReportDigest.part(check_sites(pts.iloc[start:start + 300], jinpu), limit=40))
    assert batched.n == whole.n == 2_000
    assert batched.counts == whole.counts
    assert list(batched.kept.sites["site_id"]) == list(whole.kept.sites["site_id"])
    pd.testing.assert_series_equal(batched.by_zone.sort_index(), whole.by_zone.sort_index(), check_dtype=False)
    pd.testing.assert_series_equal(batched.by_rule.sort_index(), whole.by_rule.sort_index(), check_dtype=False)
    # the most severe first, in input order among equals
    rank = {"prohibited": 0, "restricted": 1, "caution": 2, "unknown": 3, "allowed": 4}
    kept = batched.kept.sites
    worst = sorted(range(len(pts)), key=lambda i: rank[verdicts[i]])[:40]
    assert list(kept["site_id"]) == [f"S{i}" for i in sorted(worst)]
    assert set(batched.kept.detail["site_id"]) <= set(kept["site_id"])


def test_a_large_batch_is_summarised_and_details_the_most_severe(runner, tmp_path, monkeypatch):
    import geo.check.pipeline as cmd
    import geo.report.digest as digest

    monkeypatch.setattr(cmd, "CHUNK", 250)
    monkeypatch.setattr(cmd, "PARALLEL_FROM", 1)
    monkeypatch.setattr(digest, "DETAIL_LIMIT", LIMIT)  # 24 figures a report, not 200 (the default: next test)
    pts = random_points(1_200, seed=3)
    sites = tmp_path / "many.csv"
    pd.DataFrame({"id": pts["site_id"], "lon": pts.geometry.x, "lat": pts.geometry.y}).to_csv(sites, index=False)
    reports = {}
    for jobs in ("1", "2"):
        out, rep = tmp_path / f"r{jobs}.csv", tmp_path / f"r{jobs}.html"
        r = runner.invoke(cli, ["check", str(sites), "--type", "T03", "-o", str(out), "--report", str(rep),
                                "--detail", str(tmp_path / f"d{jobs}.csv"), "--jobs", jobs])
        assert r.exit_code == 0, r.output
        reports[jobs] = rep.read_text(encoding="utf-8").replace(f"d{jobs}.csv", "d.csv")
    html = reports["1"]
    assert reports["2"] == html  # worker processes give the same report
    verdicts = pd.read_csv(tmp_path / "r1.csv", encoding="utf-8-sig")["verdict"]
    assert html.count("<h2 id='s-") == LIMIT
    assert html.count("<img ") == LIMIT + 1  # a location figure per detailed site, one overview
    assert "按区域统计 / Sites by zone met" in html and "按规则统计 / Sites by rule applied" in html
    assert f"{len(pts):,} sites in all; {LIMIT} are detailed below (the most severe first)" in html
    assert "every finding is in d.csv" in html  # where the full detail is
    assert f"<td>合计 / Total</td><td>{len(pts):,}</td>" in html
    n_prohibited = int((verdicts == "prohibited").sum())
    assert html.count("— 禁止 / prohibited</h2>") == min(n_prohibited, LIMIT)


def test_by_default_a_report_details_the_200_most_severe(jinpu):
    res = check_sites(random_points(1_200, seed=3), jinpu)
    verdicts = res.sites["verdict"].astype(str)
    rep = build_report(ReportDigest.of(res), figures=False)  # the text only: figures are tested with fewer sites
    assert DETAIL_LIMIT == 200 and len(rep.sites) == 200
    rank = {"prohibited": 0, "restricted": 1, "caution": 2, "unknown": 3, "allowed": 4}
    worst = sorted(range(len(verdicts)), key=lambda i: rank[verdicts[i]])[:200]
    assert [s.site_id for s in rep.sites] == [f"S{i}" for i in sorted(worst)]
    assert "1,200 sites in all; 200 are detailed below (the most severe first)" in rep.detail_note


#: run in a fresh interpreter: the test process has other threads by now, and figures are forked only without them
_FORKED_FIGURES = """
import sys, threading
import geopandas as gpd, numpy as np, shapely
from geo.check.engine import check_sites
from geo.layerset.read import read_layerset
from geo.report import figures, render_report

ls = read_layerset(sys.argv[1])
rng = np.random.default_rng(11)
x, y = rng.uniform(121.6, 122.2, 14), rng.uniform(38.9, 39.3, 14)
geoms = [shapely.box(a, b, a + 0.004, b + 0.003) if i % 3 == 0 else shapely.Point(a, b) for i, (a, b) in enumerate(zip(x, y))]
sites = gpd.GeoDataFrame({"site_id": [f"S{i}" for i in range(14)], "name": [f"点{i}" for i in range(14)],
                          "project_type": ["T03"] * 14}, geometry=geoms, crs=4326)
res = check_sites(sites, ls)
figures.POOL_FROM = 10**9
assert figures._workers(14) == 0
here = render_report(res)
figures.POOL_FROM = 2
assert threading.active_count() == 1 and figures._workers(14) == 2, (threading.active_count(), figures._workers(14))
assert render_report(res) == here
assert here.count("<img ") == 15 and here.count("width:120mm") == 14
print("same")
"""


def test_figures_drawn_in_worker_processes_are_the_ones_drawn_here(jinpu):
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", _FORKED_FIGURES, str(jinpu.root)], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0 and run.stdout.strip() == "same", run.stderr[-2000:]


@pytest.mark.parametrize("mode", ["flagged", "none", "all"])
def test_detail_modes_pick_the_sites_detailed(jinpu, mode):
    res = check_sites(random_points(60, seed=7), jinpu)
    verdicts = res.sites["verdict"].astype(str)
    html = report_html(build_report(ReportDigest.of(res, detail=mode), figures=False))  # counts: no figures needed
    want = {"flagged": int((verdicts != "allowed").sum()), "none": 0, "all": 60}[mode]
    assert 0 < int((verdicts == "allowed").sum()) < 60
    assert html.count("<h2 id='s-") == want
    assert ("60 sites in all" in html) == (mode != "all")


def test_a_small_batch_details_every_site_and_explains_the_mark(jinpu):
    res = check_sites(random_points(30, seed=5), jinpu)
    html = render_report(res)
    assert html.count("<h2 id='s-") == 30 and "By zone met" not in html
    assert "(J): judgement — no clause squarely decides the case" in html
    assert "Figures: drawn by ecozone with matplotlib" in html  # the report says how figures are drawn


def test_text_from_sites_is_text_in_the_report(jinpu):
    pts = random_points(3, seed=9)
    pts["name"] = ["{{ 7*7 }}", "<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>"]
    pts["site_id"] = ["'><b>x", "{% raw %}", "S3"]
    html = render_report(check_sites(pts, jinpu))
    assert "{{ 7*7 }}" in html and "{% raw %}" in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html and "<img src=x" not in html and "<b>x" not in html


@pytest.mark.parametrize("colour", ["red", "#12345", "#1a9641\" onload=\"alert(1)", "url(javascript:x)"])
def test_a_colour_that_is_not_rrggbb_is_refused_on_load(tmp_path, colour):
    from conftest import make_tiny_layerset

    from geo.errors import LayerSetError
    from geo.layerset import read_manifest

    root = make_tiny_layerset(tmp_path / "ls")
    text = (root / "manifest.toml").read_text(encoding="utf-8")
    (root / "manifest.toml").write_text(text.replace('color = "#ff0000"', f"color = {colour!r}".replace("'", '"')
                                                     if '"' not in colour else f"color = '{colour}'"),
                                        encoding="utf-8")
    with pytest.raises(LayerSetError, match=r"colour .* is not #rrggbb"):
        read_manifest(root)
