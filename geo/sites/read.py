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
import re
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .coords import apply_coord_sys, check_datum, close_lines, coord_sys_key, guess_projected_hint, reraise
from ..errors import EcozoneError, GeometryRepairedWarning, SiteInputError, SiteInputWarning
from ..text import project_types, resolve_type
from ..threads import in_threads

log = logging.getLogger(__name__)

__all__ = ["read_sites", "read_sites_part", "is_dataset", "sites_from_inline", "normalize_sites", "SITE_COLUMNS",
           "SiteInputWarning"]

SITE_COLUMNS = ["site_id", "name", "project_type", "nmp", "land_use", "radius_m", "kind"]
_ALIASES = {
    "site_id": ["site_id", "id", "ID", "Id", "编号", "项目编号", "site", "fid_"],
    "name": ["name", "Name", "NAME", "名称", "项目名称", "site_name"],
    "project_type": ["project_type", "type", "Type", "类型", "项目类型", "type_code"],
    "nmp": ["nmp", "is_nmp", "NMP", "国家重大项目"],
    "land_use": ["land_use", "用地方式", "landuse"],
    "radius_m": ["radius_m", "footprint_radius_m", "radius", "半径"],
}
#: attributes that change a verdict: two columns for one of them must agree, or the file is refused
_DECISIVE = {"project_type": "the project type (项目类型)", "nmp": "the national-major-project flag (国家重大项目)",
             "land_use": "the land use (用地方式)", "radius_m": "the footprint radius (半径)"}
_TRUE = {"true", "1", "yes", "y", "t", "是", "√"}
_FALSE = {"false", "0", "no", "n", "f", "否", "", "nan", "none"}


def _find(df: pd.DataFrame, key: str):
    for cand in _ALIASES[key]:
        if cand in df.columns:
            return cand
    return None


def _canon(key: str, series: pd.Series) -> pd.Series:
    """A decisive attribute as the check reads it, to compare two columns that give it."""
    text = _text(series, "").str.strip().str.lower()
    if key == "project_type":
        codes = {v: resolve_type(v) or v for v in pd.unique(text)}
        return text.map(codes)
    if key == "nmp":
        return text.isin(_TRUE).astype(str)
    if key == "land_use":
        return text.replace({"": "occupy", "nan": "occupy", "占用": "occupy", "穿越": "cross", "跨越": "cross"})
    return pd.to_numeric(text, errors="coerce").fillna(0.0).astype(str)


def _check_decisive(df: pd.DataFrame, path, rows) -> None:
    """Refuse two columns for one verdict-changing attribute (``type`` and ``项目类型``) that differ in a row."""
    for key, what in _DECISIVE.items():
        cols = [c for c in _ALIASES[key] if c in df.columns]
        if len(cols) < 2:
            continue
        texts = [_canon(key, df[c]) for c in cols]
        for other, text in zip(cols[1:], texts[1:]):
            differ = (texts[0] != text).to_numpy()
            if differ.any():
                i = int(np.flatnonzero(differ)[0])
                raise SiteInputError(
                    f"columns {cols[0]} and {other} both give {what} and differ ({df[cols[0]].iloc[i]!r} and "
                    f"{df[other].iloc[i]!r}); ecozone will not guess which one is meant", path=path, row=int(rows[i]),
                    hint="keep one of them (delete or rename the other) and check again")


def _row(i: int) -> int:
    """Row number as a user counts it (1-based, after a header)."""
    return int(i) + 1


def normalize_sites(gdf: gpd.GeoDataFrame, *, path=None, project_type=None,
                    row_offset: int = 1, first_number: int = 1) -> gpd.GeoDataFrame:
    """Turn a raw GeoDataFrame into sites, checking everything that could mislead a check.

    Parameters
    ----------
    gdf : raw features with a CRS.
    path : the file they came from (for messages).
    project_type : type code or alias for sites that have none.
    row_offset : added to the 0-based index to name rows in messages (1 for data
        files, 2 for CSV with a header line).

    Sites without an id (no id column, or a blank cell) are numbered 1, 2, ...
    in file order (from ``first_number``: a part of a dataset numbers its sites
    as the whole does); messages keep naming the file's rows (for CSV, the line).

    Raises
    ------
    SiteInputError
        On a missing CRS, empty or out-of-range geometry, unknown type, duplicate
        id, or two columns for an attribute that changes the verdict (``type``
        and ``项目类型``, ``nmp`` and ``国家重大项目``...) that differ in a row.
    """
    where = {"path": path}
    if gdf.crs is None:
        raise SiteInputError("the sites have no CRS", **where,
                             hint="give --crs (e.g. EPSG:4490) or use a format that declares it")
    if len(gdf) == 0:
        raise SiteInputError("no sites in the input", **where, hint="check the file is not empty")
    gdf = gdf.reset_index(drop=True)
    try:
        check_datum(gdf.crs)
    except SiteInputError as exc:
        raise SiteInputError(exc.message, **where, hint=exc.hint) from None
    geoms = gdf.geometry.values
    if "_row" in gdf.columns:  # rows (or lines) the reader recorded
        rows = pd.to_numeric(gdf["_row"], errors="coerce").fillna(-1).to_numpy(dtype="int64")
        gdf = gdf.drop(columns="_row")
    else:
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
    has_z = shapely.has_z(geoms)
    has_m = shapely.has_m(geoms) if hasattr(shapely, "has_m") else np.zeros(len(geoms), dtype=bool)
    zm = has_z | has_m  # dropped below; the warning names the sites once their ids are known
    zm_what = " and ".join(w for w, f in (("Z", has_z), ("M", has_m)) if f.any())
    if zm.any():
        with np.errstate(invalid="ignore"):
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
            swapped = (np.abs(coords[:, 0]) <= 90) & (np.abs(coords[:, 1]) <= 180)
            if swapped.all():
                raise SiteInputError(f"longitude and latitude look swapped (lon {_num(x)}, lat {_num(y)})", **where,
                                     row=int(rows[first]),
                                     hint="put longitude (x, about 73-135 in China) before latitude (y, about 18-54)")
            raise SiteInputError(f"({_num(x)}, {_num(y)}) is not a longitude/latitude", **where,
                                 row=int(rows[first]), hint=guess_projected_hint(x, y))
    # polygons need 3 distinct points; invalid ones are repaired with a warning naming them
    is_poly = np.isin(gtypes, [3, 6])
    invalid = ~np.concatenate(in_threads(shapely.is_valid, geoms))
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
    gdf = _sanitize_text(gdf, path)
    _check_decisive(gdf, path, rows)

    # sites without an id are numbered 1, 2, ... in file order (messages keep naming the file's rows)
    number = pd.Series(np.arange(first_number, first_number + len(gdf)).astype(str))
    id_col = _find(gdf, "site_id")
    if id_col:
        ids = gdf[id_col].astype(str).fillna("").str.strip().reset_index(drop=True)
        blank = ids.isna() | ids.isin(["", "nan", "None", "<NA>"])
        if blank.any():
            ids = ids.where(~blank, number)
    else:
        ids = number
    if not ids.is_unique:
        dup = ids.duplicated(keep="first")
        second = int(np.flatnonzero(dup.to_numpy())[0])
        first = int(np.flatnonzero((ids == ids.iloc[second]).to_numpy())[0])
        raise SiteInputError(f"site id {ids.iloc[second]!r} is used more than once (also row {int(rows[first])}; "
                             f"{int(ids.duplicated(keep=False).sum())} rows in all)", **where,
                             row=int(rows[second]), hint="give every site its own id")
    out.insert(0, "site_id", ids.array)
    name_col = _find(gdf, "name")
    out.insert(1, "name", _text(gdf[name_col], "").to_numpy() if name_col else "")

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
        types = types.to_numpy()
    else:  # one type for all: a categorical of one value
        types = pd.Categorical.from_codes(np.zeros(len(gdf), dtype=np.int8) - (default is None),
                                          categories=pd.Index([default] if default else [], dtype="str"))
    out.insert(2, "project_type", types)

    nmp_col = _find(gdf, "nmp")
    out.insert(3, "nmp", _bools(gdf[nmp_col], path, rows, nmp_col) if nmp_col else False)
    lu_col = _find(gdf, "land_use")
    if lu_col:
        lu = _text(gdf[lu_col], "occupy").str.strip().str.lower().replace(
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
    kind = np.select([np.isin(gtypes, [0, 4]), np.isin(gtypes, [1, 5])], [0, 1], 2)
    out.insert(6, "kind", pd.Categorical.from_codes(kind, categories=pd.Index(["point", "line", "parcel"], dtype="str")))
    # keep the other attributes (not clashing with ours), added at once: linear in the number of columns
    used = {c for c in (id_col, name_col, type_col, nmp_col, lu_col, r_col) if c}
    extra = [c for c in gdf.columns if c != gdf.geometry.name and c not in used and c not in out.columns]
    if extra:
        more = pd.DataFrame({c: gdf[c].to_numpy() for c in extra}, index=out.index)
        out = gpd.GeoDataFrame(pd.concat([pd.DataFrame(out), more], axis=1), geometry=out.geometry.name,
                               crs=out.crs)
    if zm.any():
        warnings.warn(f"{path or 'sites'}: {zm_what} values ignored (the check is 2D) for site(s) "
                      f"{_preview(out.loc[zm, 'site_id'])}", GeometryRepairedWarning, stacklevel=2)
    sanitized = gdf.attrs.get("_sanitized")
    if sanitized is not None and len(sanitized):
        warnings.warn(f"{path or 'sites'}: HTML, script or control characters removed from the text of site(s) "
                      f"{_preview(out['site_id'].iloc[sanitized])}", SiteInputWarning, stacklevel=2)
    if ids_preview is not None:
        warnings.warn(f"{path or 'sites'}: invalid geometry repaired for site(s) "
                      f"{_preview(out.loc[ids_preview, 'site_id'])}; check them", GeometryRepairedWarning, stacklevel=2)
    return out


_MARKUP = re.compile(r"<\s*/?\s*[A-Za-z!][^<>]*>")
_DANGER = re.compile(r"<\s*(?:script|iframe|object|embed|svg|img|style|link|meta|form)\b|javascript\s*:"
                     r"|<[^<>]*\bon[a-z]+\s*=", re.I)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _sanitize_text(gdf, path):
    """Strip HTML/script markup and control characters from text fields, with a warning naming the sites.

    Ids and names lose any tag; other text fields lose tags only where they
    carry script (``<script>``, ``javascript:``, ``onload=``...), so plain HTML
    descriptions from KML stay. Reports and maps escape text anyway; this keeps
    markup out of every output, CSV and KML included. Vectorised: only cells
    with ``<``, ``:`` or a control character are looked at closely.
    """
    name_cols = {c for c in (_find(gdf, "site_id"), _find(gdf, "name")) if c}
    touched = np.zeros(len(gdf), dtype=bool)
    out = None
    for col in gdf.columns:
        if col == gdf.geometry.name:
            continue
        ser = gdf[col]
        if pd.api.types.is_string_dtype(ser) and not pd.api.types.is_object_dtype(ser):
            strs = ser
        elif pd.api.types.is_object_dtype(ser):
            strs = ser.map(lambda v: v if isinstance(v, str) else None).astype("str")
        else:
            continue
        cand = strs.str.contains(r"[<:\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", regex=True).fillna(False).to_numpy(dtype=bool)
        if not cand.any():
            continue
        idx = np.flatnonzero(cand)
        texts = strs.iloc[idx].astype(object)
        hit = np.array([bool(_DANGER.search(t) or _CONTROL.search(t) or (col in name_cols and _MARKUP.search(t)))
                        for t in texts], dtype=bool)
        if not hit.any():
            continue
        if out is None:
            out = gdf.copy()
        new = ser.astype(object).copy()
        new.iloc[idx[hit]] = [_strip_markup(t) for t in texts[hit]]
        out[col] = new
        touched[idx[hit]] = True
    if out is None:
        return gdf
    out.attrs["_sanitized"] = np.flatnonzero(touched)
    return out


def _strip_markup(text: str) -> str:
    text = re.sub(r"(?is)<\s*(script|style)\b.*?(<\s*/\s*\1\s*>|$)", " ", text)
    text = _MARKUP.sub(" ", text)
    text = re.sub(r"(?i)javascript\s*:", "", text)
    text = _CONTROL.sub(" ", text).replace("<", "‹").replace(">", "›")
    return " ".join(text.split())


def _preview(ids, n: int = 10) -> str:
    """Up to ``n`` site ids for a message, with the count of the rest."""
    ids = [str(i) for i in ids]
    return ", ".join(ids[:n]) + (f" and {len(ids) - n} more" if len(ids) > n else "")


def _text(series: pd.Series, blank: str) -> pd.Series:
    """A column as text, ``blank`` where missing (whatever its dtype)."""
    obj = series.astype(object)
    return obj.where(obj.notna(), blank).astype(str)


def _num(v: float) -> str:
    return f"{v:.3f}" if abs(v) >= 1e5 else f"{v:g}"


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
    source : path of a GeoJSON, GeoPackage, Shapefile (or .zip), KML/KMZ (or 奥维
        .ovkml), FlatGeobuf, GeoParquet, CSV/XLSX, 界址点 coordinate TXT (or a
        lon/lat point TXT) or DXF file (see :mod:`geo.readers`); or a folder of
        GeoParquet parts, local or at an fsspec URL (:mod:`geo.sites.readers.dataset`).
    crs : CRS of coordinates the file does not place (CSV x/y, TXT without 带号, DXF).
    project_type : type (code or alias) for sites that have none.
    options : reader options: ``coord_sys`` (``wgs84``, ``cgcs2000``, ``gcj02``,
        ``bd09``: lon/lat in GCJ-02 or BD-09 are converted to WGS84),
        ``ddd_mmss`` (angles written as degrees.minutesseconds), ``encoding``,
        ``layer``; CSV also ``lon``, ``lat``, ``x``, ``y``, ``wkt`` column names.

    Raises
    ------
    SiteInputError
        When the file cannot be read or a site is not valid: one line naming the
        file, the row (for text files, the line) and what to do.

    Warns
    -----
    SiteInputWarning
        When the file was read on an assumption (encoding, zone, axis order) or
        text was cleaned; the message names the features.
    GeometryRepairedWarning
        When invalid geometry was repaired or Z/M values dropped.
    """
    from .readers import reader_for
    from .readers.dataset import is_url, read_parquet_dataset

    dataset = is_dataset(source)
    path = str(source) if is_url(source) else Path(source)
    if not dataset and not path.exists():
        raise SiteInputError("file not found", path=path, hint="check the path")
    if not dataset and path.stat().st_size == 0:
        raise SiteInputError("file is empty", path=path, hint="export the sites again")
    crs, options = _reader_options(path, crs, options)
    reader, row_offset = (read_parquet_dataset, 1) if dataset else reader_for(path)
    gdf = reader(path, crs=crs, **options)
    return normalize_sites(gdf, path=path, project_type=project_type, row_offset=row_offset)


def is_dataset(source) -> bool:
    """Whether ``source`` is a GeoParquet dataset (a folder of parts, local or at an fsspec URL)."""
    from .readers.dataset import is_url

    return is_url(source) or Path(source).is_dir()


def _reader_options(path, crs, options: dict) -> tuple:
    """``crs`` as a CRS and the reader ``options`` checked (``coord_sys`` by its key), the unset ones left out."""
    from ..crs import to_crs_object

    if crs is not None:
        try:
            crs = to_crs_object(crs)
        except EcozoneError as exc:
            raise SiteInputError(exc.message, path=path, hint=exc.hint) from None
    options = dict(options)
    if options.get("coord_sys") is not None:
        try:
            options["coord_sys"] = coord_sys_key(options["coord_sys"])
        except SiteInputError as exc:
            raise reraise(exc, path=path) from None
    return crs, {k: v for k, v in options.items() if v is not None and v is not False}


def read_sites_part(source, part: str, first_row: int, *, crs=None, project_type=None, **options):
    """The sites of one part of the GeoParquet dataset ``source`` (its first row the dataset's ``first_row``),
    what :func:`read_sites` makes of those rows within the whole dataset, except that ids are not compared
    with other parts' (the caller does that: :mod:`geo.check.dataset_parts`)."""
    from .readers.dataset import read_dataset_part

    path = str(source)
    crs, options = _reader_options(path, crs, options)
    gdf = read_dataset_part(path, part, first_row, crs=crs, **options)
    return normalize_sites(gdf, path=path, project_type=project_type, first_number=first_row)


def sites_from_inline(points=(), wkts=(), *, crs="EPSG:4326", project_type=None, name="",
                      coord_sys=None) -> gpd.GeoDataFrame:
    """Sites from ``LON,LAT`` strings and WKT strings (command-line ``--point`` / ``--wkt``).

    Both are longitude/latitude in ``crs``; ``coord_sys`` (``wgs84``,
    ``cgcs2000``, ``gcj02``, ``bd09``) says which system they were picked in:
    GCJ-02 (Gaode/Tencent) and BD-09 (Baidu) are converted to WGS84,
    ``cgcs2000`` means EPSG:4490. A WKT ``LINESTRING`` that ends where it
    starts is a parcel (an info line says so), as in CSV files.
    """
    where = "command line"
    try:
        coord_sys = coord_sys_key(coord_sys)
    except SiteInputError as exc:
        raise reraise(exc, path=where) from None
    if coord_sys == "cgcs2000" and str(crs).upper() == "EPSG:4326":
        crs = "EPSG:4490"
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
    geoms = np.array(geoms, dtype=object)
    geoms, closed, mixed = close_lines(geoms, tol=1e-7)
    if closed.any():
        log.info("command line: %d --wkt LINESTRING(s) that end where they start read as parcels (POLYGON)",
                 int(closed.sum()))
    if mixed.any():
        warnings.warn("command line: --wkt MULTILINESTRING with closed and open parts checked as a line; give the "
                      "closed parts as POLYGON if they are areas", SiteInputWarning, stacklevel=2)
    gdf = gpd.GeoDataFrame({"name": [name or lab for lab in labels]}, geometry=geoms, crs=crs)
    if coord_sys is not None:
        xy = shapely.get_coordinates(geoms)
        if gdf.crs.is_geographic and len(xy) and ((np.abs(xy[:, 0]) > 180) | (np.abs(xy[:, 1]) > 90)).any():
            normalize_sites(gdf, path=where, project_type=project_type)  # says what the numbers look like
        try:
            shifted, out_crs = apply_coord_sys(gdf.geometry.values, gdf.crs, coord_sys)
        except SiteInputError as exc:
            raise reraise(exc, path=where) from None
        gdf = gpd.GeoDataFrame({"name": gdf["name"]}, geometry=shifted, crs=out_crs)
    return normalize_sites(gdf, path=where, project_type=project_type)
