"""Site readers never silently lose, change or misread a site: each case through ``ecozone check`` as a user runs it.

The hostile files are made by ``tests/data/bad_readers.py`` (in ``tests/data/bad/``); others are written to a
temporary folder here. P1 is a parcel deep in the ecological core (prohibited for T03), Q1 a point inside it;
Q2 lies just west of the core (restricted), and read without its GCJ-02 correction it lands in the core.
"""
from __future__ import annotations

import importlib.util
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import pytest
import shapely

from conftest import X0, Y0
from geo.cli.main import cli
from geo.crs import wgs84_to_bd09, wgs84_to_gcj02
from geo.errors import SiteInputError
from geo.sites.readers.jzd import read_jzd
from geo.sites.read import read_sites, sites_from_inline

DATA = Path(__file__).parent / "data"
BAD = DATA / "bad"

_spec = importlib.util.spec_from_file_location("make_samples", DATA / "make_samples.py")
samples = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(samples)

Q1 = samples.lonlat(samples.Q1)
Q2 = samples.lonlat(samples.Q2)
P1 = shapely.transform(shapely.Polygon(samples.ring(samples.P1_SHELL)),
                       lambda c: np.array([samples.lonlat(tuple(p)) for p in c]))


def gcj(lon, lat):
    return tuple(float(v) for v in wgs84_to_gcj02(lon, lat))


def check(runner, tmp_path, *args, out_name="out.csv"):
    """``ecozone check ARGS --type T03 -o OUT``: (result, stderr lines, verdict table or None)."""
    out = tmp_path / out_name
    with warnings.catch_warnings():
        warnings.simplefilter("always")  # the CLI prints warnings as one line each
        res = runner.invoke(cli, ["check", *map(str, args), "--type", "T03", "-o", str(out), "--overwrite"])
    table = None
    if out.exists():
        table = pd.read_csv(out, dtype={"site_id": str}, encoding="utf-8-sig") if out.suffix == ".csv" else \
            gpd.read_file(out)
    return res, res.stderr.splitlines(), table


def refused(runner, tmp_path, *args):
    """The one error line of a refused check (exit 2, no traceback, nothing written)."""
    folder = Path(tempfile.mkdtemp(dir=tmp_path))  # empty: whatever appears in it was written by this check
    res, lines, table = check(runner, folder, *args)
    assert res.exit_code == 2, res.output
    assert isinstance(res.exception, SystemExit) and "Traceback" not in res.output
    assert len(lines) == 1, res.stderr
    assert table is None and not list(folder.iterdir())
    return lines[0]


def verdicts(runner, tmp_path, *args, warning=None):
    """{site_id: verdict} of a check that must succeed, with no warning or exactly the one matching ``warning``."""
    res, lines, table = check(runner, tmp_path, *args)
    assert res.exit_code == 0, res.output
    warned = [line for line in lines if line.startswith("ecozone: warning:")]
    if warning is None:
        assert not warned, res.stderr
    else:
        assert len(warned) == 1 and warning in warned[0], res.stderr
    return dict(zip(table.site_id, table.verdict)), table


# ----------------------------------------------------------------------------- a WKT column beside lon/lat


def test_wkt_wins_over_lonlat_and_fills_from_them(runner, tmp_path):
    """The parcel is checked, not its label point; a row without WKT takes its point; no site is lost."""
    c = P1.centroid
    path = tmp_path / "mixed.csv"
    path.write_text(f'id,lon,lat,wkt\nP1,{c.x:.6f},{c.y:.6f},"{P1.wkt}"\nQ1,{Q1[0]:.6f},{Q1[1]:.6f},\n',
                    encoding="utf-8")
    got, table = verdicts(runner, tmp_path, path)
    assert got == {"P1": "prohibited", "Q1": "prohibited"}
    assert list(table.kind) == ["parcel", "point"]


def test_lonlat_that_disagree_with_the_wkt_are_refused(runner, tmp_path):
    line = refused(runner, tmp_path, BAD / "csv_lonlat_disagrees_with_wkt.csv")
    assert line == (f"ecozone: error: {BAD / 'csv_lonlat_disagrees_with_wkt.csv'}, row 2: lon/lat (121.745, 38.993) "
                    f"lie more than 0.001° outside the WKT geometry of the same row (1 such row); the columns "
                    f"disagree; delete the lon/lat columns or the WKT column, whichever is wrong, and check again")


def test_projected_wkt_with_degree_label_points(tmp_path):
    """WKT in EPSG:4550 metres beside lon/lat degrees (a GIS export's label point) is read, not refused."""
    x, y = samples.Q1
    lon, lat = Q1
    path = tmp_path / "gk.csv"
    path.write_text(f"id,lon,lat,wkt\nQ1,{lon:.6f},{lat:.6f},POINT ({x:.3f} {y:.3f})\n"
                    f"Q9,{lon + 0.01:.6f},{lat:.6f},POINT ({x:.3f} {y:.3f})\n", encoding="utf-8")
    with pytest.raises(SiteInputError, match=r"row 3: lon/lat .* lie more than 100 m outside the WKT"):
        read_sites(path, crs="EPSG:4550")
    path.write_text(f"id,lon,lat,wkt\nQ1,{lon:.6f},{lat:.6f},POINT ({x:.3f} {y:.3f})\n", encoding="utf-8")
    gdf = read_sites(path, crs="EPSG:4550")
    assert gdf.crs.to_epsg() == 4550 and gdf.geometry[0].equals_exact(shapely.Point(x, y), 1e-6)


# ----------------------------------------------------------------------------- closed lines are parcels


def _tiny_lonlat(coords):
    to_ll = pyproj.Transformer.from_crs(4550, 4326, always_xy=True)
    return [tuple(float(v) for v in to_ll.transform(x, y)) for x, y in coords]


def test_closed_wkt_linestring_is_a_parcel(runner, tmp_path, tiny):
    """A ring around zone A (prohibited) crosses only zone B (restricted): as a line it would pass."""
    ring = _tiny_lonlat([(X0 + 500, Y0 + 500), (X0 + 3500, Y0 + 500), (X0 + 3500, Y0 + 3500), (X0 + 500, Y0 + 3500),
                         (X0 + 500, Y0 + 500)])
    closed = shapely.LineString(ring).wkt
    opened = shapely.LineString(ring[:-1]).wkt
    path = tmp_path / "rings.csv"
    path.write_text(f'id,wkt\nRING,"{closed}"\nOPEN,"{opened}"\n', encoding="utf-8")
    got, table = verdicts(runner, tmp_path, path, "--layers", tiny.root)
    assert got == {"RING": "prohibited", "OPEN": "restricted"}
    assert list(table.kind) == ["parcel", "line"]
    inline = sites_from_inline(wkts=[closed, opened], project_type="T03")
    assert list(inline.kind) == ["parcel", "line"]


def test_multilinestring_with_closed_and_open_parts_warns(runner, tmp_path):
    got, table = verdicts(runner, tmp_path, BAD / "wkt_multiline_closed_and_open.csv",
                          warning="row(s) 2: MULTILINESTRING with closed and open parts checked as a line")
    assert got == {"P1": "prohibited"} and list(table.kind) == ["line"]


# ----------------------------------------------------------------------------- --coord-sys on every path


def test_inline_point_and_wkt_honour_coord_sys(runner, tmp_path):
    """Q2 picked on Gaode: converted it is Q2 (restricted); read as WGS84 it would land in the core."""
    g = gcj(*Q2)
    got, _ = verdicts(runner, tmp_path, "--point", f"{g[0]:.7f},{g[1]:.7f}", "--coord-sys", "gcj02")
    assert got == {"1": "restricted"}
    got, _ = verdicts(runner, tmp_path, "--wkt", f"POINT ({g[0]:.7f} {g[1]:.7f})", "--coord-sys", "gcj02")
    assert got == {"1": "restricted"}
    got, _ = verdicts(runner, tmp_path, "--point", f"{g[0]:.7f},{g[1]:.7f}")
    assert got == {"1": "prohibited"}  # the shift matters here
    q = gcj(*Q1)
    res, _, table = check(runner, tmp_path, "--point", f"{q[0]:.8f},{q[1]:.8f}", "--coord-sys", "gcj02",
                          out_name="out.geojson")
    assert res.exit_code == 0 and table.verdict.tolist() == ["prohibited"]
    assert table.geometry[0].distance(shapely.Point(Q1)) < 1e-6


def test_sites_from_inline_coord_sys():
    b = [float(v) for v in wgs84_to_bd09(*Q1)]
    sites = sites_from_inline([f"{b[0]},{b[1]}"], coord_sys="BD-09")
    assert sites.crs.to_epsg() == 4326 and sites.geometry[0].distance(shapely.Point(Q1)) < 1e-6
    assert sites_from_inline([f"{Q1[0]},{Q1[1]}"], coord_sys="cgcs2000").crs.to_epsg() == 4490
    with pytest.raises(SiteInputError, match="command line: unknown coordinate system 'mars'"):
        sites_from_inline([f"{Q1[0]},{Q1[1]}"], coord_sys="mars")
    with pytest.raises(SiteInputError, match="--coord-sys gcj02 applies to longitude/latitude"):
        sites_from_inline(wkts=["POINT (396193 4330291)"], crs="EPSG:4550", coord_sys="gcj02")


def _gcj_files(tmp_path) -> dict:
    """Q1 and Q2 in GCJ-02 in every lon/lat format."""
    pts = {k: gcj(*v) for k, v in (("Q1", Q1), ("Q2", Q2))}
    files = {}
    rows = "".join(f"{k},{lon:.8f},{lat:.8f}\n" for k, (lon, lat) in pts.items())
    files["csv"] = tmp_path / "p.csv"
    files["csv"].write_text("id,lon,lat\n" + rows, encoding="utf-8")
    files["wkt"] = tmp_path / "w.csv"
    files["wkt"].write_text("id,wkt\n" + "".join(f"{k},POINT ({lon:.8f} {lat:.8f})\n" for k, (lon, lat) in pts.items()),
                            encoding="utf-8")
    gdf = gpd.GeoDataFrame({"id": list(pts)}, geometry=[shapely.Point(p) for p in pts.values()], crs=4326)
    files["xlsx"] = tmp_path / "p.xlsx"
    pyogrio.write_dataframe(pd.DataFrame({"id": list(pts), "lon": [f"{p[0]:.8f}" for p in pts.values()],
                                          "lat": [f"{p[1]:.8f}" for p in pts.values()]}), files["xlsx"],
                            driver="XLSX", layer="sites")
    files["geojson"] = tmp_path / "p.geojson"
    pyogrio.write_dataframe(gdf, files["geojson"], layer_options={"COORDINATE_PRECISION": 9})
    files["kml"] = tmp_path / "p.kml"
    marks = "".join(f"<Placemark><name>{k}</name><Point><coordinates>{lon:.8f},{lat:.8f},0</coordinates></Point>"
                    f"</Placemark>" for k, (lon, lat) in pts.items())
    files["kml"].write_text(f'<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2">'
                            f"<Document>{marks}</Document></kml>", encoding="utf-8")
    files["txt"] = tmp_path / "p.txt"
    files["txt"].write_text("".join(f"{lon:.8f} {lat:.8f} {k}\n" for k, (lon, lat) in pts.items()), encoding="utf-8")
    return files


@pytest.mark.parametrize("fmt", ["csv", "wkt", "xlsx", "geojson", "kml", "txt"])
def test_every_lonlat_reader_honours_coord_sys(runner, tmp_path, fmt):
    path = _gcj_files(tmp_path)[fmt]
    res, _, table = check(runner, tmp_path, path, "--coord-sys", "gcj02")
    assert res.exit_code == 0, res.output
    names = table["name"] if fmt in ("kml", "txt") else table["site_id"]
    assert dict(zip(names, table.verdict)) == {"Q1": "prohibited", "Q2": "restricted"}


@pytest.mark.parametrize("name, args", [
    ("sites/jzd_gbk_cm123.txt", []),
    ("sites/parcels_gbk.shp", ["--encoding", "gbk"]),
    ("bad/wkt_survey_order.csv", ["--crs", "EPSG:4550"]),
    ("bad/mixed_prefix.csv", ["--crs", "EPSG:4550"]),
])
def test_coord_sys_on_projected_input_is_refused(runner, tmp_path, name, args):
    line = refused(runner, tmp_path, DATA / name, *args, "--coord-sys", "gcj02")
    assert line.startswith(f"ecozone: error: {DATA / name}: --coord-sys gcj02 applies to longitude/latitude, but "
                           f"these coordinates are projected")
    assert line.endswith("; leave out --coord-sys for projected metres")


# ----------------------------------------------------------------------------- projected and shifted WKT


def test_zone_prefixed_wkt_under_the_unprefixed_crs(runner, tmp_path):
    """``POINT (41396193 4330291)`` with --crs EPSG:4550 is zone 41 (EPSG:4529), not 'unknown'."""
    x, y = samples.Q1
    shell = shapely.Polygon([(a + 41e6, b) for a, b in samples.P1_SHELL])
    path = tmp_path / "prefixed.csv"
    path.write_text(f'id,wkt\nQ1,POINT ({x + 41e6:.3f} {y:.3f})\nP1,"{shell.wkt}"\n', encoding="utf-8")
    got, _ = verdicts(runner, tmp_path, path, "--crs", "EPSG:4550")
    assert got == {"Q1": "prohibited", "P1": "prohibited"}
    assert read_sites(path, crs="EPSG:4550").crs.to_epsg() == 4529
    line = refused(runner, tmp_path, path, "--crs", "EPSG:4549")
    assert "--crs EPSG:4549 has central meridian 120°E but the eastings carry zone 41" in line


def test_wkt_in_survey_order_is_swapped_with_a_warning(runner, tmp_path):
    got, table = verdicts(runner, tmp_path, BAD / "wkt_survey_order.csv", "--crs", "EPSG:4550",
                          warning="hold northing then easting (X = north, survey order)")
    assert got == {"P1": "prohibited"} and list(table.kind) == ["parcel"]


def test_wkt_in_metres_without_crs_is_refused_with_the_code(runner, tmp_path):
    line = refused(runner, tmp_path, BAD / "wkt_projected_no_crs.csv")
    assert line == (f"ecozone: error: {BAD / 'wkt_projected_no_crs.csv'}, row 2, column wkt: WKT (41396194.108, "
                    f"4330357.881) is not a longitude/latitude; these look like CGCS2000 Gauss-Krüger metres with zone "
                    f"prefix 41; give --crs EPSG:4529")


def test_gcj02_wkt_without_coord_sys_warns(runner, tmp_path):
    got, _ = verdicts(runner, tmp_path, BAD / "gaode_wkt.csv",
                      warning="the file name suggests GCJ-02 (Gaode/AMap/Tencent) coordinates; read as WGS84 — "
                              "give --coord-sys gcj02")
    assert got == {"P1": "prohibited", "Q1": "prohibited"}
    got, _ = verdicts(runner, tmp_path, BAD / "gaode_wkt.csv", "--coord-sys", "gcj02")
    assert got == {"P1": "prohibited", "Q1": "prohibited"}


# ----------------------------------------------------------------------------- 界址点 zone


@pytest.mark.parametrize("name, message", [
    ("jzd_negative_zone.txt", "带号=-41 is not a whole positive number; write the zone number, e.g. 带号=41 "
                              "(3-degree zones 25-45, 6-degree zones 13-23)"),
    ("jzd_zone_out_of_range.txt", "带号=99 is not a 3-degree CGCS2000 Gauss-Krüger zone; 3-degree zones are 25-45 "
                                  "and 6-degree zones 13-23 in China; correct 带号 (or 几度分带) in the file"),
])
def test_jzd_zone_must_be_a_zone(runner, tmp_path, name, message):
    assert refused(runner, tmp_path, BAD / name) == f"ecozone: error: {BAD / name}, row 9: {message}"


@pytest.mark.parametrize("zone, ok", [("41", True), ("第41带", True), ("41.0", True), ("-41", False), ("41.5", False),
                                      ("0", False), ("20", False), ("41 42", False)])
def test_jzd_zone_values(tmp_path, zone, ok):
    path = tmp_path / "z.txt"
    samples.write_lines(path, [ln.replace("带号=41", f"带号={zone}") for ln in samples.jzd_lines(samples.PLOTS[:1])])
    if ok:
        assert read_jzd(path).crs.to_epsg() == 4550
    else:
        with pytest.raises(SiteInputError, match=r"row 9: 带号="):
            read_jzd(path)


# ----------------------------------------------------------------------------- one column per role


@pytest.mark.parametrize("name, message", [
    ("duplicate_lon_columns.csv", "row 1: column 'lon' appears twice (columns 3 and 5); ecozone will not guess which "
                                  "one is meant; delete or rename one of them and check again"),
    ("duplicate_lon.xlsx", "row 1: column 'lon' appears twice (columns 2 and 4); ecozone will not guess which one is "
                           "meant; delete or rename one of them and check again"),
    ("lon_and_jingdu.csv", "row 1: columns lon and 经度 both give the longitude (经度); ecozone will not guess which "
                           "one is meant; keep one of them (delete or rename the others) and check again"),
    ("type_columns_disagree.csv", "row 2: columns type and 项目类型 both give the project type (项目类型) and differ "
                                  "('T12' and 'T03'); ecozone will not guess which one is meant; keep one of them "
                                  "(delete or rename the other) and check again"),
])
def test_two_columns_for_one_thing_are_refused(runner, tmp_path, name, message):
    assert refused(runner, tmp_path, BAD / name) == f"ecozone: error: {BAD / name}, {message}"


def test_agreeing_and_unused_repeated_columns_are_read(runner, tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text(f"id,lon,lat,type,项目类型,备注,备注\nQ1,{Q1[0]:.6f},{Q1[1]:.6f},T03,t03,a,b\n", encoding="utf-8")
    got, _ = verdicts(runner, tmp_path, path)
    assert got == {"Q1": "prohibited"}
    assert {"备注", "备注.1"} <= set(read_sites(path).columns)  # both kept


# ----------------------------------------------------------------------------- a GeoPackage in a zip


def test_layer_selects_a_layer_of_a_geopackage_in_a_zip(runner, tmp_path):
    z = BAD / "zip_gpkg_two_layers.zip"
    assert refused(runner, tmp_path, z) == (f"ecozone: error: {z}: the file has 2 layers (parcels, points); give "
                                            f"--layer with the one that holds the sites")
    got, table = verdicts(runner, tmp_path, z, "--layer", "parcels")
    assert got == {"P1": "prohibited"} and list(table.kind) == ["parcel"]
    got, _ = verdicts(runner, tmp_path, z, "--layer", "points")
    assert got == {"Q1": "prohibited"}
    assert refused(runner, tmp_path, z, "--layer", "nope") == (f"ecozone: error: {z}: no layer 'nope'; layers are "
                                                               f"parcels, points")
    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as zf:
        zf.write(z, "a.zip.gpkg")
        zf.write(DATA / "sites" / "clean_wgs84.geojson", "b.geojson")
    with pytest.raises(SiteInputError, match=r"no dataset 'nope' in the zip; give --layer with one of"):
        read_sites(two, layer="nope")


# ----------------------------------------------------------------------------- wide tables


def _wide(path: Path, n: int) -> Path:
    extra = [f"c{i}" for i in range(n - 3)]
    row = ",".join(["x"] * len(extra))
    path.write_text(",".join(["id", "lon", "lat", *extra]) + "\n"
                    + f"Q1,{Q1[0]:.6f},{Q1[1]:.6f},{row}\nQ4,{Q1[0] + 0.0005:.6f},{Q1[1]:.6f},{row}\n", encoding="utf-8")
    return path


def test_twenty_thousand_columns_are_refused_at_once(runner, tmp_path):
    path = _wide(tmp_path / "wide.csv", 20_000)
    t = time.perf_counter()
    line = refused(runner, tmp_path, path)
    assert time.perf_counter() - t < 5.0  # the header line is counted before anything is parsed
    assert line == (f"ecozone: error: {path}, row 1: the table has 20,000 columns; a sites table has at most 1,000; "
                    f"keep the id, name, type and coordinate columns (delete the others) and check again")


def test_nine_hundred_columns_are_read(runner, tmp_path):
    path = _wide(tmp_path / "wide.csv", 900)
    got, _ = verdicts(runner, tmp_path, path)
    assert got == {"Q1": "prohibited", "Q4": "prohibited"}
    sites = read_sites(path)
    assert sites.shape[1] == 8 + 897 and sites.columns[-1] == "c896"  # the site columns, geometry, then all others


def test_too_many_columns_in_the_corpus(runner, tmp_path):
    line = refused(runner, tmp_path, BAD / "too_many_columns.csv")
    assert "row 1: the table has 1,001 columns; a sites table has at most 1,000" in line


# ----------------------------------------------------------------------------- numbering


def test_sites_without_ids_are_numbered_from_one(runner, tmp_path):
    path = tmp_path / "noid.csv"
    path.write_text(f"lon,lat\n{Q1[0]:.6f},{Q1[1]:.6f}\n{Q2[0]:.6f},{Q2[1]:.6f}\n", encoding="utf-8")
    got, _ = verdicts(runner, tmp_path, path)
    assert got == {"1": "prohibited", "2": "restricted"}
    path.write_text(f"lon,lat\n{Q1[0]:.6f},{Q1[1]:.6f}\n{Q2[0]:.6f},abc\n", encoding="utf-8")
    assert ", row 3, column lat: 'abc' is not an angle" in refused(runner, tmp_path, path)  # rows stay file lines
    path.write_text(f"id,lon,lat\nA,{Q1[0]:.6f},{Q1[1]:.6f}\n,{Q2[0]:.6f},{Q2[1]:.6f}\n", encoding="utf-8")
    got, _ = verdicts(runner, tmp_path, path)
    assert got == {"A": "prohibited", "2": "restricted"}  # a blank id is the site's number


def test_decisive_columns_compare_as_the_check_reads_them(tmp_path):
    path = tmp_path / "nmp.csv"
    head = "id,lon,lat,nmp,国家重大项目,land_use,用地方式\n"
    path.write_text(head + f"Q1,{Q1[0]:.6f},{Q1[1]:.6f},true,是,cross,穿越\n", encoding="utf-8")
    assert read_sites(path).nmp.tolist() == [True]
    path.write_text(head + f"Q1,{Q1[0]:.6f},{Q1[1]:.6f},true,否,cross,穿越\n", encoding="utf-8")
    with pytest.raises(SiteInputError, match=r"row 2: columns nmp and 国家重大项目 both give the national-major-project"):
        read_sites(path)
    path.write_text(head + f"Q1,{Q1[0]:.6f},{Q1[1]:.6f},true,是,cross,\n", encoding="utf-8")
    with pytest.raises(SiteInputError, match=r"columns land_use and 用地方式 .* differ \('cross' and ''\)"):
        read_sites(path)
