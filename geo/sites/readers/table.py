"""Sites from tables (CSV, XLSX): lon/lat columns, x/y columns with a CRS, or a WKT column.

* Encodings: UTF-8 with or without BOM, UTF-16 (Excel "Unicode text", tab
  separated), GBK/GB18030; detected block by block, or ``encoding``.
* Angles: decimal degrees, DMS text (``121°45'30.5"E``, ``东经121度45分30.5秒``)
  recognised by itself; ``ddd.mmss`` numbers only with ``ddd_mmss=True``.
* ``coord_sys``: lon/lat in ``gcj02`` (Gaode/Tencent) or ``bd09`` (Baidu) are
  converted to WGS84; column names such as ``gcj_lng`` or ``百度经度`` without
  ``coord_sys`` give a warning.
* x/y in a CGCS2000 Gauss-Krüger CRS: the zone prefix of 8-digit eastings is
  matched to ``crs`` and survey order (X = north) is detected and swapped with a
  warning.
* A WKT column wins over lon/lat or x/y columns in the same table (a parcel
  or line says more than its label point): the point columns then only fill
  rows whose WKT is blank, and a row whose point lies more than ~100 m
  (0.001°) outside the convex hull of its WKT geometry is refused, since the
  two disagree. A WKT ``LINESTRING`` that ends where it starts (within 1 cm)
  is read as a parcel (``POLYGON``), with an info line: a ring bounds an area,
  and checked as a line it would miss a zone lying wholly inside it. So is a
  ``MULTILINESTRING`` whose parts all close; one with closed and open parts
  stays a line, with a warning. Projected WKT under ``crs`` gets the zone-prefix and
  survey-order checks of x/y columns; WKT in metres without ``crs`` is refused
  with the likely EPSG code.
* Columns are found by name; two columns that could hold the same thing
  (``lon`` twice, ``lon`` and ``经度``, ``type`` and ``项目类型`` twice) are
  refused as ambiguous, never picked silently.
* At most :data:`geo.readers.MAX_COLUMNS` (1,000) columns: a sites table never
  needs more, and a wider one is refused from its header line before it is
  parsed. Frames are built whole, so reading is linear in the columns.
* Large files are read in chunks of ``chunk_rows``: the text is never held
  whole; what stays is one float pair and the attribute strings per row. When
  the estimate for the whole file exceeds the free memory, the reader stops
  with an error that says how to split the file, instead of running out.
"""
from __future__ import annotations

import csv
import logging
import os
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from ..coords import (apply_coord_sys, close_lines, guess_projected_hint, parse_angles, reraise, resolve_projected,
                      resolve_projected_geoms, shapely_points, shift_hint)
from ...errors import SiteInputError, SiteInputWarning
from . import MAX_COLUMNS
from .textio import detect_encoding
from .vector import PYOGRIO_NOTES, quiet_library_notes

log = logging.getLogger(__name__)

__all__ = ["read_table", "CHUNK_ROWS"]

CHUNK_ROWS = 200_000
LON = ["lon", "longitude", "lng", "long", "经度", "LON", "Longitude", "LNG", "Lng", "Lon", "东经"]
LAT = ["lat", "latitude", "纬度", "LAT", "Latitude", "Lat", "北纬"]
XS = ["x", "X", "easting", "Easting", "东坐标", "横坐标", "Y坐标"]
YS = ["y", "Y", "northing", "Northing", "北坐标", "纵坐标", "X坐标"]
WKT = ["wkt", "WKT", "geometry", "geom", "Geometry", "几何"]
_LON_PARTS = ("lng", "lon", "经度")
_LAT_PARTS = ("lat", "纬度")
_BYTES_PER_ROW_FIXED = 260  # a shapely point (~240 B) and its float pair, measured (tests/test_readers.py)


_ROLE_TEXT = {"wkt": "the geometry (WKT)", "lon": "the longitude (经度)", "lat": "the latitude (纬度)",
              "x": "the easting (x)", "y": "the northing (y)"}
#: tolerance of the check that a row's point columns lie on its WKT geometry: degrees, projected units (m)
_AGREE_DEG, _AGREE_M = 1e-3, 100.0


def _pick(path, columns, names, given, parts=(), role=""):
    """The column of one role: the name given, else the one exact alias, else the one fuzzy match."""
    if given:
        if given not in columns:
            raise SiteInputError(f"no column {given!r}", path=path, row=1, hint=f"columns are {', '.join(columns)}")
        return given
    exact = [c for c in columns if c in names]
    if len(exact) > 1:
        raise SiteInputError(f"columns {' and '.join(exact)} {'both' if len(exact) == 2 else 'all'} give "
                             f"{_ROLE_TEXT.get(role, role)}; ecozone will "
                             f"not guess which one is meant", path=path, row=1,
                             hint="keep one of them (delete or rename the others) and check again")
    if exact or not parts:
        return exact[0] if exact else None
    fuzzy = [c for c in columns if any(p in str(c).lower() for p in parts)]
    return fuzzy[0] if len(fuzzy) == 1 else None


def _known_names(given=()) -> set:
    """Column names a reader or :func:`geo.sites.normalize_sites` acts on."""
    from ..read import _ALIASES

    names = set(LON) | set(LAT) | set(XS) | set(YS) | set(WKT) | {g for g in given if g}
    for aliases in _ALIASES.values():
        names |= set(aliases)
    return names


def _check_header(path: Path, names, given=()) -> None:
    """Refuse a header with more than MAX_COLUMNS columns or with a column the reader uses twice."""
    names = [str(n).strip() for n in names]
    if len(names) > MAX_COLUMNS:
        raise SiteInputError(f"the table has {len(names):,} columns; a sites table has at most {MAX_COLUMNS:,}",
                             path=path, row=1,
                             hint="keep the id, name, type and coordinate columns (delete the others) and check again")
    known = _known_names(given)
    seen: dict[str, int] = {}
    for i, name in enumerate(names, start=1):
        if name in known and name in seen:
            raise SiteInputError(f"column {name!r} appears twice (columns {seen[name]} and {i}); ecozone will not "
                                 f"guess which one is meant", path=path, row=1,
                                 hint="delete or rename one of them and check again")
        seen.setdefault(name, i)


def _csv_header(path: Path, encoding: str, sep: str):
    """The fields of the first non-blank record (quoted newlines allowed), or None for a blank file."""
    with open(path, encoding=encoding, errors="replace", newline="") as f:
        try:
            for row in csv.reader(f, delimiter=sep, skipinitialspace=True):
                if any(field.strip() for field in row):
                    return row
        except csv.Error as exc:
            raise SiteInputError(f"the header line cannot be read ({exc})", path=path, row=1,
                                 hint="check the separators and quotes of the first line") from None
    return None


def _sep(path: Path, encoding: str) -> str:
    with open(path, encoding=encoding, errors="replace", newline="") as f:
        first = f.readline(65536)
    if "\t" in first and "," not in first:
        return "\t"
    if ";" in first and "," not in first:
        return ";"
    return ","


def _available_memory() -> int | None:
    """Bytes this process can still use: MemAvailable (page cache counts as free), capped by a cgroup limit."""
    avail = None
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):  # pragma: no cover - neither Linux nor POSIX
            return None
    try:  # a container's own limit (cgroup v2)
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = Path("/sys/fs/cgroup/memory.current").read_text().strip()
        if limit.isdigit() and used.isdigit():
            avail = min(avail, int(limit) - int(used))
    except OSError:
        pass
    return max(avail, 0)


def _chunks(path: Path, encoding, chunk_rows, given=()):
    if path.suffix.lower() == ".xlsx":
        yield _read_xlsx(path, given), "utf-8"
        return
    enc = detect_encoding(path, encoding)
    sep = _sep(path, enc)
    header = _csv_header(path, enc, sep)
    if header is not None:
        _check_header(path, header, given)
    try:
        reader = pd.read_csv(path, encoding=enc, dtype=str, keep_default_na=False, chunksize=chunk_rows,
                             sep=sep, skipinitialspace=True, on_bad_lines="error")
        with reader:
            for chunk in reader:
                yield chunk, enc
    except pd.errors.EmptyDataError:
        raise SiteInputError("file is empty", path=path, hint="export the sites again") from None
    except pd.errors.ParserError as exc:
        raise SiteInputError(f"not a readable CSV ({' '.join(str(exc).split())[:120]})", path=path,
                             hint="check the separators and quotes") from None
    except UnicodeDecodeError:
        raise SiteInputError("text encoding not recognised", path=path,
                             hint="save as UTF-8 or give --encoding gbk") from None
    except (ValueError, OverflowError, MemoryError) as exc:
        raise SiteInputError(f"not a readable CSV ({type(exc).__name__}: {' '.join(str(exc).split())[:100]})",
                             path=path, hint="check the file") from None


def _read_xlsx(path: Path, given=()) -> pd.DataFrame:
    import pyogrio

    quiet_library_notes(PYOGRIO_NOTES)
    try:
        layers = pyogrio.list_layers(path)
        sheets = [str(n) for n in layers[:, 0]]
        infos = {s: pyogrio.read_info(path, layer=s) for s in sheets}
        used = [s for s in sheets if infos[s]["features"]]
        if not used:
            raise SiteInputError("the workbook has no rows", path=path, hint="add one row per site below a header")
        if len(used) > 1:
            raise SiteInputError(f"the workbook has {len(used)} sheets with rows ({', '.join(used[:5])})", path=path,
                                 hint="keep the sites on one sheet, or save that sheet as CSV")
        if len(infos[used[0]]["fields"]) > MAX_COLUMNS:
            _check_header(path, infos[used[0]]["fields"])
        df = pyogrio.read_dataframe(path, layer=used[0], read_geometry=False, HEADERS="FORCE")
    except SiteInputError:
        raise
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError, ValueError, RuntimeError,
            KeyError, IndexError) as exc:
        raise SiteInputError(f"cannot read ({' '.join(str(exc).split())[:160]})", path=path,
                             hint="check the workbook opens in Excel; or save it as CSV") from None
    names = [str(c) for c in df.columns]
    _check_header(path, names, given)
    columns = {}
    for i in range(df.shape[1]):  # by position: a repeated name the reader does not use is kept as name.1
        s = df.iloc[:, i]
        if pd.api.types.is_float_dtype(s):
            text = s.map(lambda v: "" if pd.isna(v) else repr(float(v)))
        else:
            text = s.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
        columns[i] = text.astype(str).to_numpy()
    out = pd.DataFrame(columns, index=df.index)
    out.columns = _unique(names)
    return out


def _unique(names) -> list[str]:
    """Names made unique as pandas does for CSV (``name``, ``name.1``...)."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        k = seen.get(name, 0)
        seen[name] = k + 1
        out.append(name if k == 0 else f"{name}.{k}")
    return out


def _angles(df, col, axis, path, start, ddd_mmss):
    try:
        return parse_angles(df[col], axis=axis, ddd_mmss=ddd_mmss)
    except SiteInputError as exc:
        raise reraise(exc, path=path, row_of=lambda r: start + r + 2, column=col) from None


def _numbers(df, col, path, start):
    text = df[col].astype(str).str.strip()
    vals = pd.to_numeric(text.where(text != ""), errors="coerce")
    bad = vals.isna() & (text != "")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise SiteInputError(f"{col} {df[col].iloc[i]!r} is not a number", path=path, row=start + i + 2, column=col,
                             hint="give decimal numbers")
    return vals.to_numpy(dtype="float64", na_value=np.nan)


def read_table(path: Path, *, crs=None, lon=None, lat=None, x=None, y=None, wkt=None, encoding=None,
               coord_sys=None, ddd_mmss=False, chunk_rows: int = CHUNK_ROWS, **_ignored) -> gpd.GeoDataFrame:
    """Read sites from CSV or XLSX; lon/lat mean EPSG:4326 (EPSG:4490 with ``coord_sys="cgcs2000"``).

    ``lon``, ``lat``, ``x``, ``y``, ``wkt`` name the columns when their names
    are not the usual ones. With a WKT column and point columns, the WKT is
    used (see the module docstring). ``coord_sys`` applies to every kind of
    lon/lat (columns and WKT) and is refused for projected coordinates.
    """
    path = Path(path)
    user = pyproj.CRS.from_user_input(crs) if crs is not None else None
    projected_user = user is not None and not user.is_geographic
    if projected_user and coord_sys is not None:  # a shifted system of lon/lat makes no sense here: say so first
        try:
            apply_coord_sys(np.empty(0, dtype=object), user, coord_sys)
        except SiteInputError as exc:
            raise reraise(exc, path=path) from None
    given = (lon, lat, x, y, wkt)
    frames, xs_all, ys_all, wkt_geoms = [], [], [], []
    mode = pair = wkt_col = None
    used: list = []
    start = 0
    cols = None
    for chunk, _enc in _chunks(path, encoding, chunk_rows, given):
        if cols is None:
            cols = [str(c) for c in chunk.columns]
            chunk.columns = cols
            wkt_col = _pick(path, cols, WKT, wkt, role="wkt")
            lon_col, lat_col = (_pick(path, cols, LON, lon, _LON_PARTS, "lon"),
                                _pick(path, cols, LAT, lat, _LAT_PARTS, "lat"))
            x_col, y_col = _pick(path, cols, XS, x, role="x"), _pick(path, cols, YS, y, role="y")
            if lon_col and lat_col:
                pair = ("lonlat", lon_col, lat_col)
            elif x_col and y_col:
                pair = ("xy", x_col, y_col)
            if lon_col and lat_col and x_col and y_col:
                log.info("%s: both lon/lat (%s, %s) and x/y (%s, %s) columns; the sites are read from %s", path,
                         lon_col, lat_col, x_col, y_col, f"{wkt_col}" if wkt_col else "lon/lat")
            if wkt_col:
                mode, used = "wkt", [wkt_col]
                if pair and pair[0] == "xy" and user is None:
                    log.info("%s: sites read from %s (lon/lat); x/y columns %s, %s kept as attributes (no --crs)",
                             path, wkt_col, pair[1], pair[2])
                    pair = None
                if pair:
                    used += [pair[1], pair[2]]
                    log.info("%s: sites read from the WKT column %s; columns %s, %s fill rows without WKT and must "
                             "agree with it", path, wkt_col, pair[1], pair[2])
            elif pair:
                mode, used = pair[0], [pair[1], pair[2]]
                if mode == "xy" and user is None:
                    raise SiteInputError(f"x/y columns ({pair[1]}, {pair[2]}) need a CRS", path=path,
                                         hint="give --crs, e.g. EPSG:4550 for CGCS2000 GK CM 123E")
            else:
                raise SiteInputError("no coordinate columns", path=path, row=1,
                                     hint="give lon,lat (degrees), x,y with --crs, or a wkt column")
            if coord_sys is None and not projected_user:
                marks = [c for c in (wkt_col,) if mode == "wkt"] + ([pair[1], pair[2]] if pair else [])
                hint = shift_hint(*marks, path.name)
                if hint:
                    said = [m for m in marks if shift_hint(m)]
                    who = f"column{'s' * int(len(said) > 1)} {'/'.join(said)}" if said else "the file name"
                    warnings.warn(f"{path}: {who} suggest{'s' * int(len(said) < 2)} {hint[1]}; read as WGS84 — give "
                                  f"--coord-sys {hint[0]} if they are shifted", SiteInputWarning, stacklevel=2)
        else:
            chunk.columns = cols
        if pair:
            if pair[0] == "xy" or projected_user:
                xs_all.append(_numbers(chunk, pair[1], path, start))
                ys_all.append(_numbers(chunk, pair[2], path, start))
            else:
                xs_all.append(_angles(chunk, pair[1], "lon", path, start, ddd_mmss))
                ys_all.append(_angles(chunk, pair[2], "lat", path, start, ddd_mmss))
        if mode == "wkt":
            wkt_geoms.extend(_wkts(chunk, wkt_col, path, start))
        frames.append(chunk.drop(columns=used))
        if start == 0:
            _check_memory(path, chunk)
        start += len(chunk)
    if cols is None or start == 0:
        raise SiteInputError("no rows", path=path, hint="add one row per site below the header")
    attrs = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].reset_index(drop=True)
    del frames
    lonlat_crs = pyproj.CRS.from_epsg(4490 if coord_sys == "cgcs2000" else 4326)
    if mode == "wkt":
        geoms = np.array(wkt_geoms, dtype=object)
        out_crs = user or lonlat_crs
        if pair:
            geoms = _with_points(path, geoms, np.concatenate(xs_all), np.concatenate(ys_all), pair, user, lonlat_crs)
        if projected_user:
            try:
                geoms, res = resolve_projected_geoms(geoms, crs=user, order_hint="WKT x,y")
            except SiteInputError as exc:
                raise reraise(exc, path=path, row_of=lambda r: r + 2, column=wkt_col) from None
            for note in res.notes:
                warnings.warn(f"{path}: {note}", SiteInputWarning, stacklevel=2)
            out_crs = res.crs
        else:
            _check_degrees(path, geoms, wkt_col)
        geoms = _close_rings(path, geoms, out_crs)
    else:
        xs = np.concatenate(xs_all)
        ys = np.concatenate(ys_all)
        del xs_all, ys_all
        if mode == "xy" or projected_user:
            try:
                res = resolve_projected(xs, ys, crs=user, order_hint=f"{used[0]},{used[1]}")
            except SiteInputError as exc:
                raise reraise(exc, path=path, row_of=lambda r: r + 2) from None
            for note in res.notes:
                warnings.warn(f"{path}: {note}", SiteInputWarning, stacklevel=2)
            xs, ys, out_crs = res.east, res.north, res.crs
        else:
            out_crs = user or lonlat_crs
        geoms = shapely_points(xs, ys)
    if coord_sys is not None:
        try:
            geoms, out_crs = apply_coord_sys(geoms, out_crs, coord_sys)
        except SiteInputError as exc:
            raise reraise(exc, path=path) from None
    return gpd.GeoDataFrame(attrs, geometry=geoms, crs=out_crs)


def _wkts(chunk, col, path, start) -> list:
    out = []
    for i, text in enumerate(chunk[col].astype(str)):
        try:
            out.append(shapely.from_wkt(text) if text.strip() else None)
        except (shapely.errors.GEOSException, ValueError, TypeError):
            raise SiteInputError("not valid WKT", path=path, row=start + i + 2, column=col,
                                 hint="write e.g. POLYGON ((121.8 39.1, ...))") from None
    return out


def _with_points(path, geoms, px, py, pair, user, lonlat_crs):
    """WKT geometries, with the point columns filling blank rows and checked against the others."""
    kind, c1, c2 = pair
    finite = np.isfinite(px) & np.isfinite(py)
    if kind == "lonlat" and user is not None and not user.is_geographic and finite.any() and \
            (np.abs(px[finite]) <= 180).all() and (np.abs(py[finite]) <= 90).all():
        # degrees beside projected WKT (a label point in lon/lat): compare in the WKT's CRS
        to_user = pyproj.Transformer.from_crs(lonlat_crs, user, always_xy=True)
        px, py = to_user.transform(px, py)
    points = shapely_points(px, py)
    blank = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    fill = blank & finite
    if fill.any():
        geoms = geoms.copy()
        geoms[fill] = points[fill]
        log.info("%s: %d row(s) without WKT read from %s, %s", path, int(fill.sum()), c1, c2)
    both = ~blank & finite
    if both.any():
        tol = _AGREE_DEG if user is None or user.is_geographic else _AGREE_M
        with np.errstate(invalid="ignore"):
            far = shapely.distance(points[both], shapely.convex_hull(geoms[both])) > tol
        if far.any():
            i = int(np.flatnonzero(both)[np.flatnonzero(far)[0]])
            unit = "0.001°" if tol == _AGREE_DEG else f"{tol:g} m"
            raise SiteInputError(f"{c1}/{c2} ({points[i].x:.6g}, {points[i].y:.6g}) lie more than {unit} outside the "
                                 f"WKT geometry of the same row ({int(far.sum())} such row{'s' * int(far.sum() > 1)}); "
                                 f"the columns disagree",
                                 path=path, row=i + 2,
                                 hint=f"delete the {c1}/{c2} columns or the WKT column, whichever is wrong, and "
                                      f"check again")
    return geoms


def _check_degrees(path, geoms, col) -> None:
    """Refuse WKT read as lon/lat whose numbers are not degrees, with the likely --crs."""
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not present.any():
        return
    counts = shapely.get_num_coordinates(geoms[present])
    xy = shapely.get_coordinates(geoms[present])
    bad = (np.abs(xy[:, 0]) > 180) | (np.abs(xy[:, 1]) > 180)  # metres; other slips are left to normalize_sites
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        i = int(np.flatnonzero(present)[np.repeat(np.arange(len(counts)), counts)[k]])
        x, y = xy[k]
        raise SiteInputError(f"WKT ({x:.3f}, {y:.3f}) is not a longitude/latitude", path=path, row=i + 2, column=col,
                             hint=guess_projected_hint(float(x), float(y), as_xy=False))


def _close_rings(path, geoms, crs):
    """Closed WKT lines as parcels (info line), lines with closed and open parts kept with a warning."""
    tol = 1e-7 if crs is None or crs.is_geographic else 0.01
    geoms, closed, mixed = close_lines(geoms, tol=tol)
    if closed.any():
        rows = ", ".join(str(i + 2) for i in np.flatnonzero(closed)[:10])
        log.info("%s: %d LINESTRING(s) that end where they start read as parcels (POLYGON), rows %s%s", path,
                 int(closed.sum()), rows, " ..." if closed.sum() > 10 else "")
    if mixed.any():
        rows = ", ".join(str(i + 2) for i in np.flatnonzero(mixed)[:10])
        warnings.warn(f"{path}: row(s) {rows}: MULTILINESTRING with closed and open parts checked as a line; "
                      f"give the closed parts as POLYGON if they are areas", SiteInputWarning, stacklevel=3)
    return geoms


def _check_memory(path: Path, chunk: pd.DataFrame) -> None:
    """Stop before reading a file whose sites will not fit in the free memory."""
    if path.suffix.lower() != ".csv" or len(chunk) == 0:
        return
    size = path.stat().st_size
    sample_bytes = max(1, int(chunk.memory_usage(deep=True).sum()))
    with open(path, "rb") as f:
        head = f.read(1 << 20)
    lines = max(1, head.count(b"\n"))
    est_rows = size * lines / max(1, len(head))
    need = est_rows * (sample_bytes / len(chunk) + _BYTES_PER_ROW_FIXED) * 2.5  # checking needs more than reading
    free = _available_memory()
    log.debug("%s: ~%d rows, ~%.0f MB needed, %s free", path, est_rows, need / 2**20,
              f"{free / 2**20:.0f} MB" if free else "unknown")
    if free is not None and need > 0.8 * free:
        per_part = int(0.8 * free / max(1.0, need / est_rows))
        raise SiteInputError(f"about {est_rows:,.0f} sites need about {need / 2**30:.1f} GB but only "
                             f"{free / 2**30:.1f} GB of memory is free", path=path,
                             hint=f"split the file into parts of at most {per_part:,} rows and check each")
