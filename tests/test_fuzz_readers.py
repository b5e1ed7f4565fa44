"""Fuzzing the site readers: random bytes, damaged good files and random rows.

Nothing may escape but ecozone's own errors (:class:`geo.errors.EcozoneError`), and the
only warnings are ecozone's (input repaired or read on an assumption). About 30 s in all.
"""
from __future__ import annotations

import math
import tempfile
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.sites.coords import parse_angle
from geo.errors import EcozoneError, GeometryRepairedWarning
from geo.errors import SiteInputWarning
from geo.sites.read import read_sites

SITES = Path(__file__).parent / "data" / "sites"
BAD = Path(__file__).parent / "data" / "bad"
FAST = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                derandomize=True)
OURS = (SiteInputWarning, GeometryRepairedWarning)
EXTENSIONS = [".csv", ".txt", ".geojson", ".json", ".gpkg", ".shp", ".zip", ".kml", ".kmz", ".ovkml", ".fgb",
              ".parquet", ".dxf", ".xlsx"]


def read_safely(path: Path, **options):
    """read_sites; returns the sites or the EcozoneError; anything else fails the test."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = read_sites(path, **options)
        except EcozoneError as exc:
            assert "\n" not in str(exc)  # one line
            result = exc
    foreign = [w for w in caught if not issubclass(w.category, OURS)]
    assert not foreign, [f"{w.category.__name__}: {w.message}" for w in foreign]
    return result


def write(tmp: str, name: str, data: bytes) -> Path:
    path = Path(tmp) / name
    path.write_bytes(data)
    return path


# ----------------------------------------------------------------------------- random bytes


@FAST
@given(ext=st.sampled_from(EXTENSIONS), data=st.binary(min_size=1, max_size=2048))
def test_random_bytes_in_any_format(ext, data):
    with tempfile.TemporaryDirectory() as tmp:
        read_safely(write(tmp, "sites" + ext, data), crs="EPSG:4550" if ext == ".dxf" else None)


@FAST
@given(ext=st.sampled_from([".csv", ".txt", ".geojson", ".kml", ".dxf"]),
       text=st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=400))
def test_random_text_in_text_formats(ext, text):
    with tempfile.TemporaryDirectory() as tmp:
        for enc in ("utf-8", "gb18030"):
            read_safely(write(tmp, "sites" + ext, text.encode(enc)), crs="EPSG:4550" if ext == ".dxf" else None)


# ----------------------------------------------------------------------------- damaged good files

GOOD = ["jzd_gbk_cm123.txt", "jzd_utf8_zone41.txt", "points_dms.csv", "points_bd09_gbk.csv", "points_ovital.txt",
        "ovital_gcj02.kml", "clean_wgs84.geojson", "drawing_cm123.dxf", "parcels_gbk.shp", "points_dm.xlsx"]


@st.composite
def damaged(draw):
    name = draw(st.sampled_from(GOOD))
    data = bytearray((SITES / name).read_bytes())
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "delete", "duplicate"]))
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[i] = draw(st.integers(0, 255))
        elif op == "cut":
            del data[i:]
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del data[i:i + draw(st.integers(1, 64))]
        else:
            j = draw(st.integers(i, min(len(data), i + 200)))
            data[j:j] = data[i:j]
    return name, bytes(data)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(case=damaged(), coord_sys=st.sampled_from([None, "gcj02", "bd09", "cgcs2000"]))
def test_damaged_good_files(case, coord_sys):
    name, data = case
    with tempfile.TemporaryDirectory() as tmp:
        path = write(tmp, name, data)
        if name.endswith(".shp"):  # damage the .shp, keep the other parts
            for part in SITES.glob("parcels_gbk.*"):
                if part.suffix != ".shp":
                    write(tmp, part.name, part.read_bytes())
        crs = "EPSG:4550" if name.endswith(".dxf") else None
        lonlat = name.endswith((".csv", ".kml", ".geojson", ".xlsx")) or name == "points_ovital.txt"
        read_safely(path, crs=crs, coord_sys=coord_sys if lonlat else None, ddd_mmss=False)


# ----------------------------------------------------------------------------- random rows

NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64).map(repr),
                    st.integers(-10**9, 10**9).map(str),
                    st.floats(-200, 200).map(lambda v: f"{v:.6f}"),
                    st.floats(1e5, 5e7).map(lambda v: f"{v:.3f}"))
ANGLES = st.builds(lambda d, m, s, h, u: f"{d}{u[0]}{m}{u[1]}{s}{u[2]}{h}",
                   st.integers(-200, 400), st.integers(0, 99), st.floats(0, 99, allow_nan=False).map(lambda v: f"{v:.2f}"),
                   st.sampled_from(["", "E", "N", "W", "S", "东经", " N"]),
                   st.sampled_from([("°", "'", '"'), ("度", "分", "秒"), ("°", "′", "″"), (" ", " ", ""), ("d", "m", "s")]))
CELLS = st.one_of(NUMBERS, ANGLES, st.just(""), st.just("NaN"), st.text(max_size=12),
                  st.sampled_from(["POINT (121.8 39.1)", "POLYGON ((0 0, 1 1, 1 0, 0 1, 0 0))", "LINESTRING EMPTY",
                                   "GEOMETRYCOLLECTION (POINT (1 1))", "POINT M (1 2 3)", "T03", "two_high", "<b>x</b>",
                                   "\x00", "true", "是", "occupy", "穿越", "-5"]))
COLUMNS = ["id", "name", "lon", "lat", "x", "y", "wkt", "type", "经度", "纬度", "gcj_lng", "nmp", "land_use",
           "radius_m", "X", "Y", "编号"]


@FAST
@given(cols=st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=6, unique=True),
       rows=st.lists(st.lists(CELLS, min_size=6, max_size=6), min_size=0, max_size=8),
       crs=st.sampled_from([None, "EPSG:4550", "EPSG:4326", "EPSG:4529"]),
       coord_sys=st.sampled_from([None, "gcj02", "bd09", "wgs84"]), ddd=st.booleans(),
       sep=st.sampled_from([",", "\t"]), enc=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
def test_random_csv_rows(cols, rows, crs, coord_sys, ddd, sep, enc):
    def cell(v):
        v = v.replace('"', '""')
        return f'"{v}"' if any(c in v for c in (sep, "\n", "\r", '"')) else v

    lines = [sep.join(cols)] + [sep.join(cell(v) for v in row[:len(cols)]) for row in rows]
    with tempfile.TemporaryDirectory() as tmp:
        path = write(tmp, "sites.csv", ("\n".join(lines) + "\n").encode(enc, errors="replace"))
        got = read_safely(path, crs=crs, coord_sys=coord_sys, ddd_mmss=ddd)
        if not isinstance(got, Exception):
            assert got.crs is not None and len(got) == len(rows)
            if got.crs.is_geographic:  # every site that came through is a real place
                b = got.total_bounds
                assert -180 <= b[0] <= b[2] <= 180 and -90 <= b[1] <= b[3] <= 90


COORD = st.one_of(st.floats(121.5, 122.2), st.floats(38.9, 39.5), st.floats(-1e12, 1e12), st.just(0.0),
                  st.sampled_from([float("nan"), 1e308, -181.0, 91.0]))
POSITION = st.lists(COORD, min_size=2, max_size=4)
RING = st.lists(POSITION, min_size=0, max_size=7)
GEOMETRY = st.one_of(
    st.builds(lambda c: {"type": "Point", "coordinates": c}, POSITION),
    st.builds(lambda c: {"type": "LineString", "coordinates": c}, RING),
    st.builds(lambda r: {"type": "Polygon", "coordinates": r}, st.lists(RING, max_size=3)),
    st.builds(lambda p: {"type": "MultiPolygon", "coordinates": p}, st.lists(st.lists(RING, max_size=2), max_size=2)),
    st.builds(lambda g: {"type": "GeometryCollection", "geometries": g},
              st.lists(st.builds(lambda c: {"type": "Point", "coordinates": c}, POSITION), max_size=2)),
    st.just(None), st.just({"type": "Polygon"}), st.just({"type": "Circle", "coordinates": [1, 2]}))
PROPS = st.dictionaries(st.sampled_from(["id", "name", "type", "nmp", "land_use", "radius_m", "名称", "编号"]),
                        st.one_of(CELLS, st.integers(), st.floats(allow_nan=False), st.none(), st.booleans()),
                        max_size=5)


@FAST
@given(features=st.lists(st.tuples(GEOMETRY, PROPS), max_size=5), crs=st.sampled_from([None, "EPSG:4550"]),
       coord_sys=st.sampled_from([None, "gcj02"]))
def test_random_geojson_features(features, crs, coord_sys):
    import json

    fc = {"type": "FeatureCollection",
          "features": [{"type": "Feature", "properties": p, "geometry": g} for g, p in features]}
    with tempfile.TemporaryDirectory() as tmp:
        text = json.dumps(fc, allow_nan=True, ensure_ascii=False)
        got = read_safely(write(tmp, "sites.geojson", text.encode("utf-8")), crs=crs, coord_sys=coord_sys)
        if not isinstance(got, Exception):
            assert got.geometry.notna().all() and not got.geometry.is_empty.any()
            assert got.geometry.is_valid.all()


HEADER_KEYS = ["坐标系", "几度分带", "分带", "带号", "计量单位", "投影类型", "精度", "转换参数", "格式版本号"]
HEADER_VALUES = st.one_of(st.sampled_from(["2000国家大地坐标系", "1980西安坐标系", "北京54", "WGS84", "", "41", "40",
                                           "3", "6", "21", "米", "度", "度分秒", "千米", "高斯克吕格", ",,,,,,", "3度带"]),
                          st.text(max_size=8))
POINT_NUMBERS = st.one_of(st.floats(4.2e6, 4.4e6).map(lambda v: f"{v:.3f}"),
                          st.floats(3.9e5, 4.0e5).map(lambda v: f"{v:.3f}"),
                          st.floats(4.139e7, 4.14e7).map(lambda v: f"{v:.3f}"),
                          st.floats(-1e9, 1e9).map(repr), st.floats(38, 122).map(lambda v: f"{v:.4f}"),
                          st.sampled_from(["", "nan", "inf", "1e400", "x", "3,5"]))


@st.composite
def jzd_file(draw):
    lines = []
    if draw(st.booleans()):
        lines.append("[属性描述]")
        for key in draw(st.lists(st.sampled_from(HEADER_KEYS), max_size=6)):
            lines.append(f"{key}={draw(HEADER_VALUES)}")
    if draw(st.booleans()):
        lines.append("[地块坐标]")
    for _ in range(draw(st.integers(0, 3))):
        n = draw(st.integers(0, 8))
        fields = [draw(st.one_of(st.integers(-2, 12).map(str), st.just(""), st.just("x"))),
                  draw(st.one_of(st.floats(0, 10).map(lambda v: f"{v:.4f}"), st.just(""), st.just("abc"))),
                  draw(st.sampled_from(["P1", "P2", "", "A,B"])), draw(st.text(max_size=5)),
                  draw(st.sampled_from(["面", "线", "点", "", "圆"])), "", "", ""]
        lines.append(",".join(fields) + draw(st.sampled_from([",@", ",@ ", ",＠", ""])))
        for i in range(n):
            ring = draw(st.sampled_from(["1", "1", "2", "", "x", "0"]))
            sep = draw(st.sampled_from([",", "，", " ", "\t"]))
            lines.append(sep.join([f"J{i + 1}", ring, draw(POINT_NUMBERS), draw(POINT_NUMBERS)]))
    return "\r\n".join(lines) + "\r\n"


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(text=jzd_file(), crs=st.sampled_from([None, "EPSG:4550", "EPSG:4529", "EPSG:4490"]),
       enc=st.sampled_from(["gbk", "utf-8"]), ddd=st.booleans())
def test_random_jzd_files(text, crs, enc, ddd):
    with tempfile.TemporaryDirectory() as tmp:
        read_safely(write(tmp, "jzd.txt", text.encode(enc, errors="replace")), crs=crs, ddd_mmss=ddd)


@FAST
@given(lines=st.lists(st.lists(st.one_of(ANGLES, NUMBERS, st.sampled_from(["g", "b", "名称", ""])), max_size=5),
                      max_size=6))
def test_random_point_txt(lines):
    text = "\n".join(" ".join(parts) for parts in lines)
    with tempfile.TemporaryDirectory() as tmp:
        read_safely(write(tmp, "points.txt", text.encode("utf-8")))


@settings(max_examples=1000, deadline=None, derandomize=True)
@given(text=st.one_of(ANGLES, NUMBERS, st.text(max_size=20)), ddd=st.booleans(),
       axis=st.sampled_from([None, "lon", "lat"]))
def test_parse_angle_only_raises_ours(text, ddd, axis):
    try:
        value = parse_angle(text, axis=axis, ddd_mmss=ddd)
    except EcozoneError:
        return
    assert isinstance(value, float)
    assert math.isnan(value) or math.isfinite(value) or "inf" in text.lower() or "e" in text.lower()


@pytest.mark.parametrize("name", sorted(p.name for p in BAD.iterdir() if p.suffix not in (".shx", ".dbf", ".prj", ".md")))
def test_bad_corpus_through_every_option(name):
    """The corpus again, with the options a user might add: still only our errors."""
    for options in ({}, {"crs": "EPSG:4550"}, {"coord_sys": "gcj02"}, {"ddd_mmss": True}, {"encoding": "gbk"}):
        read_safely(BAD / name, **options)
