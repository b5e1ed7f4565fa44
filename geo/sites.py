"""Project sites: read them from files or inline text, and check them for use.

A site is a point, a line or a parcel with an id, a name, a project type and
optional attributes (``nmp``: national major project; ``land_use``: ``occupy``
or ``cross`` for lines that cross without taking land; ``radius_m``: footprint
radius of a point). :func:`read_sites` returns a GeoDataFrame with the columns
``site_id, name, project_type, nmp, land_use, radius_m, kind, geometry`` and a CRS.

Readers for each file format live in :mod:`geo.readers`; this module only
dispatches and normalises, so a new format is one reader module.
"""
from __future__ import annotations

import logging
import math
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import GeometryRepairedWarning, SiteInputError
from .text import project_types, resolve_type

log = logging.getLogger(__name__)

__all__ = ["read_sites", "sites_from_inline", "normalize_sites", "SITE_COLUMNS"]

SITE_COLUMNS = ["site_id", "name", "project_type", "nmp", "land_use", "radius_m", "kind"]
_ALIASES = {
    "site_id": ["site_id", "id", "ID", "Id", "编号", "项目编号", "site", "fid_"],
    "name": ["name", "Name", "NAME", "名称", "项目名称", "site_name"],
    "project_type": ["project_type", "type", "Type", "类型", "项目类型", "type_code"],
    "nmp": ["nmp", "is_nmp", "NMP", "国家重大项目"],
    "land_use": ["land_use", "用地方式", "landuse"],
    "radius_m": ["radius_m", "footprint_radius_m", "radius", "半径"],
}
_TRUE = {"true", "1", "yes", "y", "t", "是", "√"}
_FALSE = {"false", "0", "no", "n", "f", "否", "", "nan", "none"}


def _find(df: pd.DataFrame, key: str):
    for cand in _ALIASES[key]:
        if cand in df.columns:
            return cand
    return None


def _row(i: int) -> int:
    """Row number as a user counts it (1-based, after a header)."""
    return int(i) + 1


def normalize_sites(gdf: gpd.GeoDataFrame, *, path=None, project_type=None,
                    row_offset: int = 1) -> gpd.GeoDataFrame:
    """Turn a raw GeoDataFrame into sites, checking everything that could mislead a check.

    Parameters
    ----------
    gdf : raw features with a CRS.
    path : the file they came from (for messages).
    project_type : type code or alias for sites that have none.
    row_offset : added to the 0-based index to name rows in messages (1 for data
        files, 2 for CSV with a header line).

    Raises
    ------
    SiteInputError
        On a missing CRS, empty or out-of-range geometry, unknown type, duplicate id.
    """
    where = {"path": path}
    if gdf.crs is None:
        raise SiteInputError("the sites have no CRS", **where,
                             hint="give --crs (e.g. EPSG:4490) or use a format that declares it")
    if len(gdf) == 0:
        raise SiteInputError("no sites in the input", **where, hint="check the file is not empty")
    gdf = gdf.reset_index(drop=True)
    geoms = gdf.geometry.values
    rows = np.arange(len(gdf)) + row_offset

    missing = gdf.geometry.isna() | gdf.geometry.is_empty
    if missing.any():
        first = int(np.flatnonzero(missing.to_numpy())[0])
        raise SiteInputError(f"site has no geometry ({int(missing.sum())} such rows)", **where, row=int(rows[first]),
                             hint="give coordinates for every site or remove the row")
    gtypes = shapely.get_type_id(geoms)
    bad_type = ~np.isin(gtypes, [0, 1, 3, 4, 5, 6])  # point, line, polygon and their multis
    if bad_type.any():
        first = int(np.flatnonzero(bad_type)[0])
        raise SiteInputError(f"unsupported geometry {geoms[first].geom_type}", **where, row=int(rows[first]),
                             hint="give a point, line or polygon per site")
    if shapely.has_z(geoms).any():
        warnings.warn(f"{path or 'sites'}: Z coordinates ignored (2D check)", GeometryRepairedWarning, stacklevel=2)
        geoms = shapely.force_2d(geoms)
    coords = shapely.get_coordinates(geoms)
    if not np.isfinite(coords).all():
        counts = shapely.get_num_coordinates(geoms)
        owner = np.repeat(np.arange(len(geoms)), counts)
        first = int(owner[~np.isfinite(coords).all(axis=1)][0])
        raise SiteInputError("coordinate is blank or not a number", **where, row=int(rows[first]),
                             hint="fill in the coordinates")
    if gdf.crs.is_geographic:
        counts = shapely.get_num_coordinates(geoms)
        owner = np.repeat(np.arange(len(geoms)), counts)
        bad = (np.abs(coords[:, 0]) > 180) | (np.abs(coords[:, 1]) > 90)
        if bad.any():
            first = int(owner[bad][0])
            x, y = coords[bad][0]
            raise SiteInputError(f"({x:g}, {y:g}) is not a longitude/latitude", **where, row=int(rows[first]),
                                 hint="projected metres need --crs with their EPSG code (e.g. EPSG:4550)")
    # polygons need 3 distinct points; invalid ones are repaired with a warning naming them
    is_poly = np.isin(gtypes, [3, 6])
    invalid = ~shapely.is_valid(geoms)
    ids_preview = None
    if invalid.any():
        fixed = shapely.make_valid(geoms[invalid])
        keep_dim = np.where(is_poly[invalid], 2, np.where(np.isin(gtypes[invalid], [1, 5]), 1, 0))
        for k, (g, d) in enumerate(zip(fixed, keep_dim)):
            parts = [p for p in shapely.get_parts(g) if shapely.get_dimensions(p) == d and not p.is_empty]
            if not parts:
                row = int(rows[np.flatnonzero(invalid)[k]])
                raise SiteInputError("geometry is degenerate (e.g. a ring with too few points) and cannot be repaired",
                                     **where, row=row, hint="redraw the site")
            fixed[k] = shapely.union_all(parts) if d == 2 else shapely.union_all(parts) if len(parts) > 1 else parts[0]
        geoms = geoms.copy()
        geoms[invalid] = fixed
        ids_preview = invalid
    out = gpd.GeoDataFrame(geometry=geoms, crs=gdf.crs)

    id_col = _find(gdf, "site_id")
    if id_col:
        ids = gdf[id_col].astype(str).str.strip()
        blank = ids.isin(["", "nan", "None"])
        ids = ids.where(~blank, pd.Series(rows, index=ids.index).astype(str))
    else:
        ids = pd.Series(rows.astype(str))
    dup = ids.duplicated(keep=False)
    if dup.any():
        first = int(np.flatnonzero(dup.to_numpy())[0])
        raise SiteInputError(f"site id {ids.iloc[first]!r} is used more than once ({int(dup.sum())} rows)", **where,
                             row=int(rows[first]), hint="give every site its own id")
    out.insert(0, "site_id", ids.to_numpy())
    name_col = _find(gdf, "name")
    out.insert(1, "name", gdf[name_col].fillna("").astype(str).to_numpy() if name_col else "")

    type_col = _find(gdf, "project_type")
    default = None
    if project_type is not None:
        default = resolve_type(project_type)
        if default is None:
            raise SiteInputError(f"unknown project type {project_type!r}", hint=_type_hint())
    if type_col:
        raw = gdf[type_col]
        uniq = {v: resolve_type(v) for v in pd.unique(raw.astype(object))}
        for v, code in uniq.items():
            if code is None and str(v).strip() not in ("", "nan", "None"):
                first = int(np.flatnonzero((raw.astype(object) == v).to_numpy())[0])
                raise SiteInputError(f"unknown project type {v!r}", **where, row=int(rows[first]),
                                     column=type_col, hint=_type_hint())
        types = raw.astype(object).map(uniq).astype(object)
        types = types.where(types.notna(), default)
    else:
        types = pd.Series([default] * len(gdf), dtype=object)
    out.insert(2, "project_type", types.to_numpy())

    nmp_col = _find(gdf, "nmp")
    out.insert(3, "nmp", _bools(gdf[nmp_col], path, rows, nmp_col) if nmp_col else False)
    lu_col = _find(gdf, "land_use")
    if lu_col:
        lu = gdf[lu_col].fillna("occupy").astype(str).str.strip().str.lower().replace(
            {"": "occupy", "占用": "occupy", "穿越": "cross", "跨越": "cross", "nan": "occupy"})
        bad = ~lu.isin(["occupy", "cross"])
        if bad.any():
            first = int(np.flatnonzero(bad.to_numpy())[0])
            raise SiteInputError(f"land_use {lu.iloc[first]!r} unknown", **where, row=int(rows[first]),
                                 column=lu_col, hint="use occupy or cross")
        out.insert(4, "land_use", lu.to_numpy())
    else:
        out.insert(4, "land_use", "occupy")
    r_col = _find(gdf, "radius_m")
    if r_col:
        radius = pd.to_numeric(gdf[r_col], errors="coerce").fillna(0.0).to_numpy()
        if (radius < 0).any():
            first = int(np.flatnonzero(radius < 0)[0])
            raise SiteInputError(f"radius_m {radius[first]} is negative", **where, row=int(rows[first]))
    else:
        radius = np.zeros(len(gdf))
    out.insert(5, "radius_m", radius)
    kind = np.select([np.isin(gtypes, [0, 4]), np.isin(gtypes, [1, 5])], ["point", "line"], "parcel")
    out.insert(6, "kind", kind)
    # keep the other attributes (not clashing with ours)
    used = {c for c in (id_col, name_col, type_col, nmp_col, lu_col, r_col) if c}
    for col in gdf.columns:
        if col != gdf.geometry.name and col not in used and col not in out.columns:
            out[col] = gdf[col].to_numpy()
    if ids_preview is not None:
        warnings.warn(f"{path or 'sites'}: invalid geometry repaired for site(s) "
                      f"{', '.join(out.loc[ids_preview, 'site_id'].astype(str)[:10])}"
                      f"{' …' if ids_preview.sum() > 10 else ''}; check them", GeometryRepairedWarning, stacklevel=2)
    return out


def _bools(series, path, rows, col):
    text = series.astype(str).str.strip().str.lower()
    bad = ~text.isin(_TRUE | _FALSE)
    if bad.any():
        first = int(np.flatnonzero(bad.to_numpy())[0])
        raise SiteInputError(f"{col} {series.iloc[first]!r} is not true/false", path=path, row=int(rows[first]),
                             column=col, hint="use true or false")
    return text.isin(_TRUE).to_numpy()


def _type_hint() -> str:
    return "use one of " + ", ".join(f"{c} ({r['alias']})" for c, r in project_types().items())


def read_sites(source, *, crs=None, project_type=None, **options) -> gpd.GeoDataFrame:
    """Read project sites from a file.

    Parameters
    ----------
    source : path of a GeoJSON, GeoPackage, Shapefile (or .zip), KML/KMZ,
        FlatGeobuf, GeoParquet or CSV file (or another format :mod:`geo.readers` knows).
    crs : CRS of coordinates that the file does not declare (CSV x/y, TXT).
    project_type : type (code or alias) for sites that have none.
    options : reader options (CSV: ``lon``, ``lat``, ``x``, ``y``, ``wkt`` column
        names; ``encoding``; ``coord_sys``; ``layer``).

    Raises
    ------
    SiteInputError
        When the file cannot be read or a site is not valid: one line naming the
        file, the row and what to do.
    """
    from .readers import reader_for

    path = Path(source)
    if not path.exists():
        raise SiteInputError("file not found", path=path, hint="check the path")
    if path.is_file() and path.stat().st_size == 0:
        raise SiteInputError("file is empty", path=path, hint="export the sites again")
    reader, row_offset = reader_for(path)
    gdf = reader(path, crs=crs, **options)
    return normalize_sites(gdf, path=path, project_type=project_type, row_offset=row_offset)


def sites_from_inline(points=(), wkts=(), *, crs="EPSG:4326", project_type=None, name="") -> gpd.GeoDataFrame:
    """Sites from ``LON,LAT`` strings and WKT strings (command-line ``--point`` / ``--wkt``)."""
    geoms, labels = [], []
    for p in points:
        try:
            lon, lat = (float(v) for v in str(p).replace("，", ",").split(","))
        except ValueError:
            raise SiteInputError(f"--point {p!r} is not LON,LAT", hint="write e.g. --point 121.80,39.10") from None
        if not (math.isfinite(lon) and math.isfinite(lat)):
            raise SiteInputError(f"--point {p!r} is not a finite LON,LAT")
        geoms.append(shapely.Point(lon, lat))
        labels.append(f"point {p}")
    for w in wkts:
        try:
            geoms.append(shapely.from_wkt(w))
        except shapely.errors.GEOSException:
            raise SiteInputError(f"--wkt {w[:40]!r} is not valid WKT", hint="write e.g. POINT (121.8 39.1)") from None
        labels.append("wkt")
    if not geoms:
        raise SiteInputError("no site given", hint="give a sites file, --point or --wkt")
    gdf = gpd.GeoDataFrame({"name": [name or lab for lab in labels]}, geometry=geoms, crs=crs)
    return normalize_sites(gdf, path="command line", project_type=project_type)
