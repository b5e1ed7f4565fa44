"""Coordinate systems: CGCS2000 Gauss-Krüger zones and China's shifted web-map datums.

GCJ-02 (国测局坐标, used by AMap/Gaode, Tencent and 奥维 ≥ 9.3) and BD-09
(Baidu) are deliberate offsets of WGS84 lon/lat. The forward formulas are the
published GCJ-02 and BD-09 algorithms; the inverses are solved by fixed-point
iteration to better than 1e-9 degrees (sub-millimetre), so a round trip is exact
for practical purposes. Outside China's bounding box GCJ-02 equals WGS84.

CGCS2000 3-degree Gauss-Krüger: zone ``n`` has central meridian ``3n`` degrees
east; EPSG:4513-4533 carry the zone number as a prefix of the easting (the
"8-digit Y" of Chinese survey files), EPSG:4534-4554 do not.
"""
from __future__ import annotations

import numpy as np
import pyproj
import shapely

from .errors import CRSError

__all__ = [
    "wgs84_to_gcj02",
    "gcj02_to_wgs84",
    "gcj02_to_bd09",
    "bd09_to_gcj02",
    "wgs84_to_bd09",
    "bd09_to_wgs84",
    "transform_geometry_datum",
    "GK_ZONES",
    "gk3_zone",
    "gk_epsg",
    "gk_info",
    "central_meridian",
    "auto_gk3_crs",
    "to_crs_object",
]

_A = 6378245.0  # Krasovsky 1940 semi-major axis used by GCJ-02
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0


def _in_china(lon, lat):
    return (lon > 72.004) & (lon < 137.8347) & (lat > 0.8293) & (lat < 55.8271)


def _delta(lon, lat):
    x = lon - 105.0
    y = lat - 35.0
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y
            + 0.2 * np.sqrt(np.abs(x))
            + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
            + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
            + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y
            + 0.1 * np.sqrt(np.abs(x))
            + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
            + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
            + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0)
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    inside = _in_china(lon, lat)
    return np.where(inside, dlon, 0.0), np.where(inside, dlat, 0.0)


def _arrays(lon, lat):
    return np.asarray(lon, dtype="float64"), np.asarray(lat, dtype="float64")


def wgs84_to_gcj02(lon, lat):
    """WGS84 lon/lat (degrees, scalars or arrays) to GCJ-02."""
    lon, lat = _arrays(lon, lat)
    dlon, dlat = _delta(lon, lat)
    return lon + dlon, lat + dlat


def _invert(forward, lon, lat):
    lon, lat = _arrays(lon, lat)
    wlon, wlat = lon.copy(), lat.copy()
    for _ in range(30):
        flon, flat = forward(wlon, wlat)
        elon, elat = flon - lon, flat - lat
        wlon, wlat = wlon - elon, wlat - elat
        if np.all(np.abs(elon) < 1e-10) and np.all(np.abs(elat) < 1e-10):
            break
    return wlon, wlat


def gcj02_to_wgs84(lon, lat):
    """GCJ-02 lon/lat to WGS84, inverting the offset by iteration (< 1e-9°)."""
    return _invert(wgs84_to_gcj02, lon, lat)


def gcj02_to_bd09(lon, lat):
    """GCJ-02 lon/lat to Baidu BD-09."""
    x, y = _arrays(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon, lat):
    """Baidu BD-09 lon/lat to GCJ-02 (iterative inverse)."""
    return _invert(gcj02_to_bd09, lon, lat)


def wgs84_to_bd09(lon, lat):
    """WGS84 lon/lat to Baidu BD-09."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon, lat):
    """Baidu BD-09 lon/lat to WGS84."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


_DATUM_FUNCS = {
    ("gcj02", "wgs84"): gcj02_to_wgs84,
    ("wgs84", "gcj02"): wgs84_to_gcj02,
    ("bd09", "wgs84"): bd09_to_wgs84,
    ("wgs84", "bd09"): wgs84_to_bd09,
    ("bd09", "gcj02"): bd09_to_gcj02,
    ("gcj02", "bd09"): gcj02_to_bd09,
}


def transform_geometry_datum(geoms, src: str, dst: str):
    """Shift lon/lat geometries between ``wgs84``, ``gcj02`` and ``bd09``.

    ``cgcs2000`` is treated as ``wgs84`` (they differ by centimetres).
    Works on a shapely geometry, an array of them or a GeoSeries' values.
    """
    src = "wgs84" if src in ("wgs84", "cgcs2000") else src
    dst = "wgs84" if dst in ("wgs84", "cgcs2000") else dst
    if src == dst:
        return geoms
    try:
        func = _DATUM_FUNCS[(src, dst)]
    except KeyError:
        raise CRSError(f"unknown coordinate system {src!r} or {dst!r}",
                       hint="use one of wgs84, cgcs2000, gcj02, bd09") from None

    def _apply(coords):
        lon, lat = func(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(geoms, _apply)


#: CGCS2000 Gauss-Krüger zones: band (3 or 6 degrees) -> (zone numbers, first EPSG code with the zone
#: prefix in the easting, first code without); codes run with the zone number
GK_ZONES = {3: (range(25, 46), 4513, 4534), 6: (range(13, 24), 4491, 4502)}


def gk3_zone(lon: float) -> int:
    """The 3-degree Gauss-Krüger zone number (central meridian 3n°E) for a longitude."""
    return int(np.floor(lon / 3.0 + 0.5))


def central_meridian(band: int, zone: int) -> int:
    """Central meridian (°E) of a 3- or 6-degree zone."""
    return 3 * zone if band == 3 else 6 * zone - 3


def gk_epsg(zone: int, *, band: int = 3, prefix: bool = False) -> int:
    """EPSG code of a CGCS2000 Gauss-Krüger zone (3- or 6-degree; with or without the zone prefix)."""
    zones, with_prefix, without = GK_ZONES.get(band, (range(0), 0, 0))
    if zone not in zones:
        raise CRSError(f"zone {zone} is not a CGCS2000 {band}-degree zone",
                       hint="3-degree zones are 25-45, 6-degree zones 13-23; check the longitude, 带号 or --crs")
    return (with_prefix if prefix else without) + zone - zones.start


def gk_info(crs) -> tuple[int, int, bool] | None:
    """``(band, zone, prefix)`` of a CGCS2000 Gauss-Krüger EPSG CRS, else None."""
    if crs is None:
        return None
    try:
        code = pyproj.CRS.from_user_input(crs).to_epsg()
    except pyproj.exceptions.CRSError:
        return None
    for band, (zones, with_prefix, without) in GK_ZONES.items():
        for first, prefix in ((with_prefix, True), (without, False)):
            if code is not None and first <= code < first + len(zones):
                return band, code - first + zones.start, prefix
    return None


def auto_gk3_crs(west: float, south: float, east: float, north: float, *, prefix=False) -> pyproj.CRS:
    """The CGCS2000 3-degree GK CRS whose zone holds the centre of a lon/lat box."""
    return pyproj.CRS.from_epsg(gk_epsg(gk3_zone((west + east) / 2.0), prefix=prefix))


def to_crs_object(crs) -> pyproj.CRS:
    """A pyproj CRS from anything pyproj accepts, with a one-line error otherwise."""
    try:
        return pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError:
        raise CRSError(f"unknown CRS {crs!r}", hint="give an EPSG code such as EPSG:4490") from None
