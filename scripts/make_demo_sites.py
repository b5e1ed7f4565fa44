"""Write layers/jinpu/demo_sites.csv: a handful of example sites placed from the built Jinpu layers.

The sites are chosen to show every verdict (prohibited, restricted, caution,
allowed, unknown) and every kind of site (point, line, parcel). Run after the
layer set builds: python scripts/make_demo_sites.py
"""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import LineString, Point, box

from geo import read_layerset

ROOT = Path(__file__).resolve().parents[1]


def main():
    ls = read_layerset(ROOT / "layers" / "jinpu")
    m = {lid: ls.measured(lid) for lid in ls.layer_ids}

    def zone(lid, **eq):
        g = m[lid]
        for k, v in eq.items():
            g = g[g[k].str.contains(v, regex=False)] if k.startswith("name") else g[g[k] == v]
        return g.geometry.iloc[0]

    l1 = zone("water_source", name_zh="卧龙水库一级")
    ridge = zone("eco_ridge")
    dda = zone("water_control_units", name_zh="开发区")
    town = zone("receptors", name_zh="登沙河")
    geopark = zone("nature_reserves", name_zh="金石滩")
    general = zone("water_control_units", zone_class="general")
    c = l1.centroid
    l2 = zone("water_source", name_zh="卧龙水库二级")
    ring = max(shapely.get_parts(l2), key=lambda p: p.area).exterior
    east = max(ring.coords, key=lambda xy: xy[0])
    # a farm strip whose west edge reaches 0.4 m into the L2 zone: a boundary contact, not an overlap
    touch = box(east[0] - 0.4, east[1] - 1.0, east[0] + 250, east[1] + 1.0)
    rc = ridge.centroid
    road = LineString([(rc.x - 6000, rc.y + 3000), (rc.x + 6000, rc.y - 3000)])
    farm = general.representative_point()
    sites = [
        ("D01", "卧龙水库库区化工项目 Chemical works by Wolong Reservoir", "T03", "occupy", "false", Point(c.x, c.y)),
        ("D02", "卧龙水库二级保护区边界农田 Farm strip at the L2 zone edge", "T10", "occupy", "false", touch),
        ("D03", "跨中部山脊公路 Road across the central ridge", "T05", "occupy", "false", road),
        ("D04", "开发区住宅地块 Housing parcel in the development area", "T08", "occupy", "false",
         dda.representative_point().buffer(250, quad_segs=4)),
        ("D05", "登沙河街道附近化工厂 Chemical plant near Dengshahe", "T01", "occupy", "false",
         Point(town.centroid.x + 1700, town.centroid.y)),
        ("D06", "金石滩风电场 Wind farm at Jinshitan", "T07", "occupy", "false", geopark.representative_point()),
        ("D07", "农田改造 Farmland improvement", "T10", "occupy", "false", farm),
        ("D08", "渤海外海平台 Offshore platform far out in the Bohai", "T06", "occupy", "false",
         Point(330000, 4330000)),
    ]
    gdf = gpd.GeoDataFrame(pd.DataFrame([s[:5] for s in sites], columns=["id", "name", "type", "land_use", "nmp"]),
                           geometry=[s[5] for s in sites], crs=ls.measure_crs).to_crs(ls.storage_crs)
    gdf["wkt"] = shapely.to_wkt(gdf.geometry.values, rounding_precision=7)
    out = ROOT / "layers" / "jinpu" / "demo_sites.csv"
    pd.DataFrame(gdf.drop(columns="geometry")).to_csv(out, index=False, encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
