"""界址点坐标 TXT (勘测定界 / 建设用地报批坐标文件): read parcels from it and write them back.

The format (field notes §4.5)::

    [属性描述]
    坐标系=2000国家大地坐标系
    几度分带=3
    投影类型=高斯克吕格
    计量单位=米
    带号=41
    精度=0.001
    转换参数=,,,,,,
    [地块坐标]
    5,0.1312,1,一号地块,面,,工业用地,,@
    J1,1,4330291.268,396193.228
    ...

A plot header (``界址点数,地块面积(ha),地块编号,地块名称,面|线|点,图幅号,地块用途,地类编码[,描述],@``)
ends in ``@``; each point line is ``点号,圈号,X,Y`` with X the northing and Y
the easting (8 digits when it carries the zone). Rings are grouped by 圈号 (or
split where a ring closes and the numbering starts again); a ring inside another
is a hole. The reader checks what a careless file gets wrong: the zone (8-digit
Y against ``带号``), the datum (Beijing 54 and Xi'an 80 are refused), swapped X/Y,
the header's point count and area against the points, too few points, a file
cut short. Row numbers in messages are line numbers of the file.
"""
from __future__ import annotations

import datetime as dt
import logging
import math
import re
import unicodedata
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from ..coords import (apply_coord_sys, datum_error, datum_from_text, gk_crs, gk_info, parse_angle, reraise,
                      resolve_projected)
from ...errors import EcozoneError, SiteInputError, SiteInputWarning
from ...text import spreadsheet_text
from .textio import read_text

log = logging.getLogger(__name__)

__all__ = ["read_jzd", "write_jzd_txt", "looks_like_jzd"]

_SECTION_RE = re.compile(r"^\s*[\[【［]\s*(属性描述|地块坐标)\s*[\]】］]\s*$")
_SPLIT_RE = re.compile(r"[,，\t ]+")
SHAPES = {"面": "polygon", "线": "line", "点": "point"}


def looks_like_jzd(text: str) -> bool:
    """True when text has the sections or the ``…,@`` plot headers of a 界址点 file."""
    head = text[:200_000]
    return ("[地块坐标]" in head or "[属性描述]" in head or "【地块坐标】" in head
            or re.search(r"^[^\n]*,\s*[@＠]\s*$", head, re.M) is not None)


@dataclass
class _Plot:
    line: int
    count: int | None
    area_text: str
    plot_id: str
    name: str
    shape: str
    sheet: str
    use: str
    code: str
    desc: str
    points: list = field(default_factory=list)  # (line, ring, x, y)


def _header_fields(line: str, lineno: int, path) -> _Plot:
    body = line.strip().replace("＠", "@")
    body = body[: body.rfind("@")].rstrip().rstrip(",，").rstrip()
    f = [p.strip() for p in re.split(r"[,，]", body)]
    shape_at = next((i for i in range(3, len(f)) if f[i] in SHAPES), None)
    if shape_at is None:
        if len(f) < 4:
            raise SiteInputError("plot header has too few fields", path=path, row=lineno,
                                 hint="write 界址点数,地块面积,地块编号,地块名称,面,图幅号,地块用途,地类编码,@")
        shape_at = min(4, len(f))
        f = f[:4] + ["面"] + f[4:] if len(f) <= 4 else f
        if f[shape_at] not in SHAPES and f[shape_at] != "":
            raise SiteInputError(f"plot header: {f[shape_at]!r} is not 面, 线 or 点", path=path, row=lineno,
                                 hint="the fifth field is the shape type (面 for a parcel)")
    count_text = unicodedata.normalize("NFKC", f[0]).strip()
    count = None
    if count_text:
        try:
            count = int(float(count_text))
        except (ValueError, OverflowError):
            raise SiteInputError(f"界址点数 {f[0]!r} is not a number", path=path, row=lineno,
                                 hint="the first field of a plot header is the number of points") from None
    rest = f[shape_at + 1:] + ["", "", "", ""]
    return _Plot(line=lineno, count=count, area_text=unicodedata.normalize("NFKC", f[1]).strip() if len(f) > 1 else "",
                 plot_id=f[2] if len(f) > 2 else "", name=",".join(f[3:shape_at]),
                 shape=SHAPES.get(f[shape_at] or "面", "polygon"), sheet=rest[0], use=rest[1], code=rest[2],
                 desc=",".join(x for x in rest[3:] if x))


def _parse(text: str, path):
    """Header dict and plots with raw point tuples."""
    header: dict[str, tuple[str, int]] = {}
    plots: list[_Plot] = []
    section = None
    seen_section = False
    orphan: list = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().lstrip("\ufeff")
        if not line or line.startswith(("#", "//", ";")):
            continue
        m = _SECTION_RE.match(line)
        if m:
            section = m.group(1)
            seen_section = True
            continue
        if "=" in line and section != "地块坐标" and not line.endswith(("@", "＠")):
            key, _, value = line.partition("=")
            header[key.strip()] = (value.strip(), lineno)
            continue
        if line.endswith(("@", "＠")):
            plots.append(_header_fields(line, lineno, path))
            continue
        fields = [p.strip() for p in re.split(r"[,，]", line)]
        if len(fields) >= 5 and any(p in SHAPES for p in fields[3:]):
            raise SiteInputError("this looks like a plot header but does not end in @", path=path, row=lineno,
                                 hint="end every plot header with ,@ (界址点数,地块面积,地块编号,地块名称,面,...,@)")
        parts = [p for p in _SPLIT_RE.split(unicodedata.normalize("NFKC", line)) if p != ""]
        if len(parts) == 3:
            ring, xs, ys = None, parts[1], parts[2]  # 点号,X,Y
        elif len(parts) >= 4:
            ring, xs, ys = parts[1], parts[2], parts[3]  # 点号,圈号,X,Y
        else:
            raise SiteInputError(f"cannot read {line[:40]!r}", path=path, row=lineno,
                                 hint="a point line is 点号,圈号,X,Y; a plot header ends in @")
        if ring is not None:
            try:
                ring_no = int(float(ring))
            except (ValueError, OverflowError):
                raise SiteInputError(f"圈号 {ring!r} is not a number", path=path, row=lineno,
                                     hint="a point line is 点号,圈号,X,Y (圈号 1 for the outer ring)") from None
        else:
            ring_no = 1
        point = (lineno, ring_no, xs, ys)
        if plots:
            plots[-1].points.append(point)
        else:
            orphan.append(point)
    if orphan:
        if plots:
            raise SiteInputError("points before the first plot header", path=path, row=orphan[0][0],
                                 hint="start each plot with a header line ending in @")
        first = orphan[0][0]
        plots.append(_Plot(line=first, count=None, area_text="", plot_id="1", name="", shape="polygon",
                           sheet="", use="", code="", desc="", points=orphan))
        warnings.warn(f"{path}: no plot header (a line ending in @); read all {len(orphan)} points as one parcel",
                      SiteInputWarning, stacklevel=3)
    if not plots:
        if not seen_section and not header:
            raise SiteInputError("not a 界址点 coordinate file (no [地块坐标] section or plots)", path=path,
                                 hint="give a file with a [地块坐标] section, plot headers ending in @ and "
                                      "点号,圈号,X,Y lines")
        raise SiteInputError("no plots in [地块坐标]", path=path,
                             hint="add plots: a header line ending in @ followed by 点号,圈号,X,Y lines")
    return header, plots


def _hget(header, *keys):
    for k in keys:
        if k in header:
            return header[k]
    return ("", None)


def _header_int(text, key: str, path, lineno, hint: str):
    """A whole number from a header value such as ``41``, ``41带``, ``第41带`` or ``3度带``; None when blank.

    Anything else (a sign, a fraction, two numbers, no digits) is refused: read
    loosely, ``带号=-41`` would become zone 41 without a word.
    """
    raw = unicodedata.normalize("NFKC", text or "").strip()
    if not raw:
        return None
    m = re.fullmatch(r"(?:第\s*)?(\d+)(?:\.0*)?\s*(?:度?\s*带|度|°)?", raw)
    if not m:
        raise SiteInputError(f"{key}={text} is not a whole positive number", path=path, row=lineno, hint=hint)
    return int(m.group(1))


def _check_zone(zone, band, zone_text, path, lineno) -> None:
    """Refuse a 带号 that is no CGCS2000 Gauss-Krüger zone (of the 几度分带 when given)."""
    if zone is None:
        return
    ok = {3: range(25, 46), 6: range(13, 24)}
    bands = [band] if band in ok else [3, 6]
    if not any(zone in ok[b] for b in bands):
        what = f"a {band}-degree" if band in ok else "a"
        raise SiteInputError(f"带号={zone_text} is not {what} CGCS2000 Gauss-Krüger zone", path=path, row=lineno,
                             hint="3-degree zones are 25-45 and 6-degree zones 13-23 in China; correct 带号 "
                                  "(or 几度分带) in the file")


def _number(text: str, path, lineno: int, what: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not math.isfinite(v):
        raise SiteInputError(f"{what} {text!r} is not a number", path=path, row=lineno,
                             hint="coordinates are decimal numbers (X = north, Y = east)")
    return v


def _rings(points):
    """Split (line, ring, x, y) into rings: by 圈号, and where a ring closes and numbering goes on."""
    rings: list[list] = []
    current: list = []
    for p in points:
        if current and (p[1] != current[0][1] or _closed(current)):
            rings.append(current)
            current = []
        current.append(p)
    if current:
        rings.append(current)
    return rings


def _closed(ring) -> bool:
    return len(ring) >= 4 and abs(ring[0][2] - ring[-1][2]) < 5e-4 and abs(ring[0][3] - ring[-1][3]) < 5e-4


def _assemble(rings_xy):
    """Polygons from rings: by containment depth, even = shell, odd = hole of its container."""
    polys = [shapely.Polygon(r) for r in rings_xy]
    order = sorted(range(len(polys)), key=lambda i: -polys[i].area)
    parent, depth = {}, {}
    for k, i in enumerate(order):
        probe = shapely.Point(rings_xy[i][0])
        if polys[i].is_valid and polys[i].area > 0:
            probe = polys[i].representative_point()
        containers = [j for j in order[:k] if polys[j].is_valid and polys[j].area > 0
                      and polys[j].contains_properly(probe)]
        best = min(containers, key=lambda j: polys[j].area) if containers else None
        parent[i] = best
        depth[i] = 0 if best is None else depth[best] + 1
    parts = []
    for s in (i for i in order if depth[i] % 2 == 0):
        holes = [rings_xy[h] for h in order if parent[h] == s]
        parts.append(shapely.Polygon(rings_xy[s], holes))
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


def _check_count(plot, rings, label, path):
    """None when 界址点数 fits (with or without closing points, or distinct points); a note or an error if not."""
    if plot.count is None or plot.count <= 0:
        return None
    coords = [c for r in rings for c in r]
    n = len(coords)
    closed = sum(1 for r in rings if _closed(r)) if plot.shape != "point" else 0
    distinct = len({(c[2], c[3]) for c in coords})
    if plot.count in (n, n - closed, distinct):
        return None
    if plot.shape == "polygon" and plot.count > n and not _closed(rings[-1]):
        raise SiteInputError(f"plot {label}: 界址点数 is {plot.count} but {n} points follow and the last ring is "
                             f"not closed; the file looks cut short", path=path, row=plot.line,
                             hint="get the complete file from the surveyor")
    return f"{label} (界址点数 {plot.count}, found {n})"


def _plot_geometry(shape, rings, label, path):
    if shape == "point":
        pts = [(c[2], c[3]) for c in rings[0]]
        return shapely.MultiPoint(pts) if len(pts) > 1 else shapely.Point(pts[0])
    if shape == "line":
        parts = []
        for r in rings:
            if len({(c[2], c[3]) for c in r}) < 2:
                raise SiteInputError(f"plot {label}: a line needs two distinct points", path=path, row=r[0][0],
                                     hint="check the points of this plot")
            parts.append(shapely.LineString([(c[2], c[3]) for c in r]))
        return parts[0] if len(parts) == 1 else shapely.MultiLineString(parts)
    rings_xy = []
    for r in rings:
        xy = [(c[2], c[3]) for c in r]
        distinct = len({(round(a, 4), round(b, 4)) for a, b in xy})
        if distinct < 3:
            raise SiteInputError(f"plot {label}, ring {r[0][1]} has {distinct} distinct point"
                                 f"{'s' if distinct != 1 else ''}; a parcel ring needs at least 3", path=path,
                                 row=r[0][0], hint="check the points of this ring, or mark the plot 线 (line) or 点 (point)")
        if xy[0] != xy[-1]:
            xy.append(xy[0])
        rings_xy.append(xy)
    return _assemble(rings_xy)


def _check_area(plot, geom, measure, degrees, label, path, notes):
    """(computed ha, header ha); a note in ``notes`` when they differ beyond rounding."""
    area_ha = math.nan
    if plot.shape == "polygon":
        if not degrees:
            area_ha = geom.area / 10_000.0
        elif measure is not None:
            area_ha = shapely.transform(geom, lambda a: np.column_stack(measure.transform(a[:, 0], a[:, 1]))).area / 1e4
    header_ha = math.nan
    if plot.area_text:
        try:
            header_ha = float(plot.area_text)
        except ValueError:
            raise SiteInputError(f"地块面积 {plot.area_text!r} is not a number", path=path, row=plot.line,
                                 hint="the second field of a plot header is the area in hectares") from None
    if plot.shape == "polygon" and math.isfinite(header_ha) and header_ha > 0 and math.isfinite(area_ha):
        decimals = len(plot.area_text.partition(".")[2])
        tol = max(0.01, 0.001 * area_ha, 0.5 * 10 ** -decimals if decimals else 0.5)
        if abs(header_ha - area_ha) > tol:
            if abs(header_ha - area_ha * 10_000) <= max(1.0, 0.001 * area_ha * 10_000):
                log.info("%s: plot %s gives its area in m²", path, label)
            else:
                notes.append(f"{label} (header {plot.area_text} ha, boundary {area_ha:.4f} ha)")
    return area_ha, header_ha


def read_jzd(path, *, crs=None, encoding=None, coord_sys=None, ddd_mmss=False, swap_xy=None,
             **_ignored) -> gpd.GeoDataFrame:
    """Read the plots of a 界址点 coordinate TXT as parcels (or lines and points).

    Parameters
    ----------
    path : the TXT file (GBK, GB18030 or UTF-8, with or without BOM).
    crs : CRS when the file gives no zone (6-digit Y and no ``带号``), or to
        override the header; a geographic CRS means the numbers are lat/lon.
    encoding : the text encoding when detection is not wanted.
    coord_sys : for files in degrees, the lon/lat system (``gcj02``/``bd09`` converted).
    ddd_mmss : for files in degrees, read them as ddd.mmss (also chosen by ``计量单位=度分秒``).
    swap_xy : None detects swapped columns; True/False forces them.

    Returns
    -------
    GeoDataFrame
        ``site_id`` (地块编号), ``name`` (地块名称), ``jzd_use`` (地块用途),
        ``jzd_land_code``, ``jzd_sheet``, ``jzd_area_ha`` (the header's area),
        ``area_ha`` (computed) and the geometry, in the file's CGCS2000 GK CRS.

    Raises
    ------
    SiteInputError
        Naming the file and line.
    """
    path = Path(path)
    text, enc = read_text(path, encoding)
    header, plots = _parse(text, path)
    where = {"path": path}

    unit_text, unit_line = _hget(header, "计量单位", "单位")
    datum_text, datum_line = _hget(header, "坐标系", "坐标系统", "大地基准")
    zone_text, zone_line = _hget(header, "带号", "投影带号")
    band_text, band_line = _hget(header, "几度分带", "分带", "分带方式")
    zone = _header_int(zone_text, "带号", path, zone_line, "write the zone number, e.g. 带号=41 (3-degree zones "
                                                          "25-45, 6-degree zones 13-23)")
    band = _header_int(band_text, "几度分带", path, band_line, "write 几度分带=3 (or 6)")
    if band is not None and band not in (3, 6):
        raise SiteInputError(f"几度分带={band_text} is neither 3 nor 6", **where, row=band_line,
                             hint="write 几度分带=3 (or 6)")
    _check_zone(zone, band, zone_text, path, zone_line)
    unit = unit_text.replace(" ", "")
    if unit in ("度分秒", "度.分秒", "ddd.mmss", "dms"):
        ddd_mmss = True
        unit = "度"
    if unit not in ("", "米", "m", "M", "metre", "meter", "度", "°", "degree", "deg"):
        raise SiteInputError(f"计量单位={unit_text} is not supported", **where, row=unit_line,
                             hint="coordinates must be in 米 (metres) or 度 (degrees)")
    datum = datum_from_text(datum_text)
    user = pyproj.CRS.from_user_input(crs) if crs is not None else None

    # coordinates as numbers, point by point
    for plot in plots:
        pts = []
        for lineno, ring, xs, ys in plot.points:
            if unit in ("度", "°", "degree", "deg") or (user is not None and user.is_geographic):
                try:
                    x = parse_angle(xs, ddd_mmss=ddd_mmss)
                    y = parse_angle(ys, ddd_mmss=ddd_mmss)
                except SiteInputError as exc:
                    raise reraise(exc, path=path, row_of=lambda _r, n=lineno: n) from None
                if not (math.isfinite(x) and math.isfinite(y)):
                    raise SiteInputError("coordinate is blank", **where, row=lineno, hint="fill in X and Y")
            else:
                x = _number(xs, path, lineno, "X")
                y = _number(ys, path, lineno, "Y")
            pts.append((lineno, ring, x, y))
        plot.points = pts
    all_pts = [p for plot in plots for p in plot.points]
    if not all_pts:
        raise SiteInputError("the plots have no points", **where, row=plots[0].line,
                             hint="put 点号,圈号,X,Y lines under each plot header")
    xs = np.array([p[2] for p in all_pts])
    ys = np.array([p[3] for p in all_pts])
    lines = [p[0] for p in all_pts]
    degrees = (user is not None and user.is_geographic) or unit in ("度", "°", "degree", "deg") or (
        np.all(np.abs(xs) <= 180) and np.all(np.abs(ys) <= 180))
    if degrees and unit in ("米", "m", "M", "metre", "meter") and (user is None or not user.is_geographic):
        warnings.warn(f"{path}: 计量单位={unit_text} but the coordinates are degrees; read them as latitude (X) "
                      f"and longitude (Y)", SiteInputWarning, stacklevel=2)

    # the CRS: user, header datum, zone
    if datum in ("xian80", "beijing54"):
        if user is None:
            exc = datum_error(datum)
            raise SiteInputError(f"坐标系={datum_text}: {exc.message}", **where, row=datum_line, hint=exc.hint)
        warnings.warn(f"{path}: 坐标系={datum_text} but read in {user.name} as --crs says", SiteInputWarning,
                      stacklevel=2)
    elif datum == "unknown" and user is None:
        raise SiteInputError(f"坐标系={datum_text} is not a coordinate system ecozone knows", **where, row=datum_line,
                             hint="local systems must be converted to CGCS2000 (2000国家大地坐标系) first; give "
                                  "--crs only if the numbers are CGCS2000")
    elif datum is None and user is None:
        warnings.warn(f"{path}: no 坐标系 in [属性描述]; read as CGCS2000 (2000国家大地坐标系)", SiteInputWarning,
                      stacklevel=2)
    elif datum == "wgs84" and not degrees and user is None:
        raise SiteInputError(f"坐标系={datum_text} with projected metres", **where, row=datum_line,
                             hint="give --crs with the projection's EPSG code (e.g. EPSG:32651 for UTM 51N)")

    swapped = False
    if degrees:
        lat, lon = xs, ys
        if swap_xy is True or (swap_xy is None and np.all(np.abs(lat) > 90) and np.all(np.abs(lon) <= 90)):
            lat, lon = lon, lat
            swapped = True
        out_crs = user if user is not None else pyproj.CRS.from_epsg(4326 if datum == "wgs84" else 4490)
        east, north = lon, lat
        notes = ["X/Y hold longitude then latitude (X should be the latitude); read them swapped"] if swapped else []
    else:
        e_in, n_in = (xs, ys) if swap_xy is True else (ys, xs)
        try:
            res = resolve_projected(e_in, n_in, crs=user, zone=zone, band=band, order_hint="X,Y")
        except SiteInputError as exc:
            raise reraise(exc, path=path, row_of=lambda r: lines[r]) from None
        east, north, out_crs, notes, swapped = res.east, res.north, res.crs, res.notes, res.swapped
        if swap_xy is False and swapped:
            raise SiteInputError("X and Y look swapped but swapping was turned off", **where,
                                 hint="put X (north) before Y (east)")
    for note in notes:
        warnings.warn(f"{path}: {note}", SiteInputWarning, stacklevel=2)

    # geometry per plot
    k = 0
    records, geoms = [], []
    area_warnings, count_warnings = [], []
    measure = None
    if degrees:
        lon0 = float(np.nanmean(east))
        from ...crs import gk3_zone, gk_epsg

        try:
            measure = pyproj.Transformer.from_crs(out_crs, gk_epsg(gk3_zone(lon0)), always_xy=True)
        except EcozoneError:  # outside China's zones: no area check
            measure = None
    for idx, plot in enumerate(plots):
        n = len(plot.points)
        coords = [(p[0], p[1], float(east[k + i]), float(north[k + i])) for i, p in enumerate(plot.points)]
        k += n
        label = plot.plot_id or str(idx + 1)
        if n == 0:
            raise SiteInputError(f"plot {label} has no points", **where, row=plot.line,
                                 hint="put its 点号,圈号,X,Y lines under the header, or remove the header")
        rings = _rings(coords) if plot.shape != "point" else [coords]
        note = _check_count(plot, rings, label, path)
        if note:
            count_warnings.append(note)
        geom = _plot_geometry(plot.shape, rings, label, path)
        area_ha, header_ha = _check_area(plot, geom, measure if degrees else None, degrees, label, path,
                                         area_warnings)
        geoms.append(geom)
        records.append({"site_id": plot.plot_id or str(idx + 1), "name": plot.name, "jzd_use": plot.use,
                        "jzd_land_code": plot.code, "jzd_sheet": plot.sheet,
                        "jzd_area_ha": header_ha, "area_ha": round(area_ha, 4) if math.isfinite(area_ha) else math.nan,
                        "_row": plot.line})
    if count_warnings:
        warnings.warn(f"{path}: 界址点数 differs from the points in plot(s) {'; '.join(count_warnings[:10])}; "
                      f"check that no point is missing", SiteInputWarning, stacklevel=2)
    if area_warnings:
        warnings.warn(f"{path}: 地块面积 differs from the area of the boundary in plot(s) "
                      f"{'; '.join(area_warnings[:10])}; check the points and rings", SiteInputWarning, stacklevel=2)
    transform = _hget(header, "转换参数")[0]
    if transform and any(_nonzero(v) for v in re.split(r"[,，]", transform)):
        log.info("%s: 转换参数=%s not applied (coordinates are used as declared)", path, transform)
    gdf = gpd.GeoDataFrame(records, geometry=geoms, crs=out_crs)
    if degrees and coord_sys is not None:
        g, c = apply_coord_sys(gdf.geometry.values, gdf.crs, coord_sys)
        gdf = gpd.GeoDataFrame(gdf.drop(columns="geometry"), geometry=g, crs=c)
    elif coord_sys is not None and str(coord_sys).lower() in ("gcj02", "bd09"):
        try:
            apply_coord_sys(gdf.geometry.values, gdf.crs, coord_sys)
        except SiteInputError as exc:
            raise reraise(exc, path=path) from None
    log.info("%s: %d plot(s) in %s (%s)", path, len(gdf), out_crs.name, enc)
    return gdf


def _nonzero(text: str) -> bool:
    try:
        return float(text) != 0.0
    except ValueError:
        return False


# ----------------------------------------------------------------------------- writing

def _clean(value) -> str:
    text = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
    return " ".join(text.replace(",", "，").replace("@", "＠").split())


def write_jzd_txt(gdf: gpd.GeoDataFrame, path, *, zone: int | None = None, band: int = 3, prefix: bool = True,
                  id_column: str = "site_id", name_column: str = "name", use_column: str | None = None,
                  encoding: str = "gbk", producer: str = "ecozone", overwrite: bool = True) -> Path:
    """Write parcels (and lines, points) as a 界址点 coordinate TXT.

    Texts cannot break the file: commas and ``@`` become their full-width forms,
    line breaks and runs of blanks one blank; a text Excel or WPS would take for a
    formula gets a leading ``'`` (the file is comma-separated and often opened there).

    Parameters
    ----------
    gdf : features with a CRS: checked sites, zones of a layer, anything with polygons.
    path : the .txt to write (atomically).
    zone, band : the Gauss-Krüger zone; by default the file's own CRS when it is a
        CGCS2000 GK zone, else the 3-degree zone of the data's centre.
    prefix : write the zone number in front of Y (8-digit Y, ``添加大数``).
    id_column, name_column, use_column : columns for 地块编号, 地块名称 and 地块用途
        (``use_column`` defaults to ``verdict`` when present).
    encoding : ``gbk`` (the usual) or ``utf-8``.

    The header declares CGCS2000, 高斯克吕格, 米, the zone and ``转换参数=,,,,,,``;
    plots give the area in hectares (4 decimals), points are ``J1, J2, ...``
    per plot with each ring closed by repeating its first point, X (north) before
    Y (east), three decimals, CRLF line ends. 界址点数 counts every point line,
    closing points included.
    """
    from ...atomic import atomic_path

    if gdf.crs is None:
        raise SiteInputError("the features have no CRS", hint="set one before writing a coordinate file")
    info = gk_info(gdf.crs)
    if zone is None and info is not None:
        band, zone = info[0], info[1]
    if zone is None:
        west, south, east, north = gdf.to_crs(4490).total_bounds
        from ...crs import gk3_zone

        zone = gk3_zone((west + east) / 2.0) if band == 3 else int((west + east) / 2.0 // 6) + 1
    target = gk_crs(zone, band=band, prefix=prefix)
    data = gdf.to_crs(target)
    if use_column is None and "verdict" in data.columns:
        use_column = "verdict"
    lines = ["[属性描述]", "格式版本号=1.01", f"数据产生单位={producer}",
             f"数据产生日期={dt.date.today():%Y-%m-%d}", "坐标系=2000国家大地坐标系", f"几度分带={band}",
             "投影类型=高斯克吕格", "计量单位=米", f"带号={zone}", "精度=0.001", "转换参数=,,,,,,", "[地块坐标]"]
    for i, row in enumerate(data.itertuples(index=False)):
        geom = row.geometry
        if geom is None or geom.is_empty:
            continue
        rec = row._asdict()
        pid = spreadsheet_text(_clean(rec.get(id_column, i + 1)) or str(i + 1))
        name = spreadsheet_text(_clean(rec.get(name_column, "")))
        use = spreadsheet_text(_clean(rec.get(use_column, ""))) if use_column else ""
        kind = shapely.get_type_id(geom)
        rings: list[list[tuple[float, float]]] = []
        if kind in (3, 6):
            shape, area = "面", geom.area / 10_000.0
            for poly in shapely.get_parts(geom):
                rings.extend([list(r.coords) for r in (poly.exterior, *poly.interiors)])
        elif kind in (1, 5):
            shape, area = "线", 0.0
            rings.extend(list(part.coords) for part in shapely.get_parts(geom))
        elif kind in (0, 4):
            shape, area = "点", 0.0
            rings.append([(p.x, p.y) for p in shapely.get_parts(geom)])
        else:
            raise SiteInputError(f"feature {pid}: {geom.geom_type} cannot be written to a coordinate file",
                                 hint="write points, lines or polygons")
        lines.append(f"{sum(len(r) for r in rings)},{area:.4f},{pid},{name},{shape},,{use},,@")
        number = 0
        for ring_no, ring in enumerate(rings, start=1):
            first = number + 1
            for j, (x, y, *_) in enumerate(ring):
                closing = shape == "面" and j == len(ring) - 1
                if not closing:
                    number += 1
                lines.append(f"J{first if closing else number},{ring_no},{y:.3f},{x:.3f}")
    with atomic_path(path, overwrite=overwrite) as tmp:
        Path(tmp).write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding, errors="replace"))
    return Path(path)
