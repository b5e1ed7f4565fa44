"""Coordinates as Chinese site files write them: angles, Gauss-Krüger zones, datums, shifted web maps.

* Angles: decimal degrees, degrees-minutes-seconds (``121°45'30.5"E``,
  ``东经121度45分30.5秒``, ``121 45 30.5``) and, only when asked for, the
  ``ddd.mmss`` form of survey deliveries (``121.4530`` = 121°45'30").
* CGCS2000 Gauss-Krüger: an easting with 8 integer digits carries its zone
  number as the first two digits (3-degree zones 25-45 = EPSG:4513-4533;
  6-degree zones 13-23 = EPSG:4491-4501); 6 digits means no prefix, and the zone
  must come from the file (``带号``) or the user (EPSG:4534-4554, 4502-4512).
  Survey files put X = northing first; :func:`resolve_projected` detects
  columns given the other way round.
* Datums: Beijing 1954 and Xi'an 1980 differ from CGCS2000 by tens of metres
  and no national transformation exists, so data declared in them is refused
  with a message saying what to do (:func:`check_datum`, :func:`datum_from_text`).
* Shifted web-map coordinates: ``coord_sys`` names the system lon/lat are in
  (``wgs84``, ``cgcs2000``, ``gcj02`` for Gaode/Tencent/奥维 ≥ 9.3, ``bd09`` for
  Baidu); :func:`apply_coord_sys` converts GCJ-02 and BD-09 to WGS84.
  :func:`shift_hint` finds the marks of a shifted export (奥维/Ovital, AMap,
  Baidu) so readers can warn when no ``coord_sys`` was given.

Functions raise :class:`geo.errors.SiteInputError` without a path; readers
re-raise it with the file and row (:func:`reraise`).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyproj
import shapely

from ..crs import GK_ZONES, central_meridian, gk_epsg, gk_info
from ..errors import CRSError, SiteInputError

__all__ = [
    "COORD_SYSTEMS",
    "parse_angle",
    "parse_angles",
    "gk_zone_prefix",
    "gk_crs",
    "gk_info",
    "resolve_projected",
    "Projected",
    "datum_from_text",
    "check_datum",
    "apply_coord_sys",
    "shift_hint",
    "guess_projected_hint",
    "datum_error",
    "reraise",
    "shapely_points",
    "coord_sys_key",
    "resolve_projected_geoms",
    "close_lines",
]

#: lon/lat systems ``--coord-sys`` accepts
COORD_SYSTEMS = ("wgs84", "cgcs2000", "gcj02", "bd09")

# ----------------------------------------------------------------------------- angles

_DEG = "°º˚度"
_MIN = "'′’‘分"
_SEC = '"″”“秒'
_NUM = r"(\d+(?:\.\d*)?|\.\d+)"
_ANGLE_RE = re.compile(
    rf"^{_NUM}\s*(?P<du>[{_DEG}dD])?\s*"
    rf"(?:{_NUM}\s*(?P<mu>[{_MIN}]|mi?n?)?\s*)?"
    rf"(?:{_NUM}\s*(?P<su>[{_SEC}]|''|′′|s|sec)?\s*)?$"
)
_HEMI = {"N": ("lat", 1), "S": ("lat", -1), "E": ("lon", 1), "W": ("lon", -1),
         "北纬": ("lat", 1), "南纬": ("lat", -1), "东经": ("lon", 1), "西经": ("lon", -1),
         "北": ("lat", 1), "南": ("lat", -1), "东": ("lon", 1), "西": ("lon", -1)}
_HEMI_RE = re.compile(r"^(北纬|南纬|东经|西经|[NSEW北南东西])?\s*(.*?)\s*(北纬|南纬|东经|西经|[NSEW北南东西])?$")
_AXIS_ZH = {"lon": "longitude 经度", "lat": "latitude 纬度"}


def _ddd_mmss(value: float, text: str) -> float:
    sign = -1.0 if value < 0 else 1.0
    digits = text.strip().lstrip("+-")
    if not re.fullmatch(r"\d*\.?\d*", digits):  # 1e-5 and the like: the digits of the number itself
        digits = f"{abs(value):.10f}"
    whole, _, frac = digits.partition(".")
    frac = (frac + "0000")
    minutes, seconds = int(frac[:2]), float(frac[2:4] + "." + (frac[4:] or "0"))
    if minutes >= 60 or seconds >= 60:
        raise SiteInputError(f"{text.strip()!r} is not ddd.mmss (minutes and seconds must be below 60)",
                             hint="write degrees.minutes seconds as e.g. 121.4530 for 121°45'30\"")
    return sign * (int(whole or 0) + minutes / 60.0 + seconds / 3600.0)


def parse_angle(text, *, axis: str | None = None, ddd_mmss: bool = False) -> float:
    """One angle in degrees from decimal, DMS or (with ``ddd_mmss``) ddd.mmss text.

    Parameters
    ----------
    text : e.g. ``121.7584``, ``121°45'30.5"E``, ``东经121度45分30.5秒``, ``39 6 0 N``,
        ``-121.5``; blank gives NaN.
    axis : ``"lon"`` or ``"lat"``: a hemisphere letter of the other axis is an error
        (the columns are swapped).
    ddd_mmss : read plain numbers as degrees.minutesseconds (``121.4530``).

    Raises
    ------
    SiteInputError
        When the text is not an angle, minutes or seconds reach 60, or the
        hemisphere belongs to the other axis.

    Examples
    --------
    >>> round(parse_angle("121°45'30.5\\"E"), 6)
    121.758472
    >>> parse_angle("121.4530", ddd_mmss=True) == 121 + 45 / 60 + 30 / 3600
    True
    """
    if text is None:
        return math.nan
    if isinstance(text, (int, float, np.floating, np.integer)) and not isinstance(text, bool):
        value = float(text)
        if ddd_mmss and math.isfinite(value):
            return _ddd_mmss(value, repr(value))
        return value
    raw = str(text).strip()
    if not raw or raw.lower() in ("nan", "none", "null", "-", "—"):
        return math.nan
    s = raw.replace("\u3000", " ").replace("＇", "'").replace("＂", '"').replace("－", "-").replace("＋", "+")
    m = _HEMI_RE.match(s)
    hemi_axis, hemi_sign = None, 1.0
    if m and (m.group(1) or m.group(3)):
        if m.group(1) and m.group(3):
            raise SiteInputError(f"{raw!r} has two hemisphere marks", hint="write e.g. 121°45'30\"E")
        mark = (m.group(1) or m.group(3))
        hemi_axis, hemi_sign = _HEMI[mark.upper() if mark.isascii() else mark]
        s = m.group(2)
    sign = 1.0
    if s and s[0] in "+-":
        sign = -1.0 if s[0] == "-" else 1.0
        s = s[1:].strip()
    if not s:
        raise SiteInputError(f"{raw!r} is not an angle", hint="write decimal degrees or degrees-minutes-seconds")
    if hemi_axis and axis and hemi_axis != axis:
        raise SiteInputError(f"{raw!r} is a {_AXIS_ZH[hemi_axis]} but stands in the {_AXIS_ZH[axis]} column",
                             hint="longitude and latitude look swapped; swap the columns")
    try:
        plain = float(s)
    except ValueError:
        plain = None
    if plain is not None and math.isfinite(plain) and re.fullmatch(r"[\d.]+", s):
        value = _ddd_mmss(plain, s) if ddd_mmss else plain
        return sign * hemi_sign * value
    am = _ANGLE_RE.match(s)
    if not am or am.group(1) is None:
        raise SiteInputError(f"{raw!r} is not an angle",
                             hint="write decimal degrees (121.7584) or degrees-minutes-seconds (121°45'30.5\"E)")
    d, mnt, sec = am.group(1), am.group(3), am.group(5)
    parts = [p for p in (d, mnt, sec) if p is not None]
    units = [am.group("du"), am.group("mu"), am.group("su")]
    if len(parts) == 1 and not any(units):
        raise SiteInputError(f"{raw!r} is not an angle", hint="write decimal degrees or degrees-minutes-seconds")
    deg = float(d)
    minutes = float(mnt) if mnt is not None else 0.0
    seconds = float(sec) if sec is not None else 0.0
    if mnt is not None and "." in d:
        raise SiteInputError(f"{raw!r}: degrees with a fraction cannot be followed by minutes",
                             hint="write 121°45'30\" or 121.7583°")
    if sec is not None and mnt is not None and "." in mnt:
        raise SiteInputError(f"{raw!r}: minutes with a fraction cannot be followed by seconds",
                             hint="write 121°45'30\" or 121°45.5'")
    if minutes >= 60 or seconds >= 60:
        raise SiteInputError(f"{raw!r}: minutes and seconds must be below 60", hint="check the angle")
    return sign * hemi_sign * (deg + minutes / 60.0 + seconds / 3600.0)


def parse_angles(values, *, axis: str | None = None, ddd_mmss: bool = False) -> np.ndarray:
    """Angles in degrees for an array of texts or numbers (NaN where blank).

    Plain numbers take a vectorised path; only other texts go through
    :func:`parse_angle`. On a bad value the :class:`SiteInputError` carries the
    0-based position in ``row``.
    """
    ser = pd.Series(values, dtype=object) if not isinstance(values, pd.Series) else values.astype(object)
    ser = ser.reset_index(drop=True)
    text = ser.astype(str).str.strip()
    num = pd.to_numeric(text.where(text.str.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")), errors="coerce")
    out = np.array(num.to_numpy(dtype="float64", na_value=np.nan), dtype="float64", copy=True)
    blank = ser.isna().to_numpy() | text.str.lower().isin(["", "nan", "none", "null", "<na>", "-", "—"]).to_numpy()
    if ddd_mmss:
        plain = ~np.isnan(out)
        idx = np.flatnonzero(plain)
        for i in idx:  # exact digits matter: 121.4530 -> 45' 30"
            try:
                out[i] = _ddd_mmss(out[i], text.iat[i])
            except SiteInputError as exc:
                exc.row = int(i)
                raise
    todo = np.flatnonzero(np.isnan(out) & ~blank)
    for i in todo:
        try:
            out[i] = parse_angle(text.iat[i], axis=axis, ddd_mmss=ddd_mmss)
        except SiteInputError as exc:
            exc.row = int(i)
            raise
    out[blank] = np.nan
    return out


# ----------------------------------------------------------------------------- Gauss-Krüger

_GK3, _GK6 = GK_ZONES[3][0], GK_ZONES[6][0]


def gk_zone_prefix(easting):
    """Zone number carried by 8-digit eastings (array), 0 where there is none."""
    e = np.asarray(easting, dtype="float64")
    with np.errstate(invalid="ignore"):
        z = np.where((e >= 1e7) & (e < 1e8), np.floor(e / 1e6), 0).astype("int64")
    return np.where(np.isin(z, list(_GK3) + list(_GK6)), z, np.where(z > 0, -1, 0))


def gk_crs(zone: int, *, band: int = 3, prefix: bool) -> pyproj.CRS:
    """The CGCS2000 Gauss-Krüger CRS of a zone (3- or 6-degree), with or without the zone prefix."""
    try:
        return pyproj.CRS.from_epsg(gk_epsg(zone, band=band, prefix=prefix))
    except CRSError as exc:
        raise SiteInputError(exc.message, hint=exc.hint) from None


def _looks_northing(v):
    return (v >= 1e6) & (v < 1e7)


def _looks_easting(v):
    return ((v >= 1e5) & (v < 1e6)) | (gk_zone_prefix(v) > 0)


@dataclass
class Projected:
    """Eastings and northings after :func:`resolve_projected`, their CRS and what was done."""

    east: np.ndarray
    north: np.ndarray
    crs: pyproj.CRS
    swapped: bool = False
    notes: list = field(default_factory=list)  # warnings for the user


def resolve_projected(east, north, *, crs=None, zone=None, band=None, order_hint="x,y") -> Projected:
    """Pick the CRS of projected coordinates and catch swapped axes.

    Parameters
    ----------
    east, north : as the file gives them (GIS x and y, or a survey file's Y and X).
    crs : the CRS the user gave (``--crs``), if any.
    zone, band : ``带号`` and ``几度分带`` from a file header, if any.
    order_hint : how the columns are named, for messages.

    Returns
    -------
    Projected
        With axes swapped when every point has a 7-digit value where the
        easting should be and an easting (6 digits, or 8 with a zone prefix)
        where the northing should be; the zone from an 8-digit easting, which
        wins over ``带号`` (a warning says so when they differ); ``crs`` switched
        to the prefixed or unprefixed EPSG code of the same zone to match the
        digits.

    Raises
    ------
    SiteInputError
        With ``row`` set to the 0-based point index where the problem is.
    """
    e = np.asarray(east, dtype="float64")
    n = np.asarray(north, dtype="float64")
    notes: list[str] = []
    user = pyproj.CRS.from_user_input(crs) if crs is not None else None
    finite = np.isfinite(e) & np.isfinite(n)
    geographic_user = user is not None and user.is_geographic
    swapped = False
    if not geographic_user and finite.any():
        sw = _looks_northing(e) & _looks_easting(n) & ~(_looks_easting(e) & _looks_northing(n))
        sw &= finite
        if sw[finite].all():
            e, n = n, e
            swapped = True
            notes.append(f"the {order_hint} columns hold northing then easting (X = north, survey order) "
                         f"rather than easting then northing; read them swapped")
        elif sw.any():
            i = int(np.flatnonzero(sw)[0])
            raise SiteInputError(f"X and Y are swapped in some rows only ({int(sw.sum())} of {int(finite.sum())})",
                                 row=i, hint="put every point in the same order, X (north) then Y (east)")
    info = gk_info(user) if user is not None else None
    if geographic_user or (user is not None and info is None):  # not a CGCS2000 GK zone: the user's CRS as given
        return Projected(e, n, user, swapped, notes)
    prefixes = gk_zone_prefix(e[finite])
    if (prefixes < 0).any():
        i = int(np.flatnonzero(finite)[np.flatnonzero(prefixes < 0)[0]])
        raise SiteInputError(f"easting {e[i]:.3f} starts with {int(e[i] // 1e6)}, which is not a CGCS2000 zone",
                             row=i, hint="8-digit eastings carry the zone (3-degree 25-45, 6-degree 13-23); "
                                         "check the Y values or whether X and Y are swapped")
    has_prefix = prefixes > 0
    if has_prefix.any():
        if not has_prefix.all():
            i = int(np.flatnonzero(finite)[np.flatnonzero(~has_prefix)[0]])
            raise SiteInputError("some eastings carry a zone prefix (8 digits) and some do not",
                                 row=i, hint="use one form for the whole file")
        zones = np.unique(prefixes)
        if len(zones) > 1:
            i = int(np.flatnonzero(finite)[np.flatnonzero(prefixes != prefixes[0])[0]])
            raise SiteInputError(f"eastings carry zones {', '.join(map(str, zones))}", row=i,
                                 hint="one file must use one Gauss-Krüger zone; split it by zone")
        pz = int(zones[0])
        pband = 3 if pz in _GK3 else 6
        if band is not None and band != pband:
            raise SiteInputError(f"eastings carry zone {pz}, a {pband}-degree zone, but the file says "
                                 f"{band}-degree zones (几度分带={band})",
                                 hint="fix 几度分带 or the Y values")
        if zone is not None and int(zone) != pz:
            notes.append(f"带号={zone} but the Y values carry zone {pz}; used zone {pz} "
                         f"(central meridian {central_meridian(pband, pz)}°E) from the coordinates")
        if user is not None:
            if central_meridian(info[0], info[1]) != central_meridian(pband, pz):
                raise SiteInputError(
                    f"--crs {_code(user)} has central meridian {central_meridian(info[0], info[1])}°E but the "
                    f"eastings carry zone {pz} (central meridian {central_meridian(pband, pz)}°E)",
                    hint=f"use --crs EPSG:{gk_crs(pz, band=pband, prefix=True).to_epsg()} or leave --crs out")
        return Projected(e, n, gk_crs(pz, band=pband, prefix=True), swapped, notes)
    # no zone prefix: the zone comes from the user or the header
    if user is not None:
        if info[2]:  # prefixed CRS given for unprefixed numbers: same zone, other form
            return Projected(e, n, gk_crs(info[1], band=info[0], prefix=False), swapped, notes)
        return Projected(e, n, user, swapped, notes)
    if zone is not None:
        z = int(zone)
        zband = band or (6 if z in _GK6 else 3)
        return Projected(e, n, gk_crs(z, band=zband, prefix=False), swapped, notes)
    first = e[finite][0] if finite.any() else float("nan")
    raise SiteInputError(f"eastings such as {first:.3f} have no zone prefix and no zone is given",
                         hint="add 带号 to the file or give --crs, e.g. EPSG:4550 for CGCS2000 3-degree CM 123°E "
                              "(EPSG:4534-4554 for CM 75-135°E)")


def resolve_projected_geoms(geoms, *, crs=None, order_hint="x,y"):
    """:func:`resolve_projected` for the vertices of geometries: ``(geoms, Projected)``.

    Geometries are swapped to easting, northing when their vertices are in
    survey order; ``row`` of an error is the index of the geometry.
    """
    geoms = np.asarray(geoms, dtype=object)
    present = ~shapely.is_missing(geoms)
    counts = np.zeros(len(geoms), dtype="int64")
    counts[present] = shapely.get_num_coordinates(geoms[present])
    owner = np.repeat(np.arange(len(geoms)), counts)
    xy = shapely.get_coordinates(geoms[present])
    try:
        res = resolve_projected(xy[:, 0], xy[:, 1], crs=crs, order_hint=order_hint)
    except SiteInputError as exc:
        if exc.row is not None and len(owner):
            exc.row = int(owner[exc.row])
        raise
    if res.swapped:
        geoms = geoms.copy()
        geoms[present] = shapely.transform(geoms[present], lambda c: c[:, ::-1])
    return geoms, res


def close_lines(geoms, *, tol: float):
    """Lines that end where they start (within ``tol``) as polygons: ``(geoms, closed, mixed)``.

    A ring drawn as a line bounds an area; checked as a line it would miss a
    zone lying wholly inside it. A LINESTRING whose ends meet and which has at
    least 3 distinct vertices becomes a POLYGON; a MULTILINESTRING whose parts
    all close becomes the union of their polygons (nested rings cover the
    outer area, never a hole). ``closed`` marks the geometries changed;
    ``mixed`` the multi-lines with closed and open parts, left as lines.
    """
    geoms = np.asarray(geoms, dtype=object)
    closed = np.zeros(len(geoms), dtype=bool)
    mixed = np.zeros(len(geoms), dtype=bool)
    types = shapely.get_type_id(geoms)
    cand = np.flatnonzero(np.isin(types, [1, 5]))
    if not len(cand):
        return geoms, closed, mixed
    out = geoms.copy()

    def ring_of(line):
        xy = shapely.get_coordinates(line, include_z=bool(shapely.has_z(line)))
        if len(xy) < 4 or np.hypot(*(xy[0, :2] - xy[-1, :2])) > tol or len(np.unique(xy[:-1, :2], axis=0)) < 3:
            return None
        xy = xy.copy()
        xy[-1] = xy[0]
        return shapely.Polygon(xy)

    for i in cand:
        parts = shapely.get_parts(geoms[i])
        polys = [ring_of(p) for p in parts]
        done = [p for p in polys if p is not None]
        if not done:
            continue
        if len(done) < len(polys):
            mixed[i] = True
            continue
        out[i] = done[0] if len(done) == 1 else shapely.union_all(shapely.make_valid(np.array(done, dtype=object)))
        closed[i] = True
    return out, closed, mixed


def _code(crs) -> str:
    code = crs.to_epsg() if crs is not None else None
    return f"EPSG:{code}" if code else (crs.name if crs is not None else "?")


def guess_projected_hint(x: float, y: float, *, as_xy: bool = True) -> str:
    """A hint for metres given where degrees were expected, naming the likely EPSG code.

    ``as_xy=False`` for geometries (WKT) rather than coordinate columns: the
    hint then says only which ``--crs`` to give.
    """
    how = "give them as x/y with --crs" if as_xy else "give --crs"
    for e, n in ((x, y), (y, x)):
        if np.isfinite(e) and np.isfinite(n) and _looks_northing(np.float64(n)):
            z = int(gk_zone_prefix(np.float64(e)))
            order = "" if (e, n) == (x, y) else " (they are in survey order, north first)"
            if z > 0:
                code = gk_crs(z, band=3 if z in _GK3 else 6, prefix=True).to_epsg()
                return (f"these look like CGCS2000 Gauss-Krüger metres with zone prefix {z}{order}; "
                        f"{how} EPSG:{code}")
            if 1e5 <= e < 1e6:
                return (f"these look like Gauss-Krüger metres without zone prefix{order}; {how} "
                        f"of their zone, e.g. EPSG:4550 (CGCS2000 CM 123°E)")
    return "give decimal degrees, or projected metres as x/y with --crs and their EPSG code (e.g. EPSG:4550)"


# ----------------------------------------------------------------------------- datums

_DATUMS = {
    "beijing54": ("Beijing 1954 (北京54)", 4214),
    "xian80": ("Xi'an 1980 (西安80)", 4610),
}


def datum_from_text(text) -> str | None:
    """``cgcs2000``, ``xian80``, ``beijing54``, ``wgs84``, ``unknown`` or None (blank) from a header value.

    >>> datum_from_text("2000国家大地坐标系"), datum_from_text("1980西安坐标系"), datum_from_text("北京54")
    ('cgcs2000', 'xian80', 'beijing54')
    """
    if text is None:
        return None
    t = str(text).strip().upper().replace(" ", "")
    if not t:
        return None
    if "2000" in t or "CGCS" in t or "国家2000" in t:
        return "cgcs2000"
    if "西安" in t or "XIAN" in t or "XI'AN" in t or "80" in t:
        return "xian80"
    if "北京" in t or "BEIJING" in t or "54" in t:
        return "beijing54"
    if "WGS" in t:
        return "wgs84"
    return "unknown"


def _datum_message(kind: str) -> tuple[str, str]:
    name = _DATUMS[kind][0]
    return (f"coordinates are declared in {name}, which differs from CGCS2000 by tens of metres",
            "convert them to CGCS2000 (2000国家大地坐标系) with the transformation parameters from your "
            "surveyor or the local natural-resources bureau, then check again; give --crs only if the "
            "numbers are really CGCS2000")


def check_datum(crs) -> None:
    """Refuse a CRS on the Beijing 1954 or Xi'an 1980 datum unless it carries its own transformation.

    PROJ has no national Beijing 54/Xi'an 80 -> CGCS2000 transformation, so it
    would convert such data with a zero shift: tens of metres off, silently.
    A CRS bound to explicit parameters (``+towgs84=`` in a .prj) is accepted.
    """
    if crs is None:
        return
    crs = pyproj.CRS.from_user_input(crs)
    if crs.is_bound:
        return
    try:
        datum = (crs.datum.name if crs.datum is not None else "") or ""
    except pyproj.exceptions.CRSError:  # pragma: no cover - exotic CRSs without a datum
        return
    d = datum.lower().replace("'", "")
    kind = "beijing54" if "beijing" in d else "xian80" if "xian" in d else None
    if kind:
        msg, hint = _datum_message(kind)
        raise SiteInputError(f"{msg} ({_code(crs)})", hint=hint)


def datum_error(kind: str) -> SiteInputError:
    """The error for a header declaring Beijing 54 or Xi'an 80."""
    msg, hint = _datum_message(kind)
    return SiteInputError(msg, hint=hint)


# ----------------------------------------------------------------------------- shifted lon/lat

def coord_sys_key(coord_sys) -> str | None:
    """``wgs84``, ``cgcs2000``, ``gcj02`` or ``bd09`` for a ``--coord-sys`` value (``GCJ-02``, ``bd``...); None stays None.

    Raises
    ------
    SiteInputError
        For an unknown system.
    """
    if coord_sys is None:
        return None
    cs = str(coord_sys).strip().lower().replace("-", "").replace("_", "")
    cs = {"gcj": "gcj02", "bd": "bd09", "wgs": "wgs84", "cgcs": "cgcs2000"}.get(cs, cs)
    if cs not in COORD_SYSTEMS:
        raise SiteInputError(f"unknown coordinate system {coord_sys!r}",
                             hint="use --coord-sys wgs84, cgcs2000, gcj02 or bd09")
    return cs


def apply_coord_sys(geoms, crs, coord_sys: str | None):
    """Convert lon/lat geometries in ``coord_sys`` to WGS84; returns ``(geoms, crs)``.

    ``wgs84``/``cgcs2000``/None leave them as they are (the two differ by
    centimetres). ``gcj02``/``bd09`` need geographic coordinates and give
    EPSG:4326.

    Raises
    ------
    SiteInputError
        For an unknown system or shifted systems on projected data.
    """
    if coord_sys is None:
        return geoms, crs
    cs = coord_sys_key(coord_sys)
    if cs in ("wgs84", "cgcs2000"):
        return geoms, crs
    if crs is not None and not pyproj.CRS.from_user_input(crs).is_geographic:
        raise SiteInputError(f"--coord-sys {cs} applies to longitude/latitude, but these coordinates are "
                             f"projected ({_code(pyproj.CRS.from_user_input(crs))})",
                             hint="leave out --coord-sys for projected metres")
    from ..crs import transform_geometry_datum

    with np.errstate(all="ignore"):
        out = transform_geometry_datum(np.asarray(geoms, dtype=object), cs, "wgs84")
    return out, pyproj.CRS.from_epsg(4326)


_SHIFT_MARKS = [
    (re.compile(r"奥维|ovital|ovobj|ovkml|omap", re.I), "gcj02", "an 奥维 (Ovital) export, which is GCJ-02 since 9.3"),
    (re.compile(r"gcj|火星|高德|gaode|amap|autonavi|腾讯|tencent", re.I), "gcj02", "GCJ-02 (Gaode/AMap/Tencent) coordinates"),
    (re.compile(r"bd[-_ ]?09|(?:^|[^a-z])bd(?:[-_ ]|$)|百度|baidu", re.I), "bd09", "Baidu BD-09 coordinates"),
]


def shift_hint(*texts) -> tuple[str, str] | None:
    """``(coord_sys, reason)`` when any text (file name, creator tag, column names) marks shifted lon/lat."""
    for text in texts:
        if not text:
            continue
        for pattern, cs, why in _SHIFT_MARKS:
            if pattern.search(str(text)):
                return cs, why
    return None


def reraise(exc: SiteInputError, *, path=None, row_of=None, column=None) -> SiteInputError:
    """A copy of ``exc`` naming the file; ``row_of`` maps its 0-based ``row`` to a row number."""
    row = exc.row
    if row is not None and row_of is not None:
        row = row_of(row)
    return SiteInputError(exc.message, path=path if path is not None else exc.path, row=row,
                          column=column if column is not None else exc.column, hint=exc.hint)


def shapely_points(x, y):
    """Points from coordinate arrays, None where either is NaN."""
    geoms = shapely.points(np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64"))
    geoms[np.isnan(x) | np.isnan(y)] = None
    return geoms
