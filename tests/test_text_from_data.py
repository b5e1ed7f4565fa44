"""Text from data is text: template, script, shell and formula syntax in every text field comes out as text.

A hostile layer set (titles, notices, class and zone names, clause, rule
conditions and citations) and hostile sites (names, ids) go through the
check (CSV, JSON, GeoJSON, GeoPackage, detail, HTML report), the web map and
every export format; nothing is evaluated, run or rendered as markup.
"""
from __future__ import annotations

import csv
import html
import io
import json
import re
import warnings
import xml.etree.ElementTree as ET
import zipfile

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import Point

from conftest import TINY_RULES, X0, Y0, make_tiny_layerset
from geo.cli.main import cli

TEMPLATE = "{{ 7*7 }}{% if 1 %}IF{% endif %}{# note #}{{ cycler.__init__.__globals__.os.popen('touch MARK') }}"
SCRIPT = "<script>alert(1)</script>\"'><img src=x onerror=alert(1)>"
SHELL = "$(touch MARK)`touch MARK`;touch MARK"
PAYLOAD = f"区{TEMPLATE}{SCRIPT}{SHELL}"
FORMULA = "=HYPERLINK(\"http://x\",\"y\")"


def hostile(text: str, mark) -> str:
    return text.replace("MARK", str(mark))


@pytest.fixture(scope="module")
def hostile_set(tmp_path_factory):
    """The tiny layer set with a payload in every text a layer set carries."""
    root = make_tiny_layerset(tmp_path_factory.mktemp("hostile") / "ls")
    mark = root.parent / "MARK"
    p = hostile(PAYLOAD, mark)
    toml = json.dumps(p, ensure_ascii=False)  # a TOML basic string is a JSON string
    manifest = (root / "manifest.toml").read_text(encoding="utf-8")
    for old in ('"测试图层集"', '"Tiny test layer set"', '"测试数据"', '"test data"', '"管控区"', '"Zones"',
                '"禁建区"', '"no-build"', '"test clause"'):
        manifest = manifest.replace(old, toml)
    (root / "manifest.toml").write_text(manifest, encoding="utf-8")
    rows = list(csv.reader(io.StringIO(TINY_RULES)))
    for row in rows[1:]:
        if row[0] == "A-ALL":
            row[9], row[10], row[11] = p, FORMULA + p, p
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    (root / "rules.csv").write_text(buf.getvalue(), encoding="utf-8")
    zones = gpd.read_file(root / "data" / "zones.geojson")
    zones.loc[0, "name"] = p
    pyogrio.write_dataframe(zones, root / "data" / "zones.geojson", layer_options={"COORDINATE_PRECISION": 10})
    return root, mark, p


@pytest.fixture(scope="module")
def hostile_sites(hostile_set, tmp_path_factory):
    root, mark, p = hostile_set
    folder = tmp_path_factory.mktemp("sites")
    sites = gpd.GeoDataFrame(
        {"id": [p[:60], "S2", "S3"], "name": [p, FORMULA, "-1+2"], "type": ["T03", "T03", "T03"]},
        geometry=[Point(X0 + 2_000, Y0 + 2_000), Point(X0 + 2_100, Y0 + 2_100), Point(X0 + 9_800, Y0 + 200)],
        crs=4550).to_crs(4326)
    path = folder / "sites.geojson"
    pyogrio.write_dataframe(sites, path)
    return path


def invoke(runner, args):
    with warnings.catch_warnings():
        warnings.simplefilter("always")  # the CLI prints warnings as one line each, as users see them
        return runner.invoke(cli, args)


def no_markup(text: str) -> None:
    assert "<script" not in text and "<img src=x" not in text and "onerror=alert(1)>" not in text


def test_check_outputs_keep_text_as_text(runner, hostile_set, hostile_sites, tmp_path):
    root, mark, p = hostile_set
    outs = {ext: tmp_path / f"r.{ext}" for ext in ("csv", "json", "geojson", "gpkg")}
    for ext, out in outs.items():
        args = ["check", str(hostile_sites), "--layers", str(root), "-o", str(out)]
        if ext == "csv":
            args += ["--detail", str(tmp_path / "d.csv"), "--report", str(tmp_path / "r.html")]
        r = invoke(runner, args)
        assert r.exit_code == 0, r.output
        assert "HTML, script or control characters removed from the text of site(s)" in r.stderr
    assert not mark.exists()
    # the results: the site's name without its markup (warned), template and shell syntax as typed
    res = pd.read_csv(outs["csv"], encoding="utf-8-sig", keep_default_na=False)
    name = res.loc[0, "name"]
    assert hostile(TEMPLATE, mark) in name and hostile(SHELL, mark) in name
    no_markup(name)
    assert res.loc[0, "verdict"] == "prohibited"
    assert res.loc[1, "name"] == "'" + FORMULA and res.loc[2, "name"] == "'-1+2"  # not formulas in Excel/WPS
    detail = pd.read_csv(tmp_path / "d.csv", encoding="utf-8-sig", keep_default_na=False)
    assert (detail["zone_name_zh"] == p).any()
    assert (detail["condition_en"] == "'" + FORMULA + p).any()
    doc = json.loads(outs["json"].read_text(encoding="utf-8"))
    assert doc["sites"][0]["name"] == name
    assert any(f["zone_name_zh"] == p for f in doc["sites"][0]["findings"])  # layer-set text is kept whole
    gj = json.loads(outs["geojson"].read_text(encoding="utf-8"))
    assert gj["features"][0]["properties"]["name"] == name
    assert pyogrio.read_dataframe(outs["gpkg"], layer="sites")["name"].iloc[0] == name
    # the report: every text escaped, nothing evaluated
    report = (tmp_path / "r.html").read_text(encoding="utf-8")
    no_markup(report)
    assert "{{ 7*7 }}{% if 1 %}IF{% endif %}" in report and "$(touch " in report
    assert html.escape(p, quote=True) in report


def test_the_map_keeps_text_as_text(runner, hostile_set, hostile_sites, tmp_path):
    root, mark, p = hostile_set
    out = tmp_path / "m.html"
    r = invoke(runner, ["map", str(root), "--sites", str(hostile_sites), "--type", "T03", "-o", str(out),
                        "--offline"])
    assert r.exit_code == 0, r.output
    assert not mark.exists()
    page = out.read_text(encoding="utf-8")
    assert "<script>alert" not in page and "<img src=x" not in page and "onerror=alert(1)>" not in page
    # every text travels in the page's JSON block, decoded exactly as written
    (block,) = re.findall(r'<script type="application/json" id="ez-config">(.*?)</script>', page, flags=re.S)
    config = json.loads(block)
    names = [t["_n"] for t in config["features"]]
    assert any(hostile(TEMPLATE + SHELL, mark) in n.replace(" \"'› ", "") for n in names if n.endswith(" · 核查项目"))
    assert any(n.startswith(p + " · ") for n in names)  # the zone's name, whole
    assert html.escape(p, quote=True) in config["titleHtml"]
    # besides the block, the payload is only in the page's <title> (escaped, rendered once): no layer of the
    # map, whose scripts folium compiles again as templates, carries it
    (title,) = re.findall(r"<title>(.*?)</title>", page, flags=re.S)
    assert html.unescape(title) == p
    assert "{{ 7*7" not in page.replace(block, "").replace(title, "")


@pytest.mark.parametrize("fmt", ["gpkg", "shp", "geojson", "fgb", "parquet", "kml", "kmz", "dxf"])
def test_exports_keep_text_as_text(runner, hostile_set, tmp_path, fmt):
    root, mark, p = hostile_set
    out = tmp_path / ("zones." + fmt if fmt in ("gpkg", "kml", "kmz", "dxf") else "zones")
    r = invoke(runner, ["export", str(root), "--format", fmt, "-o", str(out), "--layer", "zones"])
    assert r.exit_code == 0, r.output
    assert not mark.exists()
    if fmt in ("kml", "kmz"):
        data = zipfile.ZipFile(out).read("doc.kml") if fmt == "kmz" else out.read_bytes()
        tree = ET.fromstring(data)
        texts = [el.text or "" for el in tree.iter()]
        for text in texts:  # what a KML client renders as HTML
            no_markup(text)
        assert any(html.unescape(t) == p for t in texts)  # the text itself, once unescaped
    elif fmt == "dxf":  # XDATA and labels, read back as the round-trip tests of the export do
        from readback import read_dxf

        assert p in set(read_dxf(out)["name_zh"])
    elif fmt == "shp":  # DBF fields hold 254 bytes; the zip's text.csv holds the whole text
        from readback import read_shapefile_zip

        assert p in set(read_shapefile_zip(next(out.rglob("zones*.zip")))["name_zh"])
    else:
        path = out if fmt == "gpkg" else next(q for q in out.rglob("*zones*") if q.suffix != ".txt")
        frame = gpd.read_parquet(path) if fmt == "parquet" else pyogrio.read_dataframe(
            path, layer="zones" if fmt == "gpkg" else None)
        assert p in set(frame["name_zh"])
