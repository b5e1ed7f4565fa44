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
* Large files are read in chunks of ``chunk_rows``: the text is never held
  whole; what stays is one float pair and the attribute strings per row. When
  the estimate for the whole file exceeds the free memory, the reader stops
  with an error that says how to split the file, instead of running out.
"""
from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from ..coords import apply_coord_sys, parse_angles, reraise, resolve_projected, shapely_points, shift_hint
from ..errors import SiteInputError
from . import SiteInputWarning
from .textio import detect_encoding

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


def _pick(columns, names, given, parts=()):
    if given:
        if given not in columns:
            raise KeyError(given)
        return given
    exact = next((c for c in names if c in columns), None)
    if exact or not parts:
        return exact
    fuzzy = [c for c in columns if any(p in str(c).lower() for p in parts)]
    return fuzzy[0] if len(fuzzy) == 1 else None


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


def _chunks(path: Path, encoding, chunk_rows):
    if path.suffix.lower() == ".xlsx":
        yield _read_xlsx(path), "utf-8"
        return
    enc = detect_encoding(path, encoding)
    try:
        reader = pd.read_csv(path, encoding=enc, dtype=str, keep_default_na=False, chunksize=chunk_rows,
                             sep=_sep(path, enc), skipinitialspace=True, on_bad_lines="error")
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


def _read_xlsx(path: Path) -> pd.DataFrame:
    import pyogrio

    try:
        layers = pyogrio.list_layers(path)
        sheets = [str(n) for n in layers[:, 0]]
        counts = {s: pyogrio.read_info(path, layer=s)["features"] for s in sheets}
        used = [s for s in sheets if counts[s]]
        if not used:
            raise SiteInputError("the workbook has no rows", path=path, hint="add one row per site below a header")
        if len(used) > 1:
            raise SiteInputError(f"the workbook has {len(used)} sheets with rows ({', '.join(used[:5])})", path=path,
                                 hint="keep the sites on one sheet, or save that sheet as CSV")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            df = pyogrio.read_dataframe(path, layer=used[0], read_geometry=False, HEADERS="FORCE")
    except SiteInputError:
        raise
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError, ValueError, RuntimeError,
            KeyError, IndexError) as exc:
        raise SiteInputError(f"cannot read ({' '.join(str(exc).split())[:160]})", path=path,
                             hint="check the workbook opens in Excel; or save it as CSV") from None
    out = pd.DataFrame(index=df.index)
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_float_dtype(s):
            text = s.map(lambda v: "" if pd.isna(v) else repr(float(v)))
        else:
            text = s.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
        out[str(col)] = text.astype(str)
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
    """Read sites from CSV or XLSX; lon/lat mean EPSG:4326 (EPSG:4490 with ``coord_sys="cgcs2000"``)."""
    path = Path(path)
    user = pyproj.CRS.from_user_input(crs) if crs is not None else None
    frames, xs_all, ys_all, wkt_geoms = [], [], [], []
    mode = None
    start = 0
    cols = None
    for chunk, _enc in _chunks(path, encoding, chunk_rows):
        if cols is None:
            cols = [str(c) for c in chunk.columns]
            chunk.columns = cols
            try:
                wkt_col = _pick(cols, WKT, wkt)
                lon_col, lat_col = _pick(cols, LON, lon, _LON_PARTS), _pick(cols, LAT, lat, _LAT_PARTS)
                x_col, y_col = _pick(cols, XS, x), _pick(cols, YS, y)
            except KeyError as exc:
                raise SiteInputError(f"no column {exc.args[0]!r}", path=path, row=1,
                                     hint=f"columns are {', '.join(cols)}") from None
            if lon_col and lat_col:
                mode, used = "lonlat", [lon_col, lat_col]
            elif x_col and y_col:
                if user is None:
                    raise SiteInputError(f"x/y columns ({x_col}, {y_col}) need a CRS", path=path,
                                         hint="give --crs, e.g. EPSG:4550 for CGCS2000 GK CM 123E")
                mode, used = "xy", [x_col, y_col]
            elif wkt_col:
                mode, used = "wkt", [wkt_col]
            else:
                raise SiteInputError("no coordinate columns", path=path, row=1,
                                     hint="give lon,lat (degrees), x,y with --crs, or a wkt column")
            if mode == "lonlat" and coord_sys is None:
                hint = shift_hint(lon_col, lat_col, path.name)
                if hint:
                    warnings.warn(f"{path}: columns {lon_col}/{lat_col} suggest {hint[1]}; read as WGS84 — give "
                                  f"--coord-sys {hint[0]} if they are shifted", SiteInputWarning, stacklevel=2)
        else:
            chunk.columns = cols
        if mode == "lonlat":
            if user is not None and not user.is_geographic:
                xs_all.append(_numbers(chunk, used[0], path, start))
                ys_all.append(_numbers(chunk, used[1], path, start))
            else:
                xs_all.append(_angles(chunk, used[0], "lon", path, start, ddd_mmss))
                ys_all.append(_angles(chunk, used[1], "lat", path, start, ddd_mmss))
        elif mode == "xy":
            xs_all.append(_numbers(chunk, used[0], path, start))
            ys_all.append(_numbers(chunk, used[1], path, start))
        else:
            for i, text in enumerate(chunk[used[0]].astype(str)):
                try:
                    wkt_geoms.append(shapely.from_wkt(text) if text.strip() else None)
                except (shapely.errors.GEOSException, ValueError, TypeError):
                    raise SiteInputError("not valid WKT", path=path, row=start + i + 2, column=used[0],
                                         hint="write e.g. POLYGON ((121.8 39.1, ...))") from None
        frames.append(chunk.drop(columns=used))
        if start == 0:
            _check_memory(path, chunk)
        start += len(chunk)
    if cols is None or start == 0:
        raise SiteInputError("no rows", path=path, hint="add one row per site below the header")
    attrs = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].reset_index(drop=True)
    del frames
    if mode == "wkt":
        geoms = np.array(wkt_geoms, dtype=object)
        out_crs = user or pyproj.CRS.from_epsg(4490 if coord_sys == "cgcs2000" else 4326)
    else:
        xs = np.concatenate(xs_all)
        ys = np.concatenate(ys_all)
        del xs_all, ys_all
        if mode == "xy" or (user is not None and not user.is_geographic):
            try:
                res = resolve_projected(xs, ys, crs=user, order_hint=f"{used[0]},{used[1]}")
            except SiteInputError as exc:
                raise reraise(exc, path=path, row_of=lambda r: r + 2) from None
            for note in res.notes:
                warnings.warn(f"{path}: {note}", SiteInputWarning, stacklevel=2)
            xs, ys, out_crs = res.east, res.north, res.crs
        else:
            out_crs = user or pyproj.CRS.from_epsg(4490 if coord_sys == "cgcs2000" else 4326)
        geoms = shapely_points(xs, ys)
    if coord_sys is not None:
        try:
            geoms, out_crs = apply_coord_sys(geoms, out_crs, coord_sys)
        except SiteInputError as exc:
            raise reraise(exc, path=path) from None
    return gpd.GeoDataFrame(attrs, geometry=geoms, crs=out_crs)


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
