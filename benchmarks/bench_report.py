#!/usr/bin/env python
"""Report benchmark: Word, PDF and HTML reports against the old HTML report (geo/report.py before the package),
in one run.

Layer set: Jinpu (``layers/jinpu``, built into a temporary folder). Sites: ``--parcels`` seeded random
square parcels of 1–50 ha in the coverage, and ``--points`` random points (10⁵) in its bounding box.
Each report is made from a :class:`geo.report.ReportDigest` of the checked sites (the check itself is
not timed): 100 parcels to DOCX, PDF and HTML (every site detailed, a figure each); 10⁵ points to
DOCX and HTML with the default detail (summary and the 200 most severe). The baseline is the old HTML
report (geo/report.py from git, before it became a package: an SVG sketch per site, no legend, grid or
overview), when git has it. Timings are wall-clock seconds, and CPU seconds of this process and its figure
workers, on a shared machine (the load average is printed): compare within one run.

    python benchmarks/bench_report.py [--parcels 100] [--points 100000]
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from geo.check.engine import check_sites
from geo.layerset.read import read_layerset
from geo.report import ReportDigest, render_report

ROOT = Path(__file__).resolve().parents[1]


def old_report():
    """The single-module HTML report as it was in the last commit that had geo/report.py (the parent of the one
    that removed it), loaded as ``geo._old_report``; None if git lacks it."""
    def git(*args) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True).stdout

    try:
        last = git("log", "-1", "--format=%H", "--", "geo/report.py").strip()  # the commit that removed it
        text = git("show", f"{last}^:geo/report.py")
    except (OSError, subprocess.CalledProcessError):
        return None
    path = Path(tempfile.mkdtemp()) / "_old_report.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("geo._old_report", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def parcels(ls, n: int, rng) -> gpd.GeoDataFrame:
    cov = ls.coverage
    x0, y0, x1, y1 = cov.bounds
    out = []
    while len(out) < n:
        p = shapely.Point(rng.uniform(x0, x1), rng.uniform(y0, y1))
        if cov.contains(p):
            half = np.sqrt(rng.uniform(1, 50) * 1e4) / 2
            out.append(shapely.box(p.x - half, p.y - half, p.x + half, p.y + half))
    return frame(out, ls, "parcel")


def points(ls, n: int, rng) -> gpd.GeoDataFrame:
    x0, y0, x1, y1 = ls.coverage.bounds
    return frame(list(shapely.points(rng.uniform(x0, x1, n), rng.uniform(y0, y1, n))), ls, "point")


def frame(geoms, ls, kind) -> gpd.GeoDataFrame:
    n = len(geoms)
    return gpd.GeoDataFrame({"site_id": [f"S{i}" for i in range(n)], "name": [f"项目{i}" for i in range(n)],
                             "project_type": ["T03"] * n, "kind": [kind] * n},
                            geometry=geoms, crs=ls.measure_crs).to_crs(4326)


def cpu() -> float:
    """CPU seconds of this process and of its finished children (the figure workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed(label: str, fn, out: Path, base: tuple | None = None) -> tuple:
    t, c = time.perf_counter(), cpu()
    fn()
    secs, size, c = time.perf_counter() - t, out.stat().st_size, cpu() - c
    ratio = f"  ({secs / base[0]:.2f}× the time, {size / base[1]:.2f}× the size of the old HTML)" if base else ""
    print(f"  {label:<22} {secs:7.2f} s  (CPU {c:6.2f} s)  {size / 1e6:7.2f} MB{ratio}")
    return secs, size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parcels", type=int, default=100)
    ap.add_argument("--points", type=int, default=100_000)
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    rng = np.random.default_rng(15)
    old = old_report()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ls = read_layerset(ROOT / "layers/jinpu", build_path=tmp / "jinpu.gpkg")
        for label, sites in ((f"{args.parcels} parcels", parcels(ls, args.parcels, rng)),
                             (f"{args.points:,} points", points(ls, args.points, rng))):
            result = check_sites(sites, ls)
            digest = ReportDigest.of(result)
            print(f"{label}: {len(digest.kept.sites)} detailed")
            base = None
            if old is not None:
                html = tmp / "old.html"
                base = timed("old HTML (baseline)", lambda html=html, result=result: html.write_text(
                    old.render_report(old.ReportDigest.of(result)), encoding="utf-8"), html)
            for ext in ("html", "docx") + (("pdf",) if "parcels" in label else ()):
                out = tmp / f"r.{ext}"
                timed(f"new {ext.upper()}", lambda out=out, digest=digest: render_report(digest, out), out, base)


if __name__ == "__main__":
    main()
