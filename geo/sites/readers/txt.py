"""Sites from .txt: a 界址点 coordinate file, or lon/lat points as 奥维 (Ovital) and GPS tools write them.

Point lines are ``[g|b] lon lat [alt] [name ...]`` or ``name lon lat [alt] [...]``,
separated by spaces, tabs or commas; angles may be decimal, DMS or (with
``ddd_mmss``) ddd.mmss. A leading ``g`` marks GCJ-02 and ``b`` BD-09 (奥维's
convention); such rows are converted to WGS84, other rows follow ``coord_sys``.
A first line without coordinates is taken as a header and skipped.
"""
from __future__ import annotations

import re
import unicodedata
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from ..coords import apply_coord_sys, parse_angle, reraise, shift_hint
from ...errors import SiteInputError, SiteInputWarning
from .jzd import looks_like_jzd, read_jzd
from .textio import read_text

__all__ = ["read_txt", "read_point_txt"]

_SPLIT = re.compile(r"[,，\t ;；]+")


def read_txt(path, *, crs=None, encoding=None, coord_sys=None, ddd_mmss=False, **options) -> gpd.GeoDataFrame:
    """Read a .txt: 界址点 parcels when it has their sections or ``@`` headers, else points."""
    text, enc = read_text(path, encoding)
    if looks_like_jzd(text):
        return read_jzd(path, crs=crs, encoding=enc, coord_sys=coord_sys, ddd_mmss=ddd_mmss, **options)
    return read_point_txt(path, crs=crs, encoding=enc, coord_sys=coord_sys, ddd_mmss=ddd_mmss, text=text)


def _angle(tok, axis, ddd_mmss):
    try:
        return parse_angle(tok, axis=axis, ddd_mmss=ddd_mmss)
    except SiteInputError:
        return None


def read_point_txt(path, *, crs=None, encoding=None, coord_sys=None, ddd_mmss=False, text=None,
                   **_ignored) -> gpd.GeoDataFrame:
    """Points from a lon/lat text file (see the module docstring)."""
    path = Path(path)
    if text is None:
        text, _ = read_text(path, encoding)
    rows, names, notes, flags, lons, lats = [], [], [], [], [], []
    first_data = True
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = unicodedata.normalize("NFKC", raw).strip().lstrip("\ufeff")
        if not line or line.startswith(("#", "//")):
            continue
        toks = [t for t in _SPLIT.split(line) if t]
        flag = None
        if toks and toks[0].lower() in ("g", "b") and len(toks) >= 3:
            flag = {"g": "gcj02", "b": "bd09"}[toks.pop(0).lower()]
        # the first two adjacent tokens that read as lon then lat
        found = None
        for i in range(len(toks) - 1):
            lon = _angle(toks[i], "lon", ddd_mmss)
            lat = _angle(toks[i + 1], "lat", ddd_mmss) if lon is not None else None
            if lon is not None and lat is not None and abs(lon) <= 180 and abs(lat) <= 90:
                found = i
                break
        if found is None:
            if first_data and not any(_angle(t, None, False) is not None for t in toks):  # a header line
                first_data = False
                continue
            if any(_angle(toks[i], "lat", ddd_mmss) is not None and _angle(toks[i + 1], "lon", ddd_mmss) is not None
                   and abs(_angle(toks[i + 1], "lon", ddd_mmss)) > 90 for i in range(len(toks) - 1)):
                raise SiteInputError(f"latitude before longitude in {line[:40]!r}", path=path, row=lineno,
                                     hint="write longitude first: lon lat [name]")
            # say what is wrong with the coordinates where we can
            for i in range(len(toks) - 1):
                try:
                    parse_angle(toks[i], axis="lon", ddd_mmss=ddd_mmss)
                    parse_angle(toks[i + 1], axis="lat", ddd_mmss=ddd_mmss)
                except SiteInputError as exc:
                    if any(ch.isdigit() for ch in toks[i] + toks[i + 1]):
                        raise reraise(exc, path=path, row_of=lambda _r, n=lineno: n) from None
            raise SiteInputError(f"no longitude and latitude in {line[:40]!r}", path=path, row=lineno,
                                 hint="write one point per line: lon lat [name] (e.g. 121.80 39.10 站址)")
        first_data = False
        rest = toks[:found] + toks[found + 2:]
        if found == 0 and rest and _angle(rest[0], None, False) is not None:
            rest = rest[1:]  # altitude
        rows.append(lineno)
        flags.append(flag)
        lons.append(parse_angle(toks[found], axis="lon", ddd_mmss=ddd_mmss))
        lats.append(parse_angle(toks[found + 1], axis="lat", ddd_mmss=ddd_mmss))
        names.append(rest[0] if rest else "")
        notes.append(" ".join(rest[1:]))
    if not rows:
        raise SiteInputError("no points in the file", path=path,
                             hint="write one point per line: lon lat [name], or give a 界址点 file with [地块坐标]")
    lon = np.array(lons)
    lat = np.array(lats)
    out_crs = pyproj.CRS.from_user_input(crs) if crs is not None else pyproj.CRS.from_epsg(
        4490 if coord_sys == "cgcs2000" else 4326)
    if not out_crs.is_geographic:
        raise SiteInputError(f"a point text file holds longitude and latitude, not {out_crs.name}", path=path,
                             hint="leave out --crs, or give a geographic one such as EPSG:4490")
    flags_arr = np.array(flags, dtype=object)
    geoms = shapely.points(lon, lat)
    for cs in ("gcj02", "bd09"):
        sel = flags_arr == cs
        if sel.any():
            geoms[sel], _ = apply_coord_sys(geoms[sel], out_crs, cs)
    rest_sel = flags_arr == None  # noqa: E711 - elementwise
    if coord_sys is not None and rest_sel.any():
        try:
            geoms[rest_sel], _ = apply_coord_sys(geoms[rest_sel], out_crs, coord_sys)
        except SiteInputError as exc:
            raise reraise(exc, path=path) from None
    elif coord_sys is None and rest_sel.any():
        hint = shift_hint(path.name)
        if hint:
            warnings.warn(f"{path}: the name suggests {hint[1]}; read as WGS84 — give --coord-sys {hint[0]} "
                          f"if they are shifted", SiteInputWarning, stacklevel=2)
    shifted = (flags_arr != None).any() or (coord_sys in ("gcj02", "bd09"))  # noqa: E711
    return gpd.GeoDataFrame({"name": names, "note": notes, "_row": rows}, geometry=geoms,
                            crs=pyproj.CRS.from_epsg(4326) if shifted else out_crs)
