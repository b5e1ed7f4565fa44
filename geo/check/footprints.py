"""Each site's footprint in the measurement CRS and the part of it inside the coverage."""
from __future__ import annotations

import numpy as np
import pyproj
import shapely

from .reproject import site_geoms

__all__ = ["Footprints"]


class Footprints:
    """The sites' footprints in the measurement CRS: the geometry, or a point's disc of ``radius_m``.

    2D points without a radius (``bare``) are held as coordinates ``x``, ``y``:
    most are answered from the grid and never need a geometry; :meth:`whole` and
    :meth:`in_coverage` build them when first asked for, once. ``dim`` is each
    footprint's dimension (0 points, 1 lines, 2 parcels and discs); ``single``
    marks the 2D points of the input (discs included).
    """

    def __init__(self, sites, crs: pyproj.CRS):
        src = np.asarray(sites.geometry.values, dtype=object)
        n = len(src)
        single = shapely.get_type_id(src) == 0
        if single.any():
            single[single] = ~shapely.has_z(src[single])
        self.single = single
        self._geoms, self.x, self.y = site_geoms(sites, crs, single)
        self._missing = single.copy()  # no geometry built yet
        self._clipped = np.zeros(n, dtype=bool)
        self._covered_part = np.empty(n, dtype=object)  # of the clipped sites
        src_dim = shapely.get_dimensions(src)
        radius = sites["radius_m"].to_numpy(dtype=float) if "radius_m" in sites else np.zeros(n)
        padded = radius > 0  # points only: a line or parcel keeps its own extent
        if padded.any():
            padded[padded] = (sites["kind"].to_numpy()[padded] == "point") if "kind" in sites else src_dim[padded] == 0
        self.dim = src_dim.copy()
        if padded.any():
            self._geoms[padded] = shapely.buffer(self.whole(padded), radius[padded], quad_segs=16)
            self.dim[padded] = shapely.get_dimensions(self._geoms[padded])
        self.padded = padded
        self.bare = single & (self.dim == 0)

    def __len__(self) -> int:
        return len(self.single)

    def whole(self, idx) -> np.ndarray:
        """The footprints of sites ``idx`` (positions or a mask)."""
        idx = np.flatnonzero(idx) if np.asarray(idx).dtype == bool else np.asarray(idx, dtype=np.intp)
        todo = idx[self._missing[idx]]
        if len(todo):
            self._geoms[todo] = shapely.points(self.x[todo], self.y[todo])
            self._missing[todo] = False
        return self._geoms[idx]

    def in_coverage(self, idx) -> np.ndarray:
        """The part of the footprints of sites ``idx`` inside the coverage (the whole but for clipped sites)."""
        idx = np.flatnonzero(idx) if np.asarray(idx).dtype == bool else np.asarray(idx, dtype=np.intp)
        out = self.whole(idx)
        clipped = self._clipped[idx]
        if clipped.any():
            out[clipped] = self._covered_part[idx[clipped]]
        return out

    def clip(self, rows: np.ndarray, parts: np.ndarray) -> None:
        """Record ``parts``, the covered parts of sites ``rows``, for :meth:`in_coverage`."""
        self._clipped[rows] = True
        self._covered_part[rows] = parts
