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
* the sites, read and validated by the client, travel pickled once, as bytes,
  inside their tasks (:func:`_packed`: not unpickled by the scheduler, and sent
  again if a worker is lost);
* with at least one batch of ``size`` sites (the batches of a one-process run)
  per worker and the zones whole, each batch is one task: checked and
  ``prepare``\\ d where it runs (:func:`~geo.check.batches.checked_part`, the
  kernel of the forked workers too), so only what the writer appends (Arrow
  tables, the report's share, the units met) comes back;
* otherwise (fewer batches than workers, or the zones split in space) the sites
  are cut into blocks of :data:`BLOCK_BATCHES` consecutive batches; the sites of
  a block are ordered along a Hilbert curve
  (:meth:`geopandas.GeoSeries.hilbert_distance`) and cut into partitions, so
  each task meets the zones of a small area; one task per partition checks it,
  one task per block joins its partitions back in the input order and
  ``prepare``\\ s each batch — what one process makes of the same batch, so the
  outputs are the same bytes;
* the caller gets the batches in order, a few tasks ahead; the scheduler
  re-runs the tasks of a worker lost mid-run (results it held are computed
  again);
* ``writes_to`` (a GeoParquet dataset output, ``-o results.parquet``): each
  task writes its batch's part itself into that folder (the writer's hidden
  folder: :meth:`~geo.results.ResultWriter.remote`), ``prepare`` called with
  ``number=`` the batch's number, so the part keeps the name a one-process run
  gives it; only the part's name and rows come back. Every worker must see the
  folder at the same path (shared storage): checked before any work
  (:func:`refuse_unseen`);
* ``may_write_to`` (CSV outputs: the writer's scratch folder): when every
  worker sees it, each task writes its batch's CSV rows there and the client
  appends the files in order; else the rows come back as Arrow tables.

Layer sets whose zone index is large (its cache over :data:`SPLIT_FROM_MB`, or
``split_zones=True``) are split in space too: the client writes the index's
pieces once per build as a GeoParquet file sorted along a Hilbert curve
(:func:`zone_store`); the workers do not load the whole index, and each task
reads only the pieces within its partition's box (grown by the largest
``near`` distance and footprint radius) into an index of its own
(:func:`area_index`). The answers stay the same bytes.
"""
from __future__ import annotations

import copy
import importlib.util
import logging
import os
import pickle
import socket
from collections import deque
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import numpy as np
from distributed.diagnostics.plugin import WorkerPlugin

from ..errors import ClusterError
from ..threads import default_jobs, mark_worker
from .batches import checked_part, warn_again

log = logging.getLogger(__name__)

__all__ = ["CLUSTER_FORMS", "parse_cluster", "cluster_client", "checked_on_cluster", "LayerSetPlugin", "opened",
           "zone_store", "area_index", "SPLIT_FROM_MB", "partition_count", "refuse_unseen", "unseen"]

CLUSTER_FORMS = "local, local:N or tcp://HOST:PORT"
#: batches per block (a block is joined back into the input order by one task)
BLOCK_BATCHES = 4
#: the fewest sites worth a partition of their own
MIN_PART = 1_000
CONNECT_TIMEOUT_S = 20
#: a zone index whose cache file is larger than this (MB) is split in space with the sites
SPLIT_FROM_MB = 256
#: pieces per row group of the zone store (the unit a task's bounding-box read skips or reads)
STORE_ROW_GROUP = 8_192

_OPENED: dict = {}  # in a worker: (folder, content hash) -> the layer set, opened once
_ATTRS: dict = {}  # in a worker: zone store -> the zones' attributes (one row a zone), read once


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


def opened(root: str, build: str, content_hash: str, store: str | None = None):
    """The layer set of folder ``root`` (its build ``build``) in this process, opened once, index and rules ready.

    With a zone ``store`` (the layer set split in space) the whole zone index is not loaded: each task reads
    its area's pieces (:func:`area_index`).

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
        if store is None:
            zone_index(ls)
        rules_of(ls)
        _OPENED.clear()
        _OPENED[key] = ls
    return ls


class LayerSetPlugin(WorkerPlugin):
    """A worker plugin opening the layer set once on each worker (and on workers that join later).

    ``setup`` marks the worker as one of several (its geometry on one thread)
    and opens the layer set from its folder (:func:`opened`); the next run on the
    same workers finds it open (a run registers the plugin again, which tears the
    old one down first), and opening another layer set or build closes it.
    """

    def __init__(self, root: str, build: str, content_hash: str, store: str | None = None):
        self.where = (root, build, content_hash, store)
        self.name = f"ecozone-layerset-{content_hash}"

    def setup(self, worker=None):
        mark_worker()
        opened(*self.where)

    def teardown(self, worker=None):
        """Nothing: the layer set stays open for the next run registering this plugin again (a worker holds one)."""


def _where(ls, split_zones: bool | None) -> tuple:
    """(folder, build, content hash, zone store or None): what a worker needs to open the layer set."""
    from ..layerset.build import default_build_path
    from .zones import cache_path, zone_index

    content = (ls.meta or {}).get("content_hash")
    if not content:
        raise ClusterError(f"layer set {ls.name} has no content hash", path=ls.root,
                           hint=f"rebuild it: ecozone build {ls.root}")
    zone_index(ls)  # written beside the build here, so the workers read it instead of making it each
    if split_zones is None:
        cache = cache_path(ls)
        split_zones = cache.exists() and cache.stat().st_size > SPLIT_FROM_MB * 2**20
    root = Path(ls.root).resolve()
    return str(root), str(default_build_path(root)), content, str(zone_store(ls)) if split_zones else None


def zone_store(ls) -> Path:
    """The zone index's pieces and the coverage's, as GeoParquet sorted along a Hilbert curve (written once a build).

    Columns ``piece`` (its number in the index), ``zone`` (the zone's row; -1 for a piece of the coverage) and
    the geometry (measurement CRS), with GeoParquet's bounding-box columns, so a reader given a box reads only
    the row groups that may meet it.
    """
    import geopandas as gpd

    from ..atomic import atomic_path
    from .zones import zone_index

    path = Path(ls.root) / "build" / f"{ls.name}.zstore-{ls.meta['content_hash'][:16]}.parquet"
    if path.exists():
        return path
    zi = zone_index(ls)
    n, m = len(zi.pieces), len(zi.cov_pieces)
    store = gpd.GeoDataFrame({"piece": np.concatenate([np.arange(n), np.arange(m)]),
                              "zone": np.concatenate([zi.piece_zone, np.full(m, -1)]).astype(np.int64)},
                             geometry=np.concatenate([zi.pieces, zi.cov_pieces]), crs=ls.measure_crs)
    store = store.iloc[np.argsort(store.geometry.hilbert_distance(), kind="stable")]
    with atomic_path(path) as tmp:
        store.to_parquet(tmp, index=False, write_covering_bbox=True, row_group_size=STORE_ROW_GROUP)
    return path


def area_index(ls, store: str, box):
    """A zone index of the pieces of ``store`` that meet ``box`` (measurement CRS), zones numbered as in the whole.

    Without the grid of the whole index (the pieces answer alone; the same findings, tested). A layer with no
    piece in the box keeps one piece from elsewhere (the check wants each layer's pieces; one too far to be
    near any site changes no answer).
    """
    import geopandas as gpd
    import pandas as pd

    from .zones import ZoneIndex, _checked_layers, _zone_attrs, _zone_frame

    layers = _checked_layers(ls)
    if store not in _ATTRS:
        _ATTRS.clear()
        attrs = _zone_attrs(ls, layers)
        _ATTRS[store] = attrs, _one_piece_a_layer(store, attrs)
    attrs, spare = _ATTRS[store]
    got = gpd.read_parquet(store, bbox=tuple(box))
    layer_of = attrs["layer"].to_numpy()
    zone = got["zone"].to_numpy()
    missing = ~spare["layer"].isin(layer_of[zone[zone >= 0]]).to_numpy()
    if missing.any():
        got = pd.concat([got, spare.loc[missing, got.columns]], ignore_index=True)
    got = got.iloc[np.argsort(got["piece"].to_numpy() - (got["zone"].to_numpy() < 0) * (1 << 62), kind="stable")]
    zone = got["zone"].to_numpy()
    geoms = np.asarray(got.geometry.values, dtype=object)
    return ZoneIndex(attrs=attrs, pieces=geoms[zone >= 0], piece_zone=zone[zone >= 0], grid=None, cov_grid=None,
                     cov_pieces=geoms[zone < 0], zones_loader=lambda: _zone_frame(ls, layers), max_vertices=256)


def _one_piece_a_layer(store: str, attrs):
    """The first piece of each layer in the store, with its layer (read once a worker)."""
    import geopandas as gpd
    import pyarrow.parquet as pq

    zone = pq.read_table(store, columns=["piece", "zone"]).to_pandas()
    zone = zone[zone["zone"] >= 0].sort_values("piece")
    first = zone.assign(layer=attrs["layer"].to_numpy()[zone["zone"].to_numpy()]).drop_duplicates("layer")
    got = gpd.read_parquet(store, filters=[[("zone", ">=", 0), ("piece", "in", first["piece"].tolist())]])
    return got.assign(layer=attrs["layer"].to_numpy()[got["zone"].to_numpy()])


def _in_area(ls, sites, store: str):
    """``ls`` with the zone index of the area of ``sites``: their box grown by the largest near distance and radius."""
    from .rules import rules_of

    margin = max(rules_of(ls).near_layers().values(), default=0.0) + 1.0
    if "radius_m" in sites and len(sites):
        margin += float(np.nanmax(sites["radius_m"].to_numpy(dtype=float)))
    x0, y0, x1, y1 = sites.geometry.to_crs(ls.measure_crs).total_bounds
    area = copy.copy(ls)  # (the rules and the layers shared; the index its own)
    area._zone_index = area_index(ls, store, (x0 - margin, y0 - margin, x1 + margin, y1 + margin))
    return area


def _register(client, where: tuple) -> None:
    plugin = LayerSetPlugin(*where)
    replies = client.register_plugin(plugin, name=plugin.name) or {}
    for worker, reply in replies.items():
        if isinstance(reply, dict) and reply.get("status") == "error":
            raise ClusterError(f"Dask worker {worker} cannot open the layer set ({reply.get('exception')})",
                               path=where[0], hint="put the layer set on storage every worker reads, at the same path")


def _cannot_write(folder: str) -> str | None:
    """(On a worker) why it cannot write into ``folder``, or None."""
    if not os.path.isdir(folder):
        return "does not see"
    if not os.access(folder, os.W_OK | os.X_OK):
        return "may not write into"
    return None


def unseen(client, folder: str) -> dict:
    """The workers of ``client`` that do not see ``folder`` (at the same path) or may not write there: why."""
    return {w: r for w, r in client.run(_cannot_write, folder).items() if r}


def refuse_unseen(client, folder: str) -> None:
    """Raise ClusterError unless every worker of ``client`` sees ``folder`` (at the same path) and may write there.

    ``folder`` is the hidden folder of a dataset output (its parent is the output's folder, named in the error).
    """
    why = unseen(client, folder)
    if why:
        worker, reason = next(iter(why.items()))
        out = Path(folder).parent
        raise ClusterError(f"Dask 工作进程 {worker} 看不到或不能写入输出所在的文件夹 / Dask worker {worker} {reason} "
                           f"the folder the output is built in ({len(why)} of "
                           f"{len(client.scheduler_info()['workers'])} workers); it must be on storage every worker "
                           "writes", path=out,
                           hint=f"put -o in a folder every worker sees at the path {out} (NFS, a shared disk), "
                                "or write a .csv (written here)")


def hilbert_parts(geoms, n_parts: int, bounds) -> list:
    """Positions of ``geoms`` cut into ``n_parts`` runs along a Hilbert curve over ``bounds``."""
    key = geoms.hilbert_distance(total_bounds=bounds).to_numpy()
    return [p for p in np.array_split(np.argsort(key, kind="stable"), n_parts) if len(p)]


def _check_batch(packed: bytes, where, prepare, number: int | None = None) -> tuple:
    """One batch (consecutive sites) checked and ``prepare``\\ d where it runs: ``([prepared], warnings)``;
    ``prepare`` is given ``number=`` when the batch's number is given."""
    if number is not None:
        prepare = partial(prepare, number=number)
    out, caught = checked_part(pickle.loads(packed), opened(*where), prepare)
    return [out], caught


def _check_part(packed: bytes, pos, where):
    """Phase 1: one partition checked (its findings built), with the input positions of its sites."""
    sites = pickle.loads(packed)
    ls = opened(*where)
    if where[3] is not None:
        ls = _in_area(ls, sites, where[3])
    result, caught = checked_part(sites, ls, _built)
    return result, pos, caught


def _built(result):
    _ = result.detail
    return result


def _join(parts, where, start: int, size: int, prepare, numbered: bool = False) -> tuple:
    """Phase 2: a block's partitions in input order, cut into batches from ``start``, each ``prepare``\\ d
    (given ``number=`` the batch's number when ``numbered``).

    Returns the batches and the warnings of the partitions.
    """
    import geopandas as gpd
    import pandas as pd

    from .engine import CheckResult

    ls = opened(*where)
    pos = np.concatenate([p[1] for p in parts])
    order = np.argsort(pos, kind="stable")
    sites = pd.concat([p[0].sites for p in parts], ignore_index=True).iloc[order]
    sites = gpd.GeoDataFrame(_categorical_again(sites.reset_index(drop=True), [p[0].sites for p in parts]),
                             crs=parts[0][0].sites.crs)
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
        out.append(prepare(batch, number=lo // size) if numbered else prepare(batch))
    return out, caught


def _categorical_again(joined, frames):
    """``joined`` with the columns categorical in one of ``frames`` categorical again (pandas joins
    categoricals of different categories as text), as one check of all the rows makes them."""
    import pandas as pd

    lost = [c for c in joined.columns if not isinstance(joined[c].dtype, pd.CategoricalDtype)
            and any(isinstance(f[c].dtype, pd.CategoricalDtype) for f in frames)]
    return joined.astype(dict.fromkeys(lost, "category")) if lost else joined


def checked_on_cluster(sites, layerset, client, *, size: int, prepare=lambda r: r, split_zones: bool | None = None,
                       writes_to: str | None = None, may_write_to: str | None = None):
    """``prepare(check_sites(batch, layerset))`` for each batch of ``size`` sites, in order, checked on ``client``.

    The same batches and the same values as :func:`~geo.check.batches.checked_batches`
    in one process; ``prepare`` must pickle (it runs on the workers). Warnings
    raised on the workers are raised again here. ``split_zones``: each task
    reads only its area's zones (:func:`zone_store`); None decides by the size
    of the zone index (:data:`SPLIT_FROM_MB`). ``writes_to``: a folder
    ``prepare`` writes into on the workers, called as ``prepare(result,
    number=k)`` for the k-th batch; refused before any work unless every
    worker sees it (:func:`refuse_unseen`). ``may_write_to``: a folder
    ``prepare`` writes into when every worker sees it (CSV rows, appended
    here); else the batches come back whole.
    """
    where = _where(layerset, split_zones)
    if writes_to is not None:
        refuse_unseen(client, writes_to)
    _register(client, where)
    numbered = writes_to is not None or (may_write_to is not None and not unseen(client, may_write_to))
    n_workers = max(1, len(client.scheduler_info()["workers"]))
    if _by_batch(len(sites), size, n_workers, where[3] is not None):  # a task a batch: nothing to join
        submit = partial(_submit_batch, client, sites, size=size, where=where, prepare=prepare, numbered=numbered)
        yield from _in_order(submit, range(0, len(sites), size), ahead=2 * n_workers)
        return
    block = size * BLOCK_BATCHES
    n_parts = _parts_a_block(len(sites), block, n_workers)
    submit = partial(_submit, client, sites, block=block, size=size, n_parts=n_parts, bounds=sites.total_bounds,
                     where=where, prepare=prepare, numbered=numbered)
    yield from _in_order(submit, range(0, len(sites), block), ahead=max(2, -(-2 * n_workers // n_parts) + 1))


def _by_batch(n_sites: int, size: int, n_workers: int, split: bool) -> bool:
    """Whether each batch is one task: the zones whole (no area to keep small) and a batch for every worker."""
    return not split and -(-n_sites // size) >= n_workers


def _parts_a_block(n_sites: int, block: int, n_workers: int) -> int:
    """Partitions a block is cut into: every worker busy, even with one block."""
    return max(BLOCK_BATCHES, -(-2 * n_workers // max(1, -(-n_sites // block))))


def partition_count(n_sites: int, size: int, n_workers: int, *, split: bool = False) -> int:
    """The tasks checking sites that :func:`checked_on_cluster` makes of ``n_sites`` for ``n_workers`` (batches of
    ``size``; ``split``: zones split in space), for figures such as the benchmark's overhead per partition."""
    if _by_batch(n_sites, size, n_workers, split):
        return -(-n_sites // size)
    block = size * BLOCK_BATCHES
    per = _parts_a_block(n_sites, block, n_workers)
    return sum(max(1, min(per, min(block, n_sites - s) // MIN_PART)) for s in range(0, n_sites, block))


def _in_order(submit, starts, *, ahead: int, extra=None):
    """The batches of the futures ``submit(start)`` gives, in order, at most ``ahead`` futures in flight.

    A future's result is ``(batches, warnings, *more)``; ``extra(*more)`` is called with the rest, in order.
    """
    pending = deque()
    todo = iter(starts)
    try:
        for start in todo:
            pending.append(submit(start))
            if len(pending) >= ahead:
                break
        while pending:
            batches, caught, *more = pending.popleft().result()
            if extra is not None:
                extra(*more)
            warn_again(caught)
            for start in todo:
                pending.append(submit(start))
                break
            yield from batches
    finally:
        for fut in pending:
            fut.cancel()


def _packed(frame) -> bytes:
    """``frame`` pickled here, once: the scheduler then passes the bytes on without unpickling and pickling them.

    (Sent as an object, a partition of 10⁵ sites cost ~2 s more per task, measured: the task's arguments are
    unpickled by the scheduler and pickled again for the worker.) The bytes stay in the task, so the scheduler can
    send them again when the worker holding them is lost; a scattered copy would be lost with the worker.
    """
    return pickle.dumps(frame, protocol=pickle.HIGHEST_PROTOCOL)


def _large_tasks():
    """Dask's warning on large graphs silenced: the sites travel in their tasks on purpose (:func:`_packed`)."""
    import dask

    return dask.config.set({"distributed.admin.large-graph-warning-threshold": "4GB"})


def _submit_batch(client, sites, start: int, *, size: int, where, prepare, numbered: bool):
    """The future of one batch, checked and prepared in one task."""
    with _large_tasks():
        return client.submit(_check_batch, _packed(sites.iloc[start:start + size]), where, prepare,
                             start // size if numbered else None, pure=False)


def _submit(client, sites, start: int, *, block: int, size: int, n_parts: int, bounds, where, prepare,
            numbered: bool):
    """The future of one block: its partitions checked, then joined."""
    chunk = sites.iloc[start:start + block]
    n_parts = max(1, min(n_parts, len(chunk) // MIN_PART))
    parts = hilbert_parts(chunk.geometry, n_parts, bounds)
    with _large_tasks():
        checked = [client.submit(_check_part, _packed(chunk.iloc[p]), p + start, where, pure=False) for p in parts]
    return client.submit(partial(_join, where=where, start=start, size=size, prepare=prepare, numbered=numbered),
                         checked, pure=False)
