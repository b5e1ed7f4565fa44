"""Checking sites on a Dask cluster (dask.distributed), with the answers of one process.

``local[:N]`` starts a :class:`distributed.LocalCluster` of N worker processes
(one thread each) on this machine; ``tcp://HOST:PORT`` connects to a running
scheduler (``dask scheduler``, and ``dask worker tcp://HOST:PORT`` on each
machine). docs/scale.md tells how to run one.

A run, :func:`checked_on_cluster`:

* every worker opens the layer set once, from its folder, through a worker
  plugin (:class:`LayerSetPlugin`): the folder must be at the same path on
  every worker (shared storage), and its build must be the client's (same
  content hash). A worker that joins later, or is restarted, opens it too;
* the sites, read and validated by the client, are cut into blocks of a few
  consecutive batches of ``size`` sites (the batches of a one-process run); the
  sites of a block are ordered along a Hilbert curve
  (:meth:`geopandas.GeoSeries.hilbert_distance`) and cut into partitions, so
  each task meets the zones of a small area;
* one task per partition checks it (:func:`~geo.check.batches.checked_part`,
  the kernel of the forked workers too); one task per block joins its
  partitions back in the input order and ``prepare``\\ s each batch: the Arrow
  tables the writer appends, the report's share, the units met — what one
  process makes of the same batch, so the outputs are the same bytes;
* the caller gets the batches in order, at most a few blocks ahead; the
  scheduler re-runs the tasks of a worker lost mid-run (results it held are
  computed again).
"""
from __future__ import annotations

import importlib.util
import logging
import socket
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import numpy as np
from distributed.diagnostics.plugin import WorkerPlugin

from ..errors import ClusterError
from ..threads import default_jobs, mark_worker
from .batches import checked_part, warn_again

log = logging.getLogger(__name__)

__all__ = ["CLUSTER_FORMS", "parse_cluster", "cluster_client", "checked_on_cluster", "LayerSetPlugin", "opened"]

CLUSTER_FORMS = "local, local:N or tcp://HOST:PORT"
#: batches per block (a block is joined back into the input order by one task)
BLOCK_BATCHES = 4
#: the fewest sites worth a partition of their own
MIN_PART = 1_000
CONNECT_TIMEOUT_S = 20

_OPENED: dict = {}  # in a worker: (folder, content hash) -> the layer set, opened once


def parse_cluster(spec: str) -> tuple[str, int | str | None]:
    """``("local", N or None)`` or ``("tcp", address)``; ValueError (naming ``--cluster``) otherwise."""
    s = spec.strip()
    if s == "local":
        return "local", None
    if s.startswith("local:") and s[6:].isdigit() and int(s[6:]) >= 1:
        return "local", int(s[6:])
    host, _, port = s.removeprefix("tcp://").rpartition(":")
    if s.startswith("tcp://") and host and port.isdigit():
        return "tcp", s
    raise ValueError(f"Invalid value for '--cluster': {spec!r} is not {CLUSTER_FORMS}.")


@contextmanager
def cluster_client(spec: str):
    """A :class:`distributed.Client` for ``spec``; closed on exit (with the local cluster it started).

    Raises
    ------
    ClusterError
        When the local cluster cannot start or the scheduler cannot be reached.
    """
    from distributed import Client, LocalCluster

    kind, arg = parse_cluster(spec)
    if kind == "local":
        try:  # (the scheduler's HTTP server, and the dashboard when bokeh is installed, on a free port)
            cluster = LocalCluster(n_workers=arg or default_jobs(), threads_per_worker=1, processes=True,
                                   dashboard_address=":0", silence_logs=logging.WARNING)
        except (OSError, RuntimeError) as exc:
            raise ClusterError(f"本机 Dask 集群无法启动 / the local Dask cluster did not start ({exc})",
                               hint="give --cluster local:N with fewer workers, or leave out --cluster") from None
        with cluster, Client(cluster) as client:
            _say_dashboard(client)
            yield client
        return
    try:
        client = Client(arg, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"无法连接 Dask 调度器 / cannot reach the Dask scheduler at {arg} ({exc})",
                           hint=f"start it with `dask scheduler` and workers with `dask worker {arg}`") from None
    with client:
        _say_dashboard(client)
        yield client


def _say_dashboard(client) -> None:
    try:
        link = client.dashboard_link if importlib.util.find_spec("bokeh") else None
    except (KeyError, AttributeError):
        link = None
    log.info("Dask: %d workers; dashboard %s", len(client.scheduler_info()["workers"]),
             link or "not served (install bokeh to see it)")


def opened(root: str, build: str, content_hash: str):
    """The layer set of folder ``root`` (its build ``build``) in this process, opened once, index and rules ready.

    Raises
    ------
    ClusterError
        When the build here is not the client's (another content hash).
    """
    key = (root, content_hash)
    ls = _OPENED.get(key)
    if ls is None:
        from ..layerset.read import read_layerset
        from .rules import rules_of
        from .zones import zone_index

        ls = read_layerset(root, build_path=build, rebuild="never")
        got = (ls.meta or {}).get("content_hash")
        if got != content_hash:
            raise ClusterError(f"worker {socket.gethostname()} sees another build of layer set {ls.name} "
                               f"({got} ≠ {content_hash})", path=build,
                               hint="give every worker the same layer set folder at the same path, built once")
        zone_index(ls)
        rules_of(ls)
        _OPENED.clear()
        _OPENED[key] = ls
    return ls


class LayerSetPlugin(WorkerPlugin):
    """A worker plugin opening the layer set once on each worker (and on workers that join later).

    ``setup`` marks the worker as one of several (its geometry on one thread)
    and opens the layer set from its folder (:func:`opened`).
    """

    def __init__(self, root: str, build: str, content_hash: str):
        self.where = (root, build, content_hash)
        self.name = f"ecozone-layerset-{content_hash}"

    def setup(self, worker=None):
        mark_worker()
        opened(*self.where)

    def teardown(self, worker=None):
        _OPENED.clear()


def _where(ls) -> tuple:
    from ..layerset.build import default_build_path
    from .zones import zone_index

    content = (ls.meta or {}).get("content_hash")
    if not content:
        raise ClusterError(f"layer set {ls.name} has no content hash", path=ls.root,
                           hint=f"rebuild it: ecozone build {ls.root}")
    zone_index(ls)  # written beside the build here, so the workers read it instead of making it each
    root = Path(ls.root).resolve()
    return str(root), str(default_build_path(root)), content


def _register(client, where: tuple) -> None:
    plugin = LayerSetPlugin(*where)
    replies = client.register_plugin(plugin, name=plugin.name) or {}
    for worker, reply in replies.items():
        if isinstance(reply, dict) and reply.get("status") == "error":
            raise ClusterError(f"Dask worker {worker} cannot open the layer set ({reply.get('exception')})",
                               path=where[0], hint="put the layer set on storage every worker reads, at the same path")


def hilbert_parts(geoms, n_parts: int, bounds) -> list:
    """Positions of ``geoms`` cut into ``n_parts`` runs along a Hilbert curve over ``bounds``."""
    key = geoms.hilbert_distance(total_bounds=bounds).to_numpy()
    return [p for p in np.array_split(np.argsort(key, kind="stable"), n_parts) if len(p)]


def _check_part(sites, pos, where):
    """Phase 1: one partition checked (its findings built), with the input positions of its sites."""
    result, caught = checked_part(sites, opened(*where), _built)
    return result, pos, caught


def _built(result):
    _ = result.detail
    return result


def _join(parts, where, start: int, size: int, prepare) -> tuple:
    """Phase 2: a block's partitions in input order, cut into batches from ``start``, each ``prepare``\\ d.

    Returns the batches and the warnings of the partitions.
    """
    import geopandas as gpd
    import pandas as pd

    from .engine import CheckResult

    ls = opened(*where)
    pos = np.concatenate([p[1] for p in parts])
    order = np.argsort(pos, kind="stable")
    sites = pd.concat([p[0].sites for p in parts], ignore_index=True).iloc[order]
    sites = gpd.GeoDataFrame(sites.reset_index(drop=True), crs=parts[0][0].sites.crs)
    details = [p[0].detail.assign(_s=p[1][p[0].detail["_s"].to_numpy()]) for p in parts]
    detail = pd.concat(details, ignore_index=True)
    detail = detail.iloc[np.argsort(detail["_s"].to_numpy(), kind="stable")].reset_index(drop=True)
    spos, dpos = pos[order], detail["_s"].to_numpy()
    out, caught = [], [w for p in parts for w in p[2]]
    for lo in range(start, int(spos[-1]) + 1, size):
        s0, s1 = np.searchsorted(spos, [lo, lo + size])
        d0, d1 = np.searchsorted(dpos, [lo, lo + size])
        d = detail.iloc[d0:d1].reset_index(drop=True)
        d["_s"] = d["_s"].to_numpy() - lo
        batch = CheckResult(sites=sites.iloc[s0:s1].reset_index(drop=True), detail=d, layerset=ls)
        out.append(prepare(batch))
    return out, caught


def checked_on_cluster(sites, layerset, client, *, size: int, prepare=lambda r: r):
    """``prepare(check_sites(batch, layerset))`` for each batch of ``size`` sites, in order, checked on ``client``.

    The same batches and the same values as :func:`~geo.check.batches.checked_batches`
    in one process; ``prepare`` must pickle (it runs on the workers). Warnings
    raised on the workers are raised again here.
    """
    where = _where(layerset)
    _register(client, where)
    n_workers = max(1, len(client.scheduler_info()["workers"]))
    block = size * BLOCK_BATCHES
    n_blocks = -(-len(sites) // block)
    n_parts = max(BLOCK_BATCHES, -(-2 * n_workers // n_blocks))  # every worker busy, even with one block
    bounds = sites.total_bounds
    ahead = max(2, -(-2 * n_workers // n_parts) + 1)  # blocks in flight
    pending = []
    todo = iter(range(0, len(sites), block))
    try:
        for start in todo:
            pending.append(_submit(client, sites, start, block, size, n_parts, bounds, where, prepare))
            if len(pending) >= ahead:
                break
        while pending:
            batches, caught = pending.pop(0).result()
            warn_again(caught)
            for start in todo:
                pending.append(_submit(client, sites, start, block, size, n_parts, bounds, where, prepare))
                break
            yield from batches
    finally:
        for fut in pending:
            fut.cancel()


def _submit(client, sites, start: int, block: int, size: int, n_parts: int, bounds, where, prepare):
    """The future of one block: its partitions checked, then joined."""
    chunk = sites.iloc[start:start + block]
    n_parts = max(1, min(n_parts, len(chunk) // MIN_PART))
    parts = hilbert_parts(chunk.geometry, n_parts, bounds)
    import dask

    # each partition travels in its task (not scattered): the scheduler keeps it and sends it again when the
    # worker checking it is lost; a scattered copy would be lost with the worker
    with dask.config.set({"distributed.admin.large-graph-warning-threshold": "4GB"}):
        checked = [client.submit(_check_part, chunk.iloc[p], p + start, where, pure=False) for p in parts]
    return client.submit(partial(_join, where=where, start=start, size=size, prepare=prepare), checked, pure=False)
