"""The checkable zones of a layer set, cut into small pieces and indexed for fast overlay.

Tests against a 10,000-vertex polygon cost O(vertices); cut into pieces of at
most ``max_vertices`` and indexed in an STRtree, each test touches a few small
pieces: subdivision alone made the overlay 4–12× faster (benchmarks/README.md
has the figures of the whole check).
Pieces of one zone are disjoint, so overlap areas and lengths add up.

On top of the pieces lies a grid (:class:`ZoneGrid`): every cell that no zone
boundary and no coverage boundary touches is *clean*, and a clean cell lies
wholly inside the same zones (and wholly inside or outside the coverage) as its
centre. A site whose point or bounding box falls in clean cells is answered by
array look-ups; only sites near a boundary go to the exact geometric tests. The
grid is exact, not an approximation: a cell is clean only if no boundary can
touch it.

Preparing the index (cutting, indexing, the grid) costs seconds on a large zone
set, so it is written beside the build (``build/<name>.zindex-<n>.npz``) and
read back on the next run while the build's content, the measurement CRS and
the checked layers are the same.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..threads import in_threads
from .grouping import row_ids, sequence_ids

log = logging.getLogger(__name__)

__all__ = ["ZoneIndex", "ZoneGrid", "zone_index", "subdivide", "zone_grid", "cache_path", "intersection"]

#: cells of the largest grid (int32 combination ids: 64 MB at most)
GRID_CELLS = 1 << 24
#: the smallest grid edge worth building
_GRID_MIN_CELLS = 1 << 12
#: safety margin, in cells, by which a boundary's cells are widened against rounding
_EPS = 1e-6
CACHE_FORMAT = 2
_ZONE_COLUMNS = ["zone_id", "zone_code", "layer", "zone_class", "name_zh", "name_en"]


def subdivide(geom, max_vertices: int = 256) -> list:
    """Cut a polygonal geometry into disjoint pieces of at most ``max_vertices`` vertices."""
    out = []
    stack = list(shapely.get_parts(geom))
    while stack:
        g = stack.pop()
        if g.is_empty:
            continue
        if shapely.get_num_coordinates(g) <= max_vertices:
            out.append(g)
            continue
        xmin, ymin, xmax, ymax = g.bounds
        if xmax - xmin >= ymax - ymin:
            mid = (xmin + xmax) / 2.0
            halves = [(xmin, ymin, mid, ymax), (mid, ymin, xmax, ymax)]
        else:
            mid = (ymin + ymax) / 2.0
            halves = [(xmin, ymin, xmax, mid), (xmin, mid, xmax, ymax)]
        for box in halves:
            part = shapely.clip_by_rect(g, *box)
            if not part.is_valid:
                part = shapely.make_valid(part)
            for p in shapely.get_parts(part):
                if shapely.get_dimensions(p) == 2 and not p.is_empty:
                    stack.append(p)
    return out


def intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``shapely.intersection(a, b)`` pair by pair, on several threads when there are many pairs.

    GEOS computes an intersection without the GIL and without touching a
    geometry's prepared state (only predicates build that), so threads may share
    the geometries.
    """
    return np.concatenate(in_threads(shapely.intersection, a, b))


@dataclass
class ZoneGrid:
    """A regular grid over the zones and the coverage; see the module text.

    ``combo[iy, ix]`` is the zone combination of a clean cell, or -1 where a
    zone boundary or the coverage boundary may touch the cell. Combination ``k``
    holds the zone rows ``combo_zones[combo_ptr[k]:combo_ptr[k + 1]]`` and lies
    inside the coverage when ``combo_covered[k]``.
    """

    x0: float
    y0: float
    cell: float
    combo: np.ndarray
    combo_ptr: np.ndarray
    combo_zones: np.ndarray
    combo_covered: np.ndarray
    _dirty_sum: np.ndarray | None = field(default=None, repr=False)

    def _index(self, v, origin, n, offset=0.0):
        f = np.floor((np.asarray(v, dtype=float) - origin) / self.cell + offset)
        return np.clip(np.nan_to_num(f, nan=0.0, posinf=n - 1, neginf=0), 0, n - 1).astype(np.intp)

    def locate(self, x, y) -> np.ndarray:
        """The combination of the cell of each point, -1 where the cell is not clean."""
        ny, nx = self.combo.shape
        return self.combo[self._index(y, self.y0, ny), self._index(x, self.x0, nx)].astype(np.int64)

    def locate_boxes(self, bounds, *, max_rows: int = 256) -> np.ndarray:
        """The combination of every cell a box meets when all are clean (one combination), else -1.

        Boxes more than ``max_rows`` cells tall are left to the exact tests (-1).
        """
        bounds = np.asarray(bounds, dtype=float).reshape(-1, 4)
        ny, nx = self.combo.shape
        ix0 = self._index(bounds[:, 0], self.x0, nx, -_EPS)
        iy0 = self._index(bounds[:, 1], self.y0, ny, -_EPS)
        ix1 = self._index(bounds[:, 2], self.x0, nx, _EPS)
        iy1 = self._index(bounds[:, 3], self.y0, ny, _EPS)
        if self._dirty_sum is None:  # dirty cells in [0, y) x [0, x), modulo 2**16 while rows are short
            dtype = np.uint16 if nx < (1 << 16) - 1 else np.uint32
            dirty = np.zeros((ny + 1, nx + 1), dtype=dtype)
            np.cumsum(self.combo < 0, axis=1, dtype=dtype, out=dirty[1:, 1:])
            for r in range(1, ny + 1):  # then down the columns, row after row (quicker than along axis 0)
                np.add(dirty[r], dirty[r - 1], out=dirty[r])
            self._dirty_sum = dirty
        s = self._dirty_sum
        height = iy1 - iy0
        n_dirty = (s[iy1 + 1, ix1 + 1] - s[iy0, ix1 + 1] - s[iy1 + 1, ix0] + s[iy0, ix0]).astype(np.int64)
        # exact while a box holds fewer cells than the modulus; a larger one is counted row by row
        for i in np.flatnonzero((height < max_rows) & ((height + 1) * (ix1 - ix0 + 1) >= np.iinfo(s.dtype).max)):
            r = np.arange(iy0[i], iy1[i] + 1)
            right, left = s[r + 1, ix1[i] + 1] - s[r, ix1[i] + 1], s[r + 1, ix0[i]] - s[r, ix0[i]]
            n_dirty[i] = int(right.astype(np.int64).sum() - left.astype(np.int64).sum())
        n_dirty[height >= max_rows] = 1
        # clean cells that touch each other have the same zones, so a clean box has one combination
        return np.where(n_dirty == 0, self.combo[iy0, ix0], -1).astype(np.int64)

    def expand(self, rows: np.ndarray, combos: np.ndarray):
        """(row, zone) for every zone of each row's combination."""
        start = self.combo_ptr[combos]
        count = self.combo_ptr[combos + 1] - start
        rep = np.repeat(rows, count)
        if not len(rep):
            return rep, np.zeros(0, dtype=np.int64)
        offs = np.arange(len(rep)) - np.repeat(np.cumsum(count) - count, count)
        return rep, self.combo_zones[np.repeat(start, count) + offs]


class ZoneIndex:
    """Zones of a layer set (measurement CRS), their pieces, STRtrees, the grid and the coverage's pieces.

    ``attrs`` holds the zones' attributes (one row per zone, as ``zones`` without
    the geometry); ``zones`` adds the geometries, read from the layer set when
    first asked for (the check needs them only for points on a piece's edge)
    unless given. Pieces have at most ``max_vertices`` vertices.
    """

    def __init__(self, *, attrs, pieces, piece_zone, grid, cov_grid, cov_pieces, zones_loader, max_vertices, zones=None):
        self.max_vertices = max_vertices
        self.attrs = attrs
        self.pieces = pieces
        self.piece_zone = piece_zone
        self.grid = grid
        self.cov_grid = cov_grid  # the coverage alone, coarser: inside or outside where zone cells are not clean
        self.cov_pieces = cov_pieces
        self._zones_loader = zones_loader
        self._zones = zones
        self._boundary = {}
        shapely.prepare(pieces)
        shapely.prepare(cov_pieces)
        self.tree = shapely.STRtree(pieces)
        self.cov_tree = shapely.STRtree(cov_pieces)
        layer_of_piece = attrs["layer"].to_numpy()[piece_zone]
        self.layer_trees = {}  # layer id -> (STRtree, piece indices)
        for lid in attrs["layer"].unique():
            idx = np.flatnonzero(layer_of_piece == lid)
            self.layer_trees[lid] = (shapely.STRtree(pieces[idx]), idx)

    @property
    def zones(self) -> gpd.GeoDataFrame:
        if self._zones is None:
            self._zones = self._zones_loader()
        return self._zones

    def boundary(self, rows) -> np.ndarray:
        """The boundaries of zones ``rows`` (each worked out once)."""
        rows = np.asarray(rows, dtype=np.int64)
        todo = [r for r in np.unique(rows) if r not in self._boundary]
        if todo:
            for r, b in zip(todo, shapely.boundary(self.zones.geometry.values[todo])):
                self._boundary[r] = b
        return np.array([self._boundary[r] for r in rows], dtype=object)

    def clip_to_coverage(self, geoms, coverage) -> np.ndarray:
        """``intersection(geom, coverage)`` of polygons, through the coverage's small pieces.

        A polygon the coverage cuts into polygonal parts gets their union; any
        other outcome (only touching, lines) is left to the whole coverage.
        """
        geoms = np.asarray(geoms, dtype=object)
        out = np.empty(len(geoms), dtype=object)
        g_i, c_i = self.cov_tree.query(geoms)
        meet = shapely.intersects(self.cov_pieces[c_i], geoms[g_i])  # the pieces are prepared
        g_i, c_i = g_i[meet], c_i[meet]
        parts = intersection(geoms[g_i], self.cov_pieces[c_i])
        order = np.argsort(g_i, kind="stable")
        g_i, parts = g_i[order], parts[order]
        keep = ~shapely.is_empty(parts)
        g_i, parts = g_i[keep], parts[keep]
        n_parts = np.bincount(g_i, minlength=len(geoms))
        slow = (n_parts == 0) | (np.bincount(g_i, ~np.isin(shapely.get_type_id(parts), (3, 6)), len(geoms)) > 0)
        one = np.flatnonzero((n_parts == 1) & ~slow)
        out[one] = parts[np.searchsorted(g_i, one)]
        start = np.searchsorted(g_i, np.arange(len(geoms) + 1))
        for k in np.flatnonzero((n_parts > 1) & ~slow):
            out[k] = shapely.union_all(parts[start[k]:start[k + 1]])
        if slow.any():
            out[slow] = shapely.intersection(geoms[slow], coverage)
        return out


def _edges(geoms) -> np.ndarray:
    """The lines whose cells must not be clean: polygon boundaries, and any lower-dimensional part whole."""
    parts = shapely.get_parts(np.asarray(geoms, dtype=object))
    parts = parts[~shapely.is_empty(parts)]
    dim = shapely.get_dimensions(parts)
    out = [shapely.boundary(parts[dim == 2])]
    low = parts[dim < 2]
    if len(low):
        out.append(low)
    return np.concatenate(out) if out else np.zeros(0, dtype=object)


def _mark_lines(dirty: np.ndarray, lines: np.ndarray, x0: float, y0: float, cell: float) -> None:
    """Mark every cell a line (or point) may touch: each segment, cut to at most a cell long, marks its box of cells."""
    ny, nx = dirty.shape
    lines = shapely.segmentize(lines, cell)
    xy, owner = shapely.get_coordinates(lines, return_index=True)
    fx = (xy[:, 0] - x0) / cell
    fy = (xy[:, 1] - y0) / cell
    # consecutive coordinates of one part are a segment; a lone point is a segment of length 0
    parts = shapely.get_parts(shapely.get_parts(lines))
    counts = shapely.get_num_coordinates(parts)
    first = np.zeros(len(xy), dtype=bool)
    first[np.cumsum(counts)[:-1]] = True
    first[0] = True
    b = np.arange(len(xy))
    a = np.where(first, b, b - 1)
    ix0 = np.floor(np.minimum(fx[a], fx[b]) - _EPS).astype(np.intp)
    ix1 = np.floor(np.maximum(fx[a], fx[b]) + _EPS).astype(np.intp)
    iy0 = np.floor(np.minimum(fy[a], fy[b]) - _EPS).astype(np.intp)
    iy1 = np.floor(np.maximum(fy[a], fy[b]) + _EPS).astype(np.intp)
    if len(ix0) and (min(ix0.min(), iy0.min()) < 0 or ix1.max() >= nx or iy1.max() >= ny):
        raise AssertionError("grid: a boundary lies outside the grid")
    flat = dirty.reshape(-1)
    wide = np.flatnonzero((ix1 - ix0 > 1) | (iy1 - iy0 > 1))  # segmentize leaves few spans of 3 cells
    for dx in (0, 1):
        for dy in (0, 1):
            flat[np.minimum(iy0 + dy, iy1) * nx + np.minimum(ix0 + dx, ix1)] = True
    for k in wide:
        dirty[iy0[k]:iy1[k] + 1, ix0[k]:ix1[k] + 1] = True


def _combinations(run: np.ndarray, zone: np.ndarray, covered: np.ndarray, n_runs: int):
    """Number the distinct (zones, covered) of the runs: (combination of each run, CSR of combinations, covered).

    ``run``, ``zone``: the distinct (run, zone) pairs; ``covered``: per run.
    """
    order = np.lexsort((zone, run))
    run, zone = run[order], zone[order]
    count = np.bincount(run, minlength=n_runs)
    zone_list = sequence_ids(zone, count).ids  # each run's sorted zones
    combo_of_run, rep = row_ids(zone_list, covered)  # rep: the first run of each combination
    ccount = count[rep]
    ptr = np.zeros(len(rep) + 1, dtype=np.int64)
    np.cumsum(ccount, out=ptr[1:])
    run_start = np.cumsum(count) - count
    idx = np.repeat(run_start[rep], ccount) + (np.arange(ptr[-1]) - np.repeat(ptr[:-1], ccount))
    return combo_of_run, ptr, zone[idx].astype(np.int64), covered[rep]


def zone_grid(zones_geom, pieces, piece_zone, coverage, *, cells: int | None = None) -> ZoneGrid:
    """Build the grid of clean cells over the zones and the coverage (see :class:`ZoneGrid`)."""
    geoms = np.append(np.asarray(zones_geom, dtype=object), coverage)
    geoms = geoms[~shapely.is_empty(geoms) & ~shapely.is_missing(geoms)]
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms) if len(geoms) else (0.0, 0.0, 1.0, 1.0)
    w, h = max(xmax - xmin, 1e-6), max(ymax - ymin, 1e-6)
    edges = _edges(geoms)
    if cells is None:
        # about 2% of the area within a cell of a boundary, within [2^12, GRID_CELLS] cells
        length = float(np.nansum(shapely.length(edges))) if len(edges) else 0.0
        cell = 0.01 * w * h / max(length, 1e-9) if length > 0 else max(w, h)
        cells = int(min(GRID_CELLS, max(_GRID_MIN_CELLS, w * h / cell**2)))
    cell = float(np.sqrt(w * h / cells))
    nx, ny = int(np.ceil(w / cell)) + 5, int(np.ceil(h / cell)) + 5
    x0, y0 = xmin - 2 * cell, ymin - 2 * cell
    dirty = np.zeros((ny, nx), dtype=bool)
    if len(edges):
        _mark_lines(dirty, edges, x0, y0, cell)
    # runs of clean cells along rows: one exact look-up of the first cell's centre answers the run
    clean = ~dirty.ravel()
    prev = np.concatenate([[False], clean[:-1]])
    prev[::nx] = False
    start = clean & ~prev
    starts = np.flatnonzero(start)
    run_id = np.cumsum(start) - 1
    cx = x0 + (starts % nx + 0.5) * cell
    cy = y0 + (starts // nx + 0.5) * cell
    centres = shapely.points(cx, cy)
    ctree = shapely.STRtree(centres)
    p_i, c_j = ctree.query(pieces, predicate="intersects")
    run_zone = pd.DataFrame({"r": c_j, "z": np.asarray(piece_zone)[p_i]}).drop_duplicates().to_numpy()
    cov = coverage
    shapely.prepare(cov)
    covered = shapely.intersects(cov, centres) if not shapely.is_empty(cov) else np.zeros(len(centres), dtype=bool)
    combo_of_run, ptr, czones, ccov = _combinations(run_zone[:, 0], run_zone[:, 1], covered, len(starts))
    dtype = np.int16 if len(ptr) < 32_000 else np.int32
    combo = np.full(ny * nx, -1, dtype=dtype)
    combo[clean] = combo_of_run[run_id[clean]]
    return ZoneGrid(x0=float(x0), y0=float(y0), cell=cell, combo=combo.reshape(ny, nx), combo_ptr=ptr,
                    combo_zones=czones, combo_covered=np.asarray(ccov, dtype=bool))


# -- cache ----------------------------------------------------------------------------------------

def cache_path(ls, max_vertices: int = 256) -> Path:
    """Where the prepared index of a layer set is kept: beside its default build."""
    return Path(ls.root) / "build" / f"{ls.name}.zindex-{max_vertices}.npz"


def _cache_key(ls, layer_ids: list, max_vertices: int) -> str | None:
    content = (ls.meta or {}).get("content_hash")
    if not content:
        return None
    import pyproj

    from .. import __version__

    return json.dumps({"format": CACHE_FORMAT, "content_hash": content, "measure_crs": str(ls.info["measure_crs"]),
                       "layers": layer_ids, "max_vertices": max_vertices, "ecozone": __version__,
                       "shapely": shapely.__version__, "geos": shapely.geos_version_string,
                       "pyproj": pyproj.__version__, "proj": pyproj.proj_version_str, "grid_cells": GRID_CELLS},
                      sort_keys=True)


def _pack(prefix: str, geoms) -> dict:
    """Geometries as arrays: coordinates and offsets when all are polygons, else WKB."""
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) and (shapely.get_type_id(geoms) == 3).all() and not shapely.has_z(geoms).any():
        _, coords, (ring_off, poly_off) = shapely.to_ragged_array(geoms)
        return {f"{prefix}_coords": coords, f"{prefix}_rings": ring_off, f"{prefix}_polys": poly_off}
    wkb = shapely.to_wkb(geoms)
    lens = np.fromiter((len(b) for b in wkb), dtype=np.int64, count=len(wkb))
    return {f"{prefix}_wkb": np.frombuffer(b"".join(wkb), dtype=np.uint8),
            f"{prefix}_off": np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)}


def _unpack(prefix: str, a: dict) -> np.ndarray:
    if f"{prefix}_coords" in a:
        geoms = shapely.from_ragged_array(shapely.GeometryType.POLYGON, a[f"{prefix}_coords"],
                                          (a[f"{prefix}_rings"], a[f"{prefix}_polys"]))
        return np.asarray(geoms, dtype=object)
    data, offs = a[f"{prefix}_wkb"].tobytes(), a[f"{prefix}_off"]
    return shapely.from_wkb(np.array([data[i:j] for i, j in zip(offs[:-1], offs[1:])], dtype=object))


def _pack_grid(prefix: str, grid: ZoneGrid) -> dict:
    flat = grid.combo.ravel()  # mostly long runs of one value: stored as runs
    starts = np.concatenate([[0], np.flatnonzero(flat[1:] != flat[:-1]) + 1]).astype(np.int64)
    return {f"{prefix}_origin": np.array([grid.x0, grid.y0, grid.cell]), f"{prefix}_shape": np.array(grid.combo.shape),
            f"{prefix}_run_start": starts, f"{prefix}_run_value": flat[starts], f"{prefix}_ptr": grid.combo_ptr,
            f"{prefix}_zones": grid.combo_zones, f"{prefix}_covered": grid.combo_covered}


def _unpack_grid(prefix: str, a: dict) -> ZoneGrid:
    shape = tuple(int(v) for v in a[f"{prefix}_shape"])
    starts = a[f"{prefix}_run_start"]
    lengths = np.diff(np.concatenate([starts, [shape[0] * shape[1]]]))
    combo = np.repeat(a[f"{prefix}_run_value"], lengths).reshape(shape)
    x0, y0, cell = (float(v) for v in a[f"{prefix}_origin"])
    return ZoneGrid(x0=x0, y0=y0, cell=cell, combo=combo, combo_ptr=a[f"{prefix}_ptr"],
                    combo_zones=a[f"{prefix}_zones"], combo_covered=a[f"{prefix}_covered"].astype(bool))


def _save(path: Path, key: str, pieces, piece_zone, cov_pieces, grid: ZoneGrid, cov_grid: ZoneGrid) -> None:
    arrays = {"key": np.array(key), **_pack("piece", pieces), **_pack("cov", cov_pieces), "piece_zone": piece_zone,
              **_pack_grid("grid", grid), **_pack_grid("covgrid", cov_grid)}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".npz", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.chmod(tmp, 0o644)  # readable like the build beside it (mkstemp makes it private)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _load(path: Path, key: str):
    try:
        with np.load(path, allow_pickle=False) as npz:
            if str(npz["key"]) != key:
                return None
            a = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, KeyError, EOFError) as exc:  # a partial or foreign file: rebuild
        log.info("zone index cache %s unreadable (%s)", path, exc)
        return None
    return (_unpack("piece", a), a["piece_zone"].astype(np.int64), _unpack("cov", a), _unpack_grid("grid", a),
            _unpack_grid("covgrid", a))


# -- index ----------------------------------------------------------------------------------------

def _checked_layers(ls) -> list:
    return [spec.id for spec in ls.manifest["layers"] if spec.geometry == "polygon" and spec.check]


def _zone_frame(ls, layer_ids: list) -> gpd.GeoDataFrame:
    frames = [ls.measured(lid)[_ZONE_COLUMNS + ["geometry"]] for lid in layer_ids]
    return gpd.GeoDataFrame(gpd.pd.concat(frames, ignore_index=True), crs=ls.measure_crs)


def _zone_attrs(ls, layer_ids: list) -> pd.DataFrame:
    return pd.concat([pd.DataFrame(ls.layer(lid)[_ZONE_COLUMNS]) for lid in layer_ids], ignore_index=True)


def _cut(geoms, max_vertices: int):
    pieces, owner = [], []
    for i, g in enumerate(geoms):
        parts = subdivide(g, max_vertices)
        pieces.extend(parts)
        owner.extend([i] * len(parts))
    return np.array(pieces, dtype=object), np.asarray(owner, dtype=np.int64)


def zone_index(ls, *, max_vertices: int = 256, cache: bool = True) -> ZoneIndex:
    """Build (once per layer set object, kept in ``ls._zone_index``) the zone index of every checkable polygon layer.

    A layer is checkable unless the manifest says ``check = false`` or it is not
    a polygon layer (sites are checked against areas; coastlines through their strips).
    With ``cache`` the prepared index is read from, or written to, the file
    beside the build (:func:`cache_path`).
    """
    if ls._zone_index is not None and ls._zone_index.max_vertices == max_vertices:
        return ls._zone_index
    layer_ids = _checked_layers(ls)
    key = _cache_key(ls, layer_ids, max_vertices) if cache else None
    path = cache_path(ls, max_vertices)
    loaded = _load(path, key) if key and path.exists() else None
    zones = None
    if loaded is not None:
        pieces, owner, cov_pieces, grid, cov_grid = loaded
        attrs = _zone_attrs(ls, layer_ids)
    else:
        zones = _zone_frame(ls, layer_ids)
        attrs = pd.DataFrame(zones[_ZONE_COLUMNS])
        pieces, owner = _cut(zones.geometry.values, max_vertices)
        cov_pieces, _ = _cut([ls.coverage], max_vertices)
        shapely.prepare(pieces)
        grid = zone_grid(zones.geometry.values, pieces, owner, ls.coverage)
        cov_grid = zone_grid([], pieces[:0], owner[:0], ls.coverage, cells=max(_GRID_MIN_CELLS, grid.combo.size // 16))
        if key:
            try:
                _save(path, key, pieces, owner, cov_pieces, grid, cov_grid)
            except OSError as exc:  # a read-only layer set still checks, only slower to open
                log.info("zone index cache not written (%s)", exc)
    index = ZoneIndex(attrs=attrs, pieces=pieces, piece_zone=owner, grid=grid, cov_grid=cov_grid,
                      cov_pieces=cov_pieces, zones_loader=lambda: _zone_frame(ls, layer_ids),
                      max_vertices=max_vertices, zones=zones)
    ls._zone_index = index
    return index
