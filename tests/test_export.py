"""Exports: every format read back with GDAL (pyogrio / rasterio) or ezdxf and compared with the layer set.

Round trips compare feature counts, every attribute value (Chinese text included), geometry
within the format's precision and the CRS. The documented limits (shapefile field names and
254-byte text, DXF attributes through GDAL, 7 decimals in GeoJSON/KML) are tested as
documented. Atomic writing, ``--overwrite`` and the CLI's exit codes are tested last.
"""
from __future__ import annotations

import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import pytest
import rasterio
import shapely

from geo.cli.main import cli
from geo.errors import CRSError, ExportError, LayerSetError, RuleError
from geo.export import FORMATS, export_layers
from geo.export.cad import cad_layer_name
from geo.export.common import resolve_export_crs
from geo.export.gpkg import layer_qml
from geo.export.raster import class_codes
from geo.export.shp import shapefile_field_names
from geo.export.write import WRITERS
from geo.layerset.read import read_layerset
from readback import read_dxf, read_shapefile_zip

KML_FIELDS = ["id", "Name", "description", "timestamp", "begin", "end", "altitudeMode", "tessellate",
              "extrude", "visibility", "drawOrder", "icon"]


@pytest.fixture(scope="module")
def ls():
    return read_layerset("layers/jinpu")


@pytest.fixture(scope="module")
def outdir(tmp_path_factory):
    return tmp_path_factory.mktemp("exports")


_CACHE: dict = {}


def exported(ls, outdir, fmt, **kw):
    """Export once per (format, options) and module; return the output path."""
    key = (str(outdir), fmt, tuple(sorted(kw.items())))
    if key not in _CACHE:
        name = f"{fmt}-{abs(hash(key)) % 10**8}"
        out = outdir / (name + FORMATS[fmt][1] if FORMATS[fmt][0] == "file" else name)
        export_layers(ls, fmt, out, **kw)
        _CACHE[key] = out
    return _CACHE[key]


# --------------------------------------------------------------------------- comparison helpers

def _multi(g):
    if g is None:
        return g
    if g.geom_type == "Polygon":
        return shapely.MultiPolygon([g])
    if g.geom_type == "LineString":
        return shapely.MultiLineString([g])
    return g


def same_geometry(a, b, tol: float) -> bool:
    """Equal within ``tol``; with ``tol`` ≥ 1e-7 (7-decimal formats) slivers narrower than it may be gone."""
    a, b = _multi(a), _multi(b)
    if tol < 1e-7:
        return bool(shapely.equals_exact(shapely.normalize(a), shapely.normalize(b), tolerance=tol))
    if a.geom_type != b.geom_type:
        return False
    near = shapely.distance(shapely.points(shapely.get_coordinates(b)), a).max() <= tol * 1.5
    if "Polygon" in a.geom_type:
        same = a.symmetric_difference(b).area <= a.length * tol * 2
    else:
        same = abs(a.length - b.length) <= shapely.get_num_coordinates(a) * tol * 2
    return bool(near and same)


def assert_same_layer(expected: gpd.GeoDataFrame, got: gpd.GeoDataFrame, *, tol: float, where: str,
                      strip: bool = False, empty_is_missing: bool = False):
    """Same features, attributes and geometry; ``strip``: text compared without surrounding blanks;
    ``empty_is_missing``: an empty text may come back missing (a DBF cannot tell them apart)."""
    assert len(got) == len(expected), f"{where}: {len(got)} features, expected {len(expected)}"
    exp = expected.sort_values("zone_id").reset_index(drop=True)
    got = got.sort_values("zone_id").reset_index(drop=True)
    for col in exp.columns:
        if col == exp.geometry.name:
            continue
        assert col in got.columns, f"{where}: column {col} lost"
        if pd.api.types.is_float_dtype(exp[col]):
            np.testing.assert_allclose(got[col].to_numpy(dtype=float), exp[col].to_numpy(dtype=float), rtol=1e-12,
                                       err_msg=f"{where}.{col}")
        elif strip and pd.api.types.is_string_dtype(exp[col]):
            assert got[col].tolist() == [v.strip() for v in exp[col]], f"{where}.{col}"
        elif empty_is_missing and pd.api.types.is_string_dtype(exp[col]):
            assert [v if isinstance(v, str) else "" for v in got[col]] == exp[col].tolist(), f"{where}.{col}"
        else:
            assert got[col].tolist() == exp[col].tolist(), f"{where}.{col}"
    bad = [z for z, a, b in zip(exp["zone_id"], exp.geometry, got.geometry) if not same_geometry(a, b, tol)]
    assert not bad, f"{where}: geometry differs for {bad[:5]}"


def _epsg(crs) -> int | None:
    return pyproj.CRS.from_user_input(crs).to_epsg()


# --------------------------------------------------------------------------- readers per format

def read_back(fmt: str, out: Path, ids: list) -> dict:
    """layer id -> GeoDataFrame, read with GDAL (or ezdxf / pyarrow where GDAL cannot)."""
    if fmt == "gpkg":
        return {lid: pyogrio.read_dataframe(out, layer=lid) for lid in ids}
    if fmt == "shp":
        return {lid: read_shapefile_zip(out / f"{lid}.zip") for lid in ids}
    if fmt in ("geojson", "fgb"):
        return {lid: pyogrio.read_dataframe(out / f"{lid}{FORMATS[fmt][1]}") for lid in ids}
    if fmt == "parquet":
        frames = {lid: gpd.read_parquet(out / f"{lid}.parquet") for lid in ids}
        if "Parquet" in pyogrio.list_drivers():  # GDAL built with Arrow
            for lid in ids:
                assert len(pyogrio.read_dataframe(out / f"{lid}.parquet")) == len(frames[lid])
        return frames
    if fmt in ("kml", "kmz"):
        # documented: LIBKML resolves the typed schema of a KMZ only through /vsizip/…/doc.kml
        src = f"/vsizip/{out.resolve()}/doc.kml" if fmt == "kmz" else out
        frames = {}
        for name, _ in pyogrio.list_layers(src):
            df = unescaped(pyogrio.read_dataframe(src, layer=name))
            assert df["id"].tolist() == df["zone_id"].tolist()
            assert df["Name"].tolist() == df["name_zh"].tolist()
            frames[df["layer"].iloc[0]] = df.drop(columns=KML_FIELDS)
        return frames
    if fmt == "dxf":
        gdf = read_dxf(out)
        return {lid: part.drop(columns=["cad_layer", "cad_text"]) for lid, part in gdf.groupby("layer")}
    raise AssertionError(fmt)


def unescaped(df):
    """Documented: KML text is HTML-escaped (Google Earth renders it as HTML); ``html.unescape`` gives it back."""
    df = df.copy()
    for col in df.columns:
        if col != df.geometry.name and pd.api.types.is_string_dtype(df[col]):
            df[col] = df[col].map(lambda v: html.unescape(v) if isinstance(v, str) else v).astype(df[col].dtype)
    return df


ROUND_TRIPS = [
    pytest.param("gpkg", {}, 4490, 1e-12, id="gpkg"),
    pytest.param("shp", {}, 4490, 1e-12, id="shp-gbk"),
    pytest.param("shp", {"encoding": "utf-8"}, 4490, 1e-12, id="shp-utf8"),
    pytest.param("geojson", {}, 4326, 1e-7, id="geojson"),
    pytest.param("fgb", {}, 4490, 1e-12, id="fgb"),
    pytest.param("parquet", {}, 4490, 1e-12, id="parquet"),
    pytest.param("kml", {}, 4326, 1e-7, id="kml"),
    pytest.param("kmz", {}, 4326, 1e-7, id="kmz"),
    pytest.param("dxf", {}, 4550, 1e-6, id="dxf-R2010"),
    pytest.param("dxf", {"dxf_version": "R2000"}, 4550, 1e-6, id="dxf-R2000"),
]


@pytest.mark.parametrize("fmt, kw, epsg, tol", ROUND_TRIPS)
def test_round_trip(ls, outdir, fmt, kw, epsg, tol):
    out = exported(ls, outdir, fmt, **kw)
    frames = read_back(fmt, out, ls.layer_ids)
    assert sorted(frames) == sorted(ls.layer_ids)
    for lid in ls.layer_ids:
        got = frames[lid]
        if fmt != "dxf":  # DXF has no CRS of its own: read_dxf takes it from the drawing's metadata
            assert got.crs is not None and _epsg(got.crs) == epsg, f"{fmt} {lid}: CRS {got.crs}"
        else:
            assert _epsg(got.crs) == epsg
        # documented: GDAL's KML readers trim blanks around text values
        # documented: a DBF cannot tell empty text from missing (a zone without a code)
        assert_same_layer(ls.layer(lid).to_crs(epsg), got, tol=tol, where=f"{fmt}:{lid}", strip=fmt in ("kml", "kmz"),
                          empty_is_missing=fmt == "shp")


# --------------------------------------------------------------------------- GeoPackage

def test_gpkg_styles_and_metadata(ls, outdir):
    out = exported(ls, outdir, "gpkg")
    info = pyogrio.read_info(out, layer="water_source")
    table = pyogrio.read_dataframe(out, layer="ecozone_meta")
    meta = dict(zip(table["key"], table["value"]))
    assert meta["ecozone_version"] and meta["content_hash"] == ls.meta["content_hash"]
    assert meta["notice_zh"] == ls.info["notice_zh"] and meta["crs"] == "EPSG:4490"
    lmeta = info["layer_metadata"]
    spec = ls.specs["water_source"]
    assert json.loads(lmeta["params"]) == json.loads(json.dumps(spec.params, default=str))
    assert json.loads(lmeta["provenance"])["source"] == spec.provenance["source"]
    assert lmeta["title_zh"] == spec.title_zh and lmeta["content_hash"] == ls.meta["content_hash"]
    assert not list(out.parent.glob("*.aux.xml"))  # reading must not leave sidecar files
    styles = pyogrio.read_dataframe(out, layer="layer_styles")
    assert sorted(styles["f_table_name"]) == sorted(ls.layer_ids)
    assert styles["useAsDefault"].all() and set(styles["f_geometry_column"]) == {"geom"}
    assert info["geometry_name"] == "geom"
    for row in styles.itertuples():
        spec = ls.specs[row.f_table_name]
        qml = ET.fromstring(row.styleQML.split("\n", 1)[1])
        renderer = qml.find("renderer-v2")
        assert renderer.get("attr") == "zone_class"
        cats = renderer.find("categories").findall("category")
        assert [c.get("value") for c in cats] == list(spec.classes)
        for cat in cats:
            sym = renderer.find(f"symbols/symbol[@name='{cat.get('symbol')}']")
            opts = {o.get("name"): o.get("value") for o in sym.iter("Option") if o.get("name")}
            rgb = opts.get("color", opts.get("line_color")).split(",")[:3]
            hexcol = "#" + "".join(f"{int(v):02x}" for v in rgb)
            assert hexcol == spec.color(cat.get("value")).lower()


def test_qml_line_layer(ls):
    qml = layer_qml(ls.specs["coastline"])
    assert 'class="SimpleLine"' in qml and "<layerGeometryType>1</layerGeometryType>" in qml


# --------------------------------------------------------------------------- Shapefile limits

def test_field_names_cut_by_whole_characters():
    cols = ["zone_id", "source_name_zh", "source_name_en", "岸线长度公里数", "Zone_ID"]
    gbk = shapefile_field_names(cols, "gbk")
    assert gbk["source_name_zh"] == "source_nam" and gbk["source_name_en"] == "source_n_1"
    assert gbk["岸线长度公里数"] == "岸线长度公"  # 5 Chinese characters = 10 bytes in GBK
    assert gbk["Zone_ID"] == "Zone_ID_1"  # DBF names compare case-insensitively
    utf8 = shapefile_field_names(cols, "utf-8")
    assert utf8["岸线长度公里数"] == "岸线长"  # only 3 in UTF-8
    for enc, names in (("gbk", gbk), ("utf-8", utf8)):
        assert all(len(n.encode(enc)) <= 10 for n in names.values())
        assert len({n.upper() for n in names.values()}) == len(cols)


@pytest.mark.parametrize("encoding, cpg", [("gbk", "GBK"), ("utf-8", "UTF-8")])
def test_shapefile_as_documented(ls, outdir, encoding, cpg):
    """Raw GDAL read: 10-byte names, text ≤ 254 bytes; the zip's CSVs restore both."""
    out = exported(ls, outdir, "shp", **({"encoding": "utf-8"} if encoding == "utf-8" else {}))
    zf = zipfile.ZipFile(out / "coastline.zip")
    with zf:
        names = set(zf.namelist())
        assert {"coastline.shp", "coastline.shx", "coastline.dbf", "coastline.prj", "coastline.cpg",
                "coastline.fields.csv"} <= names
        assert zf.read("coastline.cpg").decode() == cpg
        assert "CGCS2000" in zf.read("coastline.prj").decode() or "China" in zf.read("coastline.prj").decode()
        ldid = zf.read("coastline.dbf")[29]
    raw = pyogrio.read_dataframe(f"/vsizip/{(out / 'coastline.zip').resolve()}/coastline.shp")
    assert all(len(c.encode(encoding)) <= 10 for c in raw.columns if c != "geometry")
    assert all(len(v.encode(encoding)) <= 254 for v in raw["params"])
    full = ls.layer("coastline")
    long_rows = [i for i, v in enumerate(full["params"]) if len(v.encode(encoding)) > 254]
    assert long_rows, "the test needs a value over 254 bytes"
    assert all(full["params"][i].startswith(raw["params"][i]) for i in long_rows)
    assert "coastline.text.csv" in names
    restored = read_shapefile_zip(out / "coastline.zip")
    assert restored["params"].tolist() == full["params"].tolist()
    ws = pyogrio.read_dataframe(f"/vsizip/{(out / 'water_source.zip').resolve()}/water_source.shp")
    assert "source_nam" in ws.columns and "source_name_zh" in read_shapefile_zip(out / "water_source.zip")
    assert isinstance(ldid, int)


def test_shapefile_sidecar_csvs_are_not_formulas(tiny, tmp_path):
    """The zip's CSVs open in Excel: no cell may start a formula; read_shapefile_zip still gives everything back."""
    import csv
    import dataclasses

    from geo.results import FORMULA_CHARS

    zones = tiny.layer("zones").copy()
    zones["=cmd|' /C calc'!A0"] = ["=" + "水" * 200, "'quoted " + "x" * 300, "-1+2 " + "y" * 300]
    zones["@note"] = ["+1", "plain", None]
    awk = dataclasses.replace(tiny, frames={**tiny.frames, "zones": zones}, _measured={})
    export_layers(awk, "shp", tmp_path / "shp", layers=["zones"])
    with zipfile.ZipFile(tmp_path / "shp" / "zones.zip") as zf:
        for name in ("zones.fields.csv", "zones.text.csv"):
            rows = list(csv.reader(io.StringIO(zf.read(name).decode("utf-8-sig"), newline="")))
            cells = [c for row in rows[1:] for c in row]
            assert cells and not [c for c in cells if c and c[0] in FORMULA_CHARS], (name, cells)
            assert any(c.startswith("'") for c in cells), name
    got = read_shapefile_zip(tmp_path / "shp" / "zones.zip").sort_values("zone_id").reset_index(drop=True)
    exp = zones.sort_values("zone_id").reset_index(drop=True)
    for col in ("=cmd|' /C calc'!A0", "@note"):
        assert got[col].tolist() == [None if v is None else v for v in exp[col]], col


def test_shapefile_in_gk_zone_with_prefix(ls, tmp_path):
    out = tmp_path / "shp"
    export_layers(ls, "shp", out, layers=["eco_cores"], crs="auto-gk-prefix")
    gdf = read_shapefile_zip(out / "eco_cores.zip")
    assert _epsg(gdf.crs) == 4529
    assert gdf.geometry.bounds["minx"].min() > 41_000_000  # the 8-digit Y with zone 41 in front
    assert_same_layer(ls.layer("eco_cores").to_crs(4529), gdf, tol=1e-6, where="shp:4529", empty_is_missing=True)


# --------------------------------------------------------------------------- GeoJSON / KML precision

def test_geojson_is_rfc7946(ls, outdir):
    out = exported(ls, outdir, "geojson")
    data = json.loads((out / "water_source.geojson").read_text(encoding="utf-8"))
    assert "crs" not in data  # RFC 7946: WGS84 implied
    coords = re.findall(r"-?\d+\.\d+", json.dumps(data["features"][0]["geometry"]))
    assert coords and max(len(c.split(".")[1]) for c in coords) <= 7
    assert data["features"][0]["properties"]["name_zh"] == ls.layer("water_source")["name_zh"].iloc[0]


def test_kml_folders_styles_descriptions(ls, outdir):
    out = exported(ls, outdir, "kml")
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    root = ET.parse(out).getroot()
    folders = root.findall("k:Document/k:Folder", ns)
    assert len(folders) == len(ls.layer_ids)
    first = folders[ls.layer_ids.index("water_source")]
    spec = ls.specs["water_source"]
    assert first.find("k:name", ns).text == f"{spec.title_zh} {spec.title_en}"
    styles = {s.get("id"): s for s in root.findall("k:Document/k:Style", ns)}
    pm = first.find("k:Placemark", ns)
    style = styles[pm.find("k:styleUrl", ns).text[1:]]
    row = ls.layer("water_source").iloc[0]
    c = spec.color(row["zone_class"]).lstrip("#").lower()
    assert style.find("k:LineStyle/k:color", ns).text == f"ff{c[4:6]}{c[2:4]}{c[0:2]}"
    desc = pm.find("k:description", ns).text
    assert row["class_zh"] in desc and row["class_en"] in desc and row["name_en"] in desc
    coords = pm.find(".//k:coordinates", ns).text.split()
    assert max(len(xy.split(",")[0].split(".")[1]) for xy in coords if "." in xy.split(",")[0]) <= 7


def test_kmz_opened_directly_has_names_and_descriptions(ls, outdir):
    """Documented GDAL limit: a KMZ opened directly gives name and description, not the attributes."""
    out = exported(ls, outdir, "kmz")
    layers = pyogrio.list_layers(out)
    assert len(layers) == len(ls.layer_ids)
    df = pyogrio.read_dataframe(out, layer=layers[ls.layer_ids.index("red_line")][0])
    assert df["Name"].tolist() == ls.layer("red_line")["name_zh"].tolist()
    assert all("类别 Class：" in d for d in df["description"])


def test_kml_description_with_and_without_rules(tiny, tmp_path):
    with_rules = tmp_path / "with.kml"
    export_layers(tiny, "kml", with_rules, layers=["zones"])
    df = pyogrio.read_dataframe(with_rules, layer=0)
    a = df.loc[df["zone_class"] == "a", "description"].iloc[0]
    assert "管控要求：禁止建设（禁止）" in a and "Control requirement: no construction (prohibited)" in a
    assert "测试条款一" in a
    bare = tmp_path / "bare"
    shutil.copytree(tiny.root, bare, ignore=shutil.ignore_patterns("build", "rules.csv"))
    norules = read_layerset(bare)
    out = tmp_path / "without.kmz"
    export_layers(norules, "kmz", out, layers=["zones"])
    df = pyogrio.read_dataframe(out, layer=0)
    assert all("类别 Class：" in d for d in df["description"])
    assert not any("管控要求" in d for d in df["description"])
    with pytest.raises(RuleError):
        export_layers(norules, "tif", tmp_path / "tif", resolution_m=50, verdict_for="T01")
    assert not (tmp_path / "tif").exists()


MARKUP = {"a": "<img src=x onerror=alert(1)>", "b": "<script>alert('水')</script>水源地",
          "c": "敏感区 & <b>粗体</b> &lt;i&gt;"}


@pytest.fixture(scope="module")
def markup(tmp_path_factory):
    """The tiny set with HTML in zone names, a rule's text and the set's title."""
    from conftest import make_tiny_layerset

    root = make_tiny_layerset(tmp_path_factory.mktemp("markup"))
    zones = gpd.read_file(root / "data" / "zones.geojson")
    zones["name"] = zones["cls"].map(MARKUP)
    pyogrio.write_dataframe(zones, root / "data" / "zones.geojson", layer_options={"COORDINATE_PRECISION": 10})
    rules = (root / "rules.csv").read_text(encoding="utf-8").replace("禁止建设,", "<b onmouseover=alert(2)>禁止</b>建设,")
    (root / "rules.csv").write_text(rules, encoding="utf-8")
    manifest = (root / "manifest.toml").read_text(encoding="utf-8")
    (root / "manifest.toml").write_text(manifest.replace('title_zh = "测试图层集"', 'title_zh = "测试<i>图层集</i>"'),
                                        encoding="utf-8")
    return read_layerset(root)


@pytest.mark.parametrize("fmt", ["kml", "kmz"])
def test_kml_text_is_never_markup(markup, tmp_path, fmt):
    """Google Earth and 奥维 render names, descriptions and extended data as HTML: no tag may arrive live."""
    out = export_layers(markup, fmt, tmp_path / f"m.{fmt}")[0]
    data = zipfile.ZipFile(out).read("doc.kml") if fmt == "kmz" else out.read_bytes()
    root = ET.fromstring(data)
    texts = [el.text for el in root.iter() if el.text and el.tag.split("}")[1] in
             ("name", "description", "value", "SimpleData", "displayName")]
    assert texts and not [t for t in texts if "<" in t or ">" in t]  # decoded once (as XML): no tag left
    shown = [html.unescape(t) for t in texts]  # decoded again, as a client renders it: the text, intact
    for name in MARKUP.values():
        assert any(t == name for t in shown), name  # the placemark name (and its SimpleData)
    assert sum(MARKUP["a"] in t for t in shown) >= 2
    desc = next(t for t in shown if "管控要求：" in t and "禁建区" in t)
    assert "管控要求：<b onmouseover=alert(2)>禁止</b>建设（禁止）" in desc and "类别 Class：禁建区" in desc
    assert any(t.startswith("测试<i>图层集</i>") for t in shown)


def test_export_refuses_the_layer_sets_own_build(tiny, tmp_path, runner):
    """``-o`` on the build of the set being exported would break the set until rebuilt: refused, build intact."""
    build = Path(tiny.root) / "build" / f"{tiny.name}.gpkg"
    before = build.read_bytes()
    r = runner.invoke(cli, ["export", str(tiny.root), "--format", "gpkg", "-o", str(build), "--overwrite"])
    assert r.exit_code == 2, r.output
    assert len(r.stderr.strip().splitlines()) == 1 and "layer set" in r.stderr and "Traceback" not in r.stderr
    assert build.read_bytes() == before
    assert sorted(p.name for p in build.parent.iterdir() if p.name.startswith(".")) == []  # no temporary file
    r = runner.invoke(cli, ["export", str(tiny.root), "--format", "geojson", "-o", str(Path(tiny.root) / "out")])
    assert r.exit_code == 2 and not (Path(tiny.root) / "out").exists()


# --------------------------------------------------------------------------- DXF

@pytest.mark.parametrize("version, codepage", [("R2010", "ANSI_1252"), ("R2000", "ANSI_936")])
def test_dxf_audit_layers_and_gdal(ls, outdir, version, codepage):
    import ezdxf

    out = exported(ls, outdir, "dxf", **({"dxf_version": "R2000"} if version == "R2000" else {}))
    doc = ezdxf.readfile(out)
    auditor = doc.audit()
    assert not auditor.has_errors, [str(e) for e in auditor.errors]
    assert doc.acad_release == version and doc.header["$INSUNITS"] == 6
    if version == "R2000":
        assert doc.header["$DWGCODEPAGE"] == codepage
    meta = doc.ezdxf_metadata()
    assert meta["ecozone_crs"] == "EPSG:4550" and meta["ecozone_layerset"] == "jinpu"
    for lid in ls.layer_ids:
        spec = ls.specs[lid]
        for zone_class in spec.classes:
            layer = doc.layers.get(cad_layer_name(lid, zone_class))
            assert layer.description.startswith(spec.title_zh)
            if version != "R2000":
                assert "#{:02x}{:02x}{:02x}".format(*layer.rgb) == spec.color(zone_class).lower()
    # GDAL reads the drawing as one layer of entities: CAD layer, geometry and the name text, no attributes
    config = {"DXF_ENCODING": "UTF-8"} if version != "R2000" else {}  # documented: GDAL assumes the code page
    pyogrio.set_gdal_config_options(config)
    try:
        df = pyogrio.read_dataframe(out)
    finally:
        pyogrio.set_gdal_config_options({k: None for k in config})
    assert "zone_id" not in df.columns
    texts = df[df["Text"].notna()]
    every = pd.concat([ls.layer(lid) for lid in ls.layer_ids])
    assert sorted(texts["Text"]) == sorted(every["name_zh"])
    rings = df[df["Text"].isna()]
    for lid in ("water_source", "coastline"):
        gdf = ls.layer(lid)
        for zone_class, part in gdf.groupby("zone_class"):
            n = sum(len(p.interiors) + 1 if p.geom_type == "Polygon" else 1
                    for g in part.geometry for p in shapely.get_parts(g))
            assert (rings["Layer"] == cad_layer_name(lid, zone_class)).sum() == n
    closed = rings[rings["Layer"].str.startswith("water_source")].geometry
    assert all(g.geom_type == "LineString" and g.is_closed for g in closed)  # areas: closed polylines


# --------------------------------------------------------------------------- GeoTIFF

def test_tif_class_rasters(ls, outdir):
    out = exported(ls, outdir, "tif", resolution_m=100)
    for lid in ls.layer_ids:
        spec = ls.specs[lid]
        codes = class_codes(spec)
        assert (out / f"{lid}.tfw").read_text().split()[0] == "100.0000000000"
        with rasterio.open(out / f"{lid}.tif") as r:
            assert r.count == 1 and r.dtypes[0] == "uint8" and r.nodata == 0
            assert r.crs.to_epsg() == 4550 and r.res == (100.0, 100.0)
            assert r.compression.name.lower() == "deflate" and r.overviews(1)
            tags, btags = r.tags(), r.tags(1)
            cmap = r.colormap(1)
            for zone_class, code in codes.items():
                assert btags[f"CLASS_{code}"] == zone_class
                assert btags[f"CLASS_{code}_ZH"] == spec.classes[zone_class]["zh"]
                assert btags[f"CLASS_{code}_EN"] == spec.classes[zone_class]["en"]
                assert "#{:02x}{:02x}{:02x}".format(*cmap[code][:3]) == spec.color(zone_class).lower()
            assert json.loads(tags["CLASSES"])[str(codes[next(iter(codes))])]["zh"]
            assert tags["LAYER"] == lid and tags["CONTENT_HASH"] == ls.meta["content_hash"]
            data = r.read(1)
            transform = r.transform
        assert set(np.unique(data)) <= {0, *codes.values()}
        gdf = ls.measured(lid)
        if spec.geometry == "line":  # every pixel a line touches is burnt
            for g in gdf.geometry[:5]:
                p = g.interpolate(0.3, normalized=True)
                row, col = rasterio.transform.rowcol(transform, p.x, p.y)
                assert data[row, col] != 0
            continue
        order = sorted(spec.classes, key=lambda c: ({"info": 0, "general": 1, "restrictive": 2, "strict": 3}
                                                   [spec.classes[c]["control"]], list(spec.classes).index(c)))
        for i, zone_class in enumerate(order):  # stricter classes win overlaps
            mine = shapely.union_all(gdf.geometry[gdf["zone_class"] == zone_class].values)
            above = shapely.union_all(gdf.geometry[gdf["zone_class"].isin(order[i + 1:])].values)
            painted = mine.difference(above) if not above.is_empty else mine
            raster_area = (data == codes[zone_class]).sum() * 100.0 ** 2
            assert abs(raster_area - painted.area) <= 0.5 * painted.length * 100.0 + 2 * 100.0 ** 2, (lid, zone_class)


def test_tif_default_resolution(ls, tmp_path):
    out = export_layers(ls, "tif", tmp_path / "tif", layers=["eco_cores"])
    with rasterio.open(out[0]) as r:
        assert r.res == (10.0, 10.0) and r.crs.to_epsg() == 4550
        west, south, east, north = ls.coverage.bounds
        assert r.bounds.left <= west and r.bounds.right >= east and r.bounds.top >= north
        assert r.bounds.left % 10 == 0 and r.bounds.top % 10 == 0
        transform = r.transform
    # the world file (written by ecozone, not GDAL) is what GDAL's TFW=YES writes, and GDAL reads it back
    with rasterio.open(out[0], GEOREF_SOURCES="WORLDFILE") as r:
        assert r.transform == transform and str(out[1]) in r.files
    ref = tmp_path / "ref.tif"
    with rasterio.open(ref, "w", driver="GTiff", width=2, height=2, count=1, dtype="uint8", crs="EPSG:4550",
                       transform=transform, tfw="YES") as r:
        r.write(np.zeros((2, 2), "uint8"), 1)
    assert out[1].read_bytes() == ref.with_suffix(".tfw").read_bytes()


def test_verdict_raster_known_answers(tiny, tmp_path):
    from conftest import X0, Y0

    out = tmp_path / "tif"
    export_layers(tiny, "tif", out, resolution_m=20, verdict_for="T01")
    export_layers(tiny, "tif", out, layers=["zones"], resolution_m=20, verdict_for="water_supply", overwrite=True)
    with rasterio.open(out / "verdict_T01.tif") as r:
        data, t = r.read(1), r.transform
        assert r.nodata == 255 and r.tags()["PROJECT_TYPE"] == "T01" and r.tags(1)["VERDICT_4_ZH"] == "禁止"

        def at(dx, dy):
            row, col = rasterio.transform.rowcol(t, X0 + dx, Y0 + dy)
            return int(data[row, col])

        assert at(2000, 2000) == 4  # zone a: prohibited
        assert at(4000, 2000) == 3  # zone b: restricted
        assert at(7000, 7000) == 4  # zone c: its near rule reaches the site inside it too
        assert at(7000, 8250) == 4  # 250 m outside c: within 500 m
        assert at(7000, 8800) == 1  # 800 m outside: no rule, allowed
        assert at(9990, 5000) == 1
        assert data[0, 0] == 255  # outside the coverage: unknown
    with rasterio.open(out / "verdict_T12.tif") as r:  # the alias resolved to its code
        data, t = r.read(1), r.transform
        row, col = rasterio.transform.rowcol(t, X0 + 2000, Y0 + 2000)
        assert data[row, col] == 1  # the T12 row of zone a allows water works


def test_verdict_raster_agrees_with_check(tiny, tmp_path):
    from geo.check.engine import check_sites

    out = export_layers(tiny, "tif", tmp_path / "tif", layers=["zones"], resolution_m=50, verdict_for="T02")
    with rasterio.open(out[-2]) as r:
        data, t = r.read(1), r.transform
    rows, cols = np.nonzero(data != 255)
    pick = np.random.default_rng(5).choice(len(rows), size=300, replace=False)
    xs, ys = rasterio.transform.xy(t, rows[pick], cols[pick])
    sites = gpd.GeoDataFrame({"site_id": [f"p{i}" for i in range(len(pick))], "name": "p", "project_type": "T02",
                              "nmp": False, "land_use": "occupy", "radius_m": 0.0, "kind": "point"},
                             geometry=gpd.points_from_xy(xs, ys), crs=4550)
    result = check_sites(sites, tiny)
    codes = {"allowed": 1, "caution": 2, "restricted": 3, "prohibited": 4}
    got = data[rows[pick], cols[pick]]
    want = result.sites["verdict"].map(codes).to_numpy()
    assert (got == want).mean() >= 0.99, np.flatnonzero(got != want)


# --------------------------------------------------------------------------- CRS and options

@pytest.mark.parametrize("crs, epsg", [(None, 4490), ("EPSG:4326", 4326), ("auto-gk", 4550),
                                       ("auto-gk-prefix", 4529), ("EPSG:3857", 3857)])
def test_crs_choices(ls, tmp_path, crs, epsg):
    assert resolve_export_crs(ls, "gpkg", crs).to_epsg() == epsg
    out = tmp_path / "x.gpkg"
    export_layers(ls, "gpkg", out, layers=["eco_ridge"], crs=crs)
    got = pyogrio.read_dataframe(out, layer="eco_ridge")
    assert _epsg(got.crs) == epsg
    assert_same_layer(ls.layer("eco_ridge").to_crs(epsg), got, tol=1e-6, where=f"gpkg:{epsg}")


@pytest.mark.parametrize("fmt, kw, error", [
    ("geojson", {"crs": "EPSG:4490"}, CRSError),
    ("kml", {"crs": "auto-gk"}, CRSError),
    ("dxf", {"crs": "EPSG:4490"}, CRSError),
    ("tif", {"crs": "EPSG:4326"}, CRSError),
    ("gpkg", {"crs": "EPSG:999999"}, CRSError),
    ("gpkg", {"resolution_m": 10}, ExportError),
    ("gpkg", {"encoding": "gbk"}, ExportError),
    ("shp", {"encoding": "latin-1"}, ExportError),
    ("dxf", {"dxf_version": "R2010", "encoding": "gbk"}, ExportError),
    ("dxf", {"dxf_version": "R2000", "encoding": "utf-8"}, ExportError),
    ("tif", {"verdict_for": "T99"}, ExportError),
    ("tif", {"resolution_m": 0}, ExportError),
    ("xlsx", {}, ExportError),
    ("gpkg", {"layers": ["no_such_layer"]}, LayerSetError),
])
def test_bad_options(ls, tmp_path, fmt, kw, error):
    out = tmp_path / ("out" + FORMATS.get(fmt, ("file", ".x"))[1])
    with pytest.raises(error):
        export_layers(ls, fmt, out, **kw)
    assert list(tmp_path.iterdir()) == []


def test_dxf_gbk_means_r2000(ls, tmp_path):
    import ezdxf

    out = tmp_path / "gbk.dxf"
    export_layers(ls, "dxf", out, layers=["water_source"], encoding="gbk")
    assert ezdxf.readfile(out).acad_release == "R2000"


# --------------------------------------------------------------------------- atomic writes and overwrite

def test_existing_file_needs_overwrite(ls, tmp_path):
    out = tmp_path / "a.gpkg"
    out.write_bytes(b"keep me")
    with pytest.raises(ExportError, match="--overwrite"):
        export_layers(ls, "gpkg", out, layers=["eco_cores"])
    assert out.read_bytes() == b"keep me"
    export_layers(ls, "gpkg", out, layers=["eco_cores"], overwrite=True)
    assert len(pyogrio.read_dataframe(out, layer="eco_cores")) == len(ls.layer("eco_cores"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gpkg"]


def test_folder_outputs_keep_other_files(ls, tmp_path):
    out = tmp_path / "fgb"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    export_layers(ls, "fgb", out, layers=["eco_cores", "red_line"])
    with pytest.raises(ExportError, match="eco_cores.fgb.*--overwrite|--overwrite"):
        export_layers(ls, "fgb", out, layers=["eco_cores"])
    export_layers(ls, "fgb", out, layers=["eco_cores"], overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["eco_cores.fgb", "notes.txt", "red_line.fgb"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fgb"]


def _failing(writer, after: int):
    """A writer that writes ``after`` layers, then fails."""
    def run(ls, ids, target, crs, **kw):
        writer(ls, ids[:after], target, crs, **kw)
        raise RuntimeError("disk full (simulated)")
    return run


@pytest.mark.parametrize("fmt", ["gpkg", "fgb", "shp", "dxf", "tif"])
def test_failure_leaves_nothing(ls, tmp_path, monkeypatch, fmt):
    monkeypatch.setitem(WRITERS, fmt, _failing(WRITERS[fmt], 1))
    target = tmp_path / "new" / "deeper" / ("out" + FORMATS[fmt][1] if FORMATS[fmt][0] == "file" else "out")
    kw = {"resolution_m": 200} if fmt == "tif" else {}
    with pytest.raises(ExportError, match="disk full"):
        export_layers(ls, fmt, target, layers=["eco_cores", "red_line"], **kw)
    assert list(tmp_path.iterdir()) == []  # not even the folders it made


def test_failure_keeps_the_old_output(ls, tmp_path, monkeypatch):
    out = tmp_path / "old.kml"
    export_layers(ls, "kml", out, layers=["eco_cores"])
    before = out.read_bytes()
    monkeypatch.setitem(WRITERS, "kml", _failing(WRITERS["kml"], 2))
    with pytest.raises(ExportError):
        export_layers(ls, "kml", out, overwrite=True)
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["old.kml"]


def test_file_format_refuses_a_folder(ls, tmp_path):
    with pytest.raises(ExportError, match="folder"):
        export_layers(ls, "gpkg", tmp_path)
    (tmp_path / "f").write_text("x")
    with pytest.raises(ExportError, match="file"):
        export_layers(ls, "geojson", tmp_path / "f")


# --------------------------------------------------------------------------- CLI

def test_cli_export_and_exit_codes(runner, tmp_path):
    out = tmp_path / "jinpu.gpkg"
    args = ["export", "layers/jinpu", "--format", "gpkg", "-o", str(out), "--layer", "eco_cores"]
    r = runner.invoke(cli, args)
    assert r.exit_code == 0, r.output
    assert "exported 1 file" in r.stdout and out.exists()
    r = runner.invoke(cli, args)
    assert r.exit_code == 2 and "--overwrite" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert runner.invoke(cli, args + ["--overwrite"]).exit_code == 0
    r = runner.invoke(cli, ["export", "--format", "gpkg", "-o", str(tmp_path / "b.gpkg"), "--layer", "nope"])
    assert r.exit_code == 2 and "nope" in r.stderr
    r = runner.invoke(cli, ["export", "--format", "geojson", "-o", str(tmp_path / "g"), "--crs", "EPSG:4490"])
    assert r.exit_code == 2 and "RFC" not in r.stdout
    r = runner.invoke(cli, ["export", "--format", "gpkg", "-o", str(tmp_path / "c.gpkg"), "--resolution", "5"])
    assert r.exit_code == 2 and "--resolution" in r.stderr
    assert runner.invoke(cli, ["export", "--format", "xlsx", "-o", str(tmp_path / "x")]).exit_code == 2
    assert runner.invoke(cli, ["export", "-o", str(tmp_path / "x")]).exit_code == 2  # --format is required


def test_cli_every_format(runner, tmp_path):
    for fmt in FORMATS:
        out = tmp_path / (f"x{FORMATS[fmt][1]}" if FORMATS[fmt][0] == "file" else fmt)
        extra = ["--resolution", "200"] if fmt == "tif" else []
        r = runner.invoke(cli, ["-q", "export", "--format", fmt, "-o", str(out), "--layer", "eco_cores",
                                "--layer", "coastline", *extra])
        assert r.exit_code == 0, (fmt, r.output)
        assert out.exists()


def test_cli_help_is_bilingual(runner):
    r = runner.invoke(cli, ["export", "--help"])
    assert r.exit_code == 0 and "导出" in r.output and "Export" in r.output and "--verdict-for" in r.output


def test_cli_takes_its_choices_without_the_geometry_libraries():
    """``ecozone --help`` imports every command: the formats it lists come from a module that stays light."""
    code = ("import sys, geo.cli.export, geo.export; "
            "print(sorted(m for m in ('geopandas', 'shapely', 'pandas', 'pyproj', 'numpy', 'pyogrio', 'ezdxf') "
            "if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "[]", r.stdout + r.stderr


# --------------------------------------------------------------------------- GDAL command-line tools, where installed

@pytest.mark.skipif(shutil.which("ogrinfo") is None and not os.environ.get("CI"),
                    reason="ogrinfo not installed (make system-deps installs it; CI always runs this)")
@pytest.mark.parametrize("fmt", ["gpkg", "shp", "geojson", "fgb", "kml", "kmz", "dxf"])
def test_ogrinfo_opens(ls, outdir, fmt):
    out = exported(ls, outdir, fmt)
    target = f"/vsizip/{out / 'coastline.zip'}" if fmt == "shp" else str(
        out / f"coastline{FORMATS[fmt][1]}" if FORMATS[fmt][0] == "folder" else out)
    r = subprocess.run(["ogrinfo", "-ro", "-so", "-al", target], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "Feature Count" in r.stdout


@pytest.mark.skipif(shutil.which("gdalinfo") is None and not os.environ.get("CI"),
                    reason="gdalinfo not installed (make system-deps installs it; CI always runs this)")
def test_gdalinfo_opens(ls, outdir):
    out = exported(ls, outdir, "tif", resolution_m=100)
    r = subprocess.run(["gdalinfo", str(out / "water_source.tif")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "Color Table" in r.stdout and "Overviews" in r.stdout


# --------------------------------------------------------------------------- awkward values

AWKWARD = {
    "note": ["  leading and trailing  ", "line one\nline two", "<&> \"quoted\" 'single'", None],
    "rare": ["𠮷野家 🌊", "€ and ¥", "", "x" * 300 + "水" * 100],
    "count": [1, 2, 3, 4],
    "ratio": [0.1, float("nan"), 1e-300, 123456789.123456789],
    "flag": [True, False, True, False],
}


@pytest.fixture(scope="module")
def awkward(tiny):
    import dataclasses

    zones = tiny.layer("zones").copy()
    zones = pd.concat([zones, zones.iloc[:1]], ignore_index=True)  # 4 rows
    zones.loc[3, "zone_id"] = "zones-04"
    for col, values in AWKWARD.items():
        zones[col] = pd.Series(values, dtype="str" if col in ("note", "rare") else None)
    zones = gpd.GeoDataFrame(zones, geometry="geometry", crs=tiny.layer("zones").crs)
    return dataclasses.replace(tiny, frames={**tiny.frames, "zones": zones}, _measured={})


@pytest.mark.parametrize("fmt", ["gpkg", "shp", "geojson", "fgb", "parquet", "kml", "kmz", "dxf"])
def test_awkward_values(awkward, tmp_path, fmt):
    """Nulls, NaN, blanks, line breaks, XML characters, non-GBK and non-BMP text, long text, tiny reals."""
    out = tmp_path / ("out" + FORMATS[fmt][1] if FORMATS[fmt][0] == "file" else "out")
    export_layers(awkward, fmt, out, layers=["zones"])
    got = read_back(fmt, out, ["zones"])["zones"].sort_values("zone_id").reset_index(drop=True)
    exp = awkward.layer("zones").copy()
    if fmt == "shp":  # documented: a DBF cannot tell empty text from missing, nor keep reals below 1e-15
        exp["rare"] = exp["rare"].replace("", None)
        exp["ratio"] = exp["ratio"].where(exp["ratio"].abs() >= 1e-15, 0.0).where(exp["ratio"].notna())
    if fmt in ("kml", "kmz"):  # documented: KML readers trim blanks around text
        exp["note"] = exp["note"].str.strip()
    for col in AWKWARD:
        want = [None if (v is None or (isinstance(v, float) and np.isnan(v))) else v for v in exp[col]]
        have = [None if (v is None or (isinstance(v, float) and np.isnan(v))) else v for v in got[col]]
        if col == "ratio":
            assert [v is None for v in have] == [v is None for v in want]
            np.testing.assert_allclose([v for v in have if v is not None], [v for v in want if v is not None],
                                       rtol=1e-15)
        else:
            assert have == want, (fmt, col)
    if fmt == "shp":  # the raw DBF has '?' for what GBK lacks; the zip's text.csv restores it
        raw = pyogrio.read_dataframe(f"/vsizip/{(out / 'zones.zip').resolve()}/zones.shp")
        assert raw["rare"].iloc[0] == "?野家 ?"
