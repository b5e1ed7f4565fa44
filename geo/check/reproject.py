"""Sites into the measurement CRS and back, as ``GeoSeries.to_crs`` gives them, on several threads."""
from __future__ import annotations

import threading
from functools import lru_cache

import numpy as np
import pyproj
import shapely

from ..threads import in_threads

__all__ = ["to_crs", "site_geoms"]


@lru_cache(maxsize=16)
def _transformer(src, dst, thread: int):
    return pyproj.Transformer.from_crs(src, dst, always_xy=True)  # one per thread: PROJ's state is not shared


def _project(src, dst, x, y) -> tuple:
    """Coordinates from ``src`` to ``dst`` (arrays), on several threads when there are many."""
    def run(xs, ys):
        return _transformer(src, dst, threading.get_ident()).transform(xs, ys)

    parts = in_threads(run, x, y, min_items=200_000)
    return tuple(np.concatenate([np.asarray(p[i], dtype=float) for p in parts]) for i in (0, 1))


def site_geoms(sites, crs, single: np.ndarray) -> tuple:
    """The sites' geometries in ``crs``, as ``GeoDataFrame.to_crs`` gives them, except 2D points.

    Returns (geometries, x, y). Points (``single``) are returned as coordinates
    only (``None`` in the geometries): most are answered from the grid and never
    need a geometry.
    """
    geoms = sites.geometry.values
    crs = pyproj.CRS.from_user_input(crs)
    data = np.asarray(geoms, dtype=object)
    out = np.empty(len(data), dtype=object)
    px = np.full(len(data), np.nan)
    py = np.full(len(data), np.nan)
    same = geoms.crs is None or geoms.crs.is_exact_same(crs)
    other = ~single
    if other.any():
        out[other] = data[other] if same else to_crs(geoms[other], crs)
    if single.any():
        x, y = shapely.get_x(data[single]), shapely.get_y(data[single])
        if not same:
            x, y = _project(geoms.crs, crs, x, y)
        px[single], py[single] = x, y
    return out, px, py


def to_crs(geoms, crs, single: np.ndarray | None = None) -> np.ndarray:
    """Geometries (a GeoSeries or its values) in ``crs``, as ``GeoSeries.to_crs`` gives them.

    When the transformation leaves every coordinate as it is (an equivalent CRS
    spelt differently), the geometries are reused instead of rebuilt. ``single``
    marks the 2D points, when known.
    """
    geoms = getattr(geoms, "values", geoms)
    crs = pyproj.CRS.from_user_input(crs)
    data = np.asarray(geoms, dtype=object)
    if geoms.crs is None or geoms.crs.is_exact_same(crs) or not len(data):
        return np.asarray(geoms.to_crs(crs), dtype=object) if geoms.crs is not None else data
    if geoms.crs.equals(crs):  # the same CRS spelt differently (PROJ finds them equivalent)
        return data.copy()
    if single is None:
        single = (shapely.get_type_id(data) == 0) & ~shapely.has_z(data)
    if not single.all():  # each thread reprojects a slice of the geometries
        if shapely.has_z(data).any():
            return np.asarray(geoms.to_crs(crs), dtype=object)
        src = geoms.crs

        def run(g):
            xy = shapely.get_coordinates(g)
            x, y = _transformer(src, crs, threading.get_ident()).transform(xy[:, 0], xy[:, 1])
            return shapely.set_coordinates(g.copy(), np.column_stack([x, y]))

        return np.concatenate(in_threads(run, data, min_items=20_000))
    x0, y0 = shapely.get_x(data), shapely.get_y(data)
    x, y = _project(geoms.crs, crs, x0, y0)
    if np.array_equal(x, x0) and np.array_equal(y, y0):  # an equivalent CRS: the same geometries
        return data.copy()
    return shapely.points(x, y)
