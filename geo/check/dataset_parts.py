"""A GeoParquet dataset checked on a Dask cluster whose workers read its parts themselves.

The client reads the parts' footers only (rows, columns, GeoParquet metadata:
:func:`~geo.sites.readers.dataset.part_rows`). A task reads one part
(:func:`~geo.sites.read.read_sites_part`: rows and unnamed sites numbered as in
the whole dataset, the same checks and repairs), checks it in batches of
``size`` sites with the kernel of every parallel path
(:func:`~geo.check.batches.checked_part`) and ``prepare``\\ s each batch where
it runs (CSV rows or dataset parts written there, when the workers see the
output's folder); the client gets the batches in order and each part's site
ids. Ids are compared across parts at the end: an id used twice is the same
one-line error as when the client reads the dataset whole, and nothing is
written. So the client never holds the sites: a run is no longer bounded by
the client's reading (docs/scale.md).

Batches start at each part's first row (one process cuts the whole dataset into
batches of ``size``): rows, values and order are the same; a dataset output's
parts follow the input's parts.
"""
from __future__ import annotations

import warnings
from functools import partial

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import SiteInputError
from .batches import checked_part
from .distributed import _in_area, _in_order, _register, _where, opened, refuse_unseen, unseen

__all__ = ["dataset_plan", "checked_dataset_on_cluster"]


def dataset_plan(source) -> tuple[list, list]:
    """The parts of the dataset at ``source`` that hold rows, and their rows (footers only)."""
    from ..sites.readers.dataset import dataset_parts, part_rows

    parts = dataset_parts(source)
    rows = part_rows(source, parts)
    kept = [(p, r) for p, r in zip(parts, rows) if r]
    if not kept:
        raise SiteInputError("no sites in the input", path=source, hint="check the file is not empty")
    return [p for p, _ in kept], [r for _, r in kept]


def _check_part_file(source: str, part: str, first_row: int, rows: int, read: dict, where, prepare, size: int,
                     first_batch: int | None) -> tuple:
    """(On a worker) one part read and checked: its prepared batches, the warnings, its site ids.

    A part that no longer holds the ``rows`` its footer gave the client (rewritten during the run) is refused:
    its sites would otherwise be checked in part, or twice.
    """
    from ..sites.read import read_sites_part

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        sites = read_sites_part(source, part, first_row, **read)
    if len(sites) != rows:
        raise SiteInputError(f"数据集分片在核查期间被改动 / part {part} holds {len(sites)} rows, not the {rows} it "
                             "held when the run began", path=source, hint="run the check again once the dataset is "
                                                                         "written")
    caught = [(w.category, str(w.message)) for w in seen]
    ls = opened(*where)
    if where[3] is not None:
        ls = _in_area(ls, sites, where[3])
    out = []
    for k, lo in enumerate(range(0, len(sites), size)):
        numbered = prepare if first_batch is None else partial(prepare, number=first_batch + k)
        batch, more = checked_part(sites.iloc[lo:lo + size], ls, numbered)
        out.append(batch)
        caught += more
    return out, caught, pa.array(sites["site_id"].to_numpy(dtype=object), pa.large_string())


def checked_dataset_on_cluster(source, read: dict, layerset, client, *, size: int, prepare, plan=None,
                               split_zones: bool | None = None, writes_to: str | None = None,
                               may_write_to: str | None = None):
    """``prepare(check_sites(batch, layerset))`` for each batch of the dataset at ``source``, in order, each part
    read on a worker (``read``: :func:`~geo.sites.read.read_sites_part`'s options).

    ``split_zones``, ``writes_to`` and ``may_write_to`` as in :func:`~geo.check.distributed.checked_on_cluster`
    (each task's area is its part's box); ``plan``: :func:`dataset_plan`'s answer, if the caller has it. Raises
    SiteInputError, after the last batch, when an id is used twice.
    """
    parts, rows = plan or dataset_plan(source)
    where = _where(layerset, split_zones)
    if writes_to is not None:
        refuse_unseen(client, writes_to)
    _register(client, where)
    numbered = writes_to is not None or (may_write_to is not None and not unseen(client, may_write_to))
    first_row = np.concatenate([[1], np.cumsum(rows)[:-1] + 1]).tolist()
    batches = [-(-r // size) for r in rows]
    first_batch = np.concatenate([[0], np.cumsum(batches)[:-1]]).tolist()
    ids: list = []
    n_workers = max(1, len(client.scheduler_info()["workers"]))

    def submit(k: int):
        return client.submit(_check_part_file, str(source), parts[k], first_row[k], rows[k], read, where, prepare,
                             size, first_batch[k] if numbered else None, pure=False)

    yield from _in_order(submit, range(len(parts)), ahead=2 * n_workers, extra=ids.append)
    _refuse_twice_used(pa.chunked_array(ids, pa.large_string()), source)


def _refuse_twice_used(ids: pa.ChunkedArray, source) -> None:
    """The error :func:`~geo.sites.read.normalize_sites` gives for an id used twice, rows numbered in the dataset."""
    import pandas as pd

    if pc.count_distinct(ids).as_py() == len(ids):
        return
    ids = pd.Series(ids.to_numpy())
    dup = ids.duplicated(keep="first").to_numpy()
    second = int(np.flatnonzero(dup)[0])
    first = int(np.flatnonzero((ids == ids.iloc[second]).to_numpy())[0])
    raise SiteInputError(f"site id {ids.iloc[second]!r} is used more than once (also row {first + 1}; "
                         f"{int(ids.duplicated(keep=False).sum())} rows in all)", path=source, row=second + 1,
                         hint="give every site its own id")
