"""Make the sample site files (tests/data/sites/) and the bad-input corpus (tests/data/bad/).

Run from the repository root: ``.venv/bin/python tests/data/make_samples.py``.
Deterministic content (no dates, no unseeded random numbers); only the
GeoPackage and XLSX containers embed the time they were written.

The sites are defined once, in CGCS2000 3-degree Gauss-Krüger CM 123°E
metres (EPSG:4550), near 121.80°E 39.10°N in the Jinpu layer set, and every
sample is derived from that definition:

* P1 一号地块: a parcel with a hole, deep inside the ecological core (prohibited for T03);
* P2 二号地块: a parcel ~170 m west of the core's edge (restricted for T03; read
  without the GCJ-02 correction it lands in the core);
* P3 三号地块: a parcel on the coast south-west (allowed for T03);
* L1 连接道路: a line west of P2; Q1-Q3: points inside P1, just west of the core
  edge, and in P3.
"""
from __future__ import annotations

import importlib.util
import json
import sys
import zipfile
from pathlib import Path

import ezdxf
import geopandas as gpd
import pyogrio
import pyproj
import shapely

ROOT = Path(__file__).resolve().parent
SITES = ROOT / "sites"
BAD = ROOT / "bad"
sys.path.insert(0, str(ROOT.parents[1]))

from geo.crs import wgs84_to_bd09, wgs84_to_gcj02  # noqa: E402

TO_GK = pyproj.Transformer.from_crs(4326, 4550, always_xy=True)
TO_LL = pyproj.Transformer.from_crs(4550, 4326, always_xy=True)


def gk(lon, lat):
    x, y = TO_GK.transform(lon, lat)
    return round(float(x), 3), round(float(y), 3)


def rect(lon, lat, w_m, h_m):
    """A rectangle of w x h metres centred on lon/lat, in EPSG:4550 (mm)."""
    x, y = gk(lon, lat)
    return [(round(x - w_m / 2, 3), round(y - h_m / 2, 3)), (round(x + w_m / 2, 3), round(y - h_m / 2, 3)),
            (round(x + w_m / 2, 3), round(y + h_m / 2, 3)), (round(x - w_m / 2, 3), round(y + h_m / 2, 3))]


def ring(pts):
    return list(pts) + [pts[0]]


# ----------------------------------------------------------------------------- the sites (EPSG:4550)

_c1 = gk(121.80, 39.10)
P1_SHELL = [(_c1[0] - 120, _c1[1] - 90), (_c1[0] + 20, _c1[1] - 110), (_c1[0] + 125, _c1[1] - 60),
            (_c1[0] + 110, _c1[1] + 95), (_c1[0] - 30, _c1[1] + 100), (_c1[0] - 130, _c1[1] + 40)]
P1_HOLE = [(_c1[0] - 30, _c1[1] - 20), (_c1[0] + 30, _c1[1] - 20), (_c1[0] + 30, _c1[1] + 20), (_c1[0] - 30, _c1[1] + 20)]
P2 = rect(121.7675, 39.1000, 150, 160)
P3 = rect(121.7450, 38.9930, 120, 90)
L1 = [gk(121.7600, 39.0950), gk(121.7630, 39.0975), gk(121.7660, 39.0985)]
Q1 = gk(121.8000, 39.1006)
Q2 = gk(121.7680, 39.1000)
Q3 = gk(121.7450, 38.9930)

NAMES = {"P1": "一号地块（工业用地）", "P2": "二号地块", "P3": "三号地块", "L1": "连接道路",
         "Q1": "一号点位", "Q2": "二号点位", "Q3": "三号点位"}
GEOMS_GK = {
    "P1": shapely.Polygon(ring(P1_SHELL), [ring(P1_HOLE)]),
    "P2": shapely.Polygon(ring(P2)),
    "P3": shapely.Polygon(ring(P3)),
    "L1": shapely.LineString(L1),
    "Q1": shapely.Point(Q1),
    "Q2": shapely.Point(Q2),
    "Q3": shapely.Point(Q3),
}
#: what the Jinpu layer set says for project type T03 (asserted by tests/test_readers.py)
EXPECTED_T03 = {"P1": "prohibited", "P2": "restricted", "P3": "allowed", "L1": "restricted",
                "Q1": "prohibited", "Q2": "restricted", "Q3": "allowed"}


def sites_gk(ids=None) -> gpd.GeoDataFrame:
    ids = ids or list(GEOMS_GK)
    return gpd.GeoDataFrame({"site_id": ids, "name": [NAMES[i] for i in ids]},
                            geometry=[GEOMS_GK[i] for i in ids], crs=4550)


def sites_wgs84(ids=None) -> gpd.GeoDataFrame:
    return sites_gk(ids).to_crs(4326)


def lonlat(pt):
    lon, lat = TO_LL.transform(*pt)
    return float(lon), float(lat)


def dms(value: float, pos: str, neg: str, decimals: int = 3) -> str:
    hemi = pos if value >= 0 else neg
    v = abs(value)
    d = int(v)
    m = int((v - d) * 60)
    s = round(((v - d) * 60 - m) * 60, decimals)
    if s >= 60:
        s, m = s - 60, m + 1
    if m >= 60:
        m, d = m - 60, d + 1
    return f"{d}°{m:02d}′{s:0{3 + decimals}.{decimals}f}″{hemi}"


def ddd_mmss(value: float) -> str:
    v = abs(value)
    d = int(v)
    m = int((v - d) * 60)
    s = ((v - d) * 60 - m) * 60
    if round(s, 3) >= 60:
        s, m = 0.0, m + 1
    sec = f"{s:06.3f}".replace(".", "")  # ss.sss -> sssss
    return f"{'-' if value < 0 else ''}{d}.{m:02d}{sec}"


# ----------------------------------------------------------------------------- 界址点 TXT

JZD_HEADER = ["[属性描述]", "格式版本号=1.01", "数据产生单位=大连市某测绘院（示例）", "数据产生日期=2025-6-15",
              "坐标系=2000国家大地坐标系", "几度分带=3", "投影类型=高斯克吕格", "计量单位=米", "带号=41",
              "精度=0.001", "转换参数=,,,,,,", "[地块坐标]"]


def jzd_lines(plots, *, prefix=0, header=None, count_closing=True, j=True, swap=False, area_scale=1.0):
    """Lines of a 界址点 file; plots are (id, name, use, [rings in EPSG:4550])."""
    out = list(JZD_HEADER if header is None else header)
    for pid, name, use, rings in plots:
        n = sum(len(r) + (1 if count_closing else 0) for r in rings)
        area = shapely.Polygon(rings[0], rings[1:]).area / 10_000 * area_scale
        out.append(f"{n},{area:.4f},{pid},{name},面,,{use},,@")
        k = 0
        for rno, r in enumerate(rings, start=1):
            first = k + 1
            for x, y in r:
                k += 1
                e, nn = x + prefix * 1_000_000, y
                a, b = (e, nn) if swap else (nn, e)
                out.append(f"{'J' if j else ''}{k},{rno},{a:.3f},{b:.3f}")
            e, nn = r[0][0] + prefix * 1_000_000, r[0][1]
            a, b = (e, nn) if swap else (nn, e)
            out.append(f"{'J' if j else ''}{first},{rno},{a:.3f},{b:.3f}")
    return out


PLOTS = [("P1", NAMES["P1"], "工业用地", [P1_SHELL, P1_HOLE]),
         ("P2", NAMES["P2"], "仓储用地", [P2]),
         ("P3", NAMES["P3"], "工业用地", [P3])]


def write_lines(path: Path, lines, encoding="gbk", newline="\r\n"):
    path.write_bytes((newline.join(lines) + newline).encode(encoding))


# ----------------------------------------------------------------------------- good samples

def make_sites():
    SITES.mkdir(parents=True, exist_ok=True)
    for p in SITES.iterdir():
        if p.name != "README.md":
            p.unlink()
    clean = sites_wgs84()
    pyogrio.write_dataframe(clean, SITES / "clean_wgs84.geojson", layer_options={"COORDINATE_PRECISION": 10})

    # 1. 界址点 TXT, GBK, CRLF, EPSG:4550 (6-digit Y, zone from 带号=41), P1 has a hole (圈号 2)
    write_lines(SITES / "jzd_gbk_cm123.txt", jzd_lines(PLOTS))
    # 2. the same plots, UTF-8 with BOM, 8-digit Y with zone prefix 41 (EPSG:4529), 分带 variant,
    #    counts without closing points, numeric point ids
    header = ["[属性描述]", "坐标系=2000国家大地坐标系", "分带=3度带", "投影类型=高斯克吕格", "计量单位=米",
              "带号=41", "转换参数=,,,,,,", "[地块坐标]"]
    lines = jzd_lines(PLOTS, prefix=41, header=header, count_closing=False, j=False)
    (SITES / "jzd_utf8_zone41.txt").write_bytes(b"\xef\xbb\xbf" + ("\n".join(lines) + "\n").encode("utf-8"))

    # 3. GBK shapefile without .cpg (EPSG:4550, .prj kept), Chinese field names
    shp = sites_gk(["P1", "P2", "P3"]).rename(columns={"site_id": "编号", "name": "名称"})
    pyogrio.write_dataframe(shp, SITES / "parcels_gbk.shp", encoding="gbk")
    (SITES / "parcels_gbk.cpg").unlink()

    # 4. DXF from CAD: closed polylines P2 and P3 labelled with TEXT, L1 open, Q1 a POINT; metres, EPSG:4550
    doc = ezdxf.new("R2010")
    msp = doc.modelspace()
    doc.layers.add("红线")
    doc.layers.add("道路")
    for sid in ("P2", "P3"):
        pts = list(GEOMS_GK[sid].exterior.coords)[:-1]
        msp.add_lwpolyline(pts, close=True, dxfattribs={"layer": "红线"})
        c = GEOMS_GK[sid].centroid
        msp.add_text(sid, dxfattribs={"layer": "红线", "height": 5}).set_placement((c.x, c.y))
    msp.add_lwpolyline(list(GEOMS_GK["L1"].coords), dxfattribs={"layer": "道路"})
    msp.add_point(Q1, dxfattribs={"layer": "点位"})
    doc.header["$INSUNITS"] = 6
    doc.saveas(SITES / "drawing_cm123.dxf")

    # 5. 奥维-style KML in GCJ-02 (Q1-Q3, P2, L1)
    SITES.joinpath("ovital_gcj02.kml").write_text(ovital_kml(["Q1", "Q2", "Q3", "P2", "L1"]), encoding="utf-8")

    # 6. DMS CSV (UTF-8 with BOM), Q1-Q3, with a type column
    rows = ["编号,名称,经度,纬度,类型"]
    for sid in ("Q1", "Q2", "Q3"):
        lon, lat = lonlat(GEOMS_GK[sid].coords[0])
        rows.append(f"{sid},{NAMES[sid]},{dms(lon, 'E', 'W')},{dms(lat, 'N', 'S')},T03")
    (SITES / "points_dms.csv").write_bytes(b"\xef\xbb\xbf" + ("\r\n".join(rows) + "\r\n").encode("utf-8"))

    # 7. ddd.mmss CSV (needs --ddd-mmss)
    rows = ["id,name,lon,lat"]
    for sid in ("Q1", "Q2", "Q3"):
        lon, lat = lonlat(GEOMS_GK[sid].coords[0])
        rows.append(f"{sid},{NAMES[sid]},{ddd_mmss(lon)},{ddd_mmss(lat)}")
    (SITES / "points_ddd_mmss.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")

    # 8. GBK CSV of points picked on Baidu (BD-09) and one on Gaode (GCJ-02)
    rows = ["编号,名称,百度经度,百度纬度"]
    for sid in ("Q1", "Q2", "Q3"):
        lon, lat = wgs84_to_bd09(*lonlat(GEOMS_GK[sid].coords[0]))
        rows.append(f"{sid},{NAMES[sid]},{float(lon):.7f},{float(lat):.7f}")
    (SITES / "points_bd09_gbk.csv").write_bytes(("\r\n".join(rows) + "\r\n").encode("gbk"))
    rows = ["id,name,lng,lat"]
    for sid in ("Q1", "Q2", "Q3"):
        lon, lat = wgs84_to_gcj02(*lonlat(GEOMS_GK[sid].coords[0]))
        rows.append(f"{sid},{NAMES[sid]},{float(lon):.7f},{float(lat):.7f}")
    (SITES / "points_gcj02.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")

    # 8b. a spreadsheet with degrees and decimal minutes (121°48.000′E), as typed from a handheld GPS
    import pandas as pd

    def dm(value, pos, neg):
        v = abs(value)
        return f"{int(v)}°{(v - int(v)) * 60:06.3f}′{pos if value >= 0 else neg}"

    table = pd.DataFrame({"编号": ["Q1", "Q2", "Q3"], "名称": [NAMES[i] for i in ("Q1", "Q2", "Q3")],
                          "经度": [dm(lonlat(GEOMS_GK[i].coords[0])[0], "E", "W") for i in ("Q1", "Q2", "Q3")],
                          "纬度": [dm(lonlat(GEOMS_GK[i].coords[0])[1], "N", "S") for i in ("Q1", "Q2", "Q3")]})
    pyogrio.write_dataframe(table, SITES / "points_dm.xlsx", driver="XLSX", layer="选址")

    # 9. 奥维 TXT points: "g" marks GCJ-02 rows, name after the coordinates
    rows = []
    for sid in ("Q1", "Q2", "Q3"):
        lon, lat = wgs84_to_gcj02(*lonlat(GEOMS_GK[sid].coords[0]))
        rows.append(f"g {float(lon):.7f} {float(lat):.7f} {sid}")
    (SITES / "points_ovital.txt").write_text("\n".join(rows) + "\n", encoding="utf-8")


def ovital_kml(ids, *, marker=True, shift=True) -> str:
    def coords(geom):
        out = []
        for x, y in geom.coords:
            lon, lat = lonlat((x, y))
            if shift:
                lon, lat = (float(v) for v in wgs84_to_gcj02(lon, lat))
            out.append(f"{lon:.8f},{lat:.8f},0")
        return " ".join(out)

    marks = []
    for sid in ids:
        g = GEOMS_GK[sid]
        if g.geom_type == "Point":
            body = f"<Point><coordinates>{coords(g)}</coordinates></Point>"
        elif g.geom_type == "LineString":
            body = f"<LineString><tessellate>1</tessellate><coordinates>{coords(g)}</coordinates></LineString>"
        else:
            body = (f"<Polygon><outerBoundaryIs><LinearRing><coordinates>{coords(g.exterior)}</coordinates>"
                    f"</LinearRing></outerBoundaryIs></Polygon>")
        marks.append(f"<Placemark><name>{sid}</name><description>{NAMES[sid]}</description>{body}</Placemark>")
    creator = "<!-- 由奥维互动地图导出 Exported by Ovital Map 9.8 -->\n" if marker else ""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + creator +
            '<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>奥维收藏夹</name><Folder><name>选址</name>'
            + "".join(marks) + "</Folder></Document></kml>\n")


# ----------------------------------------------------------------------------- bad corpus

def csv(name, text, encoding="utf-8"):
    (BAD / name).write_bytes(text.encode(encoding))


def geojson(name, features):
    fc = {"type": "FeatureCollection", "features": features}
    (BAD / name).write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")


def feature(geom, **props):
    return {"type": "Feature", "properties": props, "geometry": geom}


def make_bad():
    if BAD.exists():
        for p in BAD.iterdir():
            if p.name != "README.md":
                p.unlink()
    BAD.mkdir(parents=True, exist_ok=True)
    q1lon, q1lat = lonlat(Q1)
    p1 = shapely.Polygon(ring(P1_SHELL)).exterior.coords
    p1ll = [list(lonlat(c)) for c in p1]
    x1, y1 = _c1

    # --- empty and unreadable
    csv("empty.csv", "")
    csv("blank_lines.csv", "\n\n   \n")
    (BAD / "binary_as.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    good = BAD / "_tmp.gpkg"
    pyogrio.write_dataframe(sites_wgs84(["P1", "Q1"]), good, layer="sites")
    data = good.read_bytes()
    (BAD / "truncated.gpkg").write_bytes(data[: len(data) // 3])
    good.unlink()
    (BAD / "not_a_zip.zip").write_bytes(b"PK\x03\x04" + b"this is not really a zip archive" * 4)
    (BAD / "drawing.dwg").write_bytes(b"AC1032" + b"\x00" * 64)

    # --- shapefile parts
    shp = sites_wgs84(["P1"])
    for stem, drop in (("missing_shx", ".shx"), ("missing_dbf", ".dbf"), ("no_prj", ".prj")):
        pyogrio.write_dataframe(shp, BAD / f"{stem}.shp", encoding="utf-8")
        (BAD / f"{stem}{drop}").unlink()
        if (BAD / f"{stem}.cpg").exists():
            (BAD / f"{stem}.cpg").unlink()
    # GBK without .cpg: read with a warning, P1 stays prohibited
    pyogrio.write_dataframe(sites_wgs84(["P1"]).rename(columns={"name": "名称"}), BAD / "gbk_no_cpg.shp",
                            encoding="gbk")
    (BAD / "gbk_no_cpg.cpg").unlink()

    # --- CRS and coordinates
    ex, ny = x1 + 41_000_000, y1
    csv("projected_as_degrees.csv", f"id,name,lon,lat\nQ1,一号点位,{ex:.3f},{ny:.3f}\n")
    csv("latlon_swapped.csv", f"id,name,lon,lat\nQ1,一号点位,{q1lat:.6f},{q1lon:.6f}\nQ3,三号点位,38.993,121.745\n")
    csv("out_of_range.csv", f"id,name,lon,lat\nQ1,一号点位,{q1lon:.6f},{q1lat:.6f}\nQ9,错误点位,121.8,95.1\n")
    csv("blank_coordinate.csv", f"id,name,lon,lat\nQ1,一号点位,{q1lon:.6f},{q1lat:.6f}\nQ2,二号点位,,39.1\n")
    csv("nan_coordinate.csv", f"id,name,lon,lat\nQ1,一号点位,{q1lon:.6f},NaN\n")
    csv("xy_no_crs.csv", f"id,x,y\nQ1,{x1:.3f},{y1:.3f}\n")
    csv("mixed_prefix.csv", f"id,x,y\nQ1,{x1 + 41e6:.3f},{y1:.3f}\nQ2,{x1:.3f},{y1:.3f}\n")
    csv("no_coordinate_columns.csv", "id,name,address\nQ1,一号点位,金州区\n")
    csv("dms_bad_minutes.csv", "id,lon,lat\nQ1,121°75′00″E,39°06′00″N\n")
    csv("dms_swapped_hemisphere.csv", "id,lon,lat\nQ1,39°06′00″N,121°48′00″E\n")
    csv("bad_wkt.csv", "id,wkt\nP1,POLYGON ((121.8 39.1, 121.81 39.1\n")
    csv("too_many_fields.csv", f"id,lon,lat\nQ1,{q1lon:.6f},{q1lat:.6f}\nQ2,121.8,39.1,extra,fields\n")
    geojson("projected_geojson.geojson", [feature({"type": "Point", "coordinates": [x1, y1]}, id="Q1")])

    # --- geometry
    bow = [[q1lon - 0.001, q1lat - 0.001], [q1lon + 0.001, q1lat + 0.001], [q1lon + 0.001, q1lat - 0.001],
           [q1lon - 0.001, q1lat + 0.001], [q1lon - 0.001, q1lat - 0.001]]
    geojson("self_intersecting.geojson", [feature({"type": "Polygon", "coordinates": [bow]}, id="B1", name="蝴蝶形地块")])
    geojson("ring_too_few_points.geojson", [feature(
        {"type": "Polygon", "coordinates": [[p1ll[0], p1ll[1], p1ll[0], p1ll[0]]]}, id="R1")])
    geojson("mixed_geometry.geojson", [
        feature({"type": "Point", "coordinates": [q1lon, q1lat]}, id="Q1"),
        feature({"type": "GeometryCollection", "geometries": [
            {"type": "Point", "coordinates": [q1lon, q1lat]},
            {"type": "LineString", "coordinates": [[q1lon, q1lat], [q1lon + 0.001, q1lat]]}]}, id="G1")])
    geojson("z_coordinates.geojson", [feature({"type": "Polygon", "coordinates": [[c + [12.5] for c in p1ll]]},
                                              id="P1", name=NAMES["P1"])])
    csv("m_coordinates.csv", f"id,wkt\nQ1,POINT M ({q1lon:.6f} {q1lat:.6f} 3.5)\n")

    # --- attributes
    csv("duplicate_ids.csv", f"id,lon,lat\nQ1,{q1lon:.6f},{q1lat:.6f}\nQ1,121.745,38.993\n")
    csv("unknown_type.csv", f"id,lon,lat,type\nQ1,{q1lon:.6f},{q1lat:.6f},T99\n")
    csv("html_script.csv", f"id,name,lon,lat\nQ1,<script>alert('x')</script>一号点位,{q1lon:.6f},{q1lat:.6f}\n"
                           f"Q4,<b onmouseover=\"steal()\">四号</b>,{q1lon + 0.001:.6f},{q1lat:.6f}\n")

    # --- zips
    with zipfile.ZipFile(BAD / "zip_traversal.zip", "w") as zf:
        zf.writestr("../../evil.shp", b"\x00" * 100)
        zf.writestr("../../evil.shx", b"\x00" * 100)
        zf.writestr("../../evil.dbf", b"\x00" * 100)
    with zipfile.ZipFile(BAD / "zip_absolute.zip", "w") as zf:
        zf.writestr("/etc/sites.geojson", "{}")
    with zipfile.ZipFile(BAD / "zip_no_data.zip", "w") as zf:
        zf.writestr("readme.txt", "nothing here")

    # --- 界址点 TXT
    def jzd(name, lines, encoding="gbk"):
        write_lines(BAD / name, lines, encoding=encoding)

    lines = jzd_lines(PLOTS)
    jzd("jzd_truncated.txt", lines[: len(lines) - 2])  # P3 keeps 3 of its 5 lines: a triangle if closed
    jzd("jzd_xian80.txt", [ln.replace("2000国家大地坐标系", "1980西安坐标系") for ln in lines])
    jzd("jzd_beijing54.txt", [ln.replace("2000国家大地坐标系", "1954北京坐标系") for ln in lines])
    jzd("jzd_local_system.txt", [ln.replace("2000国家大地坐标系", "大连市独立坐标系") for ln in lines])
    jzd("jzd_no_zone.txt", [ln for ln in lines if not ln.startswith("带号")])
    jzd("jzd_swapped_xy.txt", jzd_lines(PLOTS[:1], prefix=41, swap=True))
    jzd("jzd_zone_mismatch.txt", [ln.replace("带号=41", "带号=40") for ln in jzd_lines(PLOTS[:1], prefix=41)])
    bad_num = jzd_lines(PLOTS[:1])
    pid, rno, xx, yy = bad_num[14].split(",")
    bad_num[14] = ",".join([pid, rno, xx, yy[:3] + "O" + yy[4:]])  # a letter O typed for a zero
    jzd("jzd_bad_number.txt", bad_num)
    jzd("jzd_area_mismatch.txt", jzd_lines(PLOTS[:1], area_scale=1.5))
    few = JZD_HEADER + ["3,0.0100,R1,两点地块,面,,,,@", f"J1,1,{y1:.3f},{x1:.3f}", f"J2,1,{y1 + 50:.3f},{x1:.3f}",
                        f"J1,1,{y1:.3f},{x1:.3f}"]
    jzd("jzd_ring_too_few.txt", few)
    no_at = jzd_lines(PLOTS[:1])
    no_at[12] = no_at[12].rstrip("@").rstrip(",")
    jzd("jzd_header_without_at.txt", no_at)
    mixed = jzd_lines(PLOTS[:1], prefix=41)
    pid, rno, xx, yy = mixed[-2].split(",")
    mixed[-2] = ",".join([pid, rno, xx, f"{float(yy) - 1_000_000:.3f}"])  # one point in zone 40
    jzd("jzd_mixed_zones.txt", mixed)
    jzd("jzd_unit_km.txt", [ln.replace("计量单位=米", "计量单位=千米") for ln in jzd_lines(PLOTS[:1])])
    jzd("jzd_duplicate_plot_ids.txt", jzd_lines([PLOTS[0], ("P1", "重复地块", "", [P2])]))
    jzd("jzd_no_plots.txt", JZD_HEADER)

    # --- DXF
    doc = ezdxf.new("R2010")
    doc.modelspace().add_lwpolyline(list(GEOMS_GK["P1"].exterior.coords)[:-1], close=True)
    doc.saveas(BAD / "dxf_no_crs.dxf")
    ezdxf.new("R2010").saveas(BAD / "dxf_empty.dxf")
    (BAD / "dxf_broken_entity.dxf").write_text("0\nSECTION\n2\nENTITIES\n0\nLWPOLYLINE\n10\nnot-a-number\n",
                                               encoding="utf-8")
    (BAD / "dxf_binary.dxf").write_bytes(bytes((i * 37 + 11) % 256 for i in range(2048)))

    # --- KML
    (BAD / "kml_ovital_unflagged.kml").write_text(ovital_kml(["Q1", "P2"]), encoding="utf-8")
    (BAD / "kml_empty.kml").write_text('<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/'
                                       'kml/2.2"><Document></Document></kml>', encoding="utf-8")

    # --- GeoPackage with two layers
    gp = BAD / "two_layers.gpkg"
    pyogrio.write_dataframe(sites_wgs84(["Q1"]), gp, layer="sites_a")
    pyogrio.write_dataframe(sites_wgs84(["Q3"]), gp, layer="sites_b")


    # --- hostile files of one reader or theme, each made by the make(bad_dir) of a tests/data/bad_*.py
    for gen in sorted(ROOT.glob("bad_*.py")):
        spec = importlib.util.spec_from_file_location(gen.stem, gen)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.make(BAD)


if __name__ == "__main__":
    make_sites()
    make_bad()
    importlib.import_module("official.make_official").main()  # tests/data/official/: bureau-style files
    print(f"wrote {len(list(SITES.iterdir()))} sample files and {len(list(BAD.iterdir()))} bad files")
