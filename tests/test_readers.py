"""Site readers: every format a Chinese planner has gives the verdicts of the same site in clean WGS84.

Sample files are made by ``tests/data/make_samples.py`` (see ``tests/data/sites/README.md``).
"""
from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import re
import textwrap
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pyproj
import pytest
import shapely

from geo.cli.main import cli
from geo.sites.coords import (check_datum, datum_from_text, gk_crs, gk_info, gk_zone_prefix, guess_projected_hint,
                        parse_angle, parse_angles, resolve_projected, shift_hint)
from geo.errors import SiteInputError
from geo.errors import SiteInputWarning
from geo.sites.readers import READERS, reader_for
from geo.sites.readers.jzd import read_jzd, write_jzd_txt
from geo.sites.readers.table import read_table
from geo.sites.readers.vector import dbf_encoding
from geo.sites.read import read_sites

DATA = Path(__file__).parent / "data"
SITES = DATA / "sites"

_spec = importlib.util.spec_from_file_location("make_samples", DATA / "make_samples.py")
samples = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(samples)


def invoke(runner, argv):
    """Run the CLI as a user would: warnings become ``ecozone: warning:`` lines on stderr.

    (``geo.cli.main`` installs its own ``showwarning``, so ``pytest.warns`` cannot
    record warnings raised inside the CLI; the stderr line is what the user sees.)
    """
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        return runner.invoke(cli, argv)


def verdicts(runner, tmp_path, path, *args, expect_warning=None):
    """Run ``ecozone check`` and return {key: verdict}; key = the sample id a site stands for.

    ``expect_warning``: a regex the one ``ecozone: warning:`` line must match; None = no warning.
    """
    out = tmp_path / f"{Path(path).stem}-{len(args)}.csv"
    argv = ["check", str(path), "--type", "T03", "-o", str(out), *args]
    res = invoke(runner, argv)
    assert res.exit_code == 0, res.output
    warned = [line for line in res.stderr.splitlines() if line.startswith("ecozone: warning:")]
    if expect_warning:
        assert len(warned) == 1 and re.search(expect_warning, warned[0]), res.stderr
    else:
        assert not warned, res.stderr
    df = pd.read_csv(out, dtype=str, encoding="utf-8-sig")
    keys = []
    for sid, name, kind in zip(df.site_id, df.name.fillna(""), df.kind):
        if sid in samples.EXPECTED_T03:
            keys.append(sid)
        elif name in samples.EXPECTED_T03:
            keys.append(name)
        else:  # the DXF's unlabelled line and point
            keys.append({"line": "L1", "point": "Q1"}[kind])
    return dict(zip(keys, df.verdict))


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    from click.testing import CliRunner

    got = verdicts(CliRunner(), tmp_path_factory.mktemp("clean"), SITES / "clean_wgs84.geojson")
    assert got == samples.EXPECTED_T03  # prohibited, restricted and allowed sites, as designed
    return got


def test_samples_are_what_make_samples_writes(tmp_path, monkeypatch):
    """The committed samples match the scripts (text files byte for byte).

    The bad corpus is made by make_samples.py and by the ``make(bad_dir)`` of
    each ``tests/data/bad_*.py`` (hostile files of one reader or theme).
    """
    monkeypatch.setattr(samples, "SITES", tmp_path / "sites")
    monkeypatch.setattr(samples, "BAD", tmp_path / "bad")
    samples.make_sites()
    samples.make_bad()  # with the make(bad_dir) of each tests/data/bad_*.py
    for folder in ("sites", "bad"):
        made = {p.name for p in (tmp_path / folder).iterdir()}
        committed = {p.name for p in (DATA / folder).iterdir() if p.name != "README.md"}
        assert made == committed
        for name in made:
            if Path(name).suffix in (".txt", ".csv", ".kml", ".geojson"):  # DXF, GPKG, XLSX carry write times
                assert (tmp_path / folder / name).read_bytes() == (DATA / folder / name).read_bytes(), name


# ----------------------------------------------------------------------------- the done criterion

EQUIVALENT = [
    ("jzd_gbk_cm123.txt", [], None),                       # 界址点 TXT, GBK, 带号=41, 6-digit Y (EPSG:4550)
    ("jzd_utf8_zone41.txt", [], None),                     # UTF-8 BOM, 8-digit Y (EPSG:4529), variant header
    ("parcels_gbk.shp", [], "no .cpg.*GBK"),               # GBK shapefile without .cpg (detected, warned)
    ("parcels_gbk.shp", ["--encoding", "gbk"], None),      # ... or told
    ("drawing_cm123.dxf", ["--crs", "EPSG:4550"], None),   # CAD: closed -> parcels, open -> line, POINT
    ("drawing_cm123.dxf", ["--crs", "EPSG:4529"], None),   # prefixed code of the same zone: same result
    ("ovital_gcj02.kml", ["--coord-sys", "gcj02"], None),  # 奥维 KML in GCJ-02
    ("points_dms.csv", [], None),                          # 121°45′30.500″E
    ("points_dm.xlsx", [], None),                          # 121°48.000′E in a spreadsheet
    ("points_ddd_mmss.csv", ["--ddd-mmss"], None),         # 121.4530
    ("points_bd09_gbk.csv", ["--coord-sys", "bd09"], None),  # Baidu, GBK
    ("points_gcj02.csv", ["--coord-sys", "gcj02"], None),  # Gaode
    ("points_ovital.txt", [], None),                       # 奥维 TXT, rows flagged g (GCJ-02)
]


@pytest.mark.parametrize("name, args, warning", EQUIVALENT, ids=[f"{n}{' '.join(a)}" for n, a, _ in EQUIVALENT])
def test_each_format_gives_the_clean_verdicts(runner, tmp_path, clean, name, args, warning):
    got = verdicts(runner, tmp_path, SITES / name, *args, expect_warning=warning)
    assert got, "no sites read"
    assert got == {k: clean[k] for k in got}


def test_ovkml_is_gcj02_by_default(runner, tmp_path, clean):
    src = tmp_path / "收藏.ovkml"
    shutil.copy(SITES / "ovital_gcj02.kml", src)
    got = verdicts(runner, tmp_path, src)
    assert got == {k: clean[k] for k in got}


def test_shifted_input_read_as_wgs84_gives_other_verdicts_and_a_warning(runner, tmp_path, clean):
    """Why --coord-sys matters: GCJ-02 read as WGS84 moves P2, L1 and Q2 ~450 m into the core."""
    got = verdicts(runner, tmp_path, SITES / "ovital_gcj02.kml", expect_warning="奥维.*--coord-sys gcj02")
    wrong = {k for k in got if got[k] != clean[k]}
    assert wrong == {"P2", "L1", "Q2"}
    got = verdicts(runner, tmp_path, SITES / "points_gcj02.csv", expect_warning="GCJ-02")  # file name says gcj02
    assert got["Q2"] != clean["Q2"]


# ----------------------------------------------------------------------------- 界址点 TXT


def _jzd(tmp_path, body: str, *, header=None, encoding="gbk", name="t.txt") -> Path:
    head = header if header is not None else "\n".join(samples.JZD_HEADER[:-1])
    text = f"{head}\n[地块坐标]\n{textwrap.dedent(body).strip()}\n" if head else textwrap.dedent(body).strip() + "\n"
    path = tmp_path / name
    path.write_bytes(text.replace("\n", "\r\n").encode(encoding))
    return path


def test_jzd_sample_reads_with_hole_zone_and_areas():
    gdf = read_jzd(SITES / "jzd_gbk_cm123.txt")
    assert gdf.crs.to_epsg() == 4550
    assert list(gdf.site_id) == ["P1", "P2", "P3"]
    assert gdf.name[0] == "一号地块（工业用地）" and gdf.jzd_use[1] == "仓储用地"
    p1 = gdf.geometry[0]
    assert p1.geom_type == "Polygon" and len(p1.interiors) == 1
    assert shapely.equals_exact(p1, samples.GEOMS_GK["P1"].normalize(), 1e-3) or p1.normalize().equals_exact(
        samples.GEOMS_GK["P1"].normalize(), 1e-3)
    assert gdf.area_ha[0] == pytest.approx(gdf.jzd_area_ha[0], abs=1e-4)
    assert list(gdf["_row"]) == [13, 26, 32]  # header lines, for messages


def test_jzd_prefixed_sample_is_the_same_parcels():
    a = read_jzd(SITES / "jzd_gbk_cm123.txt").to_crs(4550)
    b = read_jzd(SITES / "jzd_utf8_zone41.txt")
    assert b.crs.to_epsg() == 4529
    b = b.to_crs(4550)
    for ga, gb in zip(a.geometry, b.geometry):
        assert shapely.hausdorff_distance(ga, gb) < 1e-6


def test_jzd_rings_by_number_reset_two_shells_and_unclosed(tmp_path):
    # all 圈号 1: the second ring starts after the first closes and lies inside it -> a hole;
    # a third ring outside -> a second part; an unclosed ring is closed
    x, y = 4330000.0, 396000.0
    body = f"""
        12,0,A,飞地,面,,,,@
        J1,1,{x},{y}
        J2,1,{x},{y + 100}
        J3,1,{x + 100},{y + 100}
        J4,1,{x + 100},{y}
        J1,1,{x},{y}
        J5,1,{x + 40},{y + 40}
        J6,1,{x + 40},{y + 60}
        J7,1,{x + 60},{y + 60}
        J5,1,{x + 40},{y + 40}
        J8,2,{x + 500},{y + 500}
        J9,2,{x + 500},{y + 550}
        J10,2,{x + 550},{y + 550}
        """
    gdf = read_jzd(_jzd(tmp_path, body))
    g = gdf.geometry[0]
    assert g.geom_type == "MultiPolygon" and len(g.geoms) == 2
    assert len(g.geoms[0].interiors) == 1
    assert g.area == pytest.approx(100 * 100 - 200 + 0.5 * 50 * 50)


def test_jzd_tolerant_syntax(tmp_path):
    """Full-width commas, spaces, tabs, trailing commas, no J, a 10-field header with 描述."""
    x, y = 4330000.0, 396000.0
    body = f"""
        4，0.25,1,地块，甲,面,K51,工业,0601,说明,@
        1\t1\t{x}\t{y}
        2 1 {x} {y + 100}
        3,1,{x + 50},{y + 100},
        1,1,{x},{y}
        """
    gdf = read_jzd(_jzd(tmp_path, body, encoding="utf-8"))
    assert gdf.name[0] == "地块,甲" or gdf.name[0] == "地块，甲"
    assert gdf.jzd_land_code[0] == "0601" and gdf.jzd_sheet[0] == "K51"
    assert gdf.area_ha[0] == pytest.approx(0.25)


def test_jzd_lines_and_points(tmp_path):
    x, y = 4330000.0, 396000.0
    body = f"""
        3,,L,道路,线,,,,@
        J1,1,{x},{y}
        J2,1,{x + 100},{y + 50}
        J3,1,{x + 200},{y}
        2,,W,水井,点,,,,@
        J1,1,{x},{y}
        J2,1,{x + 10},{y}
        """
    gdf = read_jzd(_jzd(tmp_path, body))
    assert list(gdf.geometry.geom_type) == ["LineString", "MultiPoint"]


def test_jzd_six_degree_zone(tmp_path):
    header = "[属性描述]\n坐标系=2000国家大地坐标系\n几度分带=6\n带号=21\n计量单位=米"
    e, n = pyproj.Transformer.from_crs(4326, 4510, always_xy=True).transform(121.8, 39.1)
    body = f"3,,A,,面,,,,@\nJ1,1,{n:.3f},{e:.3f}\nJ2,1,{n:.3f},{e + 100:.3f}\nJ3,1,{n + 100:.3f},{e:.3f}\n"
    gdf = read_jzd(_jzd(tmp_path, body, header=header))
    assert gdf.crs.to_epsg() == 4510  # CGCS2000 / Gauss-Kruger CM 123E
    lon, lat = gdf.to_crs(4326).geometry[0].exterior.coords[0]
    assert (lon, lat) == pytest.approx((121.8, 39.1), abs=1e-7)


def test_jzd_in_degrees_and_ddd_mmss(tmp_path):
    header = "[属性描述]\n坐标系=2000国家大地坐标系\n计量单位=度"
    body = "3,,A,,面,,,,@\nJ1,1,39.1,121.8\nJ2,1,39.1,121.801\nJ3,1,39.101,121.8\n"
    gdf = read_jzd(_jzd(tmp_path, body, header=header))
    assert gdf.crs.to_epsg() == 4490
    assert gdf.geometry[0].exterior.coords[0] == pytest.approx((121.8, 39.1))
    header = "[属性描述]\n坐标系=2000国家大地坐标系\n计量单位=度分秒"
    body = "3,,A,,面,,,,@\nJ1,1,39.0600,121.4800\nJ2,1,39.0600,121.4803\nJ3,1,39.0603,121.4800\n"
    gdf = read_jzd(_jzd(tmp_path, body, header=header))
    assert gdf.geometry[0].exterior.coords[0] == pytest.approx((121.8, 39.1))
    assert gdf.geometry[0].exterior.coords[1] == pytest.approx((121.8 + 3 / 3600, 39.1))


def test_jzd_zone_cross_checks(tmp_path):
    body = "\n".join(samples.jzd_lines(samples.PLOTS[:1], prefix=41)[12:])
    head = "\n".join(samples.JZD_HEADER[:-1])
    # --crs with the same central meridian but without prefix: the prefixed code is used
    path = _jzd(tmp_path, body, header=head)
    assert read_jzd(path, crs="EPSG:4550").crs.to_epsg() == 4529
    with pytest.raises(SiteInputError, match="central meridian 120°E"):
        read_jzd(path, crs="EPSG:4549")
    # 6-digit Y with a prefixed --crs: the unprefixed code of the same zone
    body6 = "\n".join(samples.jzd_lines(samples.PLOTS[:1])[12:])
    path6 = _jzd(tmp_path, body6, header="[属性描述]\n坐标系=2000国家大地坐标系", name="six.txt")
    assert read_jzd(path6, crs="EPSG:4529").crs.to_epsg() == 4550
    # 几度分带=6 contradicts a 3-degree prefix
    path = _jzd(tmp_path, body, header=head.replace("几度分带=3", "几度分带=6"), name="band.txt")
    with pytest.raises(SiteInputError, match="3-degree zone"):
        read_jzd(path)


def test_jzd_legacy_datum_with_explicit_crs_warns(tmp_path):
    src = (DATA / "bad" / "jzd_xian80.txt")
    with pytest.warns(SiteInputWarning, match="1980西安坐标系"):
        gdf = read_jzd(src, crs="EPSG:4550")
    assert gdf.crs.to_epsg() == 4550


def test_jzd_count_conventions(tmp_path):
    """界址点数 with or without closing points both pass; a wrong count on closed rings warns."""
    for closing in (True, False):
        lines = samples.jzd_lines(samples.PLOTS, count_closing=closing)
        path = tmp_path / f"c{closing}.txt"
        samples.write_lines(path, lines)
        read_jzd(path)  # no warning (filterwarnings=error)
    lines = samples.jzd_lines(samples.PLOTS[1:2])
    lines[12] = "9" + lines[12][1:]
    path = tmp_path / "count.txt"
    samples.write_lines(path, lines)
    with pytest.warns(SiteInputWarning, match=r"界址点数 differs .* P2 \(界址点数 9, found 5\)"):
        read_jzd(path)


def test_jzd_area_in_square_metres_passes(tmp_path):
    lines = samples.jzd_lines(samples.PLOTS[1:2])
    parts = lines[12].split(",")
    parts[1] = f"{samples.GEOMS_GK['P2'].area:.2f}"
    lines[12] = ",".join(parts)
    path = tmp_path / "m2.txt"
    samples.write_lines(path, lines)
    read_jzd(path)


def test_jzd_header_without_coordinate_system_warns(tmp_path):
    body = "\n".join(samples.jzd_lines(samples.PLOTS[:1], prefix=41)[12:])
    with pytest.warns(SiteInputWarning, match="no 坐标系"):
        gdf = read_jzd(_jzd(tmp_path, body, header=""))
    assert gdf.crs.to_epsg() == 4529


def test_txt_dispatch(tmp_path):
    reader, offset = reader_for(Path("x.TXT"))
    assert reader.__name__ == "read_txt" and offset == 1
    pts = tmp_path / "p.txt"
    from geo.crs import wgs84_to_bd09

    blon, blat = (float(v) for v in wgs84_to_bd09(121.8, 39.1))
    pts.write_text(f"名称 经度 纬度\n站址A 121°48′00″E 39°06′00″N\nb {blon:.7f} {blat:.7f} 百度点\n", encoding="utf-8")
    gdf = read_sites(pts)
    assert list(gdf.name) == ["站址A", "百度点"]
    assert gdf.geometry[1].distance(shapely.Point(121.8, 39.1)) < 1e-6  # the b row was BD-09


# ----------------------------------------------------------------------------- writing 界址点 TXT


def test_write_jzd_round_trip(tmp_path):
    sites = samples.sites_wgs84(["P1", "P2", "L1", "Q1"])
    path = write_jzd_txt(sites, tmp_path / "out.txt")
    raw = path.read_bytes()
    assert b"\r\n" in raw and "带号=41".encode("gbk") in raw and "一号地块".encode("gbk") in raw
    text = raw.decode("gbk")
    assert text.splitlines()[11] == "[地块坐标]"
    back = read_jzd(path)
    assert back.crs.to_epsg() == 4529  # prefix by default
    assert list(back.site_id) == ["P1", "P2", "L1", "Q1"]
    assert list(back.name) == [samples.NAMES[i] for i in back.site_id]
    for sid, geom in zip(back.site_id, back.to_crs(4550).geometry):
        assert shapely.hausdorff_distance(geom, samples.GEOMS_GK[sid]) < 1e-3
    # the header line of P1: count includes the closing points, area in ha with 4 decimals
    first = next(line for line in text.splitlines() if line.endswith("@"))
    assert re.match(r"12,4\.168\d,P1,", first)
    assert "J1,2," not in text and "J7,2," in text and "J1,1," in text  # numbering goes on over the hole


def test_write_jzd_without_prefix_verdicts_and_zones(tmp_path, jinpu):
    from geo.check.engine import check_sites

    sites = read_sites(SITES / "jzd_gbk_cm123.txt", project_type="T03")
    result = check_sites(sites, jinpu)
    path = write_jzd_txt(result.sites, tmp_path / "checked.txt", prefix=False, encoding="utf-8")
    back = read_jzd(path)
    assert back.crs.to_epsg() == 4550
    assert list(back.jzd_use) == list(result.sites.verdict)  # 地块用途 carries the verdict
    # a zoning layer goes out and comes back with the same areas (no warnings)
    cores = jinpu.layer("eco_cores") if hasattr(jinpu, "layer") else jinpu.layers["eco_cores"]
    path = write_jzd_txt(cores, tmp_path / "cores.txt", id_column="zone_id", name_column="name_zh")
    back = read_jzd(path)
    assert len(back) == len(cores)
    assert np.allclose(back.to_crs(4550).area, cores.to_crs(4550).area, rtol=1e-6)


# ----------------------------------------------------------------------------- vector files


def test_gbk_shapefile_names_and_zip(tmp_path):
    with pytest.warns(SiteInputWarning, match="read as GBK"):
        gdf = read_sites(SITES / "parcels_gbk.shp")
    assert list(gdf.name) == [samples.NAMES[i] for i in ("P1", "P2", "P3")]
    z = tmp_path / "地块.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for part in SITES.glob("parcels_gbk.*"):
            zf.write(part, f"成果/{part.name}")
    with pytest.warns(SiteInputWarning, match="read as GBK"):
        gdf = read_sites(z)
    assert list(gdf.site_id) == ["P1", "P2", "P3"] and gdf.name[1] == "二号地块"


def test_dbf_encoding_detection():
    assert dbf_encoding((SITES / "parcels_gbk.dbf").read_bytes()) == "gbk"
    assert dbf_encoding(b"") is None and dbf_encoding(b"\x03" + b"\x00" * 40) is None


def test_zip_with_two_datasets_needs_layer(tmp_path):
    z = tmp_path / "two.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(SITES / "clean_wgs84.geojson", "a.geojson")
        zf.write(SITES / "clean_wgs84.geojson", "b.geojson")
    with pytest.raises(SiteInputError, match="2 datasets"):
        read_sites(z)
    assert len(read_sites(z, layer="b")) == 7


def test_gpkg_layer_and_kml_folders(tmp_path):
    gp = DATA / "bad" / "two_layers.gpkg"
    assert list(read_sites(gp, layer="sites_b").site_id) == ["Q3"]
    with pytest.raises(SiteInputError, match="no layer 'nope'"):
        read_sites(gp, layer="nope")
    kml = tmp_path / "folders.kml"
    pts = {k: samples.lonlat(samples.GEOMS_GK[k].coords[0]) for k in ("Q1", "Q3")}
    folders = "".join(f"<Folder><name>{k}夹</name><Placemark><name>{k}</name><Point><coordinates>{lon},{lat}"
                      f"</coordinates></Point></Placemark></Folder>" for k, (lon, lat) in pts.items())
    kml.write_text(f'<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
                   f"{folders}</Document></kml>", encoding="utf-8")
    gdf = read_sites(kml)
    assert sorted(gdf.name) == ["Q1", "Q3"] and set(gdf.kml_folder) == {"Q1夹", "Q3夹"}


def test_shapefile_prj_in_beijing54_is_refused(tmp_path):
    gdf = samples.sites_gk(["P1"]).set_crs(2431, allow_override=True)  # Beijing 1954 / 3-degree GK CM 102E
    pyogrio.write_dataframe(gdf, tmp_path / "bj54.shp")
    with pytest.raises(SiteInputError, match="Beijing 1954"):
        read_sites(tmp_path / "bj54.shp")


# ----------------------------------------------------------------------------- tables


def test_csv_encodings(tmp_path, clean):
    rows = [("Q1", "一号点位", *samples.lonlat(samples.Q1)), ("Q3", "三号点位", *samples.lonlat(samples.Q3))]
    text = "编号,名称,经度,纬度\n" + "".join(f"{a},{b},{c:.7f},{d:.7f}\n" for a, b, c, d in rows)
    for enc, data in (("gbk", text.encode("gbk")), ("bom", b"\xef\xbb\xbf" + text.encode("utf-8")),
                      ("utf16", text.replace(",", "\t").encode("utf-16"))):
        path = tmp_path / f"{enc}.csv"
        path.write_bytes(data)
        gdf = read_sites(path)
        assert list(gdf.name) == ["一号点位", "三号点位"], enc
    with pytest.raises(SiteInputError, match="not valid utf-8"):
        read_sites(tmp_path / "gbk.csv", encoding="utf-8")
    with pytest.raises(SiteInputError, match="unknown text encoding"):
        read_sites(tmp_path / "gbk.csv", encoding="klingon")


def test_csv_survey_order_and_zone_prefix(tmp_path):
    x, y = samples.Q1
    path = tmp_path / "survey.csv"
    path.write_text(f"点号,X,Y\nQ1,{y:.3f},{x + 41e6:.3f}\n", encoding="utf-8")  # X = north, 8-digit Y
    with pytest.warns(SiteInputWarning, match="survey order"):
        gdf = read_sites(path, crs="EPSG:4550")
    assert gdf.crs.to_epsg() == 4529
    assert gdf.to_crs(4550).geometry[0].distance(shapely.Point(samples.Q1)) < 1e-6


def test_csv_column_names_that_say_gcj02_warn(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("id,gcj_lng,gcj_lat\nQ1,121.805,39.101\n", encoding="utf-8")
    with pytest.warns(SiteInputWarning, match="--coord-sys gcj02"):
        read_sites(path)
    gdf = read_sites(path, coord_sys="gcj02")
    assert gdf.geometry[0].x < 121.805


def test_csv_wkt_shifted(tmp_path):
    path = tmp_path / "w.csv"
    path.write_text('id,wkt\nA,"POLYGON ((121.80 39.10, 121.81 39.10, 121.81 39.11, 121.80 39.10))"\n', encoding="utf-8")
    gdf = read_sites(path, coord_sys="bd09")
    assert gdf.geometry[0].bounds[0] < 121.80 - 0.005


def test_coord_sys_on_projected_input_is_an_error():
    with pytest.raises(SiteInputError, match="applies to longitude/latitude"):
        read_sites(SITES / "jzd_gbk_cm123.txt", coord_sys="gcj02")
    with pytest.raises(SiteInputError, match="unknown coordinate system"):
        read_sites(SITES / "points_dms.csv", coord_sys="mars")


def test_registry():
    for ext in (".txt", ".dxf", ".xlsx", ".ovkml", ".csv", ".shp"):
        assert ext in READERS
    with pytest.raises(SiteInputError, match="DXF"):
        reader_for(Path("a.dwg"))


# ----------------------------------------------------------------------------- DXF


def test_dxf_reads_kinds_labels_and_layers():
    gdf = read_sites(SITES / "drawing_cm123.dxf", crs="EPSG:4550")
    assert list(gdf.kind) == ["parcel", "parcel", "line", "point"]
    assert list(gdf.name[:2]) == ["P2", "P3"] and list(gdf.dxf_layer[:2]) == ["红线", "红线"]
    only = read_sites(SITES / "drawing_cm123.dxf", crs="EPSG:4550", layer="道路")
    assert list(only.kind) == ["line"]


def test_dxf_survey_order_bulge_and_prefix(tmp_path):
    import ezdxf

    doc = ezdxf.new("R2000")
    msp = doc.modelspace()
    x, y = samples.Q1
    # survey order (x = north) with 8-digit eastings, and an arc segment
    pts = [(y, x + 41e6, 0), (y, x + 41e6 + 100, 0.5), (y + 100, x + 41e6 + 100, 0), (y + 100, x + 41e6, 0)]
    msp.add_lwpolyline(pts, format="xyb", close=True)
    doc.saveas(tmp_path / "survey.dxf")
    with pytest.warns(SiteInputWarning, match="survey order"):
        gdf = read_sites(tmp_path / "survey.dxf", crs="EPSG:4550")
    assert gdf.crs.to_epsg() == 4529
    g = gdf.to_crs(4550).geometry[0]
    assert abs(g.area - 100 * 100) > 500 and len(g.exterior.coords) > 8  # the bulge became an arc
    assert g.bounds[0] == pytest.approx(x, abs=1e-6)


# ----------------------------------------------------------------------------- coords


@pytest.mark.parametrize("text, expected", [
    ("121.7584", 121.7584), ("121°45'30.5\"E", 121 + 45 / 60 + 30.5 / 3600), ("东经121度45分30.5秒", 121.758472222),
    ("121°45′30.5″", 121.758472222), ("39 6 0 N", 39.1), ("N39°06′", 39.1), ("39°6'S", -39.1), ("W10°", -10.0),
    ("121°45.5'", 121.758333333), ("-121.5", -121.5), ("  ", None), ("121d45m30s", 121.758333333),
])
def test_parse_angle(text, expected):
    got = parse_angle(text)
    assert (np.isnan(got) if expected is None else got == pytest.approx(expected, abs=1e-9))


@pytest.mark.parametrize("text, match", [("121°75'", "below 60"), ("abc", "not an angle"),
                                         ("121.5°30'", "fraction"), ("N39E", "two hemisphere"),
                                         ("121°45.5'30\"", "fraction")])
def test_parse_angle_errors(text, match):
    with pytest.raises(SiteInputError, match=match):
        parse_angle(text)


def test_parse_angle_axis_and_ddd_mmss():
    with pytest.raises(SiteInputError, match="swapped"):
        parse_angle("39°N", axis="lon")
    assert parse_angle("121.4530", ddd_mmss=True) == pytest.approx(121 + 45 / 60 + 30 / 3600)
    assert parse_angle("121.45305", ddd_mmss=True) == pytest.approx(121 + 45 / 60 + 30.5 / 3600)
    assert parse_angle("121.45", ddd_mmss=True) == pytest.approx(121.75)
    with pytest.raises(SiteInputError, match="not ddd.mmss"):
        parse_angle("121.6530", ddd_mmss=True)
    got = parse_angles(["121.4530", "", "121°45′30″E"], ddd_mmss=True)
    assert got[0] == pytest.approx(got[2]) and np.isnan(got[1])
    with pytest.raises(SiteInputError) as info:
        parse_angles(["121.5", "x"])
    assert info.value.row == 1


def test_gk_helpers():
    assert list(gk_zone_prefix([41396193.2, 396193.2, 12345678.0, np.nan])) == [41, 0, -1, 0]
    assert gk_crs(41, prefix=True).to_epsg() == 4529 and gk_crs(21, band=6, prefix=False).to_epsg() == 4510
    assert gk_info("EPSG:4550") == (3, 41, False) and gk_info("EPSG:4326") is None
    with pytest.raises(SiteInputError, match="not a CGCS2000 3-degree zone"):
        gk_crs(50, prefix=True)
    assert "EPSG:4529" in guess_projected_hint(41396193.2, 4330291.3)
    assert "survey order" in guess_projected_hint(4330291.3, 41396193.2)


def test_resolve_projected():
    e, n = np.array([396193.0, 396293.0]), np.array([4330291.0, 4330391.0])
    r = resolve_projected(e, n, zone=41)
    assert r.crs.to_epsg() == 4550 and not r.swapped
    r = resolve_projected(n, e, zone=41)
    assert r.swapped and r.notes and np.array_equal(r.east, e)
    r = resolve_projected(e + 41e6, n, zone=40)
    assert r.crs.to_epsg() == 4529 and "带号=40" in r.notes[0]
    r = resolve_projected(e, n, crs="EPSG:32651")  # UTM: the user's CRS as given
    assert r.crs.to_epsg() == 32651
    with pytest.raises(SiteInputError, match="swapped in some rows"):
        resolve_projected(np.array([396193.0, 4330391.0]), np.array([4330291.0, 396293.0]))
    with pytest.raises(SiteInputError, match="no zone prefix"):
        resolve_projected(e, n)


def test_datums():
    assert datum_from_text("2000国家大地坐标系") == "cgcs2000"
    assert datum_from_text("80国家大地坐标系") == "xian80"
    assert datum_from_text("1954年北京坐标系") == "beijing54"
    assert datum_from_text("WGS-84") == "wgs84" and datum_from_text("") is None
    assert datum_from_text("大连独立坐标系") == "unknown"
    with pytest.raises(SiteInputError, match="Xi'an 1980"):
        check_datum("EPSG:2379")
    with pytest.raises(SiteInputError, match="Beijing 1954"):
        check_datum("EPSG:4214")
    check_datum("EPSG:4550")
    bound = pyproj.CRS.from_proj4("+proj=tmerc +lat_0=0 +lon_0=123 +k=1 +x_0=500000 +y_0=0 +ellps=krass "
                                  "+towgs84=15.8,-154.4,-82.3,0,0,0,0 +units=m +no_defs")
    check_datum(bound)  # parameters given: accepted


def test_shift_hint():
    assert shift_hint("百度坐标.csv")[0] == "bd09"
    assert shift_hint(None, "<!-- 由奥维互动地图导出 -->")[0] == "gcj02"
    assert shift_hint("sites.kml", "<kml>") is None


# ----------------------------------------------------------------------------- a file too large for memory

BIG_SCRIPT = r"""
import resource, sys, time
import numpy as np
n, path = int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(1)
lon, lat = rng.uniform(121.5, 122.2, n), rng.uniform(38.95, 39.45, n)
with open(path, "w") as f:
    f.write("id,name,lon,lat,type\n")
    for i in range(0, n, 200_000):
        f.write("".join(f"S{k},site {k},{lon[k]:.6f},{lat[k]:.6f},T03\n" for k in range(i, min(n, i + 200_000))))
import geo.sites.read
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
sites = geo.sites.read.read_sites(path)
took = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(len(sites), (peak - base) * 1024, took)
"""


def test_million_row_csv_in_bounded_memory(tmp_path):
    """10^6 rows (43 MB) are read in chunks of 200 000: peak memory grows by ~650 B a row.

    Measured on this machine: +~640 MB peak RSS (240 B of it is each shapely point,
    the floor for a GeoDataFrame) in ~5 s. The text is never held whole.
    """
    path = tmp_path / "big.csv"
    proc = subprocess.run([sys.executable, "-c", BIG_SCRIPT, "1000000", str(path)], capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).parents[1])
    assert proc.returncode == 0, proc.stderr
    n, grew, took = proc.stdout.split()
    per_row = float(grew) / int(n)
    print(f"10^6 rows: peak +{float(grew) / 2**20:.0f} MB ({per_row:.0f} B/row), {float(took):.1f} s")
    assert int(n) == 1_000_000
    assert per_row < 1000  # bound: under 1 kB a row, whatever the width of the text
    assert path.stat().st_size > 40 * 2**20


def test_too_large_for_free_memory_stops_before_reading(tmp_path, monkeypatch):
    import geo.sites.readers.table as table

    path = tmp_path / "many.csv"
    path.write_text("id,lon,lat\n" + "".join(f"S{i},121.8,39.1\n" for i in range(50_000)), encoding="utf-8")
    monkeypatch.setattr(table, "_available_memory", lambda: 4 * 2**20)
    with pytest.raises(SiteInputError, match="split the file into parts of at most"):
        read_sites(path)


def test_chunked_reading_keeps_row_numbers(tmp_path):
    path = tmp_path / "rows.csv"
    rows = [f"S{i},121.8,39.1" for i in range(25)]
    rows[21] = "S21,121.8,abc"
    path.write_text("id,lon,lat\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(SiteInputError, match=r"row 23, column lat: 'abc' is not an angle"):
        read_table(path, chunk_rows=7)
    rows[21] = "S21,121.8,39.1"
    path.write_text("id,lon,lat\n" + "\n".join(rows) + "\n", encoding="utf-8")
    assert len(read_table(path, chunk_rows=7)) == 25


def test_dxf_in_degrees_with_coord_sys(tmp_path):
    import ezdxf

    from geo.crs import wgs84_to_gcj02

    doc = ezdxf.new("R2010")
    lon, lat = (float(v) for v in wgs84_to_gcj02(121.8, 39.1))
    doc.modelspace().add_point((lon, lat))
    doc.saveas(tmp_path / "deg.dxf")
    gdf = read_sites(tmp_path / "deg.dxf", crs="EPSG:4490", coord_sys="gcj02")
    assert gdf.crs.to_epsg() == 4326
    assert gdf.geometry[0].distance(shapely.Point(121.8, 39.1)) < 1e-8
    with pytest.raises(SiteInputError, match="applies to longitude/latitude"):
        read_sites(SITES / "drawing_cm123.dxf", crs="EPSG:4550", coord_sys="bd09")


def test_a_geoparquet_dataset_reads_its_parts_in_name_order_and_numbers_rows_across_them(tmp_path):
    import geopandas as gpd

    folder = tmp_path / "parts"
    folder.mkdir()
    ids = [["A", "B"], ["C", "D", "E"], ["F", "B"]]
    for k in reversed(range(len(ids))):  # written last part first: name order, not writing order, decides
        gpd.GeoDataFrame({"id": ids[k], "type": "T03"}, geometry=[shapely.Point(121.8, 39.1)] * len(ids[k]),
                         crs=4490).to_parquet(folder / f"part-{k:02d}.parquet")
    (folder / "_SUCCESS").write_text("")  # a writer's marker: left out without a word
    with pytest.raises(SiteInputError, match=r"parts, row 7: site id 'B' is used more than once \(also row 2"):
        read_sites(folder)
    (folder / "part-02.parquet").unlink()
    gdf = read_sites(folder)
    (folder / ".part-99.parquet").write_text("a hidden leftover is not a part")
    with pytest.warns(SiteInputWarning, match=r"1 个文件未读取 / file\(s\) not read .*: \.part-99\.parquet$"):
        assert list(read_sites(folder)["site_id"]) == list(gdf["site_id"])
    (folder / ".part-99.parquet").unlink()
    (folder / "more_sites.csv").write_text("id,lon,lat\nX,121.8,39.1\n")  # another file among the parts: refused
    with pytest.raises(SiteInputError, match="more_sites.csv"):
        read_sites(folder)
    (folder / "more_sites.csv").unlink()
    assert list(gdf["site_id"]) == ["A", "B", "C", "D", "E"] and gdf.crs.to_epsg() == 4490
    assert list(read_sites(folder.as_uri())["site_id"]) == list(gdf["site_id"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(SiteInputError, match="the folder holds no .parquet part"):
        read_sites(tmp_path / "empty")
