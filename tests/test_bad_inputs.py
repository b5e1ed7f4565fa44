"""The bad-input corpus (tests/data/bad/, made by tests/data/make_samples.py; see its README).

Each file goes through ``ecozone check`` as a user would run it. It either

* fails: exit 2, exactly one line on stderr (``ecozone: error: <file>[, row N]: what; what to do``),
  no traceback, no output file; or
* is read with a repair or an assumption: exit 0, one ``ecozone: warning:`` line naming the
  file and features, and never the verdict ``allowed`` (the sites sit in a prohibited zone,
  so a repair that moved or dropped them would show).
"""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import pandas as pd
import pytest

from geo.cli.main import cli

BAD = Path(__file__).parent / "data" / "bad"
SIDECARS = {".shx", ".dbf", ".prj", ".cpg"}
DXF = ["--crs", "EPSG:4550"]

#: file, extra arguments, expected fragment of the error line (regex)
ERRORS = [
    # empty and unreadable
    ("empty.csv", [], r"file is empty; export the sites again"),
    ("blank_lines.csv", [], r"file is empty"),
    ("binary_as.csv", [], r"binary file, not text"),
    ("truncated.gpkg", [], r"cannot read .*; check the file is complete"),
    ("not_a_zip.zip", [], r"cannot read \(File is not a zip file\); check the zip is complete"),
    ("drawing.dwg", [], r"unknown sites format '\.dwg'; save the drawing as DXF"),
    ("too_many_fields.csv", [], r"not a readable CSV \(.*line 3.*\); check the separators"),
    # shapefile parts
    ("missing_shx.shp", [], r"the shapefile has no \.shx; copy all its parts together"),
    ("missing_dbf.shp", [], r"the shapefile has no \.dbf"),
    ("no_prj.shp", [], r"no \.prj, so its coordinate system is unknown; copy the \.prj along, or give --crs"),
    # CRS and coordinates
    ("xy_no_crs.csv", [], r"x/y columns \(x, y\) need a CRS; give --crs"),
    ("projected_as_degrees.csv", [], r"row 2: \(41396193\.228, 4330291\.268\) is not a longitude/latitude; .*--crs EPSG:4529"),
    ("projected_geojson.geojson", [], r"row 1: .* is not a longitude/latitude; .*without zone prefix"),
    ("latlon_swapped.csv", [], r"row 2: longitude and latitude look swapped"),
    ("out_of_range.csv", [], r"row 3: \(121\.8, 95\.1\) is not a longitude/latitude"),
    ("blank_coordinate.csv", [], r"row 3: site has no geometry .*; give coordinates for every site"),
    ("nan_coordinate.csv", [], r"row 2: site has no geometry"),
    ("mixed_prefix.csv", ["--crs", "EPSG:4550"], r"row 3: some eastings carry a zone prefix"),
    ("no_coordinate_columns.csv", [], r"row 1: no coordinate columns"),
    ("dms_bad_minutes.csv", [], r"row 2, column lon: .*minutes and seconds must be below 60"),
    ("dms_swapped_hemisphere.csv", [], r"row 2, column lon: .*latitude .* longitude .* swapped"),
    ("bad_wkt.csv", [], r"row 2, column wkt: not valid WKT"),
    # geometry
    ("ring_too_few_points.geojson", [], r"row 1: geometry is degenerate .*; redraw the site"),
    ("mixed_geometry.geojson", [], r"row 2: unsupported geometry GeometryCollection"),
    # attributes
    ("duplicate_ids.csv", [], r"row 3: site id 'Q1' is used more than once \(also row 2"),
    ("unknown_type.csv", [], r"row 2, column type: unknown project type 'T99'; use one of T01"),
    # zips
    ("zip_traversal.zip", [], r"unsafe file name '\.\./\.\./evil\.shp'"),
    ("zip_absolute.zip", [], r"unsafe file name '/etc/sites\.geojson'"),
    ("zip_no_data.zip", [], r"the zip holds no site data"),
    ("two_layers.gpkg", [], r"the file has 2 layers \(sites_a, sites_b\); give --layer"),
    # 界址点 TXT
    ("jzd_truncated.txt", [], r"row 32: plot P3: 界址点数 is 5 but 3 points follow .*cut short"),
    ("jzd_xian80.txt", [], r"row 5: 坐标系=1980西安坐标系: .*Xi'an 1980.*tens of metres; convert them to CGCS2000"),
    ("jzd_beijing54.txt", [], r"row 5: 坐标系=1954北京坐标系: .*Beijing 1954"),
    ("jzd_local_system.txt", [], r"row 5: 坐标系=大连市独立坐标系 is not a coordinate system ecozone knows"),
    ("jzd_no_zone.txt", [], r"no zone prefix and no zone is given; add 带号 to the file or give --crs"),
    ("jzd_bad_number.txt", [], r"row 15: Y '396O13\.228' is not a number"),
    ("jzd_ring_too_few.txt", [], r"row 14: plot R1, ring 1 has 2 distinct points; a parcel ring needs at least 3"),
    ("jzd_header_without_at.txt", [], r"row 13: this looks like a plot header but does not end in @"),
    ("jzd_mixed_zones.txt", [], r"row 24: eastings carry zones 40, 41; .*split it by zone"),
    ("jzd_unit_km.txt", [], r"row 8: 计量单位=千米 is not supported"),
    ("jzd_duplicate_plot_ids.txt", [], r"row 26: site id 'P1' is used more than once \(also row 13"),
    ("jzd_no_plots.txt", [], r"no plots in \[地块坐标\]"),
    # DXF and KML
    ("dxf_no_crs.dxf", [], r"a DXF drawing has no coordinate system; give --crs"),
    ("dxf_empty.dxf", DXF, r"no polylines, lines or points in the drawing's model space"),
    ("dxf_broken_entity.dxf", DXF, r"no polylines, lines or points"),
    ("dxf_binary.dxf", DXF, r"not a DXF file"),
    ("kml_empty.kml", [], r"(no layers|no placemarks|no sites)"),
    ("dxf_block_loop.dxf", DXF, r"block 'LOOP' inserts itself \(LOOP > LOOP\)"),
    ("dxf_minsert_bomb.dxf", DXF,
     r"100000000 copies of block 'CELL'\) expands to 100000000 entities; ecozone explodes at most 100000"),
    ("dxf_nested_bomb.dxf", DXF, r"block 'NEST9'\) expands to 1000000000 entities; ecozone explodes at most 100000"),
    ("dxf_too_deep.dxf", DXF, r"blocks are nested more than 64 deep \(DEEP79 > \.\.\. > DEEP15\)"),
    ("dxf_xref.dxf", DXF, r"block 'PARCELS' is an external reference \(XREF\) to 'parcels\.dxf'"),
    ("dxf_uneven_arcs.dxf", DXF,
     r"block 'ARCPARCEL' \(reference [0-9A-F]+\) is scaled unevenly \(x 2, y 1\) and holds polylines with arcs"),
    # tables: WKT, columns, zones
    ("csv_lonlat_disagrees_with_wkt.csv", [],
     r"row 2: lon/lat \(121\.745, 38\.993\) lie more than 0\.001° outside the WKT geometry"),
    ("wkt_projected_no_crs.csv", [],
     r"row 2, column wkt: WKT \(41396194\.108, 4330357\.881\) is not a longitude/latitude; .*give --crs EPSG:4529"),
    ("jzd_negative_zone.txt", [], r"row 9: 带号=-41 is not a whole positive number"),
    ("jzd_zone_out_of_range.txt", [], r"row 9: 带号=99 is not a 3-degree CGCS2000 Gauss-Krüger zone"),
    ("duplicate_lon_columns.csv", [], r"row 1: column 'lon' appears twice \(columns 3 and 5\)"),
    ("duplicate_lon.xlsx", [], r"row 1: column 'lon' appears twice \(columns 2 and 4\)"),
    ("lon_and_jingdu.csv", [], r"row 1: columns lon and 经度 both give the longitude"),
    ("type_columns_disagree.csv", [],
     r"row 2: columns type and 项目类型 both give the project type .* differ \('T12' and 'T03'\)"),
    ("zip_gpkg_two_layers.zip", [], r"the file has 2 layers \(parcels, points\); give --layer"),
    ("too_many_columns.csv", [], r"row 1: the table has 1,001 columns; a sites table has at most 1,000"),
]

#: file, extra arguments, expected fragment of the warning line, expected verdicts
WARNINGS = [
    ("gbk_no_cpg.shp", [], r"no \.cpg; attribute text read as GBK \(detected\)", ["prohibited"]),
    ("self_intersecting.geojson", [], r"invalid geometry repaired for site\(s\) B1", ["prohibited"]),
    ("z_coordinates.geojson", [], r"Z values ignored \(the check is 2D\) for site\(s\) P1", ["prohibited"]),
    ("m_coordinates.csv", [], r"M values ignored \(the check is 2D\) for site\(s\) Q1", ["prohibited"]),
    ("html_script.csv", [], r"HTML, script or control characters removed from the text of site\(s\) Q1, Q4",
     ["prohibited", "prohibited"]),
    ("jzd_swapped_xy.txt", [], r"X,Y columns hold northing then easting .* read them swapped", ["prohibited"]),
    ("jzd_zone_mismatch.txt", [], r"带号=40 but the Y values carry zone 41; used zone 41", ["prohibited"]),
    ("jzd_area_mismatch.txt", [], r"地块面积 differs .* P1 \(header 6\.2531 ha, boundary 4\.1688 ha\)", ["prohibited"]),
    ("kml_ovital_unflagged.kml", [], r"奥维 \(Ovital\) export, which is GCJ-02 .* --coord-sys gcj02",
     ["prohibited", "prohibited"]),
    ("dxf_unread_solid.dxf", DXF, r"1 3DFACE, 2 SOLID in the drawing not read as sites \(handle\(s\) ", ["prohibited"]),
    ("wkt_survey_order.csv", ["--crs", "EPSG:4550"], r"WKT x,y columns hold northing then easting .* read them swapped",
     ["prohibited"]),
    ("gaode_wkt.csv", [], r"the file name suggests GCJ-02 .* give --coord-sys gcj02", ["prohibited", "prohibited"]),
    ("wkt_multiline_closed_and_open.csv", [], r"row\(s\) 2: MULTILINESTRING with closed and open parts checked as a line",
     ["prohibited"]),
]


def _run(runner, tmp_path, name, args):
    out = tmp_path / "out.csv"
    with warnings.catch_warnings():
        warnings.simplefilter("always")  # the CLI prints warnings as one line each, as users see them
        res = runner.invoke(cli, ["check", str(BAD / name), "--type", "T03", "-o", str(out), *args])
    return res, out


def test_corpus_is_large_and_every_file_is_in_a_table():
    listed = {n for n, *_ in ERRORS} | {n for n, *_ in WARNINGS}
    files = {p.name for p in BAD.iterdir() if p.suffix.lower() not in SIDECARS and p.name != "README.md"}
    assert files == listed
    assert len(listed) >= 30
    readme = (BAD / "README.md").read_text(encoding="utf-8")
    for name in listed:
        assert f"`{name}`" in readme, f"{name} is not described in tests/data/bad/README.md"


@pytest.mark.parametrize("name, args, fragment", ERRORS, ids=[e[0] for e in ERRORS])
def test_bad_file_is_one_line_error_exit_2_no_output(runner, tmp_path, name, args, fragment):
    res, out = _run(runner, tmp_path, name, args)
    assert res.exit_code == 2, res.output
    assert isinstance(res.exception, SystemExit)  # no traceback
    lines = res.stderr.splitlines()
    assert len(lines) == 1, res.stderr
    line = lines[0]
    assert line.startswith(f"ecozone: error: {BAD / name}"), line  # names the file
    assert re.search(fragment, line), line
    assert ";" in line  # says what to do
    assert "Traceback" not in res.output
    assert not out.exists() and not list(tmp_path.iterdir())  # nothing written, not even a temp file


@pytest.mark.parametrize("name, args, fragment, expected", WARNINGS, ids=[w[0] for w in WARNINGS])
def test_repairable_file_warns_and_is_never_allowed(runner, tmp_path, name, args, fragment, expected):
    res, out = _run(runner, tmp_path, name, args)
    assert res.exit_code == 0, res.output
    warned = [line for line in res.stderr.splitlines() if line.startswith("ecozone: warning:")]
    assert len(warned) == 1, res.stderr
    assert str(BAD / name) in warned[0] and re.search(fragment, warned[0]), warned[0]
    got = pd.read_csv(out, encoding="utf-8-sig")["verdict"].tolist()
    assert "allowed" not in got
    assert got == expected


def test_unknown_project_type_on_the_command_line(runner, tmp_path):
    out = tmp_path / "out.csv"
    res = runner.invoke(cli, ["check", str(BAD.parent / "sites" / "points_dms.csv"), "--type", "T99", "-o", str(out)])
    assert res.exit_code == 2 and "unknown project type 'T99'" in res.stderr and not out.exists()


def test_html_is_stripped_from_the_results(runner, tmp_path):
    res, out = _run(runner, tmp_path, "html_script.csv", [])
    text = out.read_text(encoding="utf-8-sig")
    assert "<script" not in text and "onmouseover" not in text and "<b" not in text
    assert "一号点位" in text and "四号" in text
