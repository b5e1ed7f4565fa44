"""Hostile site tables, 界址点 files and zips for the bad-input corpus: files a reader could lose, change or misread.

``make(bad_dir)`` writes them (deterministic content; the GeoPackage and XLSX
containers embed the time they were written). Run from the repository root:
``.venv/bin/python tests/data/bad_readers.py``. The sites are P1 (a parcel deep
in the ecological core of the Jinpu layer set, prohibited for T03) and Q1 (a
point inside it); where a careless reader would take another value, that value
lies at P3 (allowed for T03), so a silent wrong pick would show as ``allowed``.
"""
from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path

import numpy as np
import pyogrio
import shapely

ROOT = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("make_samples", ROOT / "make_samples.py")
samples = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(samples)


def _lonlat_geom(geom_gk):
    return shapely.transform(geom_gk, lambda c: np.array([samples.lonlat(tuple(p)) for p in c]))


def _wkt(geom, decimals):
    return shapely.to_wkt(geom, rounding_precision=decimals, trim=True)


def make(bad_dir: Path) -> list[Path]:
    """Write the hostile files into ``bad_dir``; returns their paths."""
    bad_dir = Path(bad_dir)
    bad_dir.mkdir(parents=True, exist_ok=True)
    written = []

    def text(name, body, encoding="utf-8"):
        (bad_dir / name).write_bytes(body.encode(encoding))
        written.append(bad_dir / name)

    p1_gk = shapely.Polygon(samples.ring(samples.P1_SHELL))
    p1 = _lonlat_geom(p1_gk)
    q1lon, q1lat = samples.lonlat(samples.Q1)
    p3lon, p3lat = samples.lonlat(shapely.Polygon(samples.P3).centroid.coords[0])
    x1, y1 = samples.Q1

    # --- a WKT column and lon/lat columns that disagree (the point is at P3, the parcel is P1)
    text("csv_lonlat_disagrees_with_wkt.csv",
         f'id,name,lon,lat,wkt\nP1,{samples.NAMES["P1"]},{p3lon:.6f},{p3lat:.6f},"{_wkt(p1, 7)}"\n')

    # --- WKT in projected metres: survey order (X = north, 8-digit Y) under --crs EPSG:4550, and no --crs at all
    survey = shapely.transform(p1_gk, lambda c: np.column_stack([c[:, 1], c[:, 0] + 41_000_000]))
    text("wkt_survey_order.csv", f'id,name,wkt\nP1,{samples.NAMES["P1"]},"{_wkt(survey, 3)}"\n')
    text("wkt_projected_no_crs.csv", f"id,wkt\nQ1,POINT ({x1 + 41_000_000:.3f} {y1:.3f})\n")

    # --- GCJ-02 WKT (picked on Gaode), a file name that says so, no --coord-sys
    shifted = samples.wgs84_to_gcj02
    gcj = shapely.transform(p1, lambda c: np.column_stack([np.asarray(v, dtype="float64")
                                                           for v in shifted(c[:, 0], c[:, 1])]))
    glon, glat = (float(v) for v in shifted(q1lon, q1lat))
    text("gaode_wkt.csv", f'id,wkt\nP1,"{_wkt(gcj, 7)}"\nQ1,POINT ({glon:.7f} {glat:.7f})\n')

    # --- a MULTILINESTRING of P1's closed boundary and an open line inside it
    inner = shapely.LineString([(q1lon - 0.0002, q1lat), (q1lon + 0.0002, q1lat)])
    multi = shapely.MultiLineString([p1.exterior, inner])
    text("wkt_multiline_closed_and_open.csv", f'id,wkt\nP1,"{_wkt(multi, 7)}"\n')

    # --- 界址点 TXT with a negative zone and a zone that does not exist
    lines = samples.jzd_lines(samples.PLOTS[:1])
    for name, zone in (("jzd_negative_zone.txt", "-41"), ("jzd_zone_out_of_range.txt", "99")):
        samples.write_lines(bad_dir / name, [ln.replace("带号=41", f"带号={zone}") for ln in lines])
        written.append(bad_dir / name)

    # --- two columns for the longitude (the first one is P3's, the second Q1's)
    text("duplicate_lon_columns.csv",
         f"id,name,lon,lat,lon\nQ1,{samples.NAMES['Q1']},{p3lon:.6f},{q1lat:.6f},{q1lon:.6f}\n")
    text("lon_and_jingdu.csv", f"id,name,lon,lat,经度\nQ1,{samples.NAMES['Q1']},{p3lon:.6f},{q1lat:.6f},{q1lon:.6f}\n")
    text("type_columns_disagree.csv", f"id,lon,lat,type,项目类型\nQ1,{q1lon:.6f},{q1lat:.6f},T12,T03\n")
    # the same in a workbook: GDAL reads the header cells as they are, "lon" twice
    tmp = bad_dir / "_tmp.xlsx"
    import pandas as pd

    table = pd.DataFrame({"id": ["Q1"], "lon": [f"{p3lon:.6f}"], "lat": [f"{q1lat:.6f}"], "lon_2": [f"{q1lon:.6f}"]})
    pyogrio.write_dataframe(table, tmp, driver="XLSX", layer="sites")
    with zipfile.ZipFile(tmp) as src, zipfile.ZipFile(bad_dir / "duplicate_lon.xlsx", "w", zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/sharedStrings.xml":
                data = data.replace(b"<t>lon_2</t>", b"<t>lon</t>")
            zf.writestr(info, data)
    tmp.unlink()
    written.append(bad_dir / "duplicate_lon.xlsx")

    # --- a GeoPackage with two layers (P1 parcels, Q1 points), zipped
    gp = bad_dir / "_tmp.gpkg"
    pyogrio.write_dataframe(samples.sites_wgs84(["P1"]), gp, layer="parcels")
    pyogrio.write_dataframe(samples.sites_wgs84(["Q1"]), gp, layer="points")
    with zipfile.ZipFile(bad_dir / "zip_gpkg_two_layers.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(gp, "sites.gpkg")
    gp.unlink()
    written.append(bad_dir / "zip_gpkg_two_layers.zip")

    # --- 1,001 columns, one more than a sites table may have
    extra = [f"c{i}" for i in range(1_001 - 3)]
    text("too_many_columns.csv", ",".join(["id", "lon", "lat", *extra]) + "\n"
         + ",".join(["Q1", f"{q1lon:.6f}", f"{q1lat:.6f}", *["x"] * len(extra)]) + "\n")
    return written


if __name__ == "__main__":
    for p in make(ROOT / "bad"):
        print(p)
