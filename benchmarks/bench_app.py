#!/usr/bin/env python
"""Web-app benchmark: the page and the JSON API of ``ecozone app`` against the plain pipeline, in one run.

Layer set: Jinpu (``layers/jinpu``). A real app (uvicorn on a loopback port, 2 check threads) serves it.
1. ``--parcels`` seeded random square parcels (1–50 ha) in the coverage, uploaded as GeoJSON in headless
   Chromium once the map is on screen: seconds from choosing the file to the verdicts drawn on the map (and
   listed).
2. ``--points`` random points as one job: seconds from upload to done (progress polled), against
   ``run_check`` of the same file in this process (baseline, the same outputs but the derived ones).
3. ``--users`` concurrent users (threads with their own sessions) each uploading ``--sites`` points and
   waiting for the verdicts: p50/p95 seconds, against one plain ``run_check`` of such a file.
Wall-clock seconds on a shared machine: compare within one run.

    python benchmarks/bench_app.py [--parcels 1000] [--points 100000] [--users 20] [--sites 100]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from app_server import Client, running  # noqa: E402

from geo.app import create_app  # noqa: E402
from geo.check.pipeline import CheckParams, run_check  # noqa: E402
from geo.layerset.read import read_layerset  # noqa: E402


def sites(ls, n: int, *, parcels: bool, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = shapely.bounds(ls.coverage)
    x, y = rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)
    geoms = shapely.points(x, y)
    if parcels:
        half = np.sqrt(rng.uniform(1e4, 5e5, n)) / 2
        geoms = shapely.box(x - half, y - half, x + half, y + half)
    gdf = gpd.GeoDataFrame({"name": [f"s{i}" for i in range(n)]}, geometry=geoms, crs=ls.measure_crs)
    return gdf.to_crs(4326).to_json().encode()


def baseline(ls, data: bytes, folder: Path) -> float:
    src = folder / f"base-{len(data)}.geojson"
    src.write_bytes(data)
    t = time.perf_counter()
    run_check(ls, CheckParams(sites=str(src), layers_dir=str(ls.root), project_type="T03", out=str(folder / "b.gpkg"),
                              detail=str(folder / "b.csv"), overwrite=True))
    return time.perf_counter() - t


def in_page(url: str, data: bytes) -> float:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        page = b.new_page(viewport={"width": 1400, "height": 900}, bypass_csp=True)
        page.goto(url + "/")
        page.wait_for_selector("html[data-app-ready]")
        page.wait_for_function("window.ecozoneApp.frameReady !== null")
        page.evaluate("window.ecozoneApp.frameReady.then(function () { return true; })")  # the map is on screen
        page.select_option("#type", "T03")
        t = time.perf_counter()
        page.set_input_files("#file", files={"name": "parcels.geojson", "mimeType": "application/json", "buffer": data})
        page.wait_for_function("document.documentElement.hasAttribute('data-results-drawn')", timeout=120_000)
        seconds = time.perf_counter() - t
        b.close()
    return seconds


def one_user(port: int, data: bytes) -> float:
    c = Client(port)
    c.start_local()
    t = time.perf_counter()
    _, r = c.upload(data, "sites.geojson", project_type="T03")
    c.wait(r["id"], timeout=600)
    c.request("GET", f"/api/checks/{r['id']}/sites")
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parcels", type=int, default=1000)
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--sites", type=int, default=100)
    a = ap.parse_args()
    ls = read_layerset(ROOT / "layers" / "jinpu")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        app = create_app([ls.root], data_dir=folder / "data", max_upload=512 << 20)
        with running(app) as (_, port):
            url = f"http://127.0.0.1:{port}"
            data = sites(ls, a.parcels, parcels=True, seed=1)
            page_s, base_s = in_page(url, data), baseline(ls, data, folder)
            print(f"{a.parcels} parcels: upload → drawn in the page {page_s:.2f} s; plain run_check {base_s:.2f} s "
                  f"(ratio {page_s / base_s:.1f}); goal < 3 s")
            data = sites(ls, a.points, parcels=False, seed=2)
            job_s, base_s = one_user(port, data), baseline(ls, data, folder)
            print(f"{a.points} points as a job: {job_s:.2f} s; plain run_check {base_s:.2f} s (ratio {job_s / base_s:.1f})")
            files = [sites(ls, a.sites, parcels=False, seed=10 + i) for i in range(a.users)]
            base_s = baseline(ls, files[0], folder)
            with ThreadPoolExecutor(a.users) as ex:
                times = sorted(ex.map(lambda d: one_user(port, d), files))
            p50, p95 = statistics.median(times), times[max(0, int(round(0.95 * len(times))) - 1)]
            print(f"{a.users} users × {a.sites} sites at once: p50 {p50:.2f} s, p95 {p95:.2f} s; one plain run_check "
                  f"{base_s:.2f} s (p95 ratio {p95 / base_s:.1f}); goal p95 < 2 s")


if __name__ == "__main__":
    main()
