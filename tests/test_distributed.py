"""The check on dask.distributed: a local cluster and a scheduler with two worker processes on loopback give
the bytes of the one-process run (points, lines, parcels, sites outside the coverage); a worker killed mid-run
leaves a complete, equal result."""
from __future__ import annotations

import filecmp
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from geo.check import check_sites, pipeline
from geo.check.batches import checked_batches
from geo.check.distributed import checked_on_cluster, parse_cluster
from geo.check.pipeline import CheckParams, run_check
from geo.cli.main import cli
from geo.errors import ClusterError
from geo.sites.read import sites_from_inline

HERE = Path(__file__).resolve().parent
DASK = Path(sys.executable).with_name("dask")
pytestmark = pytest.mark.filterwarnings("ignore::geo.errors.CoverageWarning")


def _wkts(n: int = 60) -> list:
    """Points, lines and parcels across the tiny layer set (zones A and B, both coverage edges); every seventh site
    far outside the coverage (unknown)."""
    out = []
    for i in range(n):
        x = 121.83 + i * 0.0018
        if i % 7 == 3:
            out.append(f"POINT ({122.6 + i * 0.001} 39.5)")
        elif i % 5 == 0:
            out.append(shapely.box(x, 39.11, x + 0.003, 39.12).wkt)
        elif i % 5 == 1:
            out.append(f"LINESTRING ({x} 39.105, {x + 0.004} 39.125)")
        else:
            out.append(f"POINT ({x} 39.116)")
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def scheduler():
    """``dask scheduler`` and ``dask worker --nworkers 2`` on loopback (free ports), stopped at the end."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    procs = [subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], **quiet)]
    procs.append(subprocess.Popen([str(DASK), "worker", address, "--nworkers", "2", "--nthreads", "1",
                                   "--host", "127.0.0.1", "--no-dashboard"], **quiet))
    try:
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def _run(tiny, tmp_path, name: str, **kw) -> list:
    out, detail = tmp_path / f"{name}.csv", tmp_path / f"{name}-detail.csv"
    p = CheckParams(wkts=_wkts(), layers_dir=str(tiny.root), project_type="T03", out=str(out), detail=str(detail),
                    **kw)
    seen = []
    outcome = run_check(tiny, p, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (60, 60)
    return [out, detail, outcome.counts]


def test_cluster_runs_give_the_bytes_of_one_process(tiny, tmp_path, monkeypatch, scheduler):
    monkeypatch.setattr(pipeline, "CHUNK", 7)  # several blocks of several batches
    one = _run(tiny, tmp_path, "one")
    assert one[2]["unknown"] >= 8 and one[2]["prohibited"] and one[2]["restricted"]
    for name, spec in (("local", "local:2"), ("tcp", scheduler)):
        got = _run(tiny, tmp_path, name, cluster=spec)
        assert filecmp.cmp(one[0], got[0], shallow=False), name
        assert filecmp.cmp(one[1], got[1], shallow=False), name
        assert got[2] == one[2]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(  # no scratch folder of CSV parts left
        f"{n}{s}.csv" for n in ("one", "local", "tcp") for s in ("", "-detail"))
    kinds = pd.read_csv(one[0], encoding="utf-8-sig")["kind"]
    assert {"point", "line", "parcel"} <= set(kinds)


def test_the_cli_checks_on_a_cluster_and_refuses_bad_specs(tiny, tmp_path, scheduler):
    out = tmp_path / "cli.csv"
    args = ["check", "--layers", str(tiny.root), "--type", "T03", "-o", str(out), "--point", "121.86,39.116"]
    res = CliRunner().invoke(cli, [*args, "--cluster", scheduler])
    assert res.exit_code == 0, res.output
    assert "prohibited" in out.read_text(encoding="utf-8-sig")
    for bad in ("local:0", "spark://x:1", "tcp://nohost"):
        res = CliRunner().invoke(cli, [*args, "--overwrite", "--cluster", bad])
        assert res.exit_code == 2 and "'--cluster'" in res.output, res.output
    res = CliRunner().invoke(cli, [*args, "--overwrite", "--cluster", "local", "--jobs", "2"])
    assert res.exit_code == 2 and "not both" in res.output
    res = CliRunner().invoke(cli, ["-v", *args, "--overwrite", "--cluster", "local:1"])  # ecozone's notes, not Dask's
    assert res.exit_code == 0 and "Dask: 1 workers; dashboard" in res.stderr, res.output
    assert not [line for line in res.stderr.splitlines() if "comms" in line or "Scheduler" in line], res.stderr


def test_an_unreachable_scheduler_is_one_error_and_nothing_written(tiny, tmp_path):
    out = tmp_path / "r.csv"
    p = CheckParams(wkts=_wkts(5), layers_dir=str(tiny.root), project_type="T03", out=str(out),
                    cluster=f"tcp://127.0.0.1:{_free_port()}")
    with pytest.raises(ClusterError, match="cannot reach the Dask scheduler"):
        from geo.check import distributed

        monkey = distributed.CONNECT_TIMEOUT_S
        distributed.CONNECT_TIMEOUT_S = 2
        try:
            run_check(tiny, p)
        finally:
            distributed.CONNECT_TIMEOUT_S = monkey
    assert list(tmp_path.iterdir()) == []
    assert parse_cluster("local:3") == ("local", 3)


class Blocking:
    """A ``prepare`` that, until ``go`` exists, records its worker's pid in ``started`` and waits (the test then
    kills that worker)."""

    def __init__(self, folder: str):
        self.folder = Path(folder)

    def __call__(self, result):
        go = self.folder / "go"
        if not go.exists():
            (self.folder / f"started-{os.getpid()}").write_text("")
            deadline = time.monotonic() + 60
            while not go.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        _ = result.detail
        return result


def test_a_worker_killed_mid_run_leaves_a_complete_equal_result(tiny, tmp_path, scheduler):
    from distributed import Client

    sites = sites_from_inline(wkts=_wkts(), project_type="T03")
    expected = list(checked_batches(sites, tiny, size=7))
    got, errors = [], []
    with Client(scheduler, timeout=30) as client:
        pids = set(client.run(os.getpid).values())

        def run():
            try:
                got.extend(checked_on_cluster(sites, tiny, client, size=7, prepare=Blocking(str(tmp_path))))
            except Exception as exc:  # reported below
                errors.append(exc)

        thread = threading.Thread(target=run)
        thread.start()
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob("started-*")) and time.monotonic() < deadline:
            time.sleep(0.05)
        started = [int(p.name.split("-")[1]) for p in tmp_path.glob("started-*")]
        assert started and started[0] in pids
        os.kill(started[0], signal.SIGKILL)
        (tmp_path / "go").write_text("")
        thread.join(120)
    assert not errors, errors
    assert len(got) == len(expected) == 9
    for g, e in zip(got, expected):
        pd.testing.assert_frame_equal(pd.DataFrame(g.sites.drop(columns="geometry")).astype(str),
                                      pd.DataFrame(e.sites.drop(columns="geometry")).astype(str))
        assert g.sites.geometry.geom_equals_exact(e.sites.geometry, 0).all()
        pd.testing.assert_frame_equal(g.detail.astype(str), e.detail.astype(str))
    whole = check_sites(sites, tiny)
    assert sum(len(g.sites) for g in got) == len(whole.sites) == 60


def _parts(tmp_path, n_parts: int = 3):
    """The sites of :func:`_wkts` as one GeoParquet file and as a dataset of ``n_parts`` parts (named so that
    name order is file order)."""
    import geopandas as gpd
    import numpy as np

    geoms = shapely.from_wkt(_wkts())
    gdf = gpd.GeoDataFrame({"id": [f"S{i:03d}" for i in range(len(geoms))], "type": "T03",
                            "note": [None] * 30 + ["n"] * 30}, geometry=geoms, crs=4490)
    one = tmp_path / "one.parquet"
    gdf.to_parquet(one)
    folder = tmp_path / "parts"
    folder.mkdir()
    for k, rows in enumerate(np.array_split(np.arange(len(gdf)), n_parts)):
        gdf.iloc[rows].to_parquet(folder / f"part-{k}.parquet")
    (folder / "_SUCCESS").write_text("")  # (what Spark leaves; not a part)
    return one, folder


def test_a_geoparquet_dataset_is_read_as_its_parts_in_name_order(tiny, tmp_path, scheduler):
    one, folder = _parts(tmp_path)
    base = ["check", "--layers", str(tiny.root)]
    runs = {"file": [str(one)], "folder": [str(folder)], "url": [folder.as_uri()],
            "cluster": [str(folder), "--cluster", scheduler]}
    for name, args in runs.items():
        res = CliRunner().invoke(cli, [*base, *args, "-o", str(tmp_path / f"{name}.csv"),
                                       "--detail", str(tmp_path / f"{name}-d.csv")])
        assert res.exit_code == 0, (name, res.output)
    for name in ("folder", "url", "cluster"):
        assert filecmp.cmp(tmp_path / "file.csv", tmp_path / f"{name}.csv", shallow=False), name
        assert filecmp.cmp(tmp_path / "file-d.csv", tmp_path / f"{name}-d.csv", shallow=False), name
    assert list(pd.read_csv(tmp_path / "folder.csv", encoding="utf-8-sig")["site_id"]) == [
        f"S{i:03d}" for i in range(60)]
    empty = tmp_path / "empty"
    empty.mkdir()
    res = CliRunner().invoke(cli, [*base, str(empty), "-o", str(tmp_path / "e.csv")])
    assert res.exit_code == 2 and "is a directory" in res.output, res.output  # not a dataset: refused as any folder
    (folder / "part-3.parquet").write_text("not parquet")
    res = CliRunner().invoke(cli, [*base, str(folder), "-o", str(tmp_path / "e.csv")])
    assert res.exit_code == 2 and "parts" in res.output and "cannot read" in res.output, res.output
    assert not (tmp_path / "e.csv").exists()


def test_a_dataset_output_is_the_single_file_output_row_for_row(tiny, tmp_path, monkeypatch):
    import geopandas as gpd

    from geo.results import read_results

    monkeypatch.setattr(pipeline, "CHUNK", 7)  # 9 batches, 9 parts
    one, _ = _parts(tmp_path)
    common = {"sites": str(one), "layers_dir": str(tiny.root)}
    run_check(tiny, CheckParams(out=str(tmp_path / "one.gpkg"), **common))
    for name, kw in (("here", {}), ("local", {"cluster": "local:2"})):
        out = tmp_path / f"{name}.parquet"
        run_check(tiny, CheckParams(out=str(out), **kw, **common))
        assert sorted(p.name for p in out.iterdir()) == [f"part-{k:05d}.parquet" for k in range(9)]
        got, want = gpd.read_parquet(out), gpd.read_file(tmp_path / "one.gpkg", layer="sites")
        assert list(got.columns) == list(want.columns) and len(got) == 60
        pd.testing.assert_frame_equal(pd.DataFrame(got.drop(columns="geometry")).astype(str),
                                      pd.DataFrame(want.drop(columns="geometry")).astype(str))
        assert got.geometry.geom_equals_exact(want.geometry, 1e-12).all() and got.crs == want.crs
        assert list(read_results(out)["verdict"]) == list(want["verdict"])
    # replaced whole with --overwrite; a run that fails leaves the old dataset and nothing else
    out = tmp_path / "here.parquet"
    (out / "part-00099.parquet").write_text("stale")
    run_check(tiny, CheckParams(out=str(out), overwrite=True, **common))
    assert len(list(out.iterdir())) == 9
    calls = []
    with pytest.raises(InterruptedError):
        run_check(tiny, CheckParams(out=str(out), overwrite=True, **common), stop=lambda: calls.append(1) or
                  len(calls) > 3)
    assert len(list(out.iterdir())) == 9
    with pytest.raises(InterruptedError):
        run_check(tiny, CheckParams(out=str(tmp_path / "new.parquet"), **common), stop=lambda: calls.append(1) or
                  len(calls) > 6)
    assert not (tmp_path / "new.parquet").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_zones_split_in_space_give_the_same_answers(tiny, tmp_path, monkeypatch, scheduler):
    """Each task reads only the zone pieces of its partition's box; the zones A and B are cut across partitions."""
    from distributed import Client

    from geo.check import distributed
    from geo.check.zones import zone_index

    monkeypatch.setattr(distributed, "MIN_PART", 1)  # 4 partitions a block: each zone meets several
    sites = sites_from_inline(wkts=_wkts(), project_type="T03")
    sites["radius_m"] = [50.0 if i % 11 == 2 else 0.0 for i in range(len(sites))]
    expected = list(checked_batches(sites, tiny, size=7))
    with Client(scheduler, timeout=30) as client:
        got = list(checked_on_cluster(sites, tiny, client, size=7, split_zones=True))
    for g, e in zip(got, expected, strict=True):
        pd.testing.assert_frame_equal(pd.DataFrame(g.sites.drop(columns="geometry")).astype(str),
                                      pd.DataFrame(e.sites.drop(columns="geometry")).astype(str))
        pd.testing.assert_frame_equal(g.detail.astype(str), e.detail.astype(str))
    store = distributed.zone_store(tiny)
    whole = zone_index(tiny)
    x0, y0, x1, y1 = shapely.bounds(whole.pieces).T
    left = (x0.min(), y0.min(), (x0.min() + x1.max()) / 2, y1.max())
    part = distributed.area_index(tiny, str(store), left)
    assert 0 < len(part.pieces) < len(whole.pieces) and part.attrs is not None
    assert set(part.piece_zone) < set(whole.piece_zone)


def _same_batches(got, expected) -> None:
    for g, e in zip(got, expected, strict=True):
        pd.testing.assert_frame_equal(pd.DataFrame(g.sites.drop(columns="geometry")).astype(str),
                                      pd.DataFrame(e.sites.drop(columns="geometry")).astype(str))
        assert g.sites.geometry.geom_equals_exact(e.sites.geometry, 0).all()
        pd.testing.assert_frame_equal(g.detail.astype(str), e.detail.astype(str))


def _opened_here() -> list:
    """(In a worker) the identities of the layer sets it holds open."""
    from geo.check import distributed

    return [id(ls) for ls in distributed._OPENED.values()]


def test_a_task_a_batch_with_a_batch_a_worker_else_partitions_joined(tiny, monkeypatch, scheduler):
    """9 batches on 2 workers: 9 tasks, each checking and preparing its batch, nothing joined; one batch: partitions
    along the curve, joined. Both give the batches of one process; the layer set stays open between runs."""
    from distributed import Client, get_task_stream

    from geo.check import distributed

    monkeypatch.setattr(distributed, "MIN_PART", 1)
    sites = sites_from_inline(wkts=_wkts(), project_type="T03")
    with Client(scheduler, timeout=30) as client:
        for size, n_batches in ((7, 9), (60, 1)):
            expected = list(checked_batches(sites, tiny, size=size))
            with get_task_stream(client) as ts:
                got = list(checked_on_cluster(sites, tiny, client, size=size))
            assert len(got) == n_batches
            _same_batches(got, expected)
            names = pd.Series([t["key"] for t in ts.data]).str.extract(r"^(_[a-z_]+)-")[0].value_counts().to_dict()
            n_parts = distributed.partition_count(len(sites), size, 2)
            if n_batches > 1:
                assert names == {"_check_batch": 9} and n_parts == 9
            else:
                assert names == {"_check_part": 4, "_join": 1} and n_parts == 4
            if size == 7:
                held = client.run(_opened_here)
        assert client.run(_opened_here) == held and all(len(v) == 1 for v in held.values())
    assert distributed.partition_count(250_000, 100_000, 2, split=True) == 4
    assert distributed.partition_count(250_000, 100_000, 4) == 8  # (3 batches < 4 workers: 8 partitions)


def _part_bytes_equal(a: Path, b: Path) -> list:
    """The part names of two dataset outputs, asserted equal, each part byte for byte (as ``cmp`` compares)."""
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    for name in names:
        assert filecmp.cmp(a / name, b / name, shallow=False), name
    return names


def test_workers_write_the_parts_of_a_dataset_output_with_the_bytes_of_one_process(tiny, tmp_path, monkeypatch,
                                                                                     scheduler):
    """-o x.parquet on a cluster: each task writes its part into the hidden folder; the client gets its name and
    rows only. A task a batch (9 batches) and partitions joined (1 batch on 2 workers) give one process's parts."""
    from distributed import Client

    from geo.check import distributed
    from geo.results import PART_NAME, ResultWriter

    monkeypatch.setattr(distributed, "MIN_PART", 1)
    one, _ = _parts(tmp_path)  # (a text column blank in half the rows)
    common = {"sites": str(one), "layers_dir": str(tiny.root), "detail": None}
    for chunk, n_parts in ((7, 9), (60, 1)):
        monkeypatch.setattr(pipeline, "CHUNK", chunk)
        here, there = tmp_path / f"here-{chunk}.parquet", tmp_path / f"there-{chunk}.parquet"
        run_check(tiny, CheckParams(out=str(here), **common))
        outcome = run_check(tiny, CheckParams(out=str(there), cluster=scheduler, **common))
        assert outcome.n_sites == 60
        assert _part_bytes_equal(here, there) == [PART_NAME.format(k) for k in range(n_parts)]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    sites = sites_from_inline(wkts=_wkts(), project_type="T03")
    with ResultWriter(tmp_path / "api.parquet") as writer, Client(scheduler, timeout=30) as client:
        remote = writer.remote()
        for k, batch in enumerate(checked_on_cluster(sites, tiny, client, size=7, prepare=remote,
                                                     writes_to=remote.folder)):
            assert batch.parquet is None and batch.part == (PART_NAME.format(k), batch.n)  # the rows stayed there
            assert (Path(remote.folder) / batch.part[0]).is_file()
            writer.add(batch)
    assert len(list((tmp_path / "api.parquet").iterdir())) == 9 and writer.n == 60


class WriteThenBlock:
    """A ``prepare`` writing its batch's part (the real writer) and then, until ``go`` exists, leaving a temporary
    file as a write cut short leaves it, recording its worker's pid and waiting (the test then kills that worker)."""

    def __init__(self, folder: str, inner):
        self.folder, self.inner = Path(folder), inner

    def __call__(self, result, **number):
        batch = self.inner(result, **number)
        go = self.folder / "go"
        if not go.exists():
            (Path(self.inner.folder) / f".{batch.part[0]}.cut-short.tmp").write_bytes(b"PAR1\0")
            (self.folder / f"started-{os.getpid()}").write_text("")
            deadline = time.monotonic() + 60
            while not go.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        return batch


def test_a_worker_killed_while_writing_parts_leaves_each_part_once_and_whole(tiny, tmp_path, scheduler):
    from distributed import Client

    from geo.results import ResultWriter

    sites = sites_from_inline(wkts=_wkts(), project_type="T03")
    with ResultWriter(tmp_path / "one.parquet") as writer:
        for batch in checked_batches(sites, tiny, size=7, prepare=writer.prepare):
            writer.add(batch)
    out, errors = tmp_path / "cluster.parquet", []
    with ResultWriter(out) as writer, Client(scheduler, timeout=30) as client:
        remote = writer.remote()

        def run():
            try:
                for batch in checked_on_cluster(sites, tiny, client, size=7, prepare=WriteThenBlock(tmp_path, remote),
                                                writes_to=remote.folder):
                    writer.add(batch)
            except Exception as exc:  # reported below
                errors.append(exc)

        thread = threading.Thread(target=run)
        thread.start()
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob("started-*")) and time.monotonic() < deadline:
            time.sleep(0.05)
        started = [int(p.name.split("-")[1]) for p in tmp_path.glob("started-*")]
        assert started and list(Path(remote.folder).glob(".part-*.tmp"))
        os.kill(started[0], signal.SIGKILL)
        (tmp_path / "go").write_text("")
        thread.join(120)
        assert not errors, errors
    assert len(_part_bytes_equal(tmp_path / "one.parquet", out)) == 9 and writer.n == 60  # no stray .tmp left
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_batch_whose_part_is_not_the_next_is_refused_and_nothing_written(tiny, tmp_path):
    from geo.errors import ExportError
    from geo.results import ResultWriter, write_part

    result = check_sites(sites_from_inline(wkts=_wkts(14), project_type="T03"), tiny)
    with pytest.raises(ExportError, match="part-00001.parquet .* came where part-00000.parquet"):
        with ResultWriter(tmp_path / "r.parquet") as writer:
            batch = writer.prepare(result)
            batch.part, batch.parquet = write_part(batch.parquet, writer.remote().folder, 1), None
            writer.add(batch)
    assert list(tmp_path.iterdir()) == []


def _unshare_works() -> bool:
    try:
        return subprocess.run(["unshare", "-m", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.skipif(not _unshare_works(), reason="needs unshare -m (a mount namespace) to hide a folder from a worker")
def test_a_worker_that_cannot_see_the_output_folder_is_refused_before_any_work(tiny, tmp_path):
    """A worker in its own mount namespace, an empty tmpfs over the output's folder: it sees another folder there.
    One ClusterError line naming the folder, no task checking sites, nothing left behind."""
    from distributed import Client, get_task_stream

    from geo.results import ResultWriter

    shared = tmp_path / "out"
    shared.mkdir()
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              **quiet),
             subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c",
                               'mount -t tmpfs tmpfs "$0" && exec "$1" worker "$2" --nthreads 1 --host 127.0.0.1 '
                               '--no-dashboard', str(shared), str(DASK), address], **quiet)]
    try:
        with Client(address, timeout=60) as client:
            client.wait_for_workers(1, timeout=60)
            sites = sites_from_inline(wkts=_wkts(), project_type="T03")
            with pytest.raises(ClusterError, match="does not see the folder the output is built in"), \
                    get_task_stream(client) as ts, \
                    ResultWriter(shared / "r.parquet") as writer:
                remote = writer.remote()
                list(checked_on_cluster(sites, tiny, client, size=7, prepare=remote, writes_to=remote.folder))
            assert not [t for t in ts.data if t["key"].startswith("_check")]
        res = CliRunner().invoke(cli, ["check", "--layers", str(tiny.root), "--type", "T03", "-o",
                                       str(shared / "r.parquet"), "--point", "121.86,39.116", "--cluster", address])
        assert res.exit_code == 2 and "看不到或不能写入输出所在的文件夹" in res.output and str(shared) in res.output, res.output
        assert len(res.output.strip().splitlines()) == 1, res.output
        assert list(shared.iterdir()) == []
        # CSV outputs: the worker cannot write its rows there, so they come back whole; the same bytes
        with Client(address, timeout=60) as client, ResultWriter(shared / "r.csv") as writer:
            remote = writer.remote()
            got = list(checked_on_cluster(sites, tiny, client, size=7, prepare=remote, may_write_to=remote.scratch))
            assert all(b.tables and not b.files for b in got)
        args = ["check", "--layers", str(tiny.root), "--type", "T03", "--point", "121.86,39.116",
                "--point", "122.9,39.5"]
        for name, extra in (("one", []), ("r", ["--cluster", address])):
            res = CliRunner().invoke(cli, [*args, "-o", str(shared / f"{name}.csv"), "--detail",
                                           str(shared / f"{name}-d.csv"), "--overwrite", *extra])
            assert res.exit_code == 0, res.output
        assert filecmp.cmp(shared / "one.csv", shared / "r.csv", shallow=False)
        assert filecmp.cmp(shared / "one-d.csv", shared / "r-d.csv", shallow=False)
        assert sorted(p.name for p in shared.iterdir()) == ["one-d.csv", "one.csv", "r-d.csv", "r.csv"]
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def test_the_workers_read_a_datasets_parts_and_the_client_never_holds_the_sites(tiny, tmp_path, monkeypatch,
                                                                                 scheduler):
    """Parts of unequal sizes (one empty), sites with and without ids: the CSVs are the bytes of one process, a
    dataset output the same rows; the client reads the parts' footers only."""
    import geopandas as gpd
    import numpy as np

    from geo.sites.readers.dataset import part_rows

    monkeypatch.setattr(pipeline, "CHUNK", 7)
    geoms = shapely.from_wkt(_wkts())
    gdf = gpd.GeoDataFrame({"id": [f"S{i:03d}" if i % 4 else None for i in range(60)], "type": "T03"},
                           geometry=geoms, crs=4490)
    folder = tmp_path / "parts"
    folder.mkdir()
    for k, (lo, hi) in enumerate(((0, 11), (11, 11), (11, 40), (40, 60))):
        gdf.iloc[lo:hi].to_parquet(folder / f"part-{k}.parquet")
    assert part_rows(folder, sorted(str(p) for p in folder.iterdir())) == [11, 0, 29, 20]
    common = {"sites": str(folder), "layers_dir": str(tiny.root), "overwrite": True}
    run_check(tiny, CheckParams(out=str(tmp_path / "one.csv"), detail=str(tmp_path / "one-d.csv"), **common))
    run_check(tiny, CheckParams(out=str(tmp_path / "one.parquet"), **common))
    monkeypatch.setattr(pipeline, "read_check_sites", lambda *a: pytest.fail("the client read the sites"))
    seen = []
    run_check(tiny, CheckParams(out=str(tmp_path / "w.csv"), detail=str(tmp_path / "w-d.csv"), cluster=scheduler,
                                **common), progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (0, 60) and seen[-1] == (60, 60)
    assert filecmp.cmp(tmp_path / "one.csv", tmp_path / "w.csv", shallow=False)
    assert filecmp.cmp(tmp_path / "one-d.csv", tmp_path / "w-d.csv", shallow=False)
    ids = pd.read_csv(tmp_path / "w.csv", encoding="utf-8-sig", dtype=str)["site_id"]
    assert ids.iloc[0] == "1" and ids.iloc[44] == "45" and ids.iloc[45] == "S045"  # unnamed: their dataset row
    run_check(tiny, CheckParams(out=str(tmp_path / "w.parquet"), cluster=scheduler, **common))
    got, want = gpd.read_parquet(tmp_path / "w.parquet"), gpd.read_parquet(tmp_path / "one.parquet")
    pd.testing.assert_frame_equal(pd.DataFrame(got.drop(columns="geometry")).astype(str),
                                  pd.DataFrame(want.drop(columns="geometry")).astype(str))
    assert got.geometry.geom_equals_exact(want.geometry, 1e-12).all()
    assert len(list((tmp_path / "w.parquet").iterdir())) == 2 + 5 + 3  # the input's parts cut in batches of 7
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert np.isin(["one.csv", "w.csv", "w-d.csv"], [p.name for p in tmp_path.iterdir()]).all()


def test_a_bad_row_or_an_id_used_in_two_parts_is_the_error_of_one_process(tiny, tmp_path, scheduler):
    import geopandas as gpd

    geoms = shapely.from_wkt(_wkts(20))
    gdf = gpd.GeoDataFrame({"id": [f"S{i:03d}" for i in range(20)], "type": "T03"}, geometry=geoms, crs=4490)
    for name, change in (("twice", lambda g: g.assign(id=g["id"].where(g.index != 17, "S004"))),
                         ("type", lambda g: g.assign(type=g["type"].where(g.index != 13, "T99")))):
        folder = tmp_path / name
        folder.mkdir()
        bad = change(gdf)
        bad.iloc[:10].to_parquet(folder / "part-0.parquet")
        bad.iloc[10:].to_parquet(folder / "part-1.parquet")
        lines = {}
        for how, extra in (("one", []), ("cluster", ["--cluster", scheduler])):
            out = tmp_path / f"{name}-{how}.csv"
            res = CliRunner().invoke(cli, ["check", str(folder), "--layers", str(tiny.root), "-o", str(out), *extra])
            assert res.exit_code == 2 and not out.exists(), res.output
            lines[how] = res.output.strip().splitlines()
        assert lines["one"] == lines["cluster"] and len(lines["one"]) == 1, lines
        assert ("row 18" in lines["one"][0] and "S004" in lines["one"][0]) if name == "twice" else \
            ("row 14" in lines["one"][0] and "T99" in lines["one"][0])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_part_changed_during_the_run_is_refused(tiny, tmp_path, scheduler):
    """The footers said 10 rows; the part holds 20 when its task reads it: an error, never a part checked in part."""
    import geopandas as gpd
    from distributed import Client

    from geo.check.dataset_parts import checked_dataset_on_cluster, dataset_plan
    from geo.errors import SiteInputError
    from geo.results import ResultWriter

    folder = tmp_path / "parts"
    folder.mkdir()
    gdf = gpd.GeoDataFrame({"type": ["T03"] * 20}, geometry=shapely.from_wkt(_wkts(20)), crs=4490)
    gdf.iloc[:10].to_parquet(folder / "part-0.parquet")
    parts, rows = dataset_plan(folder)
    gdf.to_parquet(folder / "part-0.parquet")  # rewritten after the plan was made
    with Client(scheduler, timeout=60) as client, pytest.raises(SiteInputError, match="not the 10 it held"), \
            ResultWriter(tmp_path / "out" / "r.csv") as writer:
        list(checked_dataset_on_cluster(folder, {}, tiny, client, size=7, prepare=writer.remote(), plan=(parts, rows)))
    assert not (tmp_path / "out").exists()
