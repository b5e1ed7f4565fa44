"""Benchmark of issue #17: network indices for Jinpu; least-cost corridors over a large raster from ten sources.

    .venv/bin/python benchmarks/bench_network.py                 # 2×10⁷ cells (4000 × 5000 at 10 m, 2,000 km²)
    .venv/bin/python benchmarks/bench_network.py --rows 1000 --cols 1250   # a quick run

Goals: indices < 1 s; corridors < 60 s and < 4 GB. The baseline, measured in the same run on the same raster,
is one bare multi-source ``MCP_Geometric.find_costs`` (the least a corridor tool on scikit-image must do); the
corridors build the raster's graph, make one scipy Dijkstra run from all sources and one bounded run per linked
source (docs/network.md §3), in one process and with the per-source runs in 2 forked workers (``--jobs``); each
step is printed with its wall and CPU time. Peak memory is the process's maximum resident size.
"""
from __future__ import annotations

import argparse
import resource
import time

import geopandas as gpd
import numpy as np
import shapely
from affine import Affine
from scipy import ndimage


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2


def bench_indices() -> None:
    from geo.layerset.read import read_layerset
    from geo.network.graph import build_network, ranked

    ls = read_layerset("layers/jinpu")
    ls.measured("eco_cores")
    t = time.perf_counter()
    net = build_network(ls)
    t_graph = time.perf_counter() - t
    nodes, links, s = ranked(net)
    total = time.perf_counter() - t
    print(f"indices, Jinpu: {len(nodes)} nodes, {len(links)} links; graph {t_graph:.3f} s, graph + IIC, PC and "
          f"every dIIC/dPC {total:.3f} s (goal < 1 s: {'met' if total < 1 else 'MISSED'}); PC {s['PC']:.6f}")


def synthetic(rows: int, cols: int, seed: int = 17):
    """A smooth random resistance (1–100) with two roads (500) and ten round sources of 600 m radius."""
    from geo.network.corridors import Resistance

    rng = np.random.default_rng(seed)
    small = rng.uniform(0, 1, (rows // 50 + 2, cols // 50 + 2))
    field = ndimage.zoom(small, 50, order=1)[:rows, :cols]
    costs = (1 + 99 * field ** 2).astype(np.float64)
    costs[rows // 3, :] = 500
    costs[:, cols // 2] = 500
    cell = 10.0
    transform = Affine(cell, 0, 500000, 0, -cell, 4300000)
    xs = rng.uniform(0.1, 0.9, 10) * cols * cell + 500000
    ys = 4300000 - rng.uniform(0.1, 0.9, 10) * rows * cell
    src = gpd.GeoDataFrame({"name": [f"S{k}" for k in range(10)]},
                           geometry=shapely.buffer(shapely.points(xs, ys), 600), crs=4550)
    return Resistance(costs, transform, "EPSG:4550"), src


def bench_corridors(rows: int, cols: int, cutoff: float, jobs: list) -> None:
    from skimage.graph import MCP_Geometric

    from geo.network.corridors import least_cost_corridors, rasterize_sources

    res, src = synthetic(rows, cols)
    print(f"corridors: {rows} × {cols} = {rows * cols:.2e} cells at 10 m ({rows * cols / 1e4:.0f} km²), "
          f"10 sources, cutoff {cutoff:g}")
    labels = rasterize_sources(src, res)
    t, cpu = time.perf_counter(), time.process_time()
    MCP_Geometric(res.costs, sampling=res.sampling).find_costs(np.argwhere(labels > 0))
    base, cpu = time.perf_counter() - t, time.process_time() - cpu
    print(f"  baseline, one multi-source MCP_Geometric.find_costs: {base:.1f} s wall, {cpu:.1f} s CPU "
          f"(peak so far {peak_gb():.2f} GB)")
    for n in jobs:
        t, cpu = time.perf_counter(), time.process_time()
        stats = {}
        paths, corridors = least_cost_corridors(src, res, cutoff=cutoff, stats=stats, jobs=n)
        took, cpu = time.perf_counter() - t, time.process_time() - cpu
        for step, v in stats.items():
            print(f"    {step}: " + (f"{v[0]:.1f} s wall, {v[1]:.1f} s CPU (this process)" if isinstance(v, tuple)
                                    else f"{v:.3g}"))
        linked = len(set(paths["from_source"]) | set(paths["to_source"]))
        kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 ** 2
        print(f"  least_cost_corridors, jobs={n}: {len(paths)} links among {linked} sources, {took:.1f} s wall "
              f"= {took / base:.2f} × baseline; peak resident {peak_gb():.2f} GB"
              + (f", each worker ≤ {kids:.2f} GB (the graph's pages shared with the parent count in both)"
                 if n > 1 else "")
              + f" (goals < 60 s: {'met' if took < 60 else 'MISSED'}, < 4 GB: {'met' if peak_gb() < 4 else 'MISSED'})")
    t = time.perf_counter()
    least_cost_corridors(src, res)
    print(f"  paths only (no cutoff): {time.perf_counter() - t:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=4000)
    ap.add_argument("--cols", type=int, default=5000)
    ap.add_argument("--cutoff", type=float, default=20000)
    ap.add_argument("--jobs", default="1,2", help="processes for the per-source runs, each value a run (1,2)")
    ap.add_argument("--skip-indices", action="store_true")
    a = ap.parse_args()
    if not a.skip_indices:
        bench_indices()
    bench_corridors(a.rows, a.cols, a.cutoff, [int(j) for j in a.jobs.split(",")])


if __name__ == "__main__":
    main()
