"""Make the official-style example files (tests/data/official/) from the built Jinpu layer set.

Run from the repository root after ``ecozone build layers/jinpu``:
``.venv/bin/python tests/data/official/make_official.py``.

The files look as bureaus hand them over: shapefiles with the national field
names, in CGCS2000 3-degree Gauss-Krüger zone 41 *with* the zone prefix
(EPSG:4529, eastings 41xxxxxx), GBK text without a ``.cpg`` (and no code page
in the DBF header), plus a 生态环境准入清单 workbook. The geometry is the
illustrative Jinpu geometry (not official boundaries); the environmental
control units are Jinpu's water control units made into a partition.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pyogrio
import shapely

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
GPKG = ROOT / "layers" / "jinpu" / "build" / "jinpu.gpkg"
CRS = "EPSG:4529"  # CGCS2000 GK zone 41 (CM 123°E), easting with the zone prefix
COUNTY = "210213"
ADMIN = {"PROV": "辽宁省", "CITY": "大连市", "AREA": "金州区"}


def layer(name: str) -> gpd.GeoDataFrame:
    gdf = pyogrio.read_dataframe(GPKG, layer=name).to_crs(CRS)
    geoms = shapely.transform(gdf.geometry.values, lambda c: np.round(c, 3))  # mm, deterministic
    if name != "coastline":  # rounding may collapse a sliver ring: keep the valid polygonal parts
        geoms = [shapely.union_all([p for p in shapely.get_parts(shapely.make_valid(g))
                                    if p.geom_type in ("Polygon", "MultiPolygon") and p.area > 0]) for g in geoms]
    gdf["geometry"] = geoms
    return gdf


def write_gbk(gdf: gpd.GeoDataFrame, name: str) -> None:
    """A GBK shapefile without .cpg and with no code page (LDID 0) in the DBF, as many bureaus' files are."""
    path = HERE / f"{name}.shp"
    for old in HERE.glob(f"{name}.*"):
        old.unlink()
    pyogrio.write_dataframe(gdf, path, encoding="GBK")
    (HERE / f"{name}.cpg").unlink(missing_ok=True)
    with open(HERE / f"{name}.dbf", "r+b") as fh:
        fh.seek(29)
        fh.write(b"\x00")


def boundary() -> None:
    g = layer("study_area")
    write_gbk(gpd.GeoDataFrame({"XZQMC": ["金州区"], "XZQDM": [COUNTY]}, geometry=g.geometry.values, crs=CRS), "行政区")


def red_line() -> None:
    g = layer("red_line")
    kind = {"land": "陆域", "marine": "海洋"}
    out = gpd.GeoDataFrame({"HXMC": g["name_zh"], "HXBM": [f"{COUNTY}HX{i + 1:03d}" for i in range(len(g))],
                            "HXLX": g["zone_class"].map(kind)}, geometry=g.geometry.values, crs=CRS)
    write_gbk(out, "生态保护红线")


def water_source() -> None:
    g = layer("water_source")
    level = {"L1": "一级保护区", "L2": "二级保护区", "quasi": "准保护区"}
    out = gpd.GeoDataFrame({"BHQMC": g["name_zh"], "SYDMC": g["source_name_zh"], "BHQJB": g["zone_class"].map(level)},
                           geometry=g.geometry.values, crs=CRS)
    write_gbk(out, "饮用水水源保护区")


def reserves() -> None:
    g = layer("nature_reserves")
    zone = {"core": "核心区", "buffer": "缓冲区", "experimental": "实验区", "park": "自然公园"}
    out = gpd.GeoDataFrame({"ZRBHDMC": g["name_zh"], "ZRBHDBM": [f"{COUNTY}ZR{i + 1:03d}" for i in range(len(g))],
                            "GNFQ": g["zone_class"].map(zone)}, geometry=g.geometry.values, crs=CRS)
    write_gbk(out, "自然保护地")


def coastline() -> None:
    g = layer("coastline")
    kind = {"strict": "严格保护岸线", "restricted": "限制开发岸线", "optimized": "优化利用岸线"}
    out = gpd.GeoDataFrame({"AXMC": g["name_zh"], "AXLX": g["zone_class"].map(kind)}, geometry=g.geometry.values,
                           crs=CRS)
    write_gbk(out, "岸线")


UNIT_CLASS = {"priority": "1", "key": "2", "general": "3"}


def control_units() -> gpd.GeoDataFrame:
    """Jinpu's water control units as a partition: priority, then key (each minus those before), then general."""
    g = layer("water_control_units")
    g = g.iloc[np.argsort(g["zone_class"].map({"priority": 0, "key": 1, "general": 2}).to_numpy(), kind="stable")]
    rows, taken, serial = [], shapely.Polygon(), {}
    for rec in g.itertuples():
        geom = shapely.difference(rec.geometry, taken)
        taken = shapely.union(taken, rec.geometry)
        if geom.is_empty:
            continue
        digit = UNIT_CLASS[rec.zone_class]
        serial[digit] = serial.get(digit, 0) + 1
        name = {"priority": "饮用水水源优先保护单元", "general": "一般管控单元"}.get(rec.zone_class, rec.name_zh)
        rows.append({"HJZHGKDYBM": f"ZH{COUNTY}{digit}{serial[digit]:04d}", "HJZHGKDYMC": f"金州区{name}",
                     "ZHGKDYFL": digit, **ADMIN, "geometry": shapely.make_valid(geom)})
    out = gpd.GeoDataFrame(rows, crs=CRS)
    write_gbk(out, "环境管控单元")
    return out


DIMENSIONS = ["空间布局约束", "污染物排放管控", "环境风险防控", "资源开发效率要求"]
GENERAL = {
    "省级": ["1. 禁止在合规园区外新建、扩建化工、石化、焦化项目。2. 严格控制钢铁、水泥、平板玻璃等产能。",
             "1. 新建涉重金属重点行业（电镀、制革）项目实行重金属排放等量或减量置换。",
             "1. 化工园区应建立环境风险预警体系。",
             "1. 严格执行用水总量和强度控制。"],
    "市级": ["1. 禁止在饮用水水源保护区新建化工、造纸、印染项目。", "1. 新建项目主要污染物实行减量置换。",
             "1. 涉危险化学品企业应编制突发环境事件应急预案。", "1. 禁止新建燃煤锅炉。"],
}
UNIT_TEXT = {
    "1": ["1. 禁止新建、扩建工业项目。2. 禁止新建化工、石化、电镀、造纸项目。", "1. 禁止新设排污口。",
          "1. 禁止建设有毒有害物质贮存设施。", "1. 禁止开采地下水。"],
    "2": ["1. 新建化工、石化项目应进入合规化工园区。2. 限制新建造纸项目。", "1. 工业废水预处理后进入集中污水处理设施。",
          "1. 园区应设置事故应急池。", "1. 新建项目清洁生产达到国内先进水平。"],
    "3": ["1. 禁止新建化工、电镀项目。", "1. 生活污水应收集处理。", "1. 加强农业面源污染风险防控。",
          "1. 提高土地节约集约利用水平。"],
}


def requirements(units: gpd.GeoDataFrame) -> None:
    """准入清单.xlsx: a 辽宁省 row, a 大连市 row, one row per unit, and one row whose code matches no unit."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "准入清单"
    ws.append(["序号", "层级", "环境管控单元编码", "环境管控单元名称", "管控单元分类", *DIMENSIONS])
    ws.append([1, "省级", "", "辽宁省总体准入要求", "", *GENERAL["省级"]])
    ws.append([2, "市级", "", "大连市总体准入要求", "", *GENERAL["市级"]])
    label = {"1": "优先保护单元", "2": "重点管控单元", "3": "一般管控单元"}
    for i, u in enumerate(units.itertuples(), start=3):
        ws.append([i, "单元", u.HJZHGKDYBM, u.HJZHGKDYMC, label[u.ZHGKDYFL], *UNIT_TEXT[u.ZHGKDYFL]])
    ws.append([len(units) + 3, "单元", f"ZH{COUNTY}29999", "已撤销单元（编码无对应图斑）", "重点管控单元", *UNIT_TEXT["2"]])
    wb.properties.created = wb.properties.modified = dt.datetime(2026, 1, 1)  # deterministic
    wb.save(HERE / "准入清单.xlsx")


def main() -> None:
    if not GPKG.is_file():
        raise SystemExit(f"build the Jinpu set first: ecozone build layers/jinpu ({GPKG} not found)")
    boundary()
    red_line()
    water_source()
    reserves()
    coastline()
    requirements(control_units())


if __name__ == "__main__":
    main()
