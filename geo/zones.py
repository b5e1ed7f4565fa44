"""The checkable zones of a layer set, cut into small pieces and indexed for fast overlay.

Tests against a 10,000-vertex polygon cost O(vertices); cut into pieces of at
most ``max_vertices`` and indexed in an STRtree, each test touches a few small
pieces (reference/performance.md: subdivision alone made overlay 4–12× faster).
Pieces of one zone are disjoint, so overlap areas and lengths add up.
"""
from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

__all__ = ["ZoneIndex", "zone_index", "subdivide"]


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


@dataclass
class ZoneIndex:
    """Zones (one row each, measurement CRS), their pieces and STRtrees."""

    zones: gpd.GeoDataFrame
    pieces: np.ndarray  # shapely geometries
    piece_zone: np.ndarray  # zone row of each piece
    tree: shapely.STRtree
    layer_trees: dict  # layer id -> (STRtree, piece indices)

    @property
    def boundaries(self):
        if not hasattr(self, "_boundaries"):
            self._boundaries = shapely.boundary(self.zones.geometry.values)
        return self._boundaries


def zone_index(ls, *, max_vertices: int = 256) -> ZoneIndex:
    """Build (once per layer set object) the zone index of every checkable polygon layer.

    A layer is checkable unless the manifest says ``check = false`` or it is not
    a polygon layer (sites are checked against areas; coastlines through their strips).
    """
    cache = getattr(ls, "_zone_index", None)
    if cache is not None and cache[0] == max_vertices:
        return cache[1]
    frames = []
    for spec in ls.manifest["layers"]:
        if spec.geometry != "polygon" or not spec.check:
            continue
        gdf = ls.measured(spec.id)
        frames.append(gdf[["zone_id", "layer", "zone_class", "name_zh", "name_en", "geometry"]])
    zones = gpd.GeoDataFrame(gpd.pd.concat(frames, ignore_index=True), crs=ls.measure_crs)
    pieces, owner = [], []
    for i, g in enumerate(zones.geometry.values):
        parts = subdivide(g, max_vertices)
        pieces.extend(parts)
        owner.extend([i] * len(parts))
    pieces = np.array(pieces, dtype=object)
    owner = np.asarray(owner, dtype=np.int64)
    shapely.prepare(pieces)
    layer_of_piece = zones["layer"].to_numpy()[owner]
    layer_trees = {}
    for lid in zones["layer"].unique():
        idx = np.flatnonzero(layer_of_piece == lid)
        layer_trees[lid] = (shapely.STRtree(pieces[idx]), idx)
    index = ZoneIndex(zones=zones, pieces=pieces, piece_zone=owner, tree=shapely.STRtree(pieces),
                      layer_trees=layer_trees)
    ls._zone_index = (max_vertices, index)
    return index
