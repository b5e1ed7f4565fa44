"""Display geometry: zones simplified in the measurement CRS, then turned into rounded lon/lat.

Layers that tile the plane (control units, protection levels) are simplified as
a coverage so neighbours keep shared edges (no gaps or overlaps); others
feature by feature, topology-preserving. Coordinates are rounded to 6 decimals
(about 0.1 m). With an AMap (Gaode) basemap every geometry is shifted into
GCJ-02 to line up with its tiles.
"""
from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import shapely

from ..crs import transform_geometry_datum

log = logging.getLogger(__name__)

__all__ = ["simplify_polygons", "to_display", "display_layer", "polygonal", "DISPLAY_TOLERANCE_M",
           "COORD_DECIMALS"]

#: display simplification tolerance in metres: below a pixel at zoom 15, two at zoom 16
DISPLAY_TOLERANCE_M = 3.0
#: decimals of the page's lon/lat (about 0.1 m)
COORD_DECIMALS = 6


def polygonal(geom):
    """The polygons of a geometry (dropping the lines and points make_valid can leave)."""
    if geom is None or geom.is_empty:
        return shapely.MultiPolygon()
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    parts = [q for p in parts for q in shapely.get_parts(p)]
    return shapely.MultiPolygon(parts) if parts else shapely.MultiPolygon()


def _linear(geom):
    """The lines of a geometry."""
    if geom is None or geom.is_empty:
        return shapely.MultiLineString()
    if geom.geom_type in ("LineString", "MultiLineString"):
        return geom
    parts = [q for p in shapely.get_parts(geom) if p.geom_type in ("LineString", "MultiLineString")
             for q in shapely.get_parts(p)]
    return shapely.MultiLineString(parts) if parts else shapely.MultiLineString()


def _is_near_coverage(geoms: np.ndarray) -> bool:
    """True when polygons tile the plane up to slivers (overlaps below 0.01 % of their area)."""
    if len(geoms) < 2:
        return True
    total = float(shapely.area(geoms).sum())
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    if not keep.any():
        return True
    overlap = float(shapely.area(shapely.intersection(geoms[left[keep]], geoms[right[keep]])).sum())
    return overlap <= 1e-4 * total


def simplify_polygons(geoms: np.ndarray, tolerance: float) -> np.ndarray:
    """Simplify polygons for display, keeping shared edges shared.

    Polygons that tile the plane (up to slivers) are cleaned into an exact
    coverage and simplified together (GEOS coverage simplification), so
    neighbours keep identical edges: no gaps, no overlaps. Layers whose zones
    really overlap are simplified feature by feature, topology-preserving.
    Any polygon the simplification would empty keeps its original shape.
    """
    geoms = np.asarray(geoms, dtype=object)
    if tolerance <= 0 or len(geoms) == 0:
        return geoms
    out = None
    if _is_near_coverage(geoms):
        try:
            cleaned = shapely.coverage_clean(geoms)
            if shapely.coverage_is_valid(cleaned):
                out = shapely.coverage_simplify(cleaned, tolerance)
        except shapely.errors.GEOSException as exc:  # an odd input: fall back below
            log.debug("coverage simplification failed (%s); simplifying feature by feature", exc)
            out = None
    if out is None:
        out = shapely.simplify(geoms, tolerance, preserve_topology=True)
    out = np.array([polygonal(g) for g in out], dtype=object)
    empty = shapely.is_empty(out) & ~shapely.is_empty(geoms)
    out[empty] = geoms[empty]
    return out


def to_display(geoms, crs, datum: str) -> np.ndarray:
    """Geometries in lon/lat (EPSG:4326 or GCJ-02), rounded for the web page."""
    lonlat = gpd.GeoSeries(geoms, crs=crs).to_crs(4326).values
    if datum != "wgs84":
        lonlat = transform_geometry_datum(lonlat, "wgs84", datum)
    return shapely.transform(np.asarray(lonlat, dtype=object), lambda c: np.round(c, COORD_DECIMALS))


def display_layer(ls, layer_id: str, tolerance: float, datum: str) -> gpd.GeoDataFrame:
    """A layer's zones as the page draws them (simplified, in lon/lat), without the emptied ones."""
    spec = ls.specs[layer_id]
    gdf = ls.measured(layer_id)
    geoms = gdf.geometry.values
    if spec.geometry == "polygon":
        geoms = simplify_polygons(np.array([polygonal(g) for g in geoms], dtype=object), tolerance)
    elif spec.geometry == "line":
        geoms = shapely.simplify(np.array([_linear(g) for g in geoms], dtype=object), tolerance,
                                 preserve_topology=True)
    out = gpd.GeoDataFrame(gdf.drop(columns="geometry"), geometry=to_display(geoms, ls.measure_crs, datum),
                           crs=4326)
    return out[~out.geometry.is_empty]
