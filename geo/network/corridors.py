"""Least-cost corridors between sources over a resistance raster (MCR, as Linkage Mapper defines them).

Steps (docs/network.md §3), on the raster as a graph (:func:`grid_graph`; a step costs the mean resistance
of its two cells × its length in metres) with :func:`scipy.sparse.csgraph.dijkstra`:

1. one cost-distance run from all sources at once: each cell's least cost to the nearest source, its
   predecessor on that path and the source it comes from (cost allocation);
2. sources whose allocation zones touch are neighbours; where the zones meet, the cheapest pair of
   cells gives the least-cost distance LCD and, traced back to both sources, the least-cost path;
3. with a cutoff: the cost distance CWD from each source, run only as far as its farthest link needs
   (exact up to that bound), and the corridor of each pair as the cells whose normalised cost
   NLCC = CWD_A + CWD_B − LCD_AB is within the cutoff.

Resistance must be positive; nodata cells are impassable. Every source covers at least one cell
(rasterised with all touched cells), so a source smaller than a cell is not lost.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rasterio.features
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from ..errors import CRSError, NetworkInputError
from ..forked import can_fork, fork_pool
from .resistance import reclass_table, reclassify

__all__ = ["Resistance", "read_resistance", "rasterize_sources", "grid_graph", "farthest_source",
           "least_cost_corridors"]


@dataclass
class Resistance:
    """Resistance per cell (float64, ``inf`` impassable), its transform and CRS (projected, metres)."""

    costs: np.ndarray
    transform: rasterio.Affine
    crs: object

    @property
    def sampling(self) -> tuple:
        return abs(self.transform.e), abs(self.transform.a)


def read_resistance(path, *, reclass=None) -> Resistance:
    """Read band 1 of a GeoTIFF as resistance, or as land cover turned into resistance by ``reclass``."""
    with rasterio.open(path) as src:
        if src.crs is None or not src.crs.is_projected:
            raise CRSError(f"the raster's CRS ({src.crs}) is not projected / 栅格须为投影坐标系", path=path,
                           hint="reproject it to metres first (e.g. gdalwarp -t_srs EPSG:4550)")
        band = src.read(1, masked=True)
        transform, crs = src.transform, src.crs
    valid = ~np.ma.getmaskarray(band)
    values = np.ma.getdata(band)
    if reclass is not None:
        return Resistance(reclassify(values, valid, reclass_table(reclass), path=path), transform, crs)
    costs = values.astype(np.float64)
    valid &= np.isfinite(costs)
    bad = valid & ~(costs > 0)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise NetworkInputError(f"{int(bad.sum())} cells have resistance ≤ 0 (first at row {r}, column {c}) / "
                                f"阻力须为正数", path=path,
                                hint="give positive resistances; mark impassable cells as nodata")
    costs[~valid] = np.inf
    return Resistance(costs, transform, crs)


def rasterize_sources(sources: gpd.GeoDataFrame, res: Resistance, *, path=None) -> np.ndarray:
    """Source labels 1..n per cell (0 elsewhere); every source must reach a passable cell."""
    geoms = sources.to_crs(res.crs).geometry.to_numpy()
    shapes = [(g, k + 1) for k, g in enumerate(geoms) if g is not None and not g.is_empty]
    labels = rasterio.features.rasterize(shapes, out_shape=res.costs.shape, transform=res.transform, fill=0,
                                         all_touched=True, dtype="int32")
    labels[~np.isfinite(res.costs)] = 0
    found = np.bincount(labels.ravel(), minlength=len(geoms) + 1)[1:]
    if (found == 0).any():
        k = int(np.flatnonzero(found == 0)[0])
        raise NetworkInputError(f"source {k + 1} ({sources.iloc[k].get('name', '')}) covers no passable cell of the "
                                f"raster / 源地不在阻力栅格的可通行范围内", path=path, row=k + 1,
                                hint="check that the sources lie inside the resistance raster")
    return labels


#: cells turned into links at a time (a block that stays in the processor's cache: 4× faster than 2¹⁸)
CHUNK_CELLS = 1 << 14
_STEPS = [(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc]  # neighbours in index order


def grid_graph(costs: np.ndarray, sampling: tuple) -> csr_matrix:
    """The raster as a directed graph for :func:`scipy.sparse.csgraph.dijkstra`.

    Node ``r * ncols + c`` is cell (r, c), with eight links to its neighbours in a fixed order; a step
    costs the mean resistance of its two cells × its length in metres (diagonals √(dx² + dy²)), the cost
    of ``skimage.graph.MCP_Geometric`` with the cell size as sampling. A link into or out of an impassable
    cell costs ``inf`` (never taken), and one off the raster's edge points back to its own cell at ``inf``:
    every row has eight links, so the arrays are written in place, a block of rows at a time.
    """
    rows, cols = costs.shape
    n = rows * cols
    if n * len(_STEPS) >= np.iinfo(np.int32).max:
        raise NetworkInputError(f"the raster has {rows} × {cols} cells, too many for one graph (at most "
                                f"{np.iinfo(np.int32).max // len(_STEPS):,} cells) / 栅格单元过多",
                                hint="coarsen the raster (e.g. gdalwarp -tr) or cut it into parts")
    padded = np.pad(costs, 1, constant_values=np.inf)
    data = np.empty((rows, cols, len(_STEPS)))
    indices = np.empty((rows, cols, len(_STEPS)), np.int32)
    dy, dx = sampling
    block = max(1, CHUNK_CELLS // cols)
    for r0 in range(0, rows, block):
        r1 = min(rows, r0 + block)
        ids = np.arange(r0 * cols, r1 * cols, dtype=np.int32).reshape(r1 - r0, cols)
        for k, (dr, dc) in enumerate(_STEPS):
            w = data[r0:r1, :, k]
            np.add(padded[1 + r0 + dr: 1 + r1 + dr, 1 + dc: 1 + dc + cols], costs[r0:r1], out=w)
            w *= 0.5  # (a + b) / 2 × length, as MCP_Geometric: halving is exact
            w *= np.hypot(dr * dy, dc * dx)
            np.add(ids, dr * cols + dc, out=indices[r0:r1, :, k])
    first, last = np.arange(0, n, cols, dtype=np.int32), np.arange(cols - 1, n, cols, dtype=np.int32)
    for k, (dr, dc) in enumerate(_STEPS):  # off the edge: back to the cell itself (the weight is inf)
        if dr:
            indices[0 if dr < 0 else -1, :, k] = np.arange(cols) + (0 if dr < 0 else n - cols)
        if dc:
            indices[:, 0 if dc < 0 else -1, k] = first if dc < 0 else last
    indptr = np.arange(0, n * len(_STEPS) + 1, len(_STEPS), dtype=np.int32)
    return csr_matrix((data.ravel(), indices.ravel(), indptr), shape=(n, n))


def _toward(graph: csr_matrix, cum: np.ndarray) -> None:
    """Reweight ``graph`` in place by the potential ``cum``: a step u→v costs w + cum(v) − cum(u).

    ``cum``, the least cost to any source, is a consistent lower bound of the cost to the other end of a
    link (docs/network.md §3), so the weights stay ≥ 0 (rounding clipped) and a run from A gives
    CWD_A + cum: its ``limit`` then skips every cell no corridor of A can reach.
    """
    k = len(_STEPS)
    data, indices = graph.data.reshape(-1, k), graph.indices.reshape(-1, k)
    for lo in range(0, len(data), CHUNK_CELLS):
        hi = min(len(data), lo + CHUNK_CELLS)
        with np.errstate(invalid="ignore"):  # inf − inf: cells no source reaches, links never taken
            w = data[lo:hi] + (cum[indices[lo:hi]] - cum[lo:hi, None])
        w[np.isnan(w)] = np.inf
        np.maximum(w, 0.0, out=data[lo:hi])


def _meetings(alloc, cum, costs, sampling) -> pd.DataFrame:
    """Per pair of touching allocation zones: the cheapest meeting (cells p, q) and its cost LCD."""
    dy, dx = sampling
    rows, cols = alloc.shape
    parts = []
    for (r, c), length in (((0, 1), dx), ((1, 0), dy), ((1, 1), np.hypot(dx, dy)), ((1, -1), np.hypot(dx, dy))):
        a = alloc[: rows - r, max(0, -c): cols - max(0, c)]
        b = alloc[r:, max(0, c): cols + min(0, c)]
        hit = (a != b) & (a > 0) & (b > 0)
        ia, ja = np.nonzero(hit)
        ja = ja + max(0, -c)
        ib, jb = ia + r, ja + c
        total = cum[ia, ja] + cum[ib, jb] + (costs[ia, ja] + costs[ib, jb]) / 2 * length
        parts.append(pd.DataFrame({"a": alloc[ia, ja], "b": alloc[ib, jb], "lcd": total,
                                   "p": ia * cols + ja, "q": ib * cols + jb}))
    df = pd.concat(parts, ignore_index=True)
    df = df[np.isfinite(df["lcd"])]
    a, b, p, q = (df[k].to_numpy(np.int64) for k in ("a", "b", "p", "q"))
    swap = a > b
    df = pd.DataFrame({"a": np.where(swap, b, a), "b": np.where(swap, a, b), "lcd": df["lcd"].to_numpy(),
                       "p": np.where(swap, q, p), "q": np.where(swap, p, q)})
    return df.loc[df.groupby(["a", "b"])["lcd"].idxmin()].reset_index(drop=True)


def _trace(cell: int, pred: np.ndarray) -> list:
    """The cells from ``cell`` back to its source (``pred``: dijkstra's predecessors, < 0 at a source)."""
    out = [cell]
    while pred[out[-1]] >= 0:
        out.append(int(pred[out[-1]]))
    return out


def _path_line(p: int, q: int, pred: np.ndarray, res: Resistance) -> shapely.LineString:
    cells = _trace(p, pred)[::-1] + _trace(q, pred)
    r, c = np.divmod(np.asarray(cells), res.costs.shape[1])
    t = res.transform  # cell centres
    xs, ys = t.c + (c + 0.5) * t.a + (r + 0.5) * t.b, t.f + (c + 0.5) * t.d + (r + 0.5) * t.e
    return shapely.LineString(np.column_stack([xs, ys]))


def _bounded_cwd(graph, cells: np.ndarray, bound: float, cum: np.ndarray, stats: dict) -> tuple:
    """Cost distance from one source's cells (flat), wherever CWD + cum ≤ ``bound``, cropped to those cells.

    ``graph`` is reweighted by ``cum`` (:func:`_toward`), so :func:`~scipy.sparse.csgraph.dijkstra` with
    ``limit`` expands only those cells. Returns the float32 costs (``inf`` elsewhere) and the (row, column)
    of their first cell.
    """
    reduced = dijkstra(graph, indices=cells, min_only=True, limit=bound).reshape(cum.shape)
    near = reduced <= bound
    reduced[~near] = np.inf
    cwd = np.subtract(reduced, cum, out=reduced, where=near)
    stats["cells_reached"] = stats.get("cells_reached", 0) + int(near.sum())
    rr, cc = np.flatnonzero(near.any(axis=1)), np.flatnonzero(near.any(axis=0))
    out = cwd[rr[0]: rr[-1] + 1, cc[0]: cc[-1] + 1].astype(np.float32)
    return out, (int(rr[0]), int(cc[0]))


def _overlap(a: tuple, b: tuple) -> tuple:
    """The two cropped cost arrays on their common rows and columns, and its first cell."""
    (xa, (ra, ca)), (xb, (rb, cb)) = a, b
    r0, c0 = max(ra, rb), max(ca, cb)
    r1, c1 = min(ra + xa.shape[0], rb + xb.shape[0]), min(ca + xa.shape[1], cb + xb.shape[1])
    return xa[r0 - ra: r1 - ra, c0 - ca: c1 - ca], xb[r0 - rb: r1 - rb, c0 - cb: c1 - cb], (r0, c0)


def _corridor(cwd_a, cwd_b, lcd: float, cutoff: float, res: Resistance, origin=(0, 0)):
    """The cells with NLCC ≤ cutoff as one (multi)polygon (``origin``: row, column of the arrays' first cell)."""
    mask = (cwd_a + cwd_b - lcd) <= cutoff
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    window = mask[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1].astype(np.uint8)
    transform = res.transform @ rasterio.Affine.translation(origin[1] + cols[0], origin[0] + rows[0])
    polys = [shapely.geometry.shape(g) for g, _ in rasterio.features.shapes(window, mask=window, transform=transform)]
    return shapely.union_all(polys)


_SHARED: dict = {}  # the graph (reweighted for the bounded runs) and cum, set before the workers are forked

#: cells of the coarse raster that predicts which source's run is the longest (:func:`farthest_source`) are
#: this many cells on a side
COARSE = 10


def farthest_source(labels: np.ndarray, res: Resistance) -> int | None:
    """The source whose farthest link is predicted the longest: the meetings of an all-sources run on cells
    :data:`COARSE` times larger (the mean resistance of each block's passable cells).

    A prediction only (it picks which source's cost distance is run ahead, never what is computed); None
    when the coarse raster links no sources.
    """
    k = COARSE
    rows, cols = (-(-n // k) * k for n in labels.shape)
    pad = ((0, rows - labels.shape[0]), (0, cols - labels.shape[1]))
    blocks = np.pad(res.costs, pad, constant_values=np.inf).reshape(rows // k, k, cols // k, k)
    passable = np.isfinite(blocks)
    n = passable.sum(axis=(1, 3))
    coarse = np.divide(np.where(passable, blocks, 0.0).sum(axis=(1, 3)), n, out=np.full(n.shape, np.inf),
                       where=n > 0)
    lab = np.pad(labels, pad).reshape(rows // k, k, cols // k, k).max(axis=(1, 3))
    lab[~np.isfinite(coarse)] = 0
    if len(np.unique(lab[lab > 0])) < 2:
        return None
    dy, dx = res.sampling
    graph = grid_graph(coarse, (dy * k, dx * k))
    cum, _, nearest = dijkstra(graph, indices=np.flatnonzero(lab.ravel() > 0), min_only=True,
                               return_predecessors=True)
    alloc = np.where(nearest >= 0, lab.ravel()[np.maximum(nearest, 0)], 0).reshape(lab.shape)
    meet = _meetings(alloc, cum.reshape(lab.shape), coarse, (dy * k, dx * k))
    if meet.empty:
        return None
    longest = int(np.argmax(meet["lcd"].to_numpy()))
    return int(meet["a"].iloc[longest])  # (either end: both runs cover the raster, much as each other)


def _full_run(source: int) -> tuple:
    """(In a worker) the cost distance from ``source`` over the whole raster (the graph not reweighted), cropped."""
    graph, labels = _SHARED["graph"], _SHARED["labels"]
    cost = dijkstra(graph, indices=np.flatnonzero(labels.ravel() == source), min_only=True).reshape(labels.shape)
    reached = np.isfinite(cost)
    rr, cc = np.flatnonzero(reached.any(axis=1)), np.flatnonzero(reached.any(axis=0))
    out = cost[rr[0]: rr[-1] + 1, cc[0]: cc[-1] + 1].astype(np.float32)
    return (out, (int(rr[0]), int(cc[0]))), int(reached.sum())


def _source_run(task: tuple) -> tuple:
    source, cells, bound = task
    stats = {}
    return source, _bounded_cwd(_SHARED["graph"], cells, bound, _SHARED["cum"], stats), stats["cells_reached"]


def _corridor_costs(meet: pd.DataFrame, labels, graph, cum, cutoff: float, stats: dict, jobs: int = 1,
                    ahead: dict | None = None) -> dict:
    """Per linked source: its cost distance, exact up to its farthest link's meeting LCD + cutoff (cropped).

    With ``jobs`` > 1 the runs go to forked workers sharing the graph, the longest first. ``ahead``: the
    cost distances already run over the whole raster (source → cropped costs), not run again.
    """
    ahead = ahead or {}
    bound = {}
    for m in meet.itertuples(index=False):  # the meeting LCD is a real path's cost: ≥ the least CWD_A + CWD_B
        for s in (int(m.a), int(m.b)):
            bound[s] = max(bound.get(s, 0.0), float(m.lcd) + cutoff)
    # margin: float32 storage and the run's float limit test must not decide a cell at the bound
    tasks = [(s, np.flatnonzero(labels.ravel() == s), b * (1 + 1e-6) + 1e-6)
             for s, b in sorted(bound.items(), key=lambda kv: -kv[1]) if s not in ahead]
    _SHARED.update(graph=graph, cum=cum)
    try:
        if jobs > 1 and len(tasks) > 1 and can_fork():
            with fork_pool(min(jobs, len(tasks))) as pool:
                done = list(pool.map(_source_run, tasks))
        else:
            done = [_source_run(t) for t in tasks]
    finally:
        _SHARED.clear()
    stats["cells_reached"] = stats.get("cells_reached", 0) + sum(n for _, _, n in done)
    return {**{s: cwd for s, cwd, _ in done}, **{s: cwd for s, cwd in ahead.items() if s in bound}}


@contextmanager
def _running_ahead(graph, labels, source: int | None):
    """A forked worker running :func:`_full_run` of ``source`` (None: nothing): gives the function that waits for
    its answer."""
    if source is None:
        yield None
        return
    _SHARED.update(graph=graph, labels=labels)
    try:
        with fork_pool(1) as pool:
            future = pool.submit(_full_run, source)
            yield future.result
    finally:
        _SHARED.clear()


def _step(stats: dict, name: str, wall: float, cpu: float) -> tuple:
    """Record a step's wall and CPU seconds in ``stats``; the clocks for the next step."""
    now, cpu_now = time.perf_counter(), time.process_time()
    stats[name] = (now - wall, cpu_now - cpu)
    return now, cpu_now


def least_cost_corridors(sources: gpd.GeoDataFrame, res: Resistance, *, cutoff: float | None = None,
                         path=None, stats: dict | None = None, jobs: int = 1) -> tuple:
    """Least-cost links between neighbouring sources: (``paths``, ``corridors``).

    ``paths``: one line per pair (``name`` "A—B", from/to source, names, ``lcd`` in cost units, ``euclid_m``
    edge to edge, ``cost_ratio`` = lcd / euclid_m, ``path_length_m``); ``corridors`` (with ``cutoff``, else
    None): the same rows with the corridor polygon (NLCC ≤ cutoff) and its mean width ``width_m`` (area /
    path length), in the raster's CRS. ``stats``, if given, gets
    each step's (wall, CPU) seconds and the cells the per-source runs covered. ``jobs``: processes for the
    per-source runs (forked, sharing the graph).
    """
    stats = {} if stats is None else stats
    clocks = time.perf_counter(), time.process_time()
    labels = rasterize_sources(sources, res, path=path)
    graph = grid_graph(res.costs, res.sampling)
    # with workers, one runs ahead the source predicted to need the longest run, over the whole raster, while
    # the all-sources run (one core) goes on here
    first = farthest_source(labels, res) if cutoff is not None and jobs > 1 and can_fork() else None
    clocks = _step(stats, "graph of the raster", *clocks)
    ahead = {}
    with _running_ahead(graph, labels, first) as wait:
        cum, pred, nearest = dijkstra(graph, indices=np.flatnonzero(labels.ravel() > 0), min_only=True,
                                      return_predecessors=True)
        alloc = np.where(nearest >= 0, labels.ravel()[np.maximum(nearest, 0)], 0).reshape(labels.shape)
        del nearest
        clocks = _step(stats, "all sources, one run", *clocks)
        cum = cum.reshape(labels.shape)
        meet = _meetings(alloc, cum, res.costs, res.sampling)
        del alloc
        if first is not None:  # (before the graph is reweighted here: the worker reads its pages)
            ahead[first], stats["cells_reached"] = wait()
            stats["run ahead"] = first
    clocks = _step(stats, "allocation and meetings", *clocks)
    cwd = {}
    if cutoff is not None:
        _toward(graph, cum.ravel())
        cwd = _corridor_costs(meet, labels, graph, cum, cutoff, stats, jobs, ahead=ahead)
    del graph, cum
    clocks = _step(stats, "per-source runs", *clocks)
    names = (sources["name"].astype(str).to_numpy() if "name" in sources
             else np.arange(1, len(sources) + 1).astype(str))
    geoms = sources.to_crs(res.crs).geometry.to_numpy()
    left = pd.concat([meet["a"], meet["b"]]).value_counts().to_dict()  # links still to do per source
    rows, lines, polys = [], [], []
    for m in meet.itertuples(index=False):
        a, b = int(m.a), int(m.b)
        line = _path_line(int(m.p), int(m.q), pred, res)
        lcd = float(m.lcd)
        if cutoff is not None:  # the least of CWD_A + CWD_B: NLCC is 0 on the path, never below
            ca, cb, origin = _overlap(cwd[a], cwd[b])
            lcd = float(np.min(ca.astype(np.float64) + cb))
            polys.append(_corridor(ca, cb, lcd, cutoff, res, origin))
            for s in (a, b):
                left[s] -= 1
                if not left[s]:
                    del cwd[s]
        euclid = float(shapely.distance(geoms[a - 1], geoms[b - 1]))
        rows.append({"name": f"{names[a - 1]}—{names[b - 1]}", "from_source": a, "to_source": b,
                     "from_name": names[a - 1], "to_name": names[b - 1], "lcd": lcd,
                     "euclid_m": euclid, "cost_ratio": lcd / euclid if euclid > 0 else np.nan,
                     "path_length_m": line.length, "cutoff": np.nan if cutoff is None else float(cutoff)})
        lines.append(line)
    _step(stats, "paths and corridor polygons", *clocks)
    table = pd.DataFrame(rows, columns=["name", "from_source", "to_source", "from_name", "to_name", "lcd",
                                        "euclid_m", "cost_ratio", "path_length_m", "cutoff"])
    paths = gpd.GeoDataFrame(table, geometry=lines, crs=res.crs)
    corridors = None
    if cutoff is not None:  # mean width: area over the path's length (2A/P would count the cells' stair steps)
        area = shapely.area(np.asarray(polys, dtype=object))
        width = np.divide(area, table["path_length_m"], out=np.full(len(table), np.nan),
                          where=table["path_length_m"].to_numpy() > 0)
        corridors = gpd.GeoDataFrame(table.assign(width_m=width), geometry=polys, crs=res.crs)
    return paths, corridors
