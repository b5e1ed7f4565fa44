#!/usr/bin/env python
"""Report-figure benchmark: geo.figures against a naive GeoDataFrame.plot baseline, in one run.

Zones: the Jinpu layers (``layers/jinpu``, built into a temporary folder), in the measurement CRS.
Sites: 100 seeded random sites in the coverage (40 points, 30 parcels of 1–50 ha, 30 lines of 1–10 km).

* **location** – ``location_figure`` (PNG, 160 × 110 mm, 150 dpi) for each site, and the same figures
  redrawn through one ``LocationSheet`` (how a report draws them), against the naive way:
  ``zones.plot`` of every zone plus the site on a pyplot figure, limits set, ``savefig`` PNG (no
  legend, grid, scale bar or north arrow: it does less).
* **overview** – ``overview_figure`` of 10⁵ random points coloured by verdict, against
  ``GeoDataFrame.plot(column="verdict")`` of the same points.

Timings are wall-clock and CPU seconds of this process, best of ``--repeat``; the machine is shared,
so only the ratios of one run mean anything. Usage::

    python benchmarks/bench_figures.py [--sites 100] [--points 100000] [--repeat 3]
"""
from __future__ import annotations

import argparse
import io
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import geopandas as gpd  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402  (the baseline only: geo.figures never uses pyplot)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import shapely  # noqa: E402

from geo.figures import LocationSheet, location_figure, overview_figure  # noqa: E402
from geo.layerset.read import read_layerset  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def zones_and_styles(ls) -> tuple:
    """All zones of the layer set in its measurement CRS, and their styles by (layer, class)."""
    zones = pd.concat([ls.measured(lid)[["layer", "zone_class", "name_zh", "zone_code", "geometry"]]
                       for lid in ls.layer_ids if lid != "study_area"], ignore_index=True)
    styles = {(lid, c): {"color": spec.color(c), "label_zh": spec.class_label(c, "zh"),
                         "label_en": spec.class_label(c, "en")}
              for lid, spec in ls.specs.items() for c in spec.classes}
    crs = ls.measure_crs
    return gpd.GeoDataFrame(zones, crs=crs), styles, f"{crs.name} (EPSG:{crs.to_epsg()})"


def random_sites(coverage, n: int, rng) -> list:
    """n sites inside the coverage: 40 % points, 30 % square parcels of 1–50 ha, 30 % lines of 1–10 km."""
    x0, y0, x1, y1 = coverage.bounds
    out = []
    while len(out) < n:
        p = shapely.Point(rng.uniform(x0, x1), rng.uniform(y0, y1))
        if not coverage.contains(p):
            continue
        kind = len(out) % 10
        if kind < 4:
            out.append(p)
        elif kind < 7:
            half = np.sqrt(rng.uniform(1, 50) * 1e4) / 2
            out.append(shapely.box(p.x - half, p.y - half, p.x + half, p.y + half))
        else:
            length, angle = rng.uniform(1000, 10_000), rng.uniform(0, np.pi)
            out.append(shapely.LineString([(p.x, p.y), (p.x + length * np.cos(angle), p.y + length * np.sin(angle))]))
    return out


def naive_location(site, zones, colors) -> bytes:
    """The baseline: every zone and the site through GeoDataFrame.plot, then the window."""
    fig, ax = plt.subplots(figsize=(160 / 25.4, 110 / 25.4))
    zones.plot(ax=ax, color=colors, alpha=0.35, edgecolor=colors, linewidth=0.7)
    gpd.GeoSeries([site], crs=zones.crs).plot(ax=ax, color="black", linewidth=2.4, markersize=80)
    x0, y0, x1, y1 = site.buffer(max(300.0, 0.15 * site.length)).bounds
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150)
    plt.close(fig)
    return buf.getvalue()


def timed(fn, repeat: int) -> tuple:
    """(best wall seconds, CPU seconds of that run, last result)."""
    best = None
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        result = fn()
        w, c = time.perf_counter() - w, time.process_time() - c
        if best is None or w < best[0]:
            best = (w, c)
    return best[0], best[1], result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sites", type=int, default=100)
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.default_rng(15)
    with tempfile.TemporaryDirectory() as tmp:
        ls = read_layerset(ROOT / "layers/jinpu", build_path=Path(tmp) / "jinpu.gpkg")
        zones, styles, crs_label = zones_and_styles(ls)
    sites = random_sites(ls.coverage, args.sites, rng)
    colors = [styles.get((a, b), {"color": "#888888"})["color"] for a, b in zip(zones["layer"], zones["zone_class"])]
    location_figure(sites[0], zones, styles=styles, crs_label=crs_label)  # fonts and the zones' index, once
    naive_location(sites[0], zones, colors)

    n = len(sites)
    ours = timed(lambda: [location_figure(s, zones, styles=styles, crs_label=crs_label) for s in sites], args.repeat)
    sheet = LocationSheet(crs_label=crs_label)
    reused = timed(lambda: [sheet.draw(s, zones, styles=styles) for s in sites], args.repeat)
    assert reused[2] == ours[2]  # the same figures, byte for byte
    base = timed(lambda: [naive_location(s, zones, colors) for s in sites], args.repeat)
    size = sum(len(b) for b in ours[2])
    print(f"location figures, {n} sites (PNG 160×110 mm, 150 dpi):")
    print(f"  geo.figures   {n / ours[0]:6.1f} figures/s  {ours[0] / n * 1000:6.1f} ms each "
          f"(CPU {ours[1] / n * 1000:.1f} ms), {size / n / 1024:.0f} KiB each")
    print(f"  one sheet     {n / reused[0]:6.1f} figures/s  {reused[0] / n * 1000:6.1f} ms each "
          f"(CPU {reused[1] / n * 1000:.1f} ms), the same bytes")
    print(f"  naive .plot   {n / base[0]:6.1f} figures/s  {base[0] / n * 1000:6.1f} ms each "
          f"(CPU {base[1] / n * 1000:.1f} ms)")
    print(f"  ratio         {base[0] / ours[0]:.2f}× faster than the baseline; one sheet {base[0] / reused[0]:.2f}×, "
          f"{ours[0] / reused[0]:.2f}× faster than a figure each")

    x0, y0, x1, y1 = ls.coverage.bounds
    pts = shapely.points(rng.uniform(x0, x1, args.points), rng.uniform(y0, y1, args.points))
    verdicts = rng.choice(["allowed", "caution", "restricted", "prohibited", "unknown"], args.points,
                          p=[0.6, 0.1, 0.15, 0.1, 0.05])
    ours = timed(lambda: overview_figure(pts, verdicts, ls.coverage, crs_label=crs_label), args.repeat)
    frame = gpd.GeoDataFrame({"verdict": verdicts}, geometry=pts, crs=zones.crs)

    def naive_overview():
        fig, ax = plt.subplots(figsize=(160 / 25.4, 110 / 25.4))
        frame.plot(ax=ax, column="verdict", markersize=1.2, legend=True)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=150)
        plt.close(fig)
        return buf.getvalue()

    base = timed(naive_overview, args.repeat)
    print(f"overview figure, {args.points:,} points:")
    print(f"  geo.figures   {ours[0]:6.2f} s (CPU {ours[1]:.2f} s), {len(ours[2]) / 1024:.0f} KiB")
    print(f"  naive .plot   {base[0]:6.2f} s (CPU {base[1]:.2f} s)")
    print(f"  ratio         {base[0] / ours[0]:.2f}× faster than the baseline")


if __name__ == "__main__":
    main()
