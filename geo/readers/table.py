"""Sites from CSV: lon/lat columns, x/y columns with a CRS, or a WKT column."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import SiteInputError

LON = ["lon", "longitude", "lng", "经度", "LON", "Longitude"]
LAT = ["lat", "latitude", "纬度", "LAT", "Latitude"]
XS = ["x", "X", "easting", "东坐标"]
YS = ["y", "Y", "northing", "北坐标"]
WKT = ["wkt", "WKT", "geometry", "geom"]


def _pick(columns, names, given):
    if given:
        if given not in columns:
            raise KeyError(given)
        return given
    return next((c for c in names if c in columns), None)


def _read_csv(path: Path, encoding):
    encodings = [encoding] if encoding else ["utf-8-sig", "gb18030"]
    for enc in encodings:
        try:
            return pd.read_csv(path, encoding=enc, dtype=str, keep_default_na=False)
        except UnicodeDecodeError:
            continue
        except pd.errors.EmptyDataError:
            raise SiteInputError("file is empty", path=path, hint="export the sites again") from None
        except pd.errors.ParserError as exc:
            raise SiteInputError(f"not a readable CSV ({' '.join(str(exc).split())[:120]})", path=path,
                                 hint="check the separators and quotes") from None
    raise SiteInputError("text encoding not recognised", path=path, hint="save as UTF-8 or give --encoding gbk")


def _numbers(df, col, path):
    vals = pd.to_numeric(df[col].str.strip(), errors="coerce")
    bad = vals.isna() & (df[col].str.strip() != "")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise SiteInputError(f"{col} {df[col].iloc[i]!r} is not a number", path=path, row=i + 2, column=col,
                             hint="give decimal numbers")
    return vals.to_numpy(dtype=float)


def read_table(path: Path, *, crs=None, lon=None, lat=None, x=None, y=None, wkt=None, encoding=None,
               **_ignored) -> gpd.GeoDataFrame:
    """Read sites from CSV; lon/lat columns mean EPSG:4326 unless ``crs`` says otherwise."""
    path = Path(path)
    df = _read_csv(path, encoding)
    if df.empty:
        raise SiteInputError("no rows", path=path, hint="add one row per site below the header")
    cols = list(df.columns)
    try:
        wkt_col = _pick(cols, WKT, wkt)
        lon_col, lat_col = _pick(cols, LON, lon), _pick(cols, LAT, lat)
        x_col, y_col = _pick(cols, XS, x), _pick(cols, YS, y)
    except KeyError as exc:
        raise SiteInputError(f"no column {exc.args[0]!r}", path=path, row=1, hint=f"columns are {', '.join(cols)}") from None
    if lon_col and lat_col:
        xs, ys = _numbers(df, lon_col, path), _numbers(df, lat_col, path)
        geoms = shapely.points(xs, ys)
        geoms[np.isnan(xs) | np.isnan(ys)] = None
        out_crs = crs or "EPSG:4326"
    elif x_col and y_col:
        if crs is None:
            raise SiteInputError(f"x/y columns ({x_col}, {y_col}) need a CRS", path=path,
                                 hint="give --crs, e.g. EPSG:4550 for CGCS2000 GK CM 123E")
        xs, ys = _numbers(df, x_col, path), _numbers(df, y_col, path)
        geoms = shapely.points(xs, ys)
        geoms[np.isnan(xs) | np.isnan(ys)] = None
        out_crs = crs
    elif wkt_col:
        geoms = []
        for i, text in enumerate(df[wkt_col]):
            try:
                geoms.append(shapely.from_wkt(text) if text.strip() else None)
            except shapely.errors.GEOSException:
                raise SiteInputError("not valid WKT", path=path, row=i + 2, column=wkt_col,
                                     hint="write e.g. POLYGON ((121.8 39.1, ...))") from None
        out_crs = crs or "EPSG:4326"
        wkt_col = [wkt_col]
    else:
        raise SiteInputError("no coordinate columns", path=path, row=1,
                             hint="give lon,lat (degrees), x,y with --crs, or a wkt column")
    drop = [c for c in (lon_col, lat_col, x_col, y_col) if c] if not isinstance(wkt_col, list) else wkt_col
    return gpd.GeoDataFrame(df.drop(columns=drop), geometry=list(geoms) if not isinstance(geoms, np.ndarray) else geoms,
                            crs=out_crs)
