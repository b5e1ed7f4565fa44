"""Least-cost corridors between sources over a resistance raster (MCR, as Linkage Mapper defines them).

Steps (docs/network.md §3):

1. one cost-distance run from all sources at once (:class:`skimage.graph.MCP_Geometric`; a step costs
   the mean resistance of its two cells × its length in metres): each cell's least cost to the
   nearest source and, following the traceback, which source that is (cost allocation);
2. sources whose allocation zones touch are neighbours; where the zones meet, the cheapest pair of
   cells gives the least-cost distance LCD and, traced back to both sources, the least-cost path;
3. with a cutoff: the cost distance CWD from each source, and the corridor of each pair as the cells
   whose normalised cost NLCC = CWD_A + CWD_B − LCD_AB is within the cutoff.

Resistance must be positive; nodata cells are impassable. Every source covers at least one cell
(rasterised with all touched cells), so a source smaller than a cell is not lost.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rasterio.features
import shapely
from skimage.graph import MCP_Geometric

from ..errors import CRSError, NetworkInputError
from .resistance import reclass_table, reclassify

__all__ = ["Resistance", "read_resistance", "rasterize_sources", "least_cost_corridors"]


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


def _pred(tb: np.ndarray, offsets: np.ndarray, ncols: int) -> np.ndarray:
    """Each cell's predecessor on its least-cost path (flat index; itself for sources and unreached cells)."""
    flat = tb.ravel()
    off = offsets.astype(np.int64)
    step = off[:, 0] * ncols + off[:, 1]
    idx = np.arange(flat.size, dtype=np.int64)
    return np.where(flat >= 0, idx - step[np.maximum(flat, 0)], idx)


def _allocation(pred: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The source each cell's least-cost path starts from (pointer jumping along the traceback)."""
    root = pred
    while True:
        nxt = root[root]
        if np.array_equal(nxt, root):
            break
        root = nxt
    return labels.ravel()[root].reshape(labels.shape)


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
    out = [cell]
    while pred[out[-1]] != out[-1]:
        out.append(int(pred[out[-1]]))
    return out


def _path_line(p: int, q: int, pred: np.ndarray, res: Resistance) -> shapely.LineString:
    cells = _trace(p, pred)[::-1] + _trace(q, pred)
    r, c = np.divmod(np.asarray(cells), res.costs.shape[1])
    t = res.transform  # cell centres
    xs, ys = t.c + (c + 0.5) * t.a + (r + 0.5) * t.b, t.f + (c + 0.5) * t.d + (r + 0.5) * t.e
    return shapely.LineString(np.column_stack([xs, ys]))


class _Bounded(MCP_Geometric):
    """MCP_Geometric that stops once the cheapest cell left costs more than ``bound`` (cells pop in cost order)."""

    def __init__(self, costs, bound: float, **kw):
        super().__init__(costs, **kw)
        self.bound = bound

    def goal_reached(self, index, cumcost):
        return 2 if cumcost > self.bound else 0


def _window(cells: np.ndarray, reach: float, res: Resistance, shape) -> tuple:
    """Rows/columns within ``reach`` metres of ``cells``' bounding box, clipped to the raster."""
    dy, dx = res.sampling
    (r0, c0), (r1, c1) = cells.min(axis=0), cells.max(axis=0)
    ry, rx = (int(min(reach // d, 1 << 40)) for d in (dy, dx))
    return (slice(int(max(0, r0 - ry)), int(min(shape[0], r1 + ry + 1))),
            slice(int(max(0, c0 - rx)), int(min(shape[1], c1 + rx + 1))))


def _bounded_cwd(cells: np.ndarray, bound: float, cum: np.ndarray, res: Resistance, stats: dict) -> tuple:
    """Cost distance from one source, exact wherever it is ≤ ``bound`` (``inf`` or more elsewhere), cropped.

    Why exact (docs/network.md §3): a step costs at least r_min × its length, so such a cell lies within
    bound / r_min metres of the source (the window); and on any pair's corridor CWD_A + CWD_B ≤ LCD + cutoff
    ≤ bound, so there and on the least-cost path from A to it cum = min over sources ≤ bound / 2 (the
    mask; cells beyond it are made impassable); the run stops at CWD_A > bound.
    Returns the float32 costs and the (row, column) of their first cell.
    """
    costs = res.costs
    r_min = float(costs[np.isfinite(costs)].min())
    rows, cols = _window(cells, bound / r_min, res, costs.shape)
    sub = np.where(cum[rows, cols] <= bound / 2, costs[rows, cols], np.inf)
    mcp = _Bounded(sub, bound, sampling=res.sampling)
    cwd = mcp.find_costs(cells - [rows.start, cols.start])[0]
    del mcp, sub
    near = cwd <= bound
    stats["cells_run"] = stats.get("cells_run", 0) + cwd.size
    stats["cells_reached"] = stats.get("cells_reached", 0) + int(near.sum())
    rr, cc = np.flatnonzero(near.any(axis=1)), np.flatnonzero(near.any(axis=0))
    out = np.where(near, cwd, np.inf)[rr[0]: rr[-1] + 1, cc[0]: cc[-1] + 1].astype(np.float32)
    return out, (rows.start + int(rr[0]), cols.start + int(cc[0]))


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


def _corridor_costs(meet: pd.DataFrame, labels, cum, res: Resistance, cutoff: float, stats: dict) -> dict:
    """Per linked source: its cost distance, exact up to its farthest link's meeting LCD + cutoff (cropped)."""
    bound = {}
    for m in meet.itertuples(index=False):  # the meeting LCD is a real path's cost: ≥ the least CWD_A + CWD_B
        for s in (int(m.a), int(m.b)):
            bound[s] = max(bound.get(s, 0.0), float(m.lcd) + cutoff)
    # margin: float32 storage and MCP's float cost test must not decide a cell at the bound
    return {s: _bounded_cwd(np.argwhere(labels == s), b * (1 + 1e-6) + 1e-6, cum, res, stats)
            for s, b in sorted(bound.items())}


def _step(stats: dict, name: str, wall: float, cpu: float) -> tuple:
    """Record a step's wall and CPU seconds in ``stats``; the clocks for the next step."""
    now, cpu_now = time.perf_counter(), time.process_time()
    stats[name] = (now - wall, cpu_now - cpu)
    return now, cpu_now


def least_cost_corridors(sources: gpd.GeoDataFrame, res: Resistance, *, cutoff: float | None = None,
                         path=None, stats: dict | None = None) -> tuple:
    """Least-cost links between neighbouring sources: (``paths``, ``corridors``).

    ``paths``: one line per pair (from/to source, names, ``lcd`` in cost units, ``euclid_m`` edge to edge,
    ``cost_ratio`` = lcd / euclid_m, ``path_length_m``); ``corridors`` (with ``cutoff``, else None): the
    same rows with the corridor polygon (NLCC ≤ cutoff), in the raster's CRS. ``stats``, if given, gets
    each step's (wall, CPU) seconds and the cells the per-source runs covered.
    """
    stats = {} if stats is None else stats
    clocks = time.perf_counter(), time.process_time()
    labels = rasterize_sources(sources, res, path=path)
    mcp = MCP_Geometric(res.costs, sampling=res.sampling)
    cum, tb = mcp.find_costs(np.argwhere(labels > 0))
    pred = _pred(tb, np.asarray(mcp.offsets), res.costs.shape[1])
    del tb, mcp
    clocks = _step(stats, "all sources, one run", *clocks)
    meet = _meetings(_allocation(pred, labels), cum, res.costs, res.sampling)
    clocks = _step(stats, "allocation and meetings", *clocks)
    cwd = _corridor_costs(meet, labels, cum, res, cutoff, stats) if cutoff is not None else {}
    del cum
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
        rows.append({"from_source": a, "to_source": b, "from_name": names[a - 1], "to_name": names[b - 1],
                     "lcd": lcd, "euclid_m": euclid, "cost_ratio": lcd / euclid if euclid > 0 else np.nan,
                     "path_length_m": line.length, "cutoff": np.nan if cutoff is None else float(cutoff)})
        lines.append(line)
    _step(stats, "paths and corridor polygons", *clocks)
    table = pd.DataFrame(rows, columns=["from_source", "to_source", "from_name", "to_name", "lcd", "euclid_m",
                                        "cost_ratio", "path_length_m", "cutoff"])
    paths = gpd.GeoDataFrame(table, geometry=lines, crs=res.crs)
    corridors = gpd.GeoDataFrame(table.copy(), geometry=polys, crs=res.crs) if cutoff is not None else None
    return paths, corridors
